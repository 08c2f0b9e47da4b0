package ringlab

import (
	"fmt"

	"kbench/internal/ring"
)

// instance is one ring under test with its two loops. Each design's loops
// call the ring's methods directly, never through an interface, so that
// the row measures the protocol rather than dynamic dispatch; the loops'
// shapes are the same for every design and for the C twins.
type instance struct {
	produce func(*producer)
	consume func(*consumer) error
	batch   int    // batch as run (Owned cannot batch)
	note    string // how the design reads Params.Batch
}

func newInstance(design string, slots, size, batch int) (instance, error) {
	switch design {
	case Owned:
		r, err := ring.NewOwned(slots, slotBytes(size))
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceOwned(r, p) },
			consume: func(c *consumer) error { consumeOwned(r, c); return nil },
			batch:   1,
			note:    "ownership word per slot: every event is published and released on its own (no shared index to batch)",
		}, nil
	case OwnedPow2:
		r, err := ring.NewOwnedPow2(slots, ring.Pow2SlotFor(size))
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceOwnedPow2(r, p, size) },
			consume: func(c *consumer) error { consumeOwnedPow2(r, c, size); return nil },
			batch:   1,
			note:    "ownership word inside a power-of-two slot (af_packet's aligned frames), index wrapped by mask",
		}, nil
	case Minimal:
		m, err := newMinimal(slots, size)
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceMinimal(m, p, size) },
			consume: func(c *consumer) error { consumeMinimal(m, c, size); return nil },
			batch:   1,
			note:    "owned-pow2's protocol and memory with each loop's position, mask and slot size in local variables (a hand-written ring's loop)",
		}, nil
	case Shared:
		r, err := ring.NewShared(slots, size)
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceShared(r, p) },
			consume: func(c *consumer) error { consumeShared(r, c); return nil },
			batch:   batch,
			note:    "capacity slots-1 (aio_ring convention)",
		}, nil
	case Split:
		r, err := ring.NewSplit(slots, size)
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceSplit(r, p) },
			consume: func(c *consumer) error { consumeSplit(r, c); return nil },
			batch:   batch,
		}, nil
	case Take29:
		r, err := ring.NewTake29(slots, size)
		if err != nil {
			return instance{}, err
		}
		rd := &take29Reader{r: r}
		return instance{
			produce: func(p *producer) { produceTake29(r, p) },
			consume: rd.consume,
			batch:   batch,
			note: "kernel side copies each event under ring_lock and publishes ring_kidx per event; " +
				"the reader commits every batch events; one slot left free (no kevent_wait count); no syscall",
		}, nil
	case Busy:
		r, err := ring.NewBusy(slots, size)
		if err != nil {
			return instance{}, err
		}
		return instance{
			produce: func(p *producer) { produceBusy(r, p) },
			consume: func(c *consumer) error { consumeBusy(r, c); return nil },
			batch:   batch,
			note:    "8-byte record header; producer position published at each reservation",
		}, nil
	}
	return instance{}, fmt.Errorf("ringlab: unknown design %q", design)
}

