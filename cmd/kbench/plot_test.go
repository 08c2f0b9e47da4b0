package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kbench/results"
)

func writeRun(t *testing.T, path, kernel string, ev float64) {
	t.Helper()
	f := &results.File{Schema: results.Schema, Env: results.Env{Kernel: kernel}}
	r := results.Result{Workload: "fanin", Backend: "epoll", Variant: "lt", Status: results.StatusOK,
		Units: []results.Unit{{Name: "events/s", Better: "higher"}}}
	for i := range 3 {
		r.Samples = append(r.Samples, results.Sample{Rep: i, Values: map[string]float64{"events/s": ev * (1 + 0.01*float64(i))}})
	}
	f.Results = append(f.Results, r)
	if err := results.WriteJSON(path, f); err != nil {
		t.Fatal(err)
	}
}

func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "run.json")
	writeRun(t, in, "6.1.0", 1e6)
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
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if bytes.Contains(html, []byte("What changed")) {
		t.Error("one input: the report compares")
	}
	// A second plot into the same directory would overwrite: refused.
	for _, args := range [][]string{
		{"plot", "--out", out, in},
		{"plot"},
		{"plot", filepath.Join(dir, "nosuch.json")},
		{"plot", "--bogus", in},
		{"plot", "--out", filepath.Join(dir, "x"), "--label", "only-one", in, in},
	} {
		var ue usageError
		if err := run(&b, &b, args); !errors.As(err, &ue) {
			t.Errorf("%q = %v, want a usage error", args, err)
		}
	}
}

func TestPlotCompares(t *testing.T) {
	dir := t.TempDir()
	a, bdir := filepath.Join(dir, "a.json"), filepath.Join(dir, "b")
	writeRun(t, a, "6.1.0", 1e6)
	if err := os.Mkdir(bdir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRun(t, filepath.Join(bdir, "1.json"), "6.12.0", 1.3e6)
	writeRun(t, filepath.Join(bdir, "2.json"), "6.12.0", 1.31e6)
	out := filepath.Join(dir, "cmp")
	var b bytes.Buffer
	if err := run(&b, &b, []string{"plot", "--out", out, a, bdir}); err != nil {
		t.Fatalf("plot: %v\n%s", err, b.String())
	}
	if !strings.Contains(b.String(), "6.12.0 against 6.1.0") {
		t.Errorf("inputs not labelled by their kernels:\n%s", b.String())
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"What changed", "(2 runs pooled)", "<svg"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("report lacks %q", s)
		}
	}
	b.Reset()
	if err := run(&b, &b, []string{"plot", "--out", filepath.Join(dir, "cmp2"), "--label", "old", "--label", "new", a, bdir}); err != nil || !strings.Contains(b.String(), "new against old") {
		t.Errorf("--label: %v\n%s", err, b.String())
	}
}

// --format prints the comparison tables in the asked-for form.
func TestPlotComparisonFormats(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	writeRun(t, a, "6.1.0", 1e6)
	writeRun(t, b, "6.12.0", 1.3e6)
	for i, c := range []struct{ format, want string }{
		{"markdown", "| epoll/lt | events/s (higher) |"},
		{"csv", "fanin: 6.12.0 against 6.1.0,epoll/lt,events/s (higher)"},
		{"json", `"Workload": "fanin"`},
		{"table", "events/s (higher)"},
	} {
		var out bytes.Buffer
		if err := run(&out, &out, []string{"plot", "--format", c.format, "--out", filepath.Join(dir, strconv.Itoa(i)), a, b}); err != nil {
			t.Fatalf("--format %s: %v", c.format, err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("--format %s lacks %q:\n%s", c.format, c.want, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(&out, &out, []string{"plot", "--format", "xml", a, b}); !errors.As(err, new(usageError)) {
		t.Errorf("--format xml: %v, want a usage error", err)
	}
}
