package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kbench/results"
)

func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "run.json")
	f := &results.File{Schema: results.Schema, Results: []results.Result{{Workload: "fanin", Backend: "epoll", Variant: "lt",
		Status: results.StatusOK, Units: []results.Unit{{Name: "events/s", Better: "higher"}},
		Samples: []results.Sample{{Values: map[string]float64{"events/s": 1e6}}}}}}
	if err := results.WriteJSON(in, f); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "figs")
	var b bytes.Buffer
	if err := run(&b, &b, []string{"plot", "--out", out, in}); err != nil {
		t.Fatalf("plot: %v\n%s", err, b.String())
	}
	for _, name := range []string{"report.html", "fanin-events.png", "fanin-events.svg"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	// A second plot into the same directory would overwrite: refused.
	for _, args := range [][]string{
		{"plot", "--out", out, in},
		{"plot"},
		{"plot", filepath.Join(dir, "nosuch.json")},
		{"plot", "--bogus", in},
	} {
		var ue usageError
		if err := run(&b, &b, args); !errors.As(err, &ue) {
			t.Errorf("%q = %v, want a usage error", args, err)
		}
	}
}
