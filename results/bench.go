package results

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// runOnly are parameters that say how long or how often a row ran, not what
// it measured; they stay out of benchmark names so that two runs of
// different lengths still compare.
// The CPU numbers, trigger and source kind are recorded in the JSON; the
// variant name already implies the last two.
var runOnly = map[string]bool{
	"reps": true, "warmup": true, "duration": true, "quick": true,
	"producer_cpu": true, "consumer_cpu": true, "trigger": true, "sources_kind": true,
	// Measured in the run, recorded beside the parameters (the ring lab's
	// cache-line floor): in the name it would make every run's ring rows
	// new rows, and the gate would call the old ones MISSING.
	"floor_ns": true,
}

// BenchName is the Go benchmark name of a row: the workload, then every
// measured parameter as key=value, so benchstat can project on any of them.
func BenchName(r *Result) string {
	var b strings.Builder
	if r.Workload != "" {
		b.WriteString(strings.ToUpper(r.Workload[:1]) + r.Workload[1:])
	}
	fmt.Fprintf(&b, "/backend=%s/variant=%s", r.Backend, r.Variant)
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		if !runOnly[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "/%s=%s", k, sanitize(r.Params[k]))
	}
	return b.String()
}

// sanitize keeps names one token: no spaces, no slashes inside a value.
func sanitize(s string) string {
	return strings.NewReplacer(" ", "_", "/", ":", "\t", "_").Replace(s)
}

// WriteBench writes the ok rows of f in the Go benchmark format, one line per
// repetition, with unit metadata (Unit events/s better=higher).
func WriteBench(w io.Writer, f *File) error {
	bw := benchfmt.NewWriter(w)
	cfg := []benchfmt.Config{
		{Key: "goos", Value: []byte("linux"), File: true},
		{Key: "goarch", Value: []byte(f.Env.GOARCH), File: true},
		{Key: "cpu", Value: []byte(f.Env.CPUModel), File: true},
		{Key: "kernel", Value: []byte(f.Env.Kernel), File: true},
		{Key: "commit", Value: []byte(f.Env.Commit), File: true},
		{Key: "go", Value: []byte(f.Env.GoVersion), File: true},
	}
	seenUnit := map[string]bool{}
	for i := range f.Results {
		r := &f.Results[i]
		if !r.Status.Measured() {
			continue
		}
		for _, u := range r.Units {
			if seenUnit[u.Name] {
				continue
			}
			seenUnit[u.Name] = true
			if u.Better == "" {
				continue // a figure without a direction: no metadata
			}
			if err := bw.Write(&benchfmt.UnitMetadata{
				UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u.Name, Key: "better"},
				OrigUnit:        u.Name, Value: u.Better,
			}); err != nil {
				return err
			}
		}
		name := BenchName(r)
		for _, s := range r.Samples {
			res := &benchfmt.Result{Config: cfg, Name: benchfmt.Name(name), Iters: int(max(s.Collected, 1))}
			for _, u := range r.Units {
				if v, ok := s.Values[u.Name]; ok {
					res.Values = append(res.Values, benchfmt.Value{Value: v, Unit: u.Name})
				}
			}
			if len(res.Values) == 0 {
				continue
			}
			if err := bw.Write(res); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteBenchFile writes the .bench file atomically.
func WriteBenchFile(path string, f *File) error {
	return WriteAtomic(path, func(w *os.File) error { return WriteBench(w, f) })
}
