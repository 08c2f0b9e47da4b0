package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kbench/results"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, med := range []float64{100, 104, 300} {
		f := &results.File{Schema: results.Schema, Complete: true, Results: []results.Result{{
			Workload: "fanin", Backend: "epoll", Variant: "lt", Status: results.StatusOK,
			Units: []results.Unit{{Name: "events/s", Better: "higher"}},
		}}}
		for _, d := range []float64{-5, -2, 0, 0, 3, 6} {
			f.Results[0].Samples = append(f.Results[0].Samples, results.Sample{Values: map[string]float64{"events/s": med + d}})
		}
		p := filepath.Join(dir, "r"+string(rune('0'+i))+".json")
		if err := results.WriteJSON(p, f); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var out, errb strings.Builder
	if code := run(&out, &errb, paths); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// [95,106] med 100 and [99,110] med 104 hold each other; 300 neither.
	if !strings.HasPrefix(out.String(), "3 invocations: an interval held another invocation's median in 2 of 6 ordered pairs (33%)") {
		t.Errorf("output:\n%s", out.String())
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"other"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, paths[:1], {paths[0], filepath.Join(dir, "missing.json")}, {paths[0], bad}} {
		out.Reset()
		errb.Reset()
		if code := run(&out, &errb, args); code != 2 || strings.Count(errb.String(), "\n") != 1 || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errb.String(), out.String())
		}
	}
}
