package workloads

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"kbench/notify"
	"kbench/results"
)

// Wait strategies for the collecting side.
const (
	WaitBlock  = "block"  // Wait with a blocking timeout
	WaitSpin   = "spin"   // Wait with timeout 0 in a loop
	WaitHybrid = "hybrid" // spin a while, then block
)

// Config is what the command line decides for every workload.
type Config struct {
	ProducerCPU int // -1: unpinned
	// ProducerCPUs has one CPU per producer thread of a workload that
	// runs several (Workload.Producers: herd, accept), ProducerCPU first
	// (a CPU may appear more than once: threads sharing it). Empty:
	// ProducerCPU alone. Every other workload runs one producer, on
	// ProducerCPU.
	ProducerCPUs []int
	// HelperCPU is where a backend's own kernel-side thread runs (kevent's
	// fd hook, io_uring's SQPOLL thread); -1: unpinned.
	HelperCPU   int
	ConsumerCPU int
	// CollectorCPUs are the CPUs of a workload's collecting threads, given
	// to its waiters round-robin (herd); ConsumerCPU is the first. Empty:
	// ConsumerCPU alone.
	CollectorCPUs []int
	Duration      time.Duration // per repetition
	Warmup        time.Duration // one discarded repetition of this length
	Reps          int
	Wait          string
	Quick         bool
	// Params override workload parameters by name (sources=64).
	Params map[string]int
}

// Collectors is CollectorCPUs, or ConsumerCPU alone when it is empty.
func (c Config) Collectors() []int {
	if len(c.CollectorCPUs) == 0 {
		return []int{c.ConsumerCPU}
	}
	return c.CollectorCPUs
}

// MaxProducers bounds the producer threads a workload that runs several
// is given (--producers): each is a locked OS thread, and the accept
// herd's each hold their open clients.
const MaxProducers = 64

// Producers is ProducerCPUs, or ProducerCPU alone when it is empty: one
// CPU per producer thread.
func (c Config) Producers() []int {
	if len(c.ProducerCPUs) == 0 {
		return []int{c.ProducerCPU}
	}
	return c.ProducerCPUs
}

// Placement names the CPU arrangement for results.
func (c Config) Placement() string {
	if c.ProducerCPU == c.ConsumerCPU {
		return "same"
	}
	return "cross"
}

// Param is one tunable of a workload.
type Param struct {
	Name    string
	Default int
	Quick   int // default under --quick
	// Min and Max bound the values --set may give (inclusive); checked
	// before anything runs.
	Min, Max int
	Help     string
	// Valid, when set, refuses values inside the range that still cannot
	// be used (a signal the process cannot watch), in one line that names
	// the parameter.
	Valid func(v int) error
}

// Check refuses a value outside the parameter's range, in one line that
// names the parameter, the value and the range, and a value Valid refuses.
func (p Param) Check(v int) error {
	if v < p.Min || v > p.Max {
		return fmt.Errorf("%s=%d is outside its range %d..%d", p.Name, v, p.Min, p.Max)
	}
	if p.Valid != nil {
		if err := p.Valid(v); err != nil {
			return fmt.Errorf("%s=%d: %w", p.Name, v, err)
		}
	}
	return nil
}

// CheckParams refuses, before anything runs, a --set name that no selected
// workload or variant has (a typo must not silently run the defaults) and a
// value outside the range of any selected workload or variant that has it:
// the value is given to all of them.
func CheckParams(set map[string]int, wls []Workload, vs []notify.Variant) error {
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v, known := set[name], false
		for _, w := range wls {
			for _, p := range w.Params {
				if p.Name != name {
					continue
				}
				known = true
				if err := p.Check(v); err != nil {
					return fmt.Errorf("%w (workload %s)", err, w.Name)
				}
			}
		}
		for _, variant := range vs {
			if _, ok := variant.Params[name]; !ok {
				continue
			}
			known = true
			r, ok := notify.ParamRange(name)
			if !ok {
				return fmt.Errorf("%s: variant %s declares no range for it", name, variant.ID())
			}
			if err := r.Check(name, v); err != nil {
				return fmt.Errorf("%w (variant %s)", err, variant.ID())
			}
		}
		if !known {
			return fmt.Errorf("%s: no selected workload or variant has that parameter (see kbench list)", name)
		}
	}
	return nil
}

