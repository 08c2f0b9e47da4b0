package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func TestOwnedPow2Args(t *testing.T) {
	for _, c := range []struct{ slots, size int }{{1, 16}, {3, 16}, {4, 24}, {4, 8}, {0, 64}} {
		if _, err := NewOwnedPow2(c.slots, c.size); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewOwnedPow2(%d, %d) = %v, want ErrInvalid", c.slots, c.size, err)
		}
	}
	for payload, want := range map[int]int{8: 16, 16: 32, 24: 32, 40: 64, 56: 64, 64: 128} {
		if got := Pow2SlotFor(payload); got != want {
			t.Errorf("Pow2SlotFor(%d) = %d, want %d", payload, got, want)
		}
	}
}

// TestOwnedPow2Wrap fills, drains and wraps a 4-slot ring of 16-byte slots
// on one goroutine, checking the words in memory and that the free-running
// indices wrap by mask.
func TestOwnedPow2Wrap(t *testing.T) {
	const slots, size = 4, 16
	r, err := NewOwnedPow2(slots, size)
	if err != nil {
		t.Fatal(err)
	}
	if r.Slots() != slots || r.PayloadSize() != 8 || !r.Drained() {
		t.Fatalf("Slots %d PayloadSize %d Drained %v", r.Slots(), r.PayloadSize(), r.Drained())
	}
	if _, ok := r.Next(); ok {
		t.Fatal("Next on a new ring")
	}
	var put, got uint64
	for round := 0; round < 6; round++ {
		for i := 0; i < slots-1; i++ { // three of four: the indices drift across rounds
			p, ok := r.Reserve()
			if !ok || len(p) != 8 || cap(p) != 8 {
				t.Fatalf("round %d: Reserve %d: ok %v len %d", round, i, ok, len(p))
			}
			binary.LittleEndian.PutUint64(p, put)
			put++
			r.Publish()
		}
		if r.Drained() {
			t.Fatal("drained with published slots")
		}
		for i := 0; i < slots-1; i++ {
			p, ok := r.Next()
			if !ok {
				t.Fatalf("round %d: Next %d failed", round, i)
			}
			if v := binary.LittleEndian.Uint64(p); v != got {
				t.Fatalf("got %d, want %d", v, got)
			}
			got++
			r.Release()
		}
		if !r.Drained() {
			t.Fatal("not drained after releasing everything")
		}
	}
	// Fill completely: the fifth Reserve must fail, and every word says
	// consumer, at offsets that are multiples of the slot size.
	for i := 0; i < slots; i++ {
		if _, ok := r.Reserve(); !ok {
			t.Fatalf("Reserve %d failed before full", i)
		}
		r.Publish()
	}
	if _, ok := r.Reserve(); ok {
		t.Fatal("Reserve on a full ring")
	}
	for i := 0; i < slots; i++ {
		if w := binary.LittleEndian.Uint32(r.Mem()[i*size:]); w != OwnerConsumer {
			t.Fatalf("slot %d word %d", i, w)
		}
	}
}
