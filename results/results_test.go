package results

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

func sample() *File {
	return &File{
		Schema: Schema, Complete: true,
		Env: Env{Kernel: "6.1", CPUModel: "test cpu", GOARCH: "amd64", Commit: "abc"},
		Results: []Result{{
			Workload: "fanin", Backend: "epoll", Variant: "lt", Status: StatusOK,
			Params: map[string]string{"sources": "64", "reps": "2"},
			Units:  []Unit{{"events/s", "higher"}, {"syscalls/event", "lower"}},
			Samples: []Sample{
				{Rep: 0, Collected: 100, Generated: 100, Values: map[string]float64{"events/s": 1e6, "syscalls/event": 0.5}},
				{Rep: 1, Collected: 90, Generated: 90, Values: map[string]float64{"events/s": 3e6, "syscalls/event": 0.25}},
			},
		}, {
			Workload: "fanin", Backend: "iouring", Variant: "sqpoll", Status: StatusSkipped, Reason: "EPERM",
		}},
	}
}

func TestJSONRoundTripAndSchemaCheck(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := WriteJSON(p, sample()); err != nil {
		t.Fatal(err)
	}
	f, err := ReadJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Results) != 2 || f.Results[0].Samples[1].Values["events/s"] != 3e6 {
		t.Errorf("round trip lost data: %+v", f.Results)
	}
	os.WriteFile(p, []byte(`{"schema":"other/v9"}`), 0o644)
	if _, err := ReadJSON(p); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("foreign schema accepted: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestFreeNameNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	a, err := FreeName(dir, "x", ".json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := FreeName(dir, "x", ".json")
	if err != nil || a == b || filepath.Base(b) != "x-2.json" {
		t.Errorf("FreeName gave %s then %s (%v)", a, b, err)
	}
}

func TestSummary(t *testing.T) {
	r := sample().Results[0]
	st, ok := r.Summary("events/s")
	if !ok || st.Median != 2e6 || st.Min != 1e6 || st.Max != 3e6 || st.N != 2 {
		t.Errorf("summary %+v", st)
	}
}

func TestBenchFormatReadsBack(t *testing.T) {
	var b bytes.Buffer
	if err := WriteBench(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Unit events/s better=higher") {
		t.Errorf("no unit metadata:\n%s", b.String())
	}
	rd := benchfmt.NewReader(&b, "x.bench")
	var names []string
	for rd.Scan() {
		switch r := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatal(r)
		case *benchfmt.Result:
			names = append(names, string(r.Name))
			if r.GetConfig("kernel") != "6.1" {
				t.Errorf("kernel config missing")
			}
		}
	}
	// Skipped rows have no numbers; "reps" says how long, not what, so it
	// stays out of the name.
	want := "Fanin/backend=epoll/variant=lt/sources=64"
	if len(names) != 2 || names[0] != want {
		t.Errorf("names %q, want two of %q", names, want)
	}
}

func TestCSVHasEveryRep(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sample()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 { // header, 2 reps, 1 skipped row
		t.Errorf("%d CSV rows, want 4", len(rows))
	}
}

// A figure measured in the run and kept among the parameters (the ring
// lab's floor_ns) is not part of a row's name: two runs of one build must
// name their rows alike, or the gate calls every ring row MISSING.
func TestBenchNameLeavesOutMeasuredParams(t *testing.T) {
	a := Result{Workload: "ring", Backend: "ring", Variant: "owned 40B stream b1 cross", Params: map[string]string{"lab_slots": "256", "floor_ns": "53.1"}}
	b := a
	b.Params = map[string]string{"lab_slots": "256", "floor_ns": "61.7"}
	if BenchName(&a) != BenchName(&b) {
		t.Errorf("names differ by a measured figure:\n%s\n%s", BenchName(&a), BenchName(&b))
	}
}
