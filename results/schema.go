package results

import (
	"slices"
	"sort"
	"time"

	"kbench/internal/rusage"
)

// Schema names this file format; readers refuse any other.
const Schema = "kbench.result/v1"

// Status of one result row.
type Status string

const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"  // ran, and broke a rule (lost or duplicated events, an error)
	StatusSkipped Status = "skipped" // the machine refused the mechanism; Reason says why
	StatusNA      Status = "n/a"     // the backend cannot do what the workload needs
)

// File is one run of kbench.
type File struct {
	Schema   string    `json:"schema"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Complete is false when the run was interrupted; what finished is kept.
	Complete bool `json:"complete"`
	Env      Env  `json:"env"`
	// Calibration holds this machine's floors (ns), measured in the run.
	Calibration map[string]float64 `json:"calibration,omitempty"`
	// Engine and Preflight say how the repetitions were scheduled and what
	// the machine looked like before the first row (trust_schema.go).
	Engine    *Engine    `json:"engine,omitempty"`
	Preflight *Preflight `json:"preflight,omitempty"`
	Results   []Result   `json:"results"`
}

// Unit describes one metric: its name is also its unit ("events/s").
type Unit struct {
	Name   string `json:"name"`
	Better string `json:"better"` // "higher" or "lower"; "" for a figure with no direction (compared, never judged)
}

// Result is one table row: a workload over one backend variant.
type Result struct {
	Workload string `json:"workload"`
	Backend  string `json:"backend"`
	Variant  string `json:"variant"`
	// Params holds every parameter the row ran with, as strings.
	Params  map[string]string `json:"params"`
	Status  Status            `json:"status"`
	Reason  string            `json:"reason,omitempty"`
	Units   []Unit            `json:"units"`
	Samples []Sample          `json:"samples"`
	// Trust: intervals, interference and the noisy/unstable flags.
	Trust *Trust `json:"trust,omitempty"`
}

// ID is "workload backend/variant".
func (r *Result) ID() string { return r.Workload + " " + r.Backend + "/" + r.Variant }

// Sample is one repetition's raw measurements.
type Sample struct {
	Rep    int                `json:"rep"`
	Values map[string]float64 `json:"values"`
	// Exactly-once accounting.
	Generated uint64 `json:"generated"`
	Collected uint64 `json:"collected"`
	Lost      uint64 `json:"lost"`
	Dup       uint64 `json:"dup"`
	// CPU per side: getrusage(RUSAGE_THREAD) and the thread's CPU clock.
	Producer rusage.Usage  `json:"producer"`
	Consumer rusage.Usage  `json:"consumer"`
	Helper   *rusage.Usage `json:"helper,omitempty"`
	// Syscalls by kind, from the backend's counters.
	Syscalls map[string]uint64 `json:"syscalls,omitempty"`
	// Histograms, hdrhistogram-go encoded (base64), by name.
	Histograms map[string]string `json:"histograms,omitempty"`
	// Interference over this repetition's trial.
	Interference *Interference `json:"interference,omitempty"`
}

// Stat summarises one metric over the repetitions.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// Summary computes the median and range of metric name over the samples.
func (r *Result) Summary(name string) (Stat, bool) {
	var v []float64
	for _, s := range r.Samples {
		if x, ok := s.Values[name]; ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stat{}, false
	}
	sort.Float64s(v)
	return Stat{Median: Median(v), Min: v[0], Max: v[len(v)-1], N: len(v)}, true
}

// Median of v (the mean of the middle two for an even count); v is not
// modified. It is 0 for no values.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Absorb adds o's accounting and per-side CPU to s: a repetition made of
// several measured parts (a sweep's points) is accounted as their sum.
func (s *Sample) Absorb(o Sample) {
	s.Generated += o.Generated
	s.Collected += o.Collected
	s.Lost += o.Lost
	s.Dup += o.Dup
	s.Producer = s.Producer.Add(o.Producer)
	s.Consumer = s.Consumer.Add(o.Consumer)
	if o.Helper != nil {
		if s.Helper == nil {
			s.Helper = new(rusage.Usage)
		}
		*s.Helper = s.Helper.Add(*o.Helper)
	}
}

// Totals sums the accounting over the samples.
func (r *Result) Totals() (generated, collected, lost, dup uint64) {
	for _, s := range r.Samples {
		generated += s.Generated
		collected += s.Collected
		lost += s.Lost
		dup += s.Dup
	}
	return
}
