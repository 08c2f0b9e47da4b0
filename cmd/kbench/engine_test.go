package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
	"kbench/results"
)

// --impl narrows every workload, fidelity included: a selected variant with
// a C twin is measured, one without is n/a, and nothing else runs.
func TestImplNarrowsFidelity(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler: the fidelity twins cannot be built")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(&out, &errb, []string{"run", "--impl=epoll/lt,iouring/sqpoll-oneshot", "--workload=fidelity", "--quick", "--out", dir})
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errb.String())
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(names) != 1 {
		t.Fatalf("result files %v", names)
	}
	f, err := results.ReadJSON(names[0])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]results.Status{}
	for _, r := range f.Results {
		got[r.Backend+"/"+r.Variant] = r.Status
	}
	if len(got) != 2 {
		t.Errorf("rows %v, want only the two selected variants", got)
	}
	if s := got["iouring/sqpoll-oneshot"]; s != results.StatusNA {
		t.Errorf("sqpoll-oneshot (no twin): status %q, want n/a", s)
	}
	if s := got["epoll/lt"]; !s.Measured() && s != results.StatusSkipped {
		t.Errorf("epoll/lt: status %q", s)
	}
	if f.Engine == nil {
		t.Errorf("the result records no engine schedule")
	}
}

// hogs starts one busy shell loop pinned to each CPU of cpus and returns a
// function that ends them.
func hogs(t *testing.T, cpus []int) func() {
	t.Helper()
	var procs []*exec.Cmd
	stop := func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	}
	for _, c := range cpus {
		p := exec.Command("sh", "-c", "while :; do :; done")
		if err := p.Start(); err != nil {
			stop()
			t.Skipf("cannot start a busy loop: %v", err)
		}
		procs = append(procs, p)
		var set unix.CPUSet
		set.Set(c)
		if err := unix.SchedSetaffinity(p.Process.Pid, &set); err != nil {
			stop()
			t.Skipf("cannot pin a busy loop: %v", err)
		}
	}
	return stop
}

// With a busy loop on each measured CPU, the pre-flight names it, and
// --require-quiet refuses to measure: one line, exit 3, no result files.
// Without the flag the run warns and goes on, and its rows say they were
// disturbed (noisy). (Whether an idle machine reads as quiet depends on the
// machine running the test, so only the busy side is asserted.)
func TestBusyCPUsArePreflightedAndNoisy(t *testing.T) {
	cpus, err := cpu.Allowed()
	if err != nil || len(cpus) < 2 {
		t.Skipf("need two CPUs: %v %v", cpus, err)
	}
	defer hogs(t, cpus[:2])()
	dir := t.TempDir()
	o := runBinary(t, 60*time.Second, nil, "run", "--impl=epoll/lt", "--workload=fanin", "--quick", "--reps=3",
		"--require-quiet", "--out="+dir)
	if o.code != 3 || !strings.Contains(o.stderr, "busy") || !strings.Contains(o.stderr, "sh") || strings.Count(strings.TrimSpace(o.stderr), "\n") != 0 {
		t.Errorf("--require-quiet on busy CPUs: exit %d, stderr %q; want exit 3 and one line naming the busy loop", o.code, o.stderr)
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Errorf("--require-quiet wrote %v", left)
	}
	o = runBinary(t, 60*time.Second, nil, "run", "--impl=epoll/lt", "--workload=fanin", "--quick", "--reps=3", "--no-files", "--format=json")
	if o.code != 0 || !strings.Contains(o.stderr, "warning: CPUs") {
		t.Fatalf("busy run: exit %d, stderr %q; want 0 and the pre-flight warning", o.code, o.stderr)
	}
	var f results.File
	if err := json.Unmarshal([]byte(o.stdout), &f); err != nil {
		t.Fatal(err)
	}
	if f.Preflight == nil || f.Preflight.Quiet {
		t.Errorf("preflight %+v, want a busy reading", f.Preflight)
	}
	for _, r := range f.Results {
		if r.Status != results.StatusNoisy || r.Trust == nil || r.Trust.Interference <= results.DefaultTrust.NoisyShare {
			t.Errorf("%s: %s %q (trust %+v), want noisy with its interference share", r.ID(), r.Status, r.Reason, r.Trust)
		}
	}
}
