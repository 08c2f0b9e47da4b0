package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kbench/results"
)

// writeRuns writes n result files of one fan-in row into dir, each run's
// repetitions centred on evs events/s.
func writeRuns(t *testing.T, dir string, n int, evs float64) {
	t.Helper()
	writeRunsWith(t, dir, n, evs, func(*results.File) {})
}

// writeRunsWith is writeRuns with each file edited before it is written.
func writeRunsWith(t *testing.T, dir string, n int, evs float64, edit func(*results.File)) {
	t.Helper()
	for k := 0; k < n; k++ {
		r := results.Result{Workload: "fanin", Backend: "epoll", Variant: "lt", Status: results.StatusOK,
			Params: map[string]string{"sources": "64"}, Units: []results.Unit{{Name: "events/s", Better: "higher"}}}
		for i := 0; i < 6; i++ {
			c := evs * (1 + 0.01*float64(k%3-1)) * (1 + 0.002*float64(i))
			r.Samples = append(r.Samples, results.Sample{Rep: i, Values: map[string]float64{"events/s": c}})
		}
		f := &results.File{Schema: results.Schema, Complete: true, Results: []results.Result{r}}
		edit(f)
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
	if !errors.As(err, &ex) || ex.code != 1 || !strings.Contains(out.String(), "REGRESSION") || !strings.Contains(ex.msg, "FAIL") {
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
		{"gate", "--metrics=bogus", base, same},
		{"gate", "--metrics=", base, same},
		{"gate", "--correction=bonferroni", base, same},
	} {
		var ue usageError
		if err := run(&out, &out, args); !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q = %v, want a one-line usage error (exit 2)", args, err)
		}
	}
}

// Each verdict line, through the command: its exit status and its line.
func TestGateVerdictLines(t *testing.T) {
	base := t.TempDir()
	writeRuns(t, base, 6, 1e6)
	status := func(st results.Status, reason string) func(*results.File) {
		return func(f *results.File) { f.Results[0].Status, f.Results[0].Reason = st, reason }
	}
	for _, tc := range []struct {
		name string
		edit func(*results.File)
		code int
		line string
	}{
		{"skipped", status(results.StatusSkipped, "EPERM"), 1, "SKIPPED (fail): Fanin/backend=epoll/variant=lt"},
		// Every head run disturbed: nothing left to judge with, exit 2.
		{"noisy", status(results.StatusNoisy, "interference 40%"), 2, "NOISY (warn): Fanin/backend=epoll/variant=lt"},
		{"failed", status(results.StatusFailed, "3 lost"), 1, "BROKEN (fail)"},
		{"incomplete", func(f *results.File) { f.Complete = false }, 1, "INCOMPLETE (fail): run: head run 1 of 6"},
		{"missing", nil, 1, "MISSING (fail): Fanin/backend=epoll/variant=et"},
	} {
		head := t.TempDir()
		b := base
		if tc.edit == nil {
			// base has lt and et, head lt only.
			b = t.TempDir()
			writeRunsWith(t, b, 6, 1e6, func(f *results.File) {
				et := f.Results[0]
				et.Variant = "et"
				f.Results = append(f.Results, et)
			})
			writeRuns(t, head, 6, 1e6)
		} else {
			writeRunsWith(t, head, 6, 1e6, tc.edit)
		}
		var out bytes.Buffer
		err := run(&out, &out, []string{"gate", b, head})
		code := 0
		var ex exitError
		var ue usageError
		switch {
		case errors.As(err, &ex):
			code = ex.code
		case errors.As(err, &ue):
			code = 2
		case err != nil:
			code = -1
		}
		if code != tc.code || !strings.Contains(out.String(), tc.line) {
			t.Errorf("%s: exit %d (%v), want %d and a line %q in\n%s", tc.name, code, err, tc.code, tc.line, out.String())
		}
	}
}

func TestGateUnknownMetricAndNoPower(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	writeRuns(t, base, 3, 1e6)
	writeRuns(t, head, 3, 0.5e6)
	var out bytes.Buffer
	err := run(&out, &out, []string{"gate", "--metrics=events/s,evnts/s", base, head})
	var ue usageError
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), `unknown metric "evnts/s"; known: primary, all, events/s`) {
		t.Errorf("a misspelt metric: %v", err)
	}
	// 3 runs a side can never reject: a halving passes no gate, it is unusable.
	out.Reset()
	err = run(&out, &out, []string{"gate", base, head})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "could ever reject") || !strings.Contains(out.String(), "too few") {
		t.Errorf("3+3 runs: %v\n%s", err, out.String())
	}
}

// fakeKbench stands in for both builds in scripts/gate.sh: `run` writes one
// result file, `gate` checks it got a run a side and exits $FAKE_GATE_RC.
const fakeKbench = `#!/bin/sh
case $1 in
run)
	while [ $# -gt 0 ]; do
		if [ "$1" = --out ]; then mkdir -p "$2" && echo '{}' >"$2/kbench-x.json"; fi
		shift
	done ;;
gate)
	shift $(($# - 2))
	[ -f "$1/run1.json" ] && [ -f "$2/run1.json" ] || exit 3
	exit "${FAKE_GATE_RC:-0}" ;;
esac
`

// make gate must exit with the gate's own status: GNU make turns a failed
// recipe into 2, which would hide a regression (1) among unusable input.
func TestMakeGateExitStatus(t *testing.T) {
	for _, tool := range []string{"make", "sh", "bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	fake := filepath.Join(t.TempDir(), "kbench")
	if err := os.WriteFile(fake, []byte(fakeKbench), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, rc := range []int{0, 1, 2} {
		cmd := exec.Command("make", "-s", "-C", "../..", "gate", "BASE=HEAD", "RUNS=1",
			"GATE_BASE_BIN="+fake, "GATE_HEAD_BIN="+fake)
		env := []string{fmt.Sprintf("FAKE_GATE_RC=%d", rc)}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "MAKEFLAGS=") && !strings.HasPrefix(e, "MAKELEVEL=") && !strings.HasPrefix(e, "MFLAGS=") {
				env = append(env, e)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("make gate: %v", err)
		}
		if got != rc {
			t.Errorf("gate exits %d: make gate exits %d\n%s", rc, got, out)
		}
	}
	// Without BASE: one line, exit 2.
	cmd := exec.Command("make", "-s", "-C", "../..", "gate")
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "make gate BASE=") {
		t.Errorf("make gate without BASE: %v\n%s", err, out)
	}
}
