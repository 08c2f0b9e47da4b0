package plots

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"kbench/results"
)

// Input is one side of a comparison: a label and the result files it was
// read from (a file, or every *.json of a directory).
type Input struct {
	Label string
	Paths []string
	Files []*results.File
	// File pools the files: one row per benchmark name, every file's
	// repetitions in it. With one file it is that file.
	File *results.File
}

// Load reads each path as one input (a result file, or a directory whose
// *.json files are one input's runs). labels, when not empty, name the
// inputs in order; otherwise each input is named by what differs between
// them (kernel, host, commit, start time), or by its file name.
func Load(paths, labels []string) ([]*Input, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no result files given")
	}
	if len(labels) > 0 && len(labels) != len(paths) {
		return nil, fmt.Errorf("%d labels for %d inputs: give one --label per input", len(labels), len(paths))
	}
	var ins []*Input
	for _, p := range paths {
		in, err := loadOne(p)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	if len(labels) > 0 {
		for i, l := range labels {
			ins[i].Label = l
		}
	} else {
		defaultLabels(ins, paths)
	}
	seen := map[string]bool{}
	for _, in := range ins {
		if seen[in.Label] {
			return nil, fmt.Errorf("two inputs are labelled %q: give --label per input", in.Label)
		}
		seen[in.Label] = true
	}
	return ins, nil
}

func loadOne(p string) (*Input, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	names := []string{p}
	if st.IsDir() {
		names, _ = filepath.Glob(filepath.Join(p, "*.json"))
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no kbench result files (*.json) in it", p)
		}
	}
	in := &Input{Paths: names}
	for _, n := range names {
		f, err := results.ReadJSON(n)
		if err != nil {
			return nil, err
		}
		in.Files = append(in.Files, f)
	}
	in.File = pool(in.Files)
	return in, nil
}

// pool merges several runs into one file: the first run's environment and
// floors, and per benchmark name one row holding every run's repetitions.
// A pooled row's Trust is dropped (it described one run), so figures fall
// back to the range of the pooled repetitions. A row failed in any run is
// failed.
func pool(files []*results.File) *results.File {
	if len(files) == 1 {
		return files[0]
	}
	out := *files[0]
	out.Results = nil
	idx := map[string]int{}
	for _, f := range files {
		out.Complete = out.Complete && f.Complete
		for _, r := range f.Results {
			key := results.BenchName(&r)
			i, ok := idx[key]
			if !ok {
				r.Samples = slices.Clone(r.Samples)
				r.Trust = nil
				idx[key] = len(out.Results)
				out.Results = append(out.Results, r)
				continue
			}
			have := &out.Results[i]
			have.Samples = append(have.Samples, r.Samples...)
			if r.Status == results.StatusFailed || !have.Status.Measured() && r.Status.Measured() {
				have.Status, have.Reason = r.Status, r.Reason
			}
		}
	}
	return &out
}

// defaultLabels names inputs by the first of kernel, host, commit and start
// time that tells them all apart, else by file name, else by position.
func defaultLabels(ins []*Input, paths []string) {
	if len(ins) == 1 {
		ins[0].Label = strings.TrimSuffix(filepath.Base(paths[0]), ".json")
		return
	}
	keys := []func(*results.File) string{
		func(f *results.File) string { return f.Env.Kernel },
		func(f *results.File) string { return f.Env.Hostname },
		func(f *results.File) string { return f.Env.Commit },
		func(f *results.File) string { return f.Started.UTC().Format("2006-01-02 15:04:05") },
		func(f *results.File) string { return f.Started.UTC().Format("2006-01-02 15:04:05.000") },
	}
	byName := func(in *Input, i int) string { return strings.TrimSuffix(filepath.Base(paths[i]), ".json") }
	for _, key := range append(keys, nil) {
		got := make([]string, len(ins))
		seen := map[string]bool{}
		distinct := true
		for i, in := range ins {
			if key == nil {
				got[i] = byName(in, i)
			} else {
				got[i] = key(in.File)
			}
			if got[i] == "" || seen[got[i]] {
				distinct = false
			}
			seen[got[i]] = true
		}
		if distinct {
			for i, in := range ins {
				in.Label = got[i]
			}
			return
		}
	}
	for i, in := range ins {
		in.Label = fmt.Sprintf("input %d", i+1)
	}
}