func produceOwned(r *ring.Owned, p *producer) {
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			b, ok := r.Reserve()
			for !ok {
				if p.pause() {
					return
				}
				b, ok = r.Reserve()
			}
			fill(b, seq)
			r.Publish()
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

func consumeOwned(r *ring.Owned, c *consumer) {
	for {
		b, ok := r.Next()
		if !ok {
			if c.idle() {
				return
			}
			continue
		}
		if c.fast {
			c.add(b)
		} else {
			c.take(b)
		}
		r.Release()
	}
}

func produceOwnedPow2(r *ring.OwnedPow2, p *producer, size int) {
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			b, ok := r.Reserve()
			for !ok {
				if p.pause() {
					return
				}
				b, ok = r.Reserve()
			}
			fill(b[:size], seq)
			r.Publish()
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

func consumeOwnedPow2(r *ring.OwnedPow2, c *consumer, size int) {
	for {
		b, ok := r.Next()
		if !ok {
			if c.idle() {
				return
			}
			continue
		}
		if c.fast {
			c.add(b[:size])
		} else {
			c.take(b[:size])
		}
		r.Release()
	}
}

func produceShared(r *ring.Shared, p *producer) {
	pending := 0
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			b, ok := r.Reserve()
			for !ok {
				if pending > 0 {
					r.Publish()
					pending = 0
				}
				if p.pause() {
					return
				}
				b, ok = r.Reserve()
			}
			fill(b, seq)
			pending++
		}
		if pending > 0 && (pending >= p.batch || p.edge(i+1)) {
			r.Publish()
			pending = 0
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	if pending > 0 {
		r.Publish()
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

func consumeShared(r *ring.Shared, c *consumer) {
	pending := 0
	for {
		b, ok := r.Next()
		if !ok {
			if pending > 0 {
				r.Release()
				pending = 0
				continue
			}
			if c.idle() {
				return
			}
			continue
		}
		if c.fast {
			c.add(b)
		} else {
			c.take(b)
		}
		if pending++; pending == c.batch {
			r.Release()
			pending = 0
		}
	}
}

func produceSplit(r *ring.Split, p *producer) {
	pending := 0
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			b, ok := r.Reserve()
			for !ok {
				if pending > 0 {
					r.Publish()
					pending = 0
				}
				if p.pause() {
					return
				}
				b, ok = r.Reserve()
			}
			fill(b, seq)
			pending++
		}
		if pending > 0 && (pending >= p.batch || p.edge(i+1)) {
			r.Publish()
			pending = 0
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	if pending > 0 {
		r.Publish()
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

func consumeSplit(r *ring.Split, c *consumer) {
	pending := 0
	for {
		b, ok := r.Next()
		if !ok {
			if pending > 0 {
				r.Release()
				pending = 0
				continue
			}
			if c.idle() {
				return
			}
			continue
		}
		if c.fast {
			c.add(b)
		} else {
			c.take(b)
		}
		if pending++; pending == c.batch {
			r.Release()
			pending = 0
		}
	}
}

func produceBusy(r *ring.Busy, p *producer) {
	pending := 0
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			b, ok := r.Reserve()
			for !ok {
				if pending > 0 {
					r.Publish()
					pending = 0
				}
				if p.pause() {
					return
				}
				b, ok = r.Reserve()
			}
			fill(b, seq)
			pending++
		}
		if pending > 0 && (pending >= p.batch || p.edge(i+1)) {
			r.Publish()
			pending = 0
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	if pending > 0 {
		r.Publish()
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

func consumeBusy(r *ring.Busy, c *consumer) {
	pending := 0
	for {
		b, ok := r.Next()
		if !ok {
			if pending > 0 {
				r.Release()
				pending = 0
				continue
			}
			if c.idle() {
				return
			}
			continue
		}
		if c.fast {
			c.add(b)
		} else {
			c.take(b)
		}
		if pending++; pending == c.batch {
			r.Release()
			pending = 0
		}
	}
}

// produceTake29 is the kernel side: each event is built in a scratch
// ukevent and copied into the ring (kevent_copy_ring_buffer).
func produceTake29(r *ring.Take29, p *producer) {
	scratch := make([]byte, r.PayloadSize()) // once per repetition
	for i := 0; i < p.n; i++ {
		seq, times := p.seq(i)
		for ; times > 0; times-- {
			fill(scratch, seq)
			for !r.PutSpare(scratch) {
				if p.pause() {
					return
				}
			}
		}
		if p.burstEnd(i + 1) {
			for !r.Drained() {
				if p.pause() {
					return
				}
			}
			p.idleGap()
		}
	}
	for !r.Drained() {
		if p.pause() {
			return
		}
	}
}

// take29Reader is user space: its own uidx (kept across repetitions, as
// the ring is), the last ring_kidx it read, and commits every batch events.
type take29Reader struct {
	r          *ring.Take29
	uidx, kidx uint32
}

func (t *take29Reader) consume(c *consumer) error {
	r, slots := t.r, uint32(t.r.Slots())
	uidx, kidx := t.uidx, t.kidx
	defer func() { t.uidx, t.kidx = uidx, kidx }()
	pending := 0
	for {
		if uidx == kidx {
			if kidx = r.Kidx(); uidx == kidx {
				if pending > 0 {
					if _, err := r.Commit(uidx, r.Over()); err != nil {
						c.f.stop.Store(true)
						return err
					}
					pending = 0
					continue
				}
				if c.idle() {
					return nil
				}
				continue
			}
		}
		if b := r.Record(uidx); c.fast {
			c.add(b)
		} else {
			c.take(b)
		}
		if uidx++; uidx == slots {
			uidx = 0
		}
		if pending++; pending == c.batch {
			if _, err := r.Commit(uidx, r.Over()); err != nil {
				c.f.stop.Store(true)
				return err
			}
			pending = 0
		}
	}
}