// Workload is one kind of measurement.
type Workload struct {
	Name   string
	Desc   string
	Params []Param
	// Order places the workload in the suite (ascending).
	Order int
	// Collectors: the workload spreads its collecting threads over
	// Config.Collectors() (herd), whose CPUs the engine then meters too.
	Collectors bool
	// Producers: the workload runs one producer thread per entry of
	// Config.Producers() (herd, accept), whose CPUs the engine then
	// meters too; any other runs one, on Config.ProducerCPU.
	Producers bool
	// Suite names the suite the workload belongs to: "" is the default
	// suite (`kbench run`); a workload of a named suite (Suites) runs only
	// with --suite=NAME or when --workload names it.
	Suite string
	// Run measures one backend variant and returns its row. It never
	// panics on a refused mechanism: the row says skipped with the reason.
	Run func(ctx context.Context, v notify.Variant, cfg Config) results.Result
	// Rows, set instead of Run, expands the selected variants into the
	// workload's rows, several per variant (herd: each arrangement and
	// number of waiters); the engine runs each row's trials as it runs a
	// variant's. narrowed: variants is a narrowed --impl selection, not
	// every variant (the workload may otherwise pick its own among them).
	Rows func(cfg Config, variants []notify.Variant, narrowed bool) []Row
	// Standalone workloads measure no backend (ring designs, calibration):
	// they set RunAll instead of Run and return their own rows.
	// variants is the --impl selection (a workload measuring no backend
	// ignores it).
	RunAll func(ctx context.Context, cfg Config, variants []notify.Variant) []results.Result
}

var registry []*Workload

// register adds a workload to the suite; each workload's file calls it from
// init, so adding one touches no shared file.
func register(w *Workload) { registry = append(registry, w) }

// All lists the workloads in suite order.
func All() []Workload {
	out := make([]Workload, len(registry))
	for i, w := range registry {
		out[i] = *w
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// Suites are the named suites beside the default one: the workloads each
// runs and the parameters it sets (a suite's parameters yield to --set).
var Suites = map[string]struct {
	Desc      string
	Workloads []string
	Params    map[string]int
}{
	"breakeven": {Desc: "fan-in against application work per event: where the mechanism stops mattering",
		Workloads: []string{"breakeven"}},
	"map": {Desc: "the ring lab's design map: which ring design wins at each work per event, batch, size and pattern",
		Workloads: []string{"ring"}, Params: map[string]int{"lab_map": 1}},
}

// InSuite lists the workloads of a suite ("" or "default": the default
// suite) in suite order.
func InSuite(name string) ([]Workload, error) {
	if name == "" || name == "default" {
		var out []Workload
		for _, w := range All() {
			if w.Suite == "" {
				out = append(out, w)
			}
		}
		return out, nil
	}
	s, ok := Suites[name]
	if !ok {
		return nil, fmt.Errorf("unknown suite %q", name)
	}
	var out []Workload
	for _, w := range All() {
		if slices.Contains(s.Workloads, w.Name) {
			out = append(out, w)
		}
	}
	return out, nil
}

// Find returns the workload called name.
func Find(name string) (Workload, error) {
	for _, w := range All() {
		if w.Name == name {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("unknown workload %q", name)
}

// param resolves a workload parameter: command line, then quick or normal default.
func (c Config) param(w Workload, name string) int {
	if v, ok := c.Params[name]; ok {
		return v
	}
	for _, p := range w.Params {
		if p.Name == name {
			if c.Quick && p.Quick != 0 {
				return p.Quick
			}
			return p.Default
		}
	}
	panic("workload " + w.Name + " has no parameter " + name)
}

// baseParams records the common parameters of a row.
func (c Config) baseParams(v notify.Variant) map[string]string {
	p := map[string]string{
		"trigger":      v.Trigger.String(),
		"sources_kind": v.Sources.String(),
		"placement":    c.Placement(),
		"producer_cpu": strconv.Itoa(c.ProducerCPU),
		"consumer_cpu": strconv.Itoa(c.ConsumerCPU),
		"helper_cpu":   strconv.Itoa(c.HelperCPU),
		"wait":         c.Wait,
		"duration":     c.Duration.String(),
		"warmup":       c.Warmup.String(),
		"reps":         strconv.Itoa(c.Reps),
	}
	names := make([]string, 0, len(v.Params))
	for k := range v.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		val := v.Params[k]
		if o, ok := c.Params[k]; ok {
			val = o
		}
		p[k] = strconv.Itoa(val)
	}
	return p
}

// noteEmulated records in a row's params that the opened instance's fd
// readiness reaches its mechanism through another one (Caps.Emulated, the
// only place workloads learn it: a variant's Note is for people).
func noteEmulated(params map[string]string, n notify.Notifier) {
	if params != nil && n.Caps().Emulated {
		params["emulated"] = "true"
	}
}

// options builds the Notifier options for a variant: its own parameters,
// overridden from the command line, and the helper thread's CPU.
func (c Config) options(v notify.Variant, maxSources int) notify.Options {
	o := notify.Options{MaxSources: maxSources, HelperCPU: c.HelperCPU, Params: map[string]int{}}
	for k, val := range v.Params {
		o.Params[k] = val
	}
	for k, val := range c.Params {
		if _, ok := v.Params[k]; ok {
			o.Params[k] = val
		}
	}
	return o
}
