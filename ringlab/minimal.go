package ringlab

import (
	"encoding/binary"

	"kbench/internal/ring"
)

// minimalRing is the ownership-word protocol written as a hand-made ring
// would be: the same memory and layout as owned-pow2 (the word inside a
// power-of-two slot, wrapped by mask), but each loop keeps its position,
// the mask and the slot size in local variables for the whole repetition
// instead of calling the ring's methods, which re-derive the slot from
// fields of the ring struct and advance a position kept there, once per
// event. The difference between this design and owned-pow2 is what the
// method-per-event structure costs; the gap study (issue 12) measured it
// as most of the distance between kbench's owned ring and a minimal one.
// Positions persist across repetitions, as the ring's memory does.
type minimalRing struct {
	mem        []byte
	slot, mask int
	_          [64]byte
	ppos       int // producer's free-running byte position, between repetitions
	_          [64]byte
	cpos       int // consumer's
	_          [64]byte
}

func newMinimal(slots, size int) (*minimalRing, error) {
	r, err := ring.NewOwnedPow2(slots, ring.Pow2SlotFor(size))
	if err != nil {
		return nil, err
	}
	mem := r.Mem()
	slot := len(mem) / r.Slots()
	return &minimalRing{mem: mem, slot: slot, mask: len(mem) - 1}, nil
}

func produceMinimal(m *minimalRing, p *producer, size int) {
	mem, slot, mask, pos := m.mem, m.slot, m.mask, m.ppos
	defer func() { m.ppos = pos }()
	drained := func() bool {
		// Acquire: pairs with the consumer's release of the last slot.
		return ring.LoadAcquireAt(mem, (pos-slot)&mask) == ring.OwnerProducer
	}
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			off := pos & mask
			// Acquire: pairs with the consumer's StoreReleaseAt below.
			for ring.LoadAcquireAt(mem, off) != ring.OwnerProducer {
				if p.pause() {
					return
				}
			}
			fill(mem[off+ring.OwnedHeader:off+ring.OwnedHeader+size], seq)
			// Release: the payload before the word (pairs with the
			// consumer's acquire load).
			ring.StoreReleaseAt(mem, off, ring.OwnerConsumer)
			pos += slot
		}
		if p.burstEnd(i + 1) {
			for !drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	for !drained() {
		if p.pause() {
			return
		}
	}
}

func consumeMinimal(m *minimalRing, c *consumer, size int) {
	mem, slot, mask, pos := m.mem, m.slot, m.mask, m.cpos
	var sum uint64
	var got int64
	for {
		off := pos & mask
		// Acquire: pairs with the producer's StoreReleaseAt.
		if ring.LoadAcquireAt(mem, off) != ring.OwnerConsumer {
			if c.idle() {
				break
			}
			continue
		}
		b := mem[off+ring.OwnedHeader : off+ring.OwnedHeader+size]
		if c.fast {
			got++
			for j := 0; j+8 <= len(b); j += 8 {
				sum += binary.LittleEndian.Uint64(b[j:])
			}
		} else {
			c.take(b)
		}
		// Release: our payload reads before the producer may rewrite it.
		ring.StoreReleaseAt(mem, off, ring.OwnerProducer)
		pos += slot
	}
	m.cpos = pos
	c.sum += sum
	c.received += got
}
