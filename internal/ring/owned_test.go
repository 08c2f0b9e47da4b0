package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func TestOwnedArgs(t *testing.T) {
	for _, c := range []struct{ slots, size int }{{1, 16}, {2, 8}, {2, 20}, {0, 64}, {4, 12}} {
		if _, err := NewOwned(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewOwned(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
	}
	r, err := NewOwned(3, 48) // not a power of two on purpose
	if err != nil {
		t.Fatal(err)
	}
	if r.Slots() != 3 || r.PayloadSize() != 40 {
		t.Fatalf("Slots=%d PayloadSize=%d, want 3, 40", r.Slots(), r.PayloadSize())
	}
}

// TestOwnedWrap drives the ring through full, empty and several wraps on
// one goroutine, checking each slot's word in memory as it goes.
func TestOwnedWrap(t *testing.T) {
	const slots = 3
	r, err := NewOwned(slots, 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Next(); ok {
		t.Fatal("Next on a new ring succeeded")
	}
	if !r.Drained() {
		t.Fatal("new ring not drained")
	}
	var put, got uint64
	for round := 0; round < 5; round++ {
		// Fill to full.
		for i := 0; i < slots; i++ {
			p, ok := r.Reserve()
			if !ok {
				t.Fatalf("round %d: Reserve %d failed before full", round, i)
			}
			if len(p) != 8 || cap(p) != 8 {
				t.Fatalf("payload len %d cap %d, want 8 8", len(p), cap(p))
			}
			again, _ := r.Reserve()
			if &again[0] != &p[0] {
				t.Fatal("second Reserve before Publish moved")
			}
			binary.LittleEndian.PutUint64(p, put)
			put++
			r.Publish()
			if r.Drained() {
				t.Fatal("Drained with a published, unreleased slot")
			}
		}
		if _, ok := r.Reserve(); ok {
			t.Fatalf("round %d: Reserve succeeded on a full ring", round)
		}
		for i := 0; i < slots; i++ {
			if w := binary.LittleEndian.Uint32(r.Mem()[i*16:]); w != OwnerConsumer {
				t.Fatalf("full ring: slot %d word %d, want %d", i, w, OwnerConsumer)
			}
		}
		// Drain two, refill one: exercises wrap with the indices apart.
		for i := 0; i < 2; i++ {
			p, ok := r.Next()
			if !ok {
				t.Fatalf("round %d: Next %d failed on a full ring", round, i)
			}
			if v := binary.LittleEndian.Uint64(p); v != got {
				t.Fatalf("got %d, want %d", v, got)
			}
			got++
			r.Release()
		}
		p, ok := r.Reserve()
		if !ok {
			t.Fatal("Reserve failed after two releases")
		}
		binary.LittleEndian.PutUint64(p, put)
		put++
		r.Publish()
		for {
			p, ok := r.Next()
			if !ok {
				break
			}
			if v := binary.LittleEndian.Uint64(p); v != got {
				t.Fatalf("got %d, want %d", v, got)
			}
			got++
			r.Release()
		}
		if got != put {
			t.Fatalf("round %d: drained %d of %d", round, got, put)
		}
		if !r.Drained() {
			t.Fatal("not drained after consuming everything")
		}
	}
}

func TestOwnedAllocs(t *testing.T) {
	r, _ := NewOwned(8, 48)
	n := testing.AllocsPerRun(1000, func() {
		p, _ := r.Reserve()
		p[0] = 1
		r.Publish()
		q, _ := r.Next()
		_ = q[0]
		r.Release()
	})
	if n != 0 {
		t.Fatalf("%v allocs per Reserve/Publish/Next/Release, want 0", n)
	}
}

func TestOwnedSPSC(t *testing.T) {
	for _, size := range []int{16, 48, 72} {
		r, err := NewOwned(7, size)
		if err != nil {
			t.Fatal(err)
		}
		stressSPSC(t, ownedAdapter{r}, r.PayloadSize(), 1)
	}
}

type ownedAdapter struct{ *Owned }
