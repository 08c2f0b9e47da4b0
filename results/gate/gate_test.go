package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kbench/results"
)

// file makes a result file with one fan-in row whose repetitions have the
// given events/s and consumer ns/event (higher and lower is better).
func file(status results.Status, evs []float64, ns float64) *results.File {
	r := results.Result{Workload: "fanin", Backend: "epoll", Variant: "lt", Status: status,
		Params: map[string]string{"sources": "64", "reps": "6"},
		Units:  []results.Unit{{Name: "events/s", Better: "higher"}, {Name: "consumer-cpu-ns/event", Better: "lower"}}}
	for i, v := range evs {
		r.Samples = append(r.Samples, results.Sample{Rep: i, Values: map[string]float64{"events/s": v, "consumer-cpu-ns/event": ns + float64(i)}})
	}
	return &results.File{Schema: results.Schema, Complete: true, Results: []results.Result{r}}
}

// runs makes n runs whose repetitions centre on base*(1+k*spread) for run k.
func runs(n int, base, spread, ns float64) []*results.File {
	var fs []*results.File
	for k := 0; k < n; k++ {
		c := base * (1 + float64(k%3-1)*spread)
		fs = append(fs, file(results.StatusOK, []float64{c * 0.99, c, c * 1.01, c * 0.995, c * 1.005, c}, ns))
	}
	return fs
}

func notice(t *testing.T, rep *Report, kind NoticeKind) Notice {
	t.Helper()
	for _, n := range rep.Notices {
		if n.Kind == kind {
			return n
		}
	}
	t.Fatalf("no %s notice in %+v", kind, rep.Notices)
	return Notice{}
}

func find(t *testing.T, rep *Report, metric string) Change {
	t.Helper()
	for _, c := range rep.Changes {
		if c.Metric == metric {
			return c
		}
	}
	t.Fatalf("no change for %s in %+v", metric, rep.Changes)
	return Change{}
}

func TestSameDistributionPasses(t *testing.T) {
	rep, err := Compare(runs(6, 1e6, 0.02, 800), runs(6, 1e6, 0.02, 800), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("identical sets fail the gate: %+v", rep.Changes)
	}
	if c := find(t, rep, "events/s"); c.Verdict != Same || !c.PerRun || c.BaseN != 6 {
		t.Errorf("events/s: %+v", c)
	}
}

func TestSignificantWorseningBeyondThresholdFails(t *testing.T) {
	rep, err := Compare(runs(6, 1e6, 0.02, 800), runs(6, 0.7e6, 0.02, 1000), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() {
		t.Fatalf("a 30%% throughput drop passes: %+v", rep.Changes)
	}
	c := find(t, rep, "events/s")
	if c.Verdict != Regression || c.Delta > -0.25 || c.P >= 0.05 {
		t.Errorf("events/s: %+v", c)
	}
	// Lower is better for CPU per event: higher is a regression.
	if c := find(t, rep, "consumer-cpu-ns/event"); c.Verdict != Regression {
		t.Errorf("cpu ns/event: %+v", c)
	}
}

func TestSmallWorseningWithinThresholdPasses(t *testing.T) {
	rep, err := Compare(runs(6, 1e6, 0.001, 800), runs(6, 0.98e6, 0.001, 800), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, rep, "events/s"); c.Verdict != Worse {
		t.Errorf("a significant 2%% drop under a 5%% threshold: %+v", c)
	}
	if rep.Failed() {
		t.Error("a change within the threshold fails the gate")
	}
	o := DefaultOptions
	o.Threshold = 0.01
	if rep, _ := Compare(runs(6, 1e6, 0.001, 800), runs(6, 0.98e6, 0.001, 800), o); !rep.Failed() {
		t.Error("a 2% drop passes a 1% threshold")
	}
}

func TestImprovementPasses(t *testing.T) {
	rep, err := Compare(runs(6, 1e6, 0.02, 800), runs(6, 1.5e6, 0.02, 500), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || find(t, rep, "events/s").Verdict != Better || find(t, rep, "consumer-cpu-ns/event").Verdict != Better {
		t.Errorf("an improvement: %+v", rep.Changes)
	}
}

func TestBrokenRowFails(t *testing.T) {
	head := runs(2, 1e6, 0, 800)
	head[1].Results[0].Status, head[1].Results[0].Reason = results.StatusFailed, "3 lost"
	rep, err := Compare(runs(2, 1e6, 0, 800), head, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := notice(t, rep, Broken)
	if !rep.Failed() || !n.Fails() || !strings.Contains(n.Note, "3 lost") || !strings.Contains(n.Note, "1 ok, 1 failed") {
		t.Errorf("a row that lost events in head: %+v", rep.Notices)
	}
}

func TestOneRunASideComparesRepetitions(t *testing.T) {
	rep, err := Compare(runs(1, 1e6, 0, 800), runs(1, 0.5e6, 0, 800), DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, rep, "events/s")
	if c.PerRun || c.BaseN != 6 || c.Verdict != Regression {
		t.Errorf("one run a side: %+v", c)
	}
}

func TestMetricsFilter(t *testing.T) {
	o := DefaultOptions
	o.Metrics = []string{"consumer-cpu-ns/event"}
	rep, err := Compare(runs(6, 1e6, 0.02, 800), runs(6, 0.5e6, 0.02, 800), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || rep.Gating != 1 {
		t.Errorf("only cpu ns/event gates, and it did not move: %+v", rep.Changes)
	}
	// events/s halved: reported, not gating.
	if c := find(t, rep, "events/s"); c.Gating || c.Verdict != Worse || c.Note != "not gating" {
		t.Errorf("events/s: %+v", c)
	}
	o.Metrics = []string{"all"}
	if rep, _ := Compare(runs(6, 1e6, 0.02, 800), runs(6, 0.5e6, 0.02, 800), o); !rep.Failed() || rep.Gating != 2 {
		t.Errorf("--metrics=all: %d gating, failed %v", rep.Gating, rep.Failed())
	}
}

func TestUnusableInput(t *testing.T) {
	other := runs(2, 1e6, 0, 800)
	other[0].Results[0].Workload, other[1].Results[0].Workload = "latency", "latency"
	if _, err := Compare(runs(2, 1e6, 0, 800), other, DefaultOptions); err == nil {
		t.Error("sets with no row in common compared")
	}
	for _, o := range []Options{{Alpha: 0, Threshold: 0.05}, {Alpha: 1.5, Threshold: 0.05}, {Alpha: 0.05, Threshold: -1}} {
		if _, err := Compare(runs(2, 1e6, 0, 800), runs(2, 1e6, 0, 800), o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	dir := t.TempDir()
	if _, err := Load([]string{dir}); err == nil {
		t.Error("an empty directory loaded")
	}
	if _, err := Load([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("a missing file loaded")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"something/v9"}`), 0o644)
	if _, err := Load([]string{bad}); err == nil {
		t.Error("a file of another schema loaded")
	}
}

func TestLoadReadsADirectory(t *testing.T) {
	dir := t.TempDir()
	for i, f := range runs(3, 1e6, 0, 800) {
		if err := results.WriteJSON(filepath.Join(dir, "r"+string(rune('a'+i))+".json"), f); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := Load([]string{dir})
	if err != nil || len(fs) != 3 {
		t.Fatalf("Load = %d files, %v", len(fs), err)
	}
}
