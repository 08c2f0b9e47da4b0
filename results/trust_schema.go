package results

// Trust: what a reader needs beside a figure to know how far it holds.
// The engine (workloads) fills these; results/trust.go computes intervals
// and the noisy/unstable classification; tables, plots and the gate read
// them. Every field is derived from raw numbers kept in the file.

const (
	// StatusNoisy: the row ran and kept its figures, but the pinned CPUs
	// were disturbed (other processes, steal) beyond the threshold in its
	// repetitions. Reason says by how much.
	StatusNoisy Status = "noisy"
	// StatusUnstable: the row ran and kept its figures, but its headline
	// metric's 95 % interval of the median is wide, or its repetitions
	// split into two clusters. Reason says which.
	StatusUnstable Status = "unstable"
)

// Measured reports whether a row with this status holds figures (ok, noisy
// or unstable) that tables, plots and the gate may use.
func (s Status) Measured() bool {
	return s == StatusOK || s == StatusNoisy || s == StatusUnstable
}

// Interference is one repetition's reading of how much of the pinned CPUs'
// time went elsewhere, from the kernel's own accounting (/proc/stat per CPU,
// /proc/self/stat for this process), over the trial's window.
type Interference struct {
	WallNs int64 `json:"wall_ns"`
	CPUs   []int `json:"cpus"`
	// BusyNs: the pinned CPUs' non-idle time (user, nice, system, irq,
	// softirq), summed over the CPUs, measured as the window less idle,
	// iowait and steal time (IdleNs), which the kernel measures rather than
	// samples with ticks (internal/interfere says why).
	BusyNs int64 `json:"busy_ns"`
	// IdleNs: the pinned CPUs' idle and iowait time, summed over the CPUs.
	IdleNs int64 `json:"idle_ns"`
	// StealNs: time the hypervisor ran something else on those CPUs.
	StealNs int64 `json:"steal_ns"`
	// SelfNs: this process's CPU time, all threads, with its children's that ended in the window (the C twins).
	SelfNs int64 `json:"self_ns"`
	// MeasuredNs: the measured threads' CPU time (producer, consumer,
	// helper), when the workload reports it.
	MeasuredNs int64 `json:"measured_ns,omitempty"`
	// Share: (busy - self + steal) / (wall × CPUs): the share of the pinned
	// CPUs' capacity taken by other processes, kernel threads and the
	// hypervisor.
	Share float64 `json:"share"`
}

// Interval is a 95 % confidence interval of a metric's median over a row's
// repetitions (order statistics: no assumption about the distribution),
// widened by the machine's drift between rounds when the engine measured
// one (Drift).
type Interval struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	// Confidence actually achieved (order statistics give discrete levels;
	// with few repetitions it can only be below 0.95).
	Confidence float64 `json:"confidence"`
	N          int     `json:"n"`
	// Drift: the interval was widened by this share on each side for the
	// machine's drift between the invocation's rounds (results/drift.go);
	// 0 when it was not.
	Drift float64 `json:"drift,omitempty"`
}

// Trust is a row's summary of how far its figures hold.
type Trust struct {
	// Headline is the metric the row's stability is judged on.
	Headline string `json:"headline"`
	// Intervals per metric name.
	Intervals map[string]Interval `json:"intervals,omitempty"`
	// Interference: median and largest share over the repetitions.
	Interference    float64 `json:"interference"`
	MaxInterference float64 `json:"max_interference"`
	MaxSteal        float64 `json:"max_steal,omitempty"`
	// Flags: "noisy", "unstable", each with its reason, in Reasons.
	Flags   []string `json:"flags,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// Engine records how a run's repetitions were scheduled: rounds of
// independent trials, rows in a shuffled order drawn from Seed.
type Engine struct {
	Seed int64 `json:"seed"`
	// Rounds lists, per round, the rows (indexes into File.Results) in the
	// order their trials ran.
	Rounds [][]int `json:"rounds,omitempty"`
	// NoisyShare is the interference threshold the run classified with.
	NoisyShare float64 `json:"noisy_share"`
	// UnstableWidth is the relative half-width above which a row is unstable.
	UnstableWidth float64 `json:"unstable_width"`
}

// Preflight is the look at the chosen CPUs before the first row.
type Preflight struct {
	WindowNs int64 `json:"window_ns"`
	CPUs     []int `json:"cpus"`
	// Share of the CPUs' capacity used by anything but kbench.
	Share float64 `json:"share"`
	Steal float64 `json:"steal,omitempty"`
	// Busiest other processes, busiest first.
	Procs []ProcUse `json:"procs,omitempty"`
	Quiet bool      `json:"quiet"`
}

// ProcUse is one process seen using CPU in the pre-flight window.
type ProcUse struct {
	PID     int     `json:"pid"`
	Command string  `json:"command"`
	Share   float64 `json:"share"` // of one CPU over the window
}
