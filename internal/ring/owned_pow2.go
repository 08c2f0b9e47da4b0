package ring

import (
	"fmt"
	"math/bits"
	"os"
)

// OwnedPow2 is the ownership-word ring with af_packet's layout (design 1,
// aligned variant): slots of a power-of-two size, so that no slot straddles
// a cache line unless it is bigger than one and a line holds a whole number
// of slots, and a power-of-two slot count, so that each side's position (a
// byte offset) wraps by mask. The word is at offset 0 as
// in Owned; the payload is the rest of the slot.
//
// Owned keeps an 8-byte header in front of a payload of any multiple of 8
// (a 16-byte payload makes 24-byte slots, a third of which straddle a
// line) and wraps by compare; this type exists to measure what that layout
// costs (ringlab's owned-pow2 design), and the minimal ring the design is
// measured against is this type with 16-byte slots.
type OwnedPow2 struct {
	mem  []byte // slots*size bytes, cache-line aligned
	size int    // slot size, a power of two
	mask int    // len(mem)-1: byte offsets wrap by mask
	_    pad
	poff int // producer's free-running byte position; producer-only
	_    pad
	coff int // consumer's free-running byte position; consumer-only
	_    pad
}

// NewOwnedPow2 allocates slots slots of slotSize bytes, both powers of two,
// slotSize at least 16 (word and 8 payload bytes), slots at least 2.
func NewOwnedPow2(slots, slotSize int) (*OwnedPow2, error) {
	if slots < 2 || slotSize < 16 || slots&(slots-1) != 0 || slotSize&(slotSize-1) != 0 ||
		slots > 1<<30 || slotSize > 1<<20 {
		return nil, fmt.Errorf("ring.NewOwnedPow2(%d slots, %d bytes): need powers of two, slots >= 2, slotSize >= 16: %w",
			slots, slotSize, os.ErrInvalid)
	}
	return &OwnedPow2{mem: alignedBytes(slots * slotSize), size: slotSize, mask: slots*slotSize - 1}, nil
}

// Pow2SlotFor is the smallest power-of-two slot holding the ownership word
// and payload bytes.
func Pow2SlotFor(payload int) int {
	n := payload + OwnedHeader
	if n <= 16 {
		return 16
	}
	return 1 << bits.Len(uint(n-1))
}

// Slots is the number of slots.
func (r *OwnedPow2) Slots() int { return len(r.mem) / r.size }

// PayloadSize is the usable bytes per slot (slot size - 8).
func (r *OwnedPow2) PayloadSize() int { return r.size - OwnedHeader }

// Mem is the ring's memory, for inspection in tests.
func (r *OwnedPow2) Mem() []byte { return r.mem }

func (r *OwnedPow2) slot(off int) []byte {
	return r.mem[off : off+r.size : off+r.size]
}

// Reserve returns the payload of the producer's next slot if the producer
// owns it; ok=false means full. Repeated before Publish, the same slot.
func (r *OwnedPow2) Reserve() ([]byte, bool) {
	s := r.slot(r.poff & r.mask)
	// Acquire: pairs with the release store in Release.
	if u32(s, 0).Load() != OwnerProducer {
		return nil, false
	}
	return s[OwnedHeader:], true
}

// Publish hands the last reserved slot to the consumer.
func (r *OwnedPow2) Publish() {
	// Release: pairs with the acquire load in Next; the payload is
	// visible before the word says the consumer owns it.
	storeReleaseAt(r.mem, r.poff&r.mask, OwnerConsumer)
	r.poff += r.size
}

// Next returns the payload of the consumer's next slot if the consumer
// owns it; ok=false means empty. Repeated before Release, the same slot.
func (r *OwnedPow2) Next() ([]byte, bool) {
	s := r.slot(r.coff & r.mask)
	// Acquire: pairs with the release store in Publish.
	if u32(s, 0).Load() != OwnerConsumer {
		return nil, false
	}
	return s[OwnedHeader:], true
}

// Release gives the last slot from Next back to the producer.
func (r *OwnedPow2) Release() {
	// Release: pairs with the acquire load in Reserve; the payload reads
	// are done before the producer may overwrite the slot.
	storeReleaseAt(r.mem, r.coff&r.mask, OwnerProducer)
	r.coff += r.size
}

// Drained reports, on the producer side, whether the consumer has released
// every published slot.
func (r *OwnedPow2) Drained() bool {
	// Acquire: pairs with the release store in Release.
	return u32(r.mem, (r.poff-r.size)&r.mask).Load() == OwnerProducer
}

// LoadAcquireAt and StoreReleaseAt are the ownership word's two accesses
// at mem[off:], for a caller that keeps its own positions in local
// variables instead of calling Reserve/Publish/Next/Release (ringlab's
// minimal design: the loop a hand-written ring would have, over the same
// memory and the same release store). The offset is bounds-checked.
//
// The acquire load pairs with the other side's StoreReleaseAt.
func LoadAcquireAt(mem []byte, off int) uint32 { return u32(mem, off).Load() }

// StoreReleaseAt: see LoadAcquireAt. The payload written (or read) before
// it is ordered before the word, as in Publish and Release.
func StoreReleaseAt(mem []byte, off int, v uint32) {
	_ = mem[off+3]
	storeReleaseAt(mem, off, v)
}
