package workloads

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"kbench/internal/interfere"
	"kbench/notify"
	"kbench/results"
)

// Suite is one invocation's measuring plan: workloads in suite order, the
// --impl selection, and how repetitions are scheduled and judged.
//
// Every row's repetitions are independent trials. A trial runs the
// workload for one variant from scratch (pin, open the notifier, register,
// start the producer, warm up, one metered repetition, tear down), so the
// regime a run settles in (see README: two regimes of a fan-in run) is
// drawn afresh each time. Trials go in rounds: round k runs trial k of
// every row of the workload, in an order shuffled from Seed, so drift of
// the machine during the invocation reaches every row alike. Around each
// trial the engine reads the kernel's accounting of the pinned CPUs
// (internal/interfere), and once a row is complete it computes its
// intervals and flags (results.Result.Assess).
type Suite struct {
	Cfg       Config
	Workloads []Workload
	Variants  []notify.Variant
	// Narrowed: Variants is a narrowed --impl selection, not every variant.
	// A workload that schedules its own rows (fidelity) then runs only
	// those and reports a selected variant it cannot measure as n/a;
	// otherwise it runs everything it knows.
	Narrowed bool
	// Seed of the shuffled order within each round; recorded in the result.
	Seed  int64
	Trust results.TrustOptions
	// Step is told before each trial (progress display); may be nil.
	Step func(what string)
}

// Steps is the number of Step calls a complete run makes.
func (s *Suite) Steps() int {
	n := 0
	for _, w := range s.Workloads {
		if w.RunAll != nil {
			n++
		} else {
			n += len(s.trialRows(w)) * s.Cfg.Reps
		}
	}
	return n
}

