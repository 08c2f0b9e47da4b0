package ringlab

import (
	"fmt"
	"os"
	"slices"
	"time"

	"kbench/internal/work"
)

// Design names, as they appear in rows.
const (
	Owned = "owned" // 1: ownership word per slot (Zach Brown, af_packet tp_status)
	// OwnedPow2 is design 1 with af_packet's aligned layout: the word inside
	// a power-of-two slot, indices wrapped by mask.
	OwnedPow2 = "owned-pow2"
	// Minimal is owned-pow2's protocol and memory in a loop that keeps its
	// positions in local variables: the control for the gap study.
	Minimal = "minimal"
	Shared  = "shared" // 2: AIO-style head and tail on one line
	Split   = "split"  // 3: head and tail on separate lines, cached copies (io_uring)
	Take29  = "take29" // 4: kevent take29 ring_kidx/ring_over + kevent_commit
	Busy    = "busy"   // 5: BPF ringbuf style positions + busy bit
)

// Designs lists every design in the order rows are produced.
func Designs() []string { return []string{Owned, OwnedPow2, Minimal, Shared, Split, Take29, Busy} }

// Access patterns.
const (
	Stream   = "stream"   // producer runs ahead; spins only when the ring is full
	Lockstep = "lockstep" // one event (or one batch), then wait until consumed
	Burst    = "burst"    // Burst events, wait until consumed, idle, repeat
)

// Params selects one slice of the ring workload. Run produces one Row per
// design × slot size.
type Params struct {
	Designs   []string // default Designs()
	SlotSizes []int    // payload bytes per event; default 16, 40 (ukevent), 64
	RingSlots int      // slots per ring; default 256
	Pattern   string   // Stream, Lockstep or Burst; default Stream
	Burst     int      // events per burst (Burst pattern); default 32
	Batch     int      // publish (and release) every Batch events; default 1
	// IdleGap is the pause after each burst, excluded from the timing.
	IdleGap time.Duration

	ProducerCPU int // CPU the producer is pinned to
	ConsumerCPU int // CPU the consumer is pinned to; may equal ProducerCPU

	Events int // events per repetition; default 400000
	Reps   int // timed repetitions; default 6
	Warmup int // events in the untimed warm-up repetition; 0 means Events/4

	// WorkNs and WorkBytes are the application's work per event on the
	// consumer (internal/work): a calibrated chain of WorkNs ns and a walk
	// over WorkBytes of a private buffer, after each event is taken.
	WorkNs, WorkBytes int64

	// Net also runs every repetition a second time with the consumer's
	// checks off (it only sums the payload), right after the checked one,
	// so that a row reports the harness's own per-event cost and the
	// design's cost net of it. Exactly-once is proven on the checked runs.
	Net bool

	// Twin is the path of a built C twin (BuildCTwin); when set, Run also
	// runs it for designs 1–3 and fills the rows' C samples and Go/C ratio.
	Twin string

	fault fault // tests only: corrupt the producer's stream on purpose
}

// fault makes the producer skip or repeat one sequence number, so that tests
// can prove the consumer's exactly-once check catches it.
type fault struct {
	dropAt int // skip event dropAt (0 = off; index counted from 1)
	dupAt  int // publish event dupAt twice (0 = off; counted from 1)
}

// Default is the full ring workload's parameters for one pattern.
func Default() Params {
	return Params{
		Designs:     Designs(),
		SlotSizes:   []int{16, 40, 64},
		RingSlots:   256,
		Pattern:     Stream,
		Burst:       32,
		Batch:       1,
		IdleGap:     5 * time.Microsecond,
		ProducerCPU: 0,
		ConsumerCPU: 1,
		Events:      400000,
		Reps:        6,
		Warmup:      80000,
	}
}

// Quick is a smoke-test preset: every design once, 40-byte payloads,
// streaming, three short repetitions (well under 2 s on two cores).
func Quick() Params {
	p := Default()
	p.SlotSizes = []int{40}
	p.Events = 20000
	p.Reps = 3
	p.Warmup = 2000
	return p
}

