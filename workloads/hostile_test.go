package workloads

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/results"
)

// Every parameter of every workload has a range that holds its defaults,
// so CheckParams can refuse what the workload cannot run.
func TestEveryParamHasARange(t *testing.T) {
	for _, w := range All() {
		if len(w.Params) == 0 {
			continue
		}
		for _, p := range w.Params {
			if p.Max <= p.Min || p.Max == 0 {
				t.Errorf("%s %s: range %d..%d", w.Name, p.Name, p.Min, p.Max)
			}
			if err := p.Check(p.Default); err != nil {
				t.Errorf("%s: default: %v", w.Name, err)
			}
			if p.Quick != 0 {
				if err := p.Check(p.Quick); err != nil {
					t.Errorf("%s: quick default: %v", w.Name, err)
				}
			}
		}
	}
}

// Values the issue found running and failing (or panicking, or producing
// NaN) are refused before anything runs, naming the parameter, the value
// and the range.
func TestCheckParamsRefusesOutOfRange(t *testing.T) {
	vs := epoll.Variants()
	for _, tc := range []struct {
		workload, name string
		v              int
	}{
		{"fanin", "sources", -1}, {"fanin", "sources", 0}, {"fanin", "sources", 1_000_000},
		{"fanin", "batch", -5}, {"fanin", "batch", 0},
		{"overflow", "burst", 0}, {"overflow", "ring_entries", 0},
		{"scale", "n_max", 0}, {"latency", "rate", -5}, {"pingpong", "chain", 0},
		{"echo", "conns", 0}, {"churn", "ctl_every", 0}, {"levelstorm", "level", 0},
		{"fidelity", "rounds", 0},
	} {
		w, err := Find(tc.workload)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckParams(map[string]int{tc.name: tc.v}, []Workload{w}, vs)
		want := fmt.Sprintf("%s=%d is outside its range", tc.name, tc.v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s %s=%d: %v, want %q", tc.workload, tc.name, tc.v, err, want)
		}
	}
	fanin, _ := Find("fanin")
	latency, _ := Find("latency")
	levelstorm, _ := Find("levelstorm")
	if err := CheckParams(map[string]int{"sources": 1, "batch": 65536}, []Workload{fanin}, vs); err != nil {
		t.Errorf("bounds refused: %v", err)
	}
	// rate=0 is latency's sweep but not a levelstorm rate: given to both, refused.
	if err := CheckParams(map[string]int{"rate": 0}, []Workload{latency}, vs); err != nil {
		t.Errorf("latency rate=0 refused: %v", err)
	}
	if err := CheckParams(map[string]int{"rate": 0}, []Workload{latency, levelstorm}, vs); err == nil {
		t.Errorf("rate=0 accepted for levelstorm")
	}
	if err := CheckParams(map[string]int{"nosuch": 1}, []Workload{fanin}, vs); err == nil {
		t.Errorf("unknown parameter accepted")
	}
	// A variant parameter is checked against the range its backend declared.
	v := notify.Variant{Backend: "test", Name: "ranged", Params: map[string]int{"hostile_test_n": 4}}
	notify.DeclareRange("hostile_test_n", 1, 8)
	if err := CheckParams(map[string]int{"hostile_test_n": 0}, []Workload{fanin}, []notify.Variant{v}); err == nil ||
		!strings.Contains(err.Error(), "hostile_test_n=0 is outside its range 1..8 (variant test/ranged)") {
		t.Errorf("hostile_test_n=0: %v", err)
	}
}

// A result never holds NaN or Inf: finish fails the row and drops the value.
func TestFinishRefusesNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		r := finish(results.Result{Workload: "fanin", Backend: "b", Variant: "v", Samples: []results.Sample{
			{Rep: 0, Values: map[string]float64{"events/s": 1}},
			{Rep: 1, Values: map[string]float64{"events/s": v, "ns/event": 3}},
		}})
		if r.Status != results.StatusFailed || !strings.Contains(r.Reason, "events/s") {
			t.Errorf("%v: %s %q", v, r.Status, r.Reason)
		}
		if err := (&results.File{Schema: results.Schema, Results: []results.Result{r}}).Validate(); err != nil {
			t.Errorf("%v: the row still holds it: %v", v, err)
		}
	}
}

// Running out of file descriptors, or a call the machine refuses (EPERM,
// ENOSYS), skips a row with the reason, whichever workload's path reports
// it; other errors fail it.
func TestFDShortageSkips(t *testing.T) {
	base := results.Result{Workload: "fanin", Backend: "epoll", Variant: "lt"}
	for _, tc := range []struct {
		err  error
		want results.Status
	}{
		{fmt.Errorf("eventfd 10: %w", unix.EMFILE), results.StatusSkipped},
		{fmt.Errorf("server: accept4: %w", unix.EMFILE), results.StatusSkipped},
		{fmt.Errorf("client socket: %w", unix.ENFILE), results.StatusSkipped},
		{fmt.Errorf("register eventfd 3: %w", unix.EBADF), results.StatusFailed},
		{fmt.Errorf("wait: %w", unix.EPERM), results.StatusSkipped},
		{fmt.Errorf("wait: %w", unix.ENOSYS), results.StatusSkipped},
	} {
		for _, r := range []results.Result{fail(base, tc.err), skipOrFail(base, tc.err)} {
			if r.Status != tc.want {
				t.Errorf("%v: %s, want %s", tc.err, r.Status, tc.want)
			}
			if tc.want == results.StatusSkipped && !strings.Contains(r.Reason, "RLIMIT_NOFILE") && !strings.Contains(r.Reason, "refused by this machine") {
				t.Errorf("%v: reason %q does not name the limit", tc.err, r.Reason)
			}
		}
	}
}