// cpus are the CPUs whose time the engine meters for w's trials: the
// producer's (every producer's for a workload that runs several), the
// consumer's (every collector's for a workload that spreads its
// collectors), the helper thread's.
func (s *Suite) cpus(w Workload) []int {
	c := []int{s.Cfg.ProducerCPU, s.Cfg.ConsumerCPU}
	if w.Producers {
		c = append(c, s.Cfg.Producers()...)
	}
	if w.Collectors {
		c = append(c, s.Cfg.Collectors()...)
	}
	if s.Cfg.HelperCPU >= 0 {
		c = append(c, s.Cfg.HelperCPU)
	}
	var out []int
	for _, x := range c {
		if x >= 0 && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Run measures the suite. It returns the rows that ran (all of a row's
// completed trials; a row no trial of which finished is left out when the
// run was interrupted) and the schedule it followed.
func (s *Suite) Run(ctx context.Context) ([]results.Result, *results.Engine) {
	eng := &results.Engine{Seed: s.Seed, NoisyShare: s.Trust.NoisyShare, UnstableWidth: s.Trust.UnstableWidth}
	rng := rand.New(rand.NewPCG(uint64(s.Seed), 0x6b62656e6368))
	var out []results.Result
	for _, w := range s.Workloads {
		if ctx.Err() != nil {
			break
		}
		if w.RunAll != nil {
			out = append(out, s.runAll(ctx, w)...)
			continue
		}
		rows, rounds := s.rounds(ctx, w, rng)
		// Rows that ran keep their place; indexes in rounds are remapped
		// past those that did not.
		index := make([]int, len(rows))
		for i, r := range rows {
			index[i] = -1
			if r != nil {
				index[i] = len(out)
				out = append(out, *r)
			}
		}
		for _, round := range rounds {
			var ids []int
			for _, i := range round {
				if index[i] >= 0 {
					ids = append(ids, index[i])
				}
			}
			if len(ids) > 0 {
				eng.Rounds = append(eng.Rounds, ids)
			}
		}
	}
	return out, eng
}

// Row is one row of a workload that has several per variant (Workload.Rows):
// its name, for the progress display, and its trial.
type Row struct {
	Name string
	// Run runs one trial of the row from scratch (cfg.Reps is 1) and
	// returns the row with its sample, or its verdict.
	Run func(ctx context.Context, cfg Config) results.Result
}

// trialRows are the rows of a per-variant workload: its own expansion
// (Workload.Rows), or one row per variant.
func (s *Suite) trialRows(w Workload) []Row {
	if w.Rows != nil {
		return w.Rows(s.Cfg, s.Variants, s.Narrowed)
	}
	rows := make([]Row, len(s.Variants))
	for i, v := range s.Variants {
		rows[i] = Row{Name: v.ID(), Run: func(ctx context.Context, cfg Config) results.Result { return w.Run(ctx, v, cfg) }}
	}
	return rows
}

// rounds runs a per-variant workload's trials round by round. rows[i] is
// trial row i's result (nil if no trial of it finished); each round lists
// the rows in the order they ran.
func (s *Suite) rounds(ctx context.Context, w Workload, rng *rand.Rand) ([]*results.Result, [][]int) {
	trows := s.trialRows(w)
	rows := make([]*results.Result, len(trows))
	closed := make([]bool, len(trows)) // skipped, n/a or failed: no more trials
	var order [][]int
	trial := s.Cfg
	trial.Reps = 1
	for rep := 0; rep < s.Cfg.Reps && ctx.Err() == nil; rep++ {
		var round []int
		for _, i := range rng.Perm(len(trows)) {
			if ctx.Err() != nil {
				break
			}
			if closed[i] {
				continue
			}
			if s.Step != nil {
				s.Step(fmt.Sprintf("%s %s %d/%d", w.Name, trows[i].Name, rep+1, s.Cfg.Reps))
			}
			before, merr := interfere.Take(s.cpus(w))
			r := trows[i].Run(ctx, trial)
			var reading *results.Interference
			if merr == nil {
				if after, err := interfere.Take(s.cpus(w)); err == nil {
					rd := after.Since(before)
					reading = &rd
				}
			}
			if ctx.Err() != nil && !r.Status.Measured() {
				// Cut short by Ctrl-C: not a verdict on the variant.
				break
			}
			round = append(round, i)
			closed[i] = s.merge(&rows[i], r, rep, reading)
		}
		order = append(order, round)
	}
	for _, r := range rows {
		if r != nil {
			s.settle(r)
		}
	}
	// Trust last: the rows' intervals cover the machine's drift between
	// these rounds (results/drift.go).
	drift := results.MachineDrift(rows)
	for _, r := range rows {
		if r != nil {
			r.AssessDrift(s.Trust, drift)
		}
	}
	return rows, order
}

// merge adds one trial's row to the variant's row and reports whether the
// row is closed to further trials (the machine refused it, the backend
// cannot do it, or it failed).
func (s *Suite) merge(row **results.Result, r results.Result, rep int, reading *results.Interference) bool {
	if *row == nil {
		first := r
		first.Samples = nil
		first.Status, first.Reason = "", ""
		*row = &first
	}
	acc := *row
	for _, smp := range r.Samples {
		smp.Rep = rep
		if reading != nil {
			rd := *reading
			rd.MeasuredNs = smp.Producer.CPUNs() + smp.Consumer.CPUNs()
			if smp.Helper != nil {
				rd.MeasuredNs += smp.Helper.CPUNs()
			}
			smp.Interference = &rd
		}
		acc.Samples = append(acc.Samples, smp)
	}
	switch r.Status {
	case results.StatusSkipped, results.StatusNA:
		acc.Status, acc.Reason = r.Status, r.Reason
		return true
	case results.StatusFailed:
		acc.Status = results.StatusFailed
		acc.Reason = r.Reason
		if s.Cfg.Reps > 1 {
			acc.Reason = fmt.Sprintf("trial %d of %d: %s", rep+1, s.Cfg.Reps, r.Reason)
		}
		return true
	}
	return false
}

// settle gives a row its final status and the parameters of the whole
// run; its trust assessment follows once every row is settled.
func (s *Suite) settle(r *results.Result) {
	trials := map[int]bool{}
	for _, smp := range r.Samples {
		trials[smp.Rep] = true
	}
	if r.Params == nil {
		r.Params = map[string]string{}
	}
	r.Params["reps"] = strconv.Itoa(len(trials))
	r.Params["trials"] = "independent"
	if r.Status == "" {
		r.Status = results.StatusOK
		if len(r.Samples) == 0 {
			r.Status, r.Reason = results.StatusFailed, "no repetition completed"
		}
	}
}

// runAll runs a workload that schedules its own repetitions (calibration,
// the ring lab, fidelity's alternating rounds) and meters the interference
// over the whole of it.
func (s *Suite) runAll(ctx context.Context, w Workload) []results.Result {
	if s.Step != nil {
		s.Step(w.Name)
	}
	before, merr := interfere.Take(s.cpus(w))
	var vs []notify.Variant
	if s.Narrowed {
		vs = s.Variants
	}
	rows := w.RunAll(ctx, s.Cfg, vs)
	var reading *results.Interference
	if merr == nil {
		if after, err := interfere.Take(s.cpus(w)); err == nil {
			rd := after.Since(before)
			reading = &rd
		}
	}
	for i := range rows {
		if reading != nil {
			for j := range rows[i].Samples {
				if rows[i].Samples[j].Interference == nil {
					rd := *reading
					rows[i].Samples[j].Interference = &rd
				}
			}
		}
		rows[i].Assess(s.Trust)
	}
	return rows
}
