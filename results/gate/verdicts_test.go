package gate

import (
	"strings"
	"testing"

	"kbench/results"
)

// withRow returns the runs with row 0's status set in the given runs.
func withStatus(fs []*results.File, st results.Status, reason string, which ...int) []*results.File {
	for _, i := range which {
		fs[i].Results[0].Status, fs[i].Results[0].Reason = st, reason
	}
	return fs
}

func TestRowVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		head  []*results.File
		kind  NoticeKind
		fails bool
		note  string
	}{
		{"skipped", withStatus(runs(6, 1e6, 0.02, 800), results.StatusSkipped, "io_uring_setup: EPERM", 2), Skipped, true, "EPERM"},
		{"n/a", withStatus(runs(6, 1e6, 0.02, 800), results.StatusNA, "no edge trigger", 0, 1, 2, 3, 4, 5), Skipped, true, "6 n/a"},
		{"noisy", withStatus(runs(6, 1e6, 0.02, 800), results.StatusNoisy, "interference 31%", 1, 4), Noisy, false, "interference 31%"},
		{"unstable", withStatus(runs(6, 1e6, 0.02, 800), results.StatusUnstable, "two clusters", 0), Unstable, false, "two clusters"},
		{"failed", withStatus(runs(6, 1e6, 0.02, 800), results.StatusFailed, "2 duplicated", 5), Broken, true, "2 duplicated"},
	} {
		rep, err := Compare(runs(6, 1e6, 0.02, 800), tc.head, DefaultOptions)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n := notice(t, rep, tc.kind)
		if n.Fails() != tc.fails || rep.Failed() != tc.fails || !strings.Contains(n.Note, tc.note) {
			t.Errorf("%s: %+v, gate fails %v", tc.name, n, rep.Failed())
		}
	}
	// Noisy runs are left out of the comparison, on either side.
	rep, _ := Compare(withStatus(runs(6, 1e6, 0.02, 800), results.StatusNoisy, "x", 0), withStatus(runs(6, 1e6, 0.02, 800), results.StatusNoisy, "x", 1, 2), DefaultOptions)
	if c := find(t, rep, "events/s"); c.BaseN != 5 || c.HeadN != 4 {
		t.Errorf("noisy runs compared: %+v", c)
	}
	// Every head run noisy: nothing to compare, and the gate says it could
	// not judge instead of passing.
	rep, _ = Compare(runs(6, 1e6, 0.02, 800), withStatus(runs(6, 0.5e6, 0.02, 800), results.StatusNoisy, "x", 0, 1, 2, 3, 4, 5), DefaultOptions)
	if n := notice(t, rep, Noisy); rep.Failed() || len(rep.Changes) != 0 || rep.Powerless == "" || !strings.Contains(n.Note, "not compared") {
		t.Errorf("every head run noisy: %+v, powerless %q", rep.Notices, rep.Powerless)
	}
}

func TestMissingAndHeadOnlyRows(t *testing.T) {
	base := runs(6, 1e6, 0.02, 800)
	head := runs(6, 1e6, 0.02, 800)
	for _, f := range base {
		extra := f.Results[0]
		extra.Variant = "et"
		f.Results = append(f.Results, extra)
	}
	for _, f := range head {
		extra := f.Results[0]
		extra.Variant = "oneshot"
		f.Results = append(f.Results, extra)
	}
	rep, err := Compare(base, head, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	m := notice(t, rep, Missing)
	if !m.Fails() || !rep.Failed() || !strings.Contains(m.Row, "variant=et") {
		t.Errorf("a row gone from head: %+v", m)
	}
	h := notice(t, rep, HeadOnly)
	if h.Fails() || !strings.Contains(h.Row, "variant=oneshot") {
		t.Errorf("a row new in head: %+v", h)
	}
}

func TestIncompleteRun(t *testing.T) {
	head := runs(6, 1e6, 0.02, 800)
	head[3].Complete = false
	rep, err := Compare(runs(6, 1e6, 0.02, 800), head, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := notice(t, rep, Incomplete)
	if !rep.Failed() || !strings.Contains(n.Note, "head run 4 of 6") {
		t.Errorf("an interrupted head run: %+v", rep.Notices)
	}
	base := runs(6, 1e6, 0.02, 800)
	base[0].Complete = false
	rep, _ = Compare(base, runs(6, 1e6, 0.02, 800), DefaultOptions)
	if n := notice(t, rep, Incomplete); !rep.Failed() || !strings.Contains(n.Note, "base run 1 of 6") {
		t.Errorf("an interrupted base run: %+v", rep.Notices)
	}
}

func TestBaseFailedWarns(t *testing.T) {
	base := withStatus(runs(6, 1e6, 0.02, 800), results.StatusFailed, "1 lost", 0)
	rep, err := Compare(base, runs(6, 0.5e6, 0.02, 800), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if n := notice(t, rep, BaseFailed); n.Fails() || rep.Failed() || len(rep.Changes) != 0 {
		t.Errorf("a row that failed in base: %+v, changes %+v", n, rep.Changes)
	}
}

func TestUnknownMetrics(t *testing.T) {
	o := DefaultOptions
	o.Metrics = []string{"events/s", "bogus"}
	_, err := Compare(runs(6, 1e6, 0.02, 800), runs(6, 1e6, 0.02, 800), o)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `unknown metric "bogus"`) ||
		!strings.Contains(err.Error(), "known: primary, all, consumer-cpu-ns/event, events/s") {
		t.Errorf("--metrics=events/s,bogus: %v", err)
	}
	// A stem names every point of a metric.
	f := runs(6, 1e6, 0.02, 800)
	for _, x := range f {
		x.Results[0].Units = append(x.Results[0].Units, results.Unit{Name: "p99-ns@50%", Better: "lower"})
	}
	o.Metrics = []string{"p99-ns"}
	if _, err := Compare(f, f, o); err != nil {
		t.Errorf("--metrics=p99-ns with p99-ns@50%% present: %v", err)
	}
}

func TestPowerless(t *testing.T) {
	// 3 runs a side: the U test's smallest one-sided p is 0.05, and Holm
	// over 2 gating metrics needs below 0.025: even a halving cannot fail.
	rep, err := Compare(runs(3, 1e6, 0.02, 800), runs(3, 0.5e6, 0.02, 1600), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || !strings.Contains(rep.Powerless, "could ever reject") || !strings.Contains(rep.Powerless, "4 runs a side") {
		t.Errorf("3+3 runs: failed %v, powerless %q", rep.Failed(), rep.Powerless)
	}
	if c := find(t, rep, "events/s"); c.Verdict != TooFew {
		t.Errorf("3+3 runs: %+v", c)
	}
	rep, _ = Compare(runs(5, 1e6, 0.02, 800), runs(5, 0.5e6, 0.02, 1600), DefaultOptions)
	if !rep.Failed() || rep.Powerless != "" {
		t.Errorf("5+5 runs: failed %v, powerless %q", rep.Failed(), rep.Powerless)
	}
	// No gating metric at all is said too.
	o := DefaultOptions
	f := runs(6, 1e6, 0.02, 800)
	for _, x := range f {
		x.Results[0].Workload = "calibrate"
	}
	if rep, _ := Compare(f, f, o); !strings.Contains(rep.Powerless, "no gating comparison") {
		t.Errorf("calibrate rows only: %q", rep.Powerless)
	}
}
