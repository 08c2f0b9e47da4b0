package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kbench/results"
)

// writeRuns writes n result files of one fan-in row into dir, each run's
// repetitions centred on evs events/s.
func writeRuns(t *testing.T, dir string, n int, evs float64) {
	t.Helper()
	for k := 0; k < n; k++ {
		r := results.Result{Workload: "fanin", Backend: "epoll", Variant: "lt", Status: results.StatusOK,
			Params: map[string]string{"sources": "64"}, Units: []results.Unit{{Name: "events/s", Better: "higher"}}}
		for i := 0; i < 6; i++ {
			c := evs * (1 + 0.01*float64(k%3-1)) * (1 + 0.002*float64(i))
			r.Samples = append(r.Samples, results.Sample{Rep: i, Values: map[string]float64{"events/s": c}})
		}
		f := &results.File{Schema: results.Schema, Results: []results.Result{r}}
		if err := results.WriteJSON(filepath.Join(dir, fmt.Sprintf("run%d.json", k)), f); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGateExitStatus(t *testing.T) {
	base, same, slow := t.TempDir(), t.TempDir(), t.TempDir()
	writeRuns(t, base, 6, 1e6)
	writeRuns(t, same, 6, 1e6)
	writeRuns(t, slow, 6, 0.6e6)
	var out bytes.Buffer
	if err := run(&out, &out, []string{"gate", base, same}); err != nil {
		t.Errorf("same figures: %v\n%s", err, out.String())
	}
	out.Reset()
	err := run(&out, &out, []string{"gate", base, slow})
	var ex exitError
	if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(out.String(), "REGRESSION") {
		t.Errorf("a 40%% drop: err %v, output\n%s", err, out.String())
	}
	// The threshold flag is in percent.
	out.Reset()
	if err := run(&out, &out, []string{"gate", "--threshold=50", base, slow}); err != nil {
		t.Errorf("a 40%% drop under a 50%% threshold: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("not json"), 0o644)
	for _, args := range [][]string{
		{"gate"},
		{"gate", base},
		{"gate", base, filepath.Join(base, "nosuch.json")},
		{"gate", base, bad},
		{"gate", "--alpha=2", base, same},
		{"gate", "--threshold=x", base, same},
	} {
		var ue usageError
		if err := run(&out, &out, args); !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q = %v, want a one-line usage error (exit 2)", args, err)
		}
	}
}
