package ringlab

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/ring"
	"kbench/internal/work"
)

// flags is what the two sides and the watchdog share during a repetition,
// each on its own cache line so that polling one never disturbs the ring.
type flags struct {
	ready atomic.Bool // consumer pinned and polling
	_     [56]byte
	done  atomic.Bool // producer saw everything drained: consumer may stop when empty
	_     [56]byte
	stop  atomic.Bool // watchdog or cancellation: both sides give up
	_     [56]byte
}

// producer is one repetition's producer-side state.
type producer struct {
	f      *flags
	n      int // events to publish
	batch  int
	burst  int   // drain after this many events; 0 = stream
	idle   int64 // ns to idle after each burst (not timed)
	yield  bool  // same CPU as the consumer: sched_yield when blocked
	fault  fault
	idleNs int64 // accumulated idle time, subtracted from the total
}

// seq is the sequence number event i (counted from 0) carries, and how
// many times it is published (0 to drop it, 2 to duplicate it).
func (p *producer) seq(i int) (uint64, int) {
	switch i + 1 {
	case p.fault.dropAt:
		return uint64(i), 0
	case p.fault.dupAt:
		return uint64(i), 2
	}
	return uint64(i), 1
}

// edge reports whether event i (counted from 1) ends a burst or the run:
// the producer publishes whatever is pending there.
func (p *producer) edge(i int) bool { return i == p.n || (p.burst > 0 && i%p.burst == 0) }

// burstEnd reports whether the producer must wait for the drain after i.
func (p *producer) burstEnd(i int) bool { return p.burst > 0 && i%p.burst == 0 && i < p.n }

// pause is the producer's blocked step: spin across CPUs, yield on one.
// It reports whether to give up.
func (p *producer) pause() bool {
	if p.yield {
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	return p.f.stop.Load()
}

// idleGap spins for the burst pattern's idle time, outside the timing.
func (p *producer) idleGap() {
	if p.idle <= 0 {
		return
	}
	t0 := clock.Now()
	for clock.Now()-t0 < p.idle && !p.f.stop.Load() {
		if p.yield {
			unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	p.idleNs += clock.Now() - t0
}

// fill writes seq into the first word of the payload and seq^offset into
// every following word, so the consumer can tell a torn or stale payload.
// The C twin does the same.
func fill(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	for j := 8; j+8 <= len(b); j += 8 {
		binary.LittleEndian.PutUint64(b[j:], seq^uint64(j))
	}
}

// consumer is one repetition's consumer-side state and exactly-once tally.
type consumer struct {
	f     *flags
	n     int // events expected
	batch int
	yield bool
	// verify selects the checked consumer (exactly-once bitmap, order and
	// payload checks: the harness's own per-event work). Off, the consumer
	// only sums the payload, as a minimal ring's reader does; those runs
	// exist to measure what the checks cost and are held to a count and a
	// checksum, not to the full proof.
	verify bool
	// fast is !verify and no work: the loops then call add directly, which
	// inlines, where take (a call per event) does not.
	fast bool
	sum  uint64     // unchecked: sum of every payload word
	w    *work.Loop // application work per event; nil for none
	seen []uint64   // bitmap of sequence numbers, n bits
	next uint64     // expected next sequence number
	count
}

// take is everything the consumer does with one event it has been handed:
// the harness's check (or the plain sum), then the application's work,
// before the slot is released (the event is processed in place, as a
// zero-copy ring reader does).
func (c *consumer) take(b []byte) {
	if c.verify {
		c.check(b)
	} else {
		c.add(b)
	}
	if c.w != nil {
		c.w.Do()
	}
}

// add is the unchecked consumer: count the event and sum its words.
func (c *consumer) add(b []byte) {
	c.received++
	s := c.sum
	for j := 0; j+8 <= len(b); j += 8 {
		s += binary.LittleEndian.Uint64(b[j:])
	}
	c.sum = s
}

// wantSum is the sum an unchecked consumer must reach for n events of
// size bytes each, as fill writes them.
func wantSum(n, size int) uint64 {
	var s uint64
	for i := 0; i < n; i++ {
		s += uint64(i)
		for j := 8; j+8 <= size; j += 8 {
			s += uint64(i) ^ uint64(j)
		}
	}
	return s
}

// count is the exactly-once tally of one repetition.
type count struct {
	received, dup, reordered, corrupt int64
}

// check verifies one payload and records its sequence number.
func (c *consumer) check(b []byte) {
	seq := binary.LittleEndian.Uint64(b)
	c.received++
	for j := 8; j+8 <= len(b); j += 8 {
		if binary.LittleEndian.Uint64(b[j:]) != seq^uint64(j) {
			c.corrupt++
			break
		}
	}
	if seq != c.next {
		c.reordered++
	}
	c.next = seq + 1
	if seq >= uint64(c.n) {
		c.dup++
		return
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	if c.seen[w]&bit != 0 {
		c.dup++
		return
	}
	c.seen[w] |= bit
}

// lost counts the sequence numbers below n never seen.
func (c *consumer) lost() int64 {
	var got int64
	for _, w := range c.seen {
		for ; w != 0; w &= w - 1 {
			got++
		}
	}
	return int64(c.n) - got
}

// idle is the consumer's empty-ring step. It reports whether to stop: the
// producer has seen everything drained (so nothing is left to read) or the
// repetition was abandoned.
func (c *consumer) idle() bool {
	if c.yield {
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	return c.f.done.Load() || c.f.stop.Load()
}

// slotBytes is the Owned slot size holding a payload of size bytes.
func slotBytes(size int) int { return size + ring.OwnedHeader }
