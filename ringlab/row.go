package ringlab

import "kbench/results"

// Row is one design at one slot size under one pattern, batch and
// placement: the workload's unit of result.
type Row struct {
	Design      string `json:"design"`
	SlotSize    int    `json:"slot_size"` // payload bytes per event
	RingSlots   int    `json:"ring_slots"`
	Pattern     string `json:"pattern"`
	Burst       int    `json:"burst,omitempty"`       // events per burst (burst pattern)
	IdleGapNs   int64  `json:"idle_gap_ns,omitempty"` // untimed pause after each burst
	Batch       int    `json:"batch"`                 // publish/release every Batch events as run
	ProducerCPU int    `json:"producer_cpu"`
	ConsumerCPU int    `json:"consumer_cpu"`
	Events      int    `json:"events"` // per repetition

	// Per-repetition samples, timed by the producer from its first event to
	// the moment it sees everything released (idle gaps excluded).
	NsPerEvent   []float64 `json:"ns_per_event"`
	EventsPerSec []float64 `json:"events_per_sec"`

	// Exactly-once accounting, summed over all repetitions (warm-up too).
	Generated int64 `json:"generated"`
	Received  int64 `json:"received"`
	Lost      int64 `json:"lost"`      // sequence numbers never seen
	Dup       int64 `json:"dup"`       // seen more than once (or out of range)
	Reordered int64 `json:"reordered"` // arrived out of order
	Corrupt   int64 `json:"corrupt"`   // payload bytes not matching the sequence

	// Preempted counts involuntary context switches of the two pinned
	// threads during the timed repetitions (getrusage ru_nivcsw). A
	// sched_yield that lets another task run counts too (same-CPU rows,
	// take29's contended lock), so a high count means the CPUs were shared
	// with other work and the samples are noisy.
	Preempted int64 `json:"preempted"`

	Failed bool   `json:"failed"`
	Reason string `json:"reason,omitempty"`

	// FloorNs is CacheLineRoundTrip between the two CPUs in the same run
	// (for a same-CPU row, between the producer's CPU and another one).
	FloorNs float64 `json:"floor_ns"`
	// ReleaseStoreAsm records whether the ring package used its assembly
	// release store (build tag ring_movstore) or sync/atomic.
	ReleaseStoreAsm bool `json:"release_store_asm"`

	// Application work per event on the consumer: requested (parameters)
	// and measured (ns per call of the same loop, timed on the consumer's
	// CPU right after each timed repetition).
	WorkNs         int64     `json:"work_ns"`
	WorkBytes      int64     `json:"work_bytes"`
	WorkMeasuredNs []float64 `json:"work_measured_ns,omitempty"`

	// NetNsPerEvent are the unchecked repetitions (Params.Net), each run
	// right after the checked one of the same index: the design's cost net
	// of the harness's per-event checks. HarnessNs is the median checked
	// minus the median unchecked: what the checks cost per event here.
	NetNsPerEvent []float64 `json:"net_ns_per_event,omitempty"`
	HarnessNs     float64   `json:"harness_ns,omitempty"`

	// C twin samples for designs 1–3 when Params.Twin is set, and the ratio
	// of the Go median to the C median.
	CNsPerEvent    []float64 `json:"c_ns_per_event,omitempty"`
	GoOverC        float64   `json:"go_over_c,omitempty"`
	CNetNsPerEvent []float64 `json:"c_net_ns_per_event,omitempty"`
	NetGoOverC     float64   `json:"net_go_over_c,omitempty"`
	CWorkNs        []float64 `json:"c_work_measured_ns,omitempty"`

	Note string `json:"note,omitempty"`
}

// MedianNs is the median of NsPerEvent (0 without samples).
func (r Row) MedianNs() float64 { return median(r.NsPerEvent) }

// NetMedianNs is the median of NetNsPerEvent (0 without samples).
func (r Row) NetMedianNs() float64 { return median(r.NetNsPerEvent) }

// FloorMultiple is the median ns/event as a multiple of the cache-line
// round trip measured in the same run (0 without a floor).
func (r Row) FloorMultiple() float64 {
	if r.FloorNs <= 0 {
		return 0
	}
	return r.MedianNs() / r.FloorNs
}

func median(xs []float64) float64 { return results.Median(xs) }
