package workloads

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"kbench/notify"
	"kbench/results"
)

// fakeWorkload records the order of its trials and answers each variant
// as told: ok with one sample, skipped, n/a, or failed at a given trial.
type fakeWorkload struct {
	calls  []string
	trials map[string]int
	plan   map[string]func(trial int) results.Result
}

func (f *fakeWorkload) workload() Workload {
	return Workload{Name: "fake", Run: func(ctx context.Context, v notify.Variant, cfg Config) results.Result {
		if cfg.Reps != 1 {
			panic("a trial runs one repetition, got " + strconv.Itoa(cfg.Reps))
		}
		f.calls = append(f.calls, v.Name)
		k := f.trials[v.Name]
		f.trials[v.Name]++
		return f.plan[v.Name](k)
	}}
}

func okTrial(name string, value float64) func(int) results.Result {
	return func(k int) results.Result {
		return results.Result{Workload: "fake", Backend: "b", Variant: name, Status: results.StatusOK,
			Params: map[string]string{"reps": "1"}, Units: []results.Unit{{Name: "events/s", Better: "higher"}},
			Samples: []results.Sample{{Rep: 0, Generated: 10, Collected: 10, Values: map[string]float64{"events/s": value + float64(k)}}}}
	}
}

func TestEngineRoundsInterleaveAndClose(t *testing.T) {
	f := &fakeWorkload{trials: map[string]int{}, plan: map[string]func(int) results.Result{
		"a": okTrial("a", 100),
		"b": okTrial("b", 200),
		"skip": func(int) results.Result {
			return skip(results.Result{Workload: "fake", Backend: "b", Variant: "skip"}, notify.ErrUnavailable)
		},
		"na": func(int) results.Result {
			return notApplicable(results.Result{Workload: "fake", Backend: "b", Variant: "na"}, "cannot")
		},
		"late-fail": func(k int) results.Result {
			if k == 2 {
				return fail(okTrial("late-fail", 1)(k), errors.New("lost 3"))
			}
			return okTrial("late-fail", 1)(k)
		},
	}}
	var vs []notify.Variant
	for _, n := range []string{"a", "b", "skip", "na", "late-fail"} {
		vs = append(vs, notify.Variant{Backend: "b", Name: n})
	}
	s := &Suite{Cfg: Config{Reps: 4, ProducerCPU: 0, ConsumerCPU: 0, HelperCPU: -1}, Workloads: []Workload{f.workload()},
		Variants: vs, Seed: 42, Trust: results.DefaultTrust}
	rows, eng := s.Run(context.Background())
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	byName := map[string]results.Result{}
	for _, r := range rows {
		byName[r.Variant] = r
	}
	if f.trials["a"] != 4 || f.trials["b"] != 4 {
		t.Errorf("ok rows ran %d and %d trials, want 4 each", f.trials["a"], f.trials["b"])
	}
	if f.trials["skip"] != 1 || f.trials["na"] != 1 {
		t.Errorf("a skipped or n/a row is not tried again: ran %d and %d", f.trials["skip"], f.trials["na"])
	}
	if f.trials["late-fail"] != 3 {
		t.Errorf("a failed row stops at its failing trial: ran %d, want 3", f.trials["late-fail"])
	}
	a := byName["a"]
	if !a.Status.Measured() {
		t.Errorf("row a: status %s (%s)", a.Status, a.Reason)
	}
	var reps []int
	for _, smp := range a.Samples {
		reps = append(reps, smp.Rep)
		if smp.Interference == nil {
			t.Errorf("row a rep %d: no interference reading", smp.Rep)
		}
	}
	if !slices.Equal(reps, []int{0, 1, 2, 3}) {
		t.Errorf("row a: reps %v, want one per round", reps)
	}
	if a.Params["reps"] != "4" || a.Params["trials"] != "independent" {
		t.Errorf("row a params: %v", a.Params)
	}
	if byName["skip"].Status != results.StatusSkipped || byName["na"].Status != results.StatusNA {
		t.Errorf("statuses: skip=%s na=%s", byName["skip"].Status, byName["na"].Status)
	}
	lf := byName["late-fail"]
	if lf.Status != results.StatusFailed || lf.Reason != "trial 3 of 4: lost 3" {
		t.Errorf("late-fail: %s %q", lf.Status, lf.Reason)
	}
	// Rounds: trial k of every open row before trial k+1 of any.
	if len(eng.Rounds) != 4 {
		t.Fatalf("%d rounds recorded, want 4", len(eng.Rounds))
	}
	if len(eng.Rounds[0]) != 5 || len(eng.Rounds[3]) != 2 {
		t.Errorf("round sizes %d…%d, want 5…2", len(eng.Rounds[0]), len(eng.Rounds[3]))
	}
	pos := 0
	for _, round := range eng.Rounds {
		for _, i := range round {
			if got, want := f.calls[pos], rows[i].Variant; got != want {
				t.Fatalf("call %d ran %s, recorded %s", pos, got, want)
			}
			pos++
		}
	}
	// The order is shuffled, and reproducible from the seed.
	f2 := &fakeWorkload{trials: map[string]int{}, plan: f.plan}
	s2 := *s
	s2.Workloads = []Workload{f2.workload()}
	s2.Run(context.Background())
	if !slices.Equal(f.calls, f2.calls) {
		t.Errorf("same seed, different order:\n%v\n%v", f.calls, f2.calls)
	}
	f3 := &fakeWorkload{trials: map[string]int{}, plan: f.plan}
	s3 := *s
	s3.Seed = 7
	s3.Workloads = []Workload{f3.workload()}
	s3.Run(context.Background())
	if slices.Equal(f.calls, f3.calls) {
		t.Errorf("seeds 42 and 7 gave the same order %v", f.calls)
	}
}

func TestEngineInterruptKeepsFinishedTrials(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	w := Workload{Name: "fake", Run: func(ctx context.Context, v notify.Variant, cfg Config) results.Result {
		n++
		if n == 3 {
			cancel()
			return fail(results.Result{Workload: "fake", Variant: v.Name}, errors.New("interrupted"))
		}
		return okTrial(v.Name, 10)(n)
	}}
	s := &Suite{Cfg: Config{Reps: 6, HelperCPU: -1}, Workloads: []Workload{w},
		Variants: []notify.Variant{{Name: "x"}, {Name: "y"}}, Seed: 1, Trust: results.DefaultTrust}
	rows, _ := s.Run(ctx)
	if n != 3 {
		t.Fatalf("%d trials ran after the interrupt, want it to stop at 3", n)
	}
	total := 0
	for _, r := range rows {
		if r.Status == results.StatusFailed {
			t.Errorf("row %s failed by an interrupt: %s", r.Variant, r.Reason)
		}
		total += len(r.Samples)
	}
	if total != 2 {
		t.Errorf("%d samples kept, want the 2 finished trials", total)
	}
}

// An hour-long repetition's estimate must not make reset clear gigabytes
// before the first Wait (Ctrl-C then waited for the clear): the bitmap is
// presized up to a cap and grows as firings arrive.
func TestLedgerResetIsBounded(t *testing.T) {
	var l ledger
	l.reset(uint64(3600 * 20e6))
	if got := len(l.seen) * 8; got > ledgerPresize/8+8 {
		t.Fatalf("reset for an hour's firings allocated a %d-byte bitmap", got)
	}
	l.mark(ledgerPresize * 2)
	l.mark(1)
	if lost, dup := l.settle(ledgerPresize * 2); dup != 0 || lost != ledgerPresize*2-2 {
		t.Errorf("after growth: lost %d dup %d", lost, dup)
	}
}
