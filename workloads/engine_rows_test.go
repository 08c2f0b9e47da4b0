package workloads

import (
	"context"
	"slices"
	"testing"

	"kbench/notify"
	"kbench/results"
)

// TestEngineRows: a workload with several rows per variant (Workload.Rows)
// gets the engine's schedule: each row's trials one per round, rows
// interleaved in a shuffled order, a verdict closing a row, the steps
// counted beforehand.
func TestEngineRows(t *testing.T) {
	var calls []string
	trials := map[string]int{}
	w := Workload{Name: "fake", Rows: func(cfg Config, vs []notify.Variant, narrowed bool) []Row {
		var rows []Row
		for _, v := range vs {
			for _, x := range []string{"a", "b", "na"} {
				name := v.Name + " " + x
				rows = append(rows, Row{Name: name, Run: func(ctx context.Context, cfg Config) results.Result {
					if cfg.Reps != 1 {
						t.Errorf("a trial of %s asked for %d repetitions", name, cfg.Reps)
					}
					calls = append(calls, name)
					trials[name]++
					if x == "na" {
						return notApplicable(results.Result{Workload: "fake", Backend: v.Backend, Variant: name}, "cannot")
					}
					return okTrial(name, 1)(trials[name] - 1)
				}})
			}
		}
		return rows
	}}
	vs := []notify.Variant{{Backend: "b", Name: "v1"}, {Backend: "b", Name: "v2"}}
	s := &Suite{Cfg: Config{Reps: 3, ProducerCPU: 0, ConsumerCPU: 0, HelperCPU: -1}, Workloads: []Workload{w},
		Variants: vs, Narrowed: true, Seed: 3, Trust: results.DefaultTrust}
	if n := s.Steps(); n != 6*3 {
		t.Errorf("Steps() = %d, want 18", n)
	}
	rows, eng := s.Run(context.Background())
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
	for _, r := range rows {
		want := 3
		if r.Status == results.StatusNA {
			want = 1
		}
		if trials[r.Variant] != want || (want == 3 && len(r.Samples) != 3) {
			t.Errorf("%s: %s after %d trials, %d samples; want %d trials", r.Variant, r.Status, trials[r.Variant], len(r.Samples), want)
		}
	}
	if len(eng.Rounds) != 3 || len(eng.Rounds[0]) != 6 || len(eng.Rounds[1]) != 4 {
		t.Fatalf("rounds %v: want 6 rows, then the 4 still open, twice", eng.Rounds)
	}
	pos := 0
	for _, round := range eng.Rounds {
		for _, i := range round {
			if calls[pos] != rows[i].Variant {
				t.Fatalf("call %d ran %s, recorded %s", pos, calls[pos], rows[i].Variant)
			}
			pos++
		}
	}
	if slices.IsSorted(eng.Rounds[1]) && slices.IsSorted(eng.Rounds[2]) && slices.IsSorted(eng.Rounds[0]) {
		t.Errorf("rounds %v: never shuffled", eng.Rounds)
	}
}