// Suite is the ring workload as the harness runs it: each pattern, batch
// and placement of interest at the given CPUs. quick selects the smoke-test
// version. The single-event streaming entry also runs unchecked (Net).
func Suite(quick bool, producerCPU, consumerCPU int) []Params {
	base := Default()
	if quick {
		base = Quick()
	}
	base.ProducerCPU, base.ConsumerCPU = producerCPU, consumerCPU
	if !quick {
		// Half of Default's events: the default `kbench run` suite must
		// stay within two minutes with every other workload in it, and
		// the owned-pow2 and minimal designs doubled the lab's time.
		base.Events, base.Warmup = base.Events/2, base.Warmup/2
	}
	// The single-event streaming entry also runs unchecked, to report the
	// harness's own per-event cost (Net); elsewhere the handoff dominates
	// it.
	base.Net = false
	stream1 := base
	stream1.Net = true
	stream16 := base
	stream16.Batch = 16
	lock := base
	lock.Pattern = Lockstep
	lock.Events = base.Events / 10
	lock.Warmup = base.Warmup / 10
	burst := base
	burst.Pattern = Burst
	burst.Batch = 8
	burst.Events = base.Events / 4
	burst.Warmup = base.Warmup / 4
	if quick {
		return []Params{stream1, lock}
	}
	same := stream16
	same.ConsumerCPU = producerCPU
	same.SlotSizes = []int{40}
	same.Events = base.Events / 4
	same.Warmup = base.Warmup / 4
	return []Params{stream1, stream16, lock, burst, same}
}

// withDefaults fills zero fields and validates the rest.
func (p Params) withDefaults() (Params, error) {
	d := Default()
	if len(p.Designs) == 0 {
		p.Designs = d.Designs
	}
	if len(p.SlotSizes) == 0 {
		p.SlotSizes = d.SlotSizes
	}
	if p.RingSlots == 0 {
		p.RingSlots = d.RingSlots
	}
	if p.Pattern == "" {
		p.Pattern = d.Pattern
	}
	if p.Burst == 0 {
		p.Burst = d.Burst
	}
	if p.Batch == 0 {
		p.Batch = 1
	}
	if p.Events == 0 {
		p.Events = d.Events
	}
	if p.Reps == 0 {
		p.Reps = d.Reps
	}
	if p.Warmup == 0 {
		p.Warmup = p.Events / 4
	}
	bad := func(format string, args ...any) (Params, error) {
		return p, fmt.Errorf("ringlab: "+format+": %w", append(args, os.ErrInvalid)...)
	}
	for _, d := range p.Designs {
		if !slices.Contains(Designs(), d) {
			return bad("unknown design %q (want one of %v)", d, Designs())
		}
	}
	for _, s := range p.SlotSizes {
		if s < 8 || s%8 != 0 || s > 4096 {
			return bad("slot size %d: need a multiple of 8 in [8, 4096]", s)
		}
	}
	switch p.Pattern {
	case Stream, Lockstep, Burst:
	default:
		return bad("unknown pattern %q (want stream, lockstep or burst)", p.Pattern)
	}
	switch {
	case p.RingSlots < 4 || p.RingSlots > 1<<20:
		return bad("ring of %d slots: need 4 to 1<<20", p.RingSlots)
	case p.Batch < 1 || p.Batch >= p.RingSlots:
		return bad("batch %d: need 1 <= batch < ring slots %d", p.Batch, p.RingSlots)
	case p.Burst < 1:
		return bad("burst %d", p.Burst)
	case p.Events < 1 || p.Reps < 1 || p.Warmup < 0:
		return bad("events %d, reps %d, warmup %d", p.Events, p.Reps, p.Warmup)
	case p.ProducerCPU < 0 || p.ConsumerCPU < 0:
		return bad("CPUs %d and %d", p.ProducerCPU, p.ConsumerCPU)
	}
	for _, d := range []string{OwnedPow2, Minimal} {
		if p.RingSlots&(p.RingSlots-1) != 0 && slices.Contains(p.Designs, d) {
			return bad("%s needs a power-of-two ring, not %d slots", d, p.RingSlots)
		}
	}
	if err := work.Check(p.WorkNs, p.WorkBytes); err != nil {
		return p, fmt.Errorf("ringlab: %w", err)
	}
	return p, nil
}

// burstLen is the number of events after which the producer waits for the
// consumer to drain the ring: 0 when streaming.
func (p Params) burstLen() int {
	switch p.Pattern {
	case Lockstep:
		return p.Batch
	case Burst:
		return p.Burst
	}
	return 0
}
