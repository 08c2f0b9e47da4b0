package ring

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func put29(t *testing.T, r *Take29, n int, seq *uint64) {
	t.Helper()
	var b [8]byte
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(b[:], *seq)
		if !r.Put(b[:]) {
			t.Fatalf("Put %d of %d failed with space %d", i, n, r.Space())
		}
		*seq++
	}
}

func commit29(t *testing.T, r *Take29, uidx, over uint32, want int, wantErr error) {
	t.Helper()
	n, err := r.Commit(uidx, over)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("Commit(%d, %d) = %d, %v; want %v", uidx, over, n, err, wantErr)
		}
		return
	}
	if err != nil || n != want {
		t.Fatalf("Commit(%d, %d) = %d, %v; want %d, nil", uidx, over, n, err, want)
	}
}

// TestTake29Rules walks kevent_commit's rules on a ring of 4, in the order
// __kevent_user_commit checks them.
func TestTake29Rules(t *testing.T) {
	r, err := NewTake29(4, 40)
	if err != nil {
		t.Fatal(err)
	}
	if r.Space() != 4 || r.Kidx() != 0 || r.Over() != 0 {
		t.Fatalf("new ring: space %d kidx %d over %d", r.Space(), r.Kidx(), r.Over())
	}
	if !r.Drained() {
		t.Fatal("new ring not drained")
	}
	var seq uint64
	put29(t, r, 3, &seq) // kidx 3, uidx 0
	if r.Drained() {
		t.Fatal("drained with 3 records outstanding")
	}
	if r.Kidx() != 3 || r.Space() != 1 {
		t.Fatalf("kidx %d space %d, want 3 1", r.Kidx(), r.Space())
	}
	commit29(t, r, 4, 0, 0, unix.EINVAL)             // new_uidx >= size
	commit29(t, r, 1, 2, 0, unix.EOVERFLOW)          // over neither ring_over nor ring_over-1
	commit29(t, r, 1, ^uint32(0), 0, unix.EOVERFLOW) // over == ring_over-1 but new > uidx: stale
	commit29(t, r, 0, 0, 0, nil)                     // nothing to commit
	commit29(t, r, 2, 0, 2, nil)                     // uidx 0 -> 2
	put29(t, r, 2, &seq)                             // kidx 3 -> 1 (wrapped), space 1
	commit29(t, r, 3, 0, 1, nil)                     // uidx 2 -> 3, no wrap
	if r.Uidx() != 3 || r.Over() != 0 {
		t.Fatalf("uidx %d over %d, want 3 0", r.Uidx(), r.Over())
	}
	commit29(t, r, 1, 0, 2, nil) // uidx 3 -> 1 wraps: commits 3,0; ring_over 1
	if r.Over() != 1 || r.Uidx() != 1 {
		t.Fatalf("after wrap: over %d uidx %d, want 1 1", r.Over(), r.Uidx())
	}
	if r.Space() != 4 || !r.Drained() {
		t.Fatalf("empty after wrap: space %d drained %v, want 4 true", r.Space(), r.Drained())
	}
	// uidx 1 == kidx 1: fill it completely; full is kernel-private.
	put29(t, r, 4, &seq)
	if r.Space() != 0 || r.Kidx() != r.Uidx() || r.Drained() {
		t.Fatalf("full: space %d kidx %d uidx %d", r.Space(), r.Kidx(), r.Uidx())
	}
	var b [8]byte
	if r.Put(b[:]) {
		t.Fatal("Put succeeded on a full ring")
	}
	// A full ring cannot be released in one call: new_uidx == uidx is 0.
	commit29(t, r, 1, 1, 0, nil)
	if r.Space() != 0 {
		t.Fatal("commit of new_uidx == uidx freed a full ring")
	}
	commit29(t, r, 3, 1, 2, nil)            // uidx 1 -> 3
	commit29(t, r, 1, 1, 2, nil)            // 3 -> 1 wraps, ring_over 2
	commit29(t, r, 2, 1, 0, unix.EOVERFLOW) // a thread still at over 1: stale
	if r.Over() != 2 || r.Space() != 4 {
		t.Fatalf("over %d space %d, want 2 4", r.Over(), r.Space())
	}
	// uidx < kidx and new_uidx > kidx: EINVAL.
	put29(t, r, 1, &seq) // kidx 1 -> 2, uidx 1
	commit29(t, r, 3, 2, 0, unix.EINVAL)
	commit29(t, r, 2, 2, 1, nil)
}

// TestTake29Holes pins down what the original did not check: with
// uidx >= kidx, a commit may free records the kernel never wrote.
func TestTake29Holes(t *testing.T) {
	r, _ := NewTake29(4, 8)
	// Empty ring, uidx == kidx == 0: committing 2 "succeeds" in take29.
	commit29(t, r, 2, 0, 2, nil)
	if r.Uidx() != 2 || r.Kidx() != 0 {
		t.Fatalf("uidx %d kidx %d", r.Uidx(), r.Kidx())
	}
	// The kernel now believes only 2 records are free.
	if r.Space() != 2 {
		t.Fatalf("space %d, want 2 (the original's arithmetic)", r.Space())
	}
}

func TestTake29Allocs(t *testing.T) {
	r, _ := NewTake29(8, 40)
	var b [40]byte
	var uidx uint32
	n := testing.AllocsPerRun(1000, func() {
		r.Put(b[:])
		_ = r.Kidx()
		_ = r.Record(uidx)[0]
		if uidx++; uidx == 8 {
			uidx = 0
		}
		if _, err := r.Commit(uidx, r.Over()); err != nil {
			panic(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocs per Put/Commit, want 0", n)
	}
}

// TestTake29SPSC runs the lab's protocol: a producer using PutSpare, a
// reader following ring_kidx and committing every batch records.
func TestTake29SPSC(t *testing.T) {
	for _, batch := range []int{1, 4} {
		r, _ := NewTake29(7, 40)
		n := stressEvents()
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 40)
			for i := 0; i < n; {
				fill(buf, uint64(i))
				if r.PutSpare(buf) {
					i++
				} else {
					runtime.Gosched()
				}
			}
		}()
		var uidx uint32
		pending := 0
		for want := 0; want < n; {
			if uidx == r.Kidx() {
				if pending > 0 {
					if _, err := r.Commit(uidx, r.Over()); err != nil {
						t.Fatal(err)
					}
					pending = 0
				}
				runtime.Gosched()
				continue
			}
			if e := check(r.Record(uidx), uint64(want)); e != "" {
				t.Fatalf("batch %d record %d: %s", batch, want, e)
			}
			want++
			if uidx++; uidx == 7 {
				uidx = 0
			}
			if pending++; pending == batch {
				if _, err := r.Commit(uidx, r.Over()); err != nil {
					t.Fatal(err)
				}
				pending = 0
			}
		}
		<-done
	}
}
