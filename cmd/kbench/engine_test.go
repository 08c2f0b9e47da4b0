package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

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
