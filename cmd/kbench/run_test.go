package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"kbench/results"
)

func TestBadInputIsAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run", "--impl=nosuch"},
		{"run", "--workload=nosuch"},
		{"run", "--duration=fast"},
		{"run", "--duration=-1s"},
		{"run", "--cpus=0-"},
		{"run", "--cpus=9999"},
		{"run", "--wait=sometimes"},
		{"run", "--housekeeping=quiet"},
		{"fidelity", "--housekeeping=low"},
		{"run", "--placement=far"},
		{"run", "--helper-cpu=elsewhere"},
		{"run", "--helper-cpu=9999"},
		{"run", "--set=sources"},
		{"run", "--set=nosuchparam=3"},
		{"run", "extra"},
		{"list", "x"},
	} {
		var out, errb bytes.Buffer
		err := run(&out, &errb, args)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("run %q = %v, want a usage error", args, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
			t.Errorf("run %q: error %q is not one line", args, msg)
		}
	}
}

func TestRunWritesTableAndFiles(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(&out, &errb, []string{"run", "--impl=epoll", "--workload=fanin", "--quick", "--reps=2", "--out", dir})
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errb.String())
	}
	for _, want := range []string{"epoll/lt", "epoll/et", "epoll/oneshot", "events/s", "lost", "dup"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	benches, _ := filepath.Glob(filepath.Join(dir, "*.bench"))
	csvs, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(jsons) != 1 || len(benches) != 1 || len(csvs) != 1 {
		t.Fatalf("files: %v %v %v", jsons, benches, csvs)
	}
	f, err := results.ReadJSON(jsons[0])
	if err != nil {
		t.Fatal(err)
	}
	if !f.Complete || len(f.Results) != 3 || f.Env.Kernel == "" {
		t.Errorf("result file: complete=%v rows=%d kernel=%q", f.Complete, len(f.Results), f.Env.Kernel)
	}
	for _, r := range f.Results {
		if !r.Status.Measured() || len(r.Samples) != 2 {
			t.Errorf("%s: %s %s, %d samples", r.ID(), r.Status, r.Reason, len(r.Samples))
		}
	}
	bf, _ := os.Open(benches[0])
	defer bf.Close()
	rd := benchfmt.NewReader(bf, benches[0])
	n := 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("bench file: %v", rec)
		case *benchfmt.Result:
			n++
			if _, ok := rec.Value("events/s"); !ok {
				t.Errorf("bench line without events/s: %s", rec.Name)
			}
		}
	}
	if n != 6 {
		t.Errorf("bench file has %d results, want 6 (3 rows × 2 reps)", n)
	}
}

func TestListShowsBackendsAndWorkloads(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, &out, []string{"list"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"epoll/lt", "triggers=", "fanin", "sources="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q", want)
		}
	}
}
