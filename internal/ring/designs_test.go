package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// indexRing is the batching surface of designs 2, 3 and 5.
type indexRing interface {
	spsc
	Slots() int
	PayloadSize() int
	Drained() bool
}

func newIndexRings(t *testing.T, slots, size int) map[string]indexRing {
	t.Helper()
	sh, err := NewShared(slots, size)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := NewSplit(slots, size)
	if err != nil {
		t.Fatal(err)
	}
	bu, err := NewBusy(slots, size)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]indexRing{"shared": sh, "split": sp, "busy": bu}
}

// capacity is how many records a design holds when full.
func capacity(name string, slots int) int {
	if name == "shared" {
		return slots - 1 // aio_ring convention: one slot stays empty
	}
	return slots
}

func TestIndexArgs(t *testing.T) {
	for _, c := range []struct{ slots, size int }{{1, 16}, {4, 12}, {4, 0}, {0, 8}} {
		if _, err := NewShared(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewShared(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
		if _, err := NewSplit(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewSplit(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
		if _, err := NewBusy(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewBusy(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
		if _, err := NewTake29(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewTake29(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
	}
}

// TestIndexWrap fills, drains and refills each design across several laps
// with batched publication, checking full, empty, Drained and contents.
func TestIndexWrap(t *testing.T) {
	const slots = 5 // not a power of two
	for name, r := range newIndexRings(t, slots, 16) {
		t.Run(name, func(t *testing.T) {
			capa := capacity(name, slots)
			var put, got uint64
			if _, ok := r.Next(); ok {
				t.Fatal("Next on an empty ring succeeded")
			}
			if !r.Drained() {
				t.Fatal("new ring not drained")
			}
			for lap := 0; lap < 7; lap++ {
				// Reserve up to full in one batch: nothing visible before Publish.
				for i := 0; i < capa; i++ {
					p, ok := r.Reserve()
					if !ok {
						t.Fatalf("lap %d: Reserve %d failed before full", lap, i)
					}
					if len(p) != 16 || cap(p) != 16 {
						t.Fatalf("payload len %d cap %d", len(p), cap(p))
					}
					binary.LittleEndian.PutUint64(p, put)
					put++
				}
				if _, ok := r.Reserve(); ok {
					t.Fatalf("lap %d: Reserve succeeded on a full ring", lap)
				}
				if _, ok := r.Next(); ok {
					t.Fatalf("lap %d: record visible before Publish", lap)
				}
				r.Publish()
				// Take lap%capa+1 records, release, then the rest.
				take := lap%capa + 1
				for i := 0; i < capa; i++ {
					p, ok := r.Next()
					if !ok {
						t.Fatalf("lap %d: Next %d failed", lap, i)
					}
					if v := binary.LittleEndian.Uint64(p); v != got {
						t.Fatalf("lap %d: got %d, want %d", lap, v, got)
					}
					got++
					if i+1 == take {
						r.Release()
						if take < capa && r.Drained() {
							t.Fatalf("lap %d: Drained with records outstanding", lap)
						}
					}
				}
				if _, ok := r.Next(); ok {
					t.Fatalf("lap %d: Next past the published tail", lap)
				}
				r.Release()
				if !r.Drained() {
					t.Fatalf("lap %d: not drained after release", lap)
				}
				// Shift the indices by a partial batch so laps start elsewhere.
				for i := 0; i < lap%3; i++ {
					p, _ := r.Reserve()
					binary.LittleEndian.PutUint64(p, put)
					put++
					r.Publish()
					q, _ := r.Next()
					if v := binary.LittleEndian.Uint64(q); v != got {
						t.Fatalf("shift: got %d, want %d", v, got)
					}
					got++
					r.Release()
				}
			}
		})
	}
}

// TestBusyBitStopsReader checks the design-5 rule: a reserved, uncommitted
// record is visible by position but its busy bit stops the consumer.
func TestBusyBitStopsReader(t *testing.T) {
	r, _ := NewBusy(4, 16)
	p, _ := r.Reserve()
	binary.LittleEndian.PutUint64(p, 7)
	if r.Drained() {
		t.Fatal("Drained after a reservation")
	}
	if _, ok := r.Next(); ok {
		t.Fatal("consumer read a busy record")
	}
	if h := binary.LittleEndian.Uint32(r.mem[busyRecOff:]); h&BusyBit == 0 || h&^BusyBit != 16 {
		t.Fatalf("header %#x, want busy|16", h)
	}
	r.Publish()
	q, ok := r.Next()
	if !ok || binary.LittleEndian.Uint64(q) != 7 {
		t.Fatal("committed record not readable")
	}
}

func TestIndexSPSC(t *testing.T) {
	for _, batch := range []int{1, 3, 8} {
		for name, r := range newIndexRings(t, 7, 40) {
			t.Run(name+"/batch="+itoa(uint64(batch)), func(t *testing.T) {
				stressSPSC(t, r, r.PayloadSize(), batch)
			})
		}
	}
}

func TestIndexAllocs(t *testing.T) {
	for name, r := range newIndexRings(t, 8, 40) {
		n := testing.AllocsPerRun(1000, func() {
			p, _ := r.Reserve()
			p[0] = 1
			r.Publish()
			q, _ := r.Next()
			_ = q[0]
			r.Release()
			_ = r.Drained()
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per cycle, want 0", name, n)
		}
	}
}
