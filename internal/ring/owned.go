package ring

import (
	"fmt"
	"os"
)

// Ownership word values (offset 0 of each Owned slot).
const (
	OwnerProducer uint32 = 0 // the kernel/producer may write the slot
	OwnerConsumer uint32 = 1 // the user/consumer may read the slot
)

// OwnedHeader is the bytes before each Owned slot's payload: the 32-bit
// ownership word and 4 bytes that keep the payload 8-aligned.
const OwnedHeader = 8

// Owned is the ownership-word ring (design 1): fixed-size slots, each
// starting with a 32-bit ownership word at offset 0 (0 = producer owns it,
// 1 = consumer owns it); payload = slot[8:].
//
// Neither side ever reads the other's index. The producer checks the word of
// the one slot it is about to write, the consumer the word of the one slot
// it is about to read, so the only lines that move between CPUs are slot
// lines, which the payload has to move anyway. That is the 2006 claim under
// test; the cost is one extra word per slot and, at 64-byte payloads, slots
// that straddle two cache lines.
//
// Any slot count >= 2 works, not only powers of two: indices wrap by compare
// and reset, never by mask. Single producer, single consumer.
type Owned struct {
	mem      []byte // slots*slotSize bytes, cache-line aligned, read-only header
	slotSize int
	slots    int
	_        pad
	poff     int // producer's next slot, as a byte offset (len(mem) = 0); producer-only
	_        pad
	coff     int // consumer's next slot, as a byte offset (len(mem) = 0); consumer-only
	_        pad
}

// NewOwned allocates a ring of slots slots of slotSize bytes each (ownership
// word included). slotSize must be a multiple of 8 and at least 16; slots at
// least 2. The memory is one zeroed, cache-line aligned []byte (see
// alignedBytes), so every slot starts producer-owned.
func NewOwned(slots, slotSize int) (*Owned, error) {
	if slots < 2 || slotSize < 16 || slotSize%8 != 0 || slots > 1<<30 || slotSize > 1<<20 {
		return nil, fmt.Errorf("ring.NewOwned(%d slots, %d bytes): need slots >= 2 and slotSize a multiple of 8, >= 16: %w",
			slots, slotSize, os.ErrInvalid)
	}
	return &Owned{mem: alignedBytes(slots * slotSize), slotSize: slotSize, slots: slots}, nil
}

// Slots is the number of slots.
func (r *Owned) Slots() int { return r.slots }

// PayloadSize is the usable bytes per slot (slotSize - 8).
func (r *Owned) PayloadSize() int { return r.slotSize - OwnedHeader }

// Mem is the ring's memory, for inspection in tests and dumps.
func (r *Owned) Mem() []byte { return r.mem }

// slot is the bytes of the slot at byte offset off, capacity-limited so a payload cannot spill over.
func (r *Owned) slot(off int) []byte {
	return r.mem[off : off+r.slotSize : off+r.slotSize]
}

// Reserve returns the payload of the producer's next slot if the producer
// owns it; ok=false means the ring is full. Calling Reserve again before
// Publish returns the same slot.
func (r *Owned) Reserve() (payload []byte, ok bool) {
	if r.poff == len(r.mem) { // wrap by compare
		r.poff = 0
	}
	s := r.slot(r.poff)
	// Acquire: pairs with the consumer's release store in Release, so the
	// consumer's reads of the old payload are done before we overwrite it.
	if u32(s, 0).Load() != OwnerProducer {
		return nil, false
	}
	return s[OwnedHeader:], true
}

// Publish hands the slot returned by the last successful Reserve to the
// consumer. Calling it without one corrupts the ring.
func (r *Owned) Publish() {
	// Release: pairs with the acquire load in Next; the payload written
	// since Reserve is visible before the word says the consumer owns it.
	storeReleaseAt(r.mem, r.poff, OwnerConsumer)
	r.poff += r.slotSize // wrapped by the next Reserve (keeps this method inlinable)
}

// Next returns the payload of the consumer's next slot if the consumer owns
// it; ok=false means the ring is empty. Calling Next again before Release
// returns the same slot.
func (r *Owned) Next() (payload []byte, ok bool) {
	if r.coff == len(r.mem) {
		r.coff = 0
	}
	s := r.slot(r.coff)
	// Acquire: pairs with the release store in Publish.
	if u32(s, 0).Load() != OwnerConsumer {
		return nil, false
	}
	return s[OwnedHeader:], true
}

// Release gives the slot returned by the last successful Next back to the
// producer. The caller must not touch that payload afterwards.
func (r *Owned) Release() {
	// Release: pairs with the acquire load in Reserve; our reads of the
	// payload complete before the producer may overwrite it.
	storeReleaseAt(r.mem, r.coff, OwnerProducer)
	r.coff += r.slotSize // wrapped by the next Next
}

// Drained reports, on the producer side, whether the consumer has released
// every published slot: the slot before the producer's index is back in
// the producer's hands. Lockstep and burst patterns wait on it.
func (r *Owned) Drained() bool {
	last := r.poff - r.slotSize
	if last < 0 {
		last = len(r.mem) - r.slotSize
	}
	// Acquire: pairs with the release store in Release.
	return u32(r.mem, last).Load() == OwnerProducer
}
