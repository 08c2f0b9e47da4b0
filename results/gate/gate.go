// Package gate is kbench's performance regression gate: it compares two
// result sets, base and head, metric by metric with the Mann-Whitney U test
// of golang.org/x/perf/benchmath, and calls a change a regression only when
// it is significant (p below alpha) and worse than a threshold in the
// metric's own direction (`better` in the result file's units).
//
// A result set is one or more kbench result files (JSON); rows are matched
// by their Go benchmark name (workload, backend, variant and every measured
// parameter). The U test needs independent observations, and on a shared
// machine the repetitions of one run are not: they share that minute's
// neighbours and frequency, and two back-to-back runs of the same binary
// differ by 10–40 % here with p < 0.01 on repetitions. So when both sides
// hold the row from at least two runs, the observations are the runs (each
// run's median); the between-run variation is then in both samples, and
// `make gate` interleaves base and head runs so that drift reaches both.
// Only when a side has a single run are its repetitions the observations,
// and every change found that way is marked as such.
//
// A row that is ok in base and failed in head (lost or duplicated events, an
// error) is a regression whatever the numbers say. Rows present on one side
// only are listed and do not fail the gate; a skipped or n/a row is compared
// by nothing.
package gate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"

	"kbench/results"
)

// Options tune the verdict.
type Options struct {
	// Alpha is the significance level of the U test (default 0.05).
	Alpha float64
	// Threshold is the smallest relative change of the median, in the
	// worse direction, that fails the gate (0.05 = 5 %).
	Threshold float64
	// Metrics, if not empty, limits the comparison to these unit names.
	Metrics []string
}

// DefaultOptions are the gate's defaults.
var DefaultOptions = Options{Alpha: 0.05, Threshold: 0.05}

// Verdict of one metric of one row.
type Verdict string

const (
	Same       Verdict = "~"          // no significant difference
	Better     Verdict = "better"     // significant, in the metric's good direction
	Worse      Verdict = "worse"      // significant and worse, but within the threshold
	Regression Verdict = "REGRESSION" // significant and worse beyond the threshold
	Broken     Verdict = "BROKEN"     // ok in base, failed in head
	TooFew     Verdict = "too few"    // not enough repetitions for the test to ever reject
)

// Change is one compared metric of one row.
type Change struct {
	Row, Metric      string
	Better           string // "higher" or "lower"
	BaseMed, HeadMed float64
	BaseN, HeadN     int     // observations on each side
	PerRun           bool    // observations are runs' medians, not one run's repetitions
	Delta            float64 // (head-base)/base; NaN when base is 0
	P                float64
	Verdict          Verdict
	Note             string
}

// Report is the outcome of a comparison.
type Report struct {
	Changes  []Change
	BaseOnly []string // rows only in base
	HeadOnly []string // rows only in head
}

// Failed reports whether the gate fails: a regression or a broken row.
func (r *Report) Failed() bool {
	for _, c := range r.Changes {
		if c.Verdict == Regression || c.Verdict == Broken {
			return true
		}
	}
	return false
}

// Load reads a result set: each path is a JSON result file or a directory
// whose *.json files are all read. It fails on an unreadable file, a file
// of another schema, or a set with no result file at all.
func Load(paths []string) ([]*results.File, error) {
	var files []*results.File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		names := []string{p}
		if st.IsDir() {
			names, err = filepath.Glob(filepath.Join(p, "*.json"))
			if err != nil {
				return nil, err
			}
			sort.Strings(names)
			if len(names) == 0 {
				return nil, fmt.Errorf("%s: no kbench result files (*.json) in it", p)
			}
		}
		for _, n := range names {
			f, err := results.ReadJSON(n)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no result files given")
	}
	return files, nil
}

// row is one benchmark across the runs of a set.
type row struct {
	id     string
	status results.Status // failed if any file's run of it failed
	reason string
	units  []results.Unit
	runs   []map[string][]float64 // per run, per metric: the repetitions
}

// observations are what the test compares for one metric: each run's
// median when there are several runs, else the one run's repetitions.
func (w *row) observations(metric string, perRun bool) []float64 {
	var out []float64
	for _, r := range w.runs {
		v := r[metric]
		if len(v) == 0 {
			continue
		}
		if perRun {
			out = append(out, results.Median(v))
		} else {
			out = append(out, v...)
		}
	}
	return out
}

func pool(files []*results.File) map[string]*row {
	rows := map[string]*row{}
	for _, f := range files {
		for i := range f.Results {
			r := &f.Results[i]
			key := results.BenchName(r)
			w := rows[key]
			if w == nil {
				w = &row{id: key, status: r.Status, reason: r.Reason}
				rows[key] = w
			}
			if r.Status == results.StatusFailed {
				w.status, w.reason = r.Status, r.Reason
			}
			for _, u := range r.Units {
				if !slices.ContainsFunc(w.units, func(x results.Unit) bool { return x.Name == u.Name }) {
					w.units = append(w.units, u)
				}
			}
			if r.Status != results.StatusOK {
				continue
			}
			run := map[string][]float64{}
			for _, s := range r.Samples {
				for name, v := range s.Values {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						run[name] = append(run[name], v)
					}
				}
			}
			w.runs = append(w.runs, run)
		}
	}
	return rows
}

// Compare pools each set and compares every row both sets ran ok, metric by
// metric. It fails when the two sets have no row in common.
func Compare(base, head []*results.File, o Options) (*Report, error) {
	if o.Alpha <= 0 || o.Alpha >= 1 {
		return nil, fmt.Errorf("alpha %v: want 0 < alpha < 1", o.Alpha)
	}
	if o.Threshold < 0 || math.IsNaN(o.Threshold) {
		return nil, fmt.Errorf("threshold %v: want >= 0", o.Threshold)
	}
	b, h := pool(base), pool(head)
	rep := &Report{}
	common := 0
	for key := range b {
		if _, ok := h[key]; !ok {
			rep.BaseOnly = append(rep.BaseOnly, key)
		}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = o.Alpha
	for key, hr := range h {
		br, ok := b[key]
		if !ok {
			rep.HeadOnly = append(rep.HeadOnly, key)
			continue
		}
		common++
		if br.status == results.StatusOK && hr.status == results.StatusFailed {
			rep.Changes = append(rep.Changes, Change{Row: key, Verdict: Broken, Note: hr.reason, Delta: math.NaN()})
			continue
		}
		if br.status != results.StatusOK || hr.status != results.StatusOK {
			continue // skipped, n/a or failed before: nothing to compare
		}
		for _, u := range hr.units {
			if u.Better != "higher" && u.Better != "lower" {
				continue
			}
			if len(o.Metrics) > 0 && !slices.Contains(o.Metrics, u.Name) {
				continue
			}
			perRun := len(br.runs) >= 2 && len(hr.runs) >= 2
			bv, hv := br.observations(u.Name, perRun), hr.observations(u.Name, perRun)
			if len(bv) == 0 || len(hv) == 0 {
				continue
			}
			c := compareOne(key, u, bv, hv, &th, o.Threshold)
			c.PerRun = perRun
			rep.Changes = append(rep.Changes, c)
		}
	}
	if common == 0 {
		return nil, errors.New("the two result sets have no row in common (different workloads, backends or parameters?)")
	}
	slices.SortFunc(rep.Changes, func(x, y Change) int {
		return cmp.Or(cmp.Compare(x.Row, y.Row), cmp.Compare(x.Metric, y.Metric))
	})
	sort.Strings(rep.BaseOnly)
	sort.Strings(rep.HeadOnly)
	return rep, nil
}

func compareOne(key string, u results.Unit, bv, hv []float64, th *benchmath.Thresholds, threshold float64) Change {
	bs := benchmath.NewSample(slices.Clone(bv), th)
	hs := benchmath.NewSample(slices.Clone(hv), th)
	bsum := benchmath.AssumeNothing.Summary(bs, 0.95)
	hsum := benchmath.AssumeNothing.Summary(hs, 0.95)
	c := benchmath.AssumeNothing.Compare(bs, hs)
	ch := Change{Row: key, Metric: u.Name, Better: u.Better, BaseMed: bsum.Center, HeadMed: hsum.Center,
		BaseN: len(bv), HeadN: len(hv), P: c.P, Delta: math.NaN()}
	if bsum.Center != 0 {
		ch.Delta = (hsum.Center - bsum.Center) / math.Abs(bsum.Center)
	}
	for _, w := range c.Warnings {
		ch.Note = w.Error()
	}
	switch {
	case c.P >= c.Alpha && ch.Note != "":
		ch.Verdict = TooFew
	case c.P >= c.Alpha || hsum.Center == bsum.Center:
		ch.Verdict = Same
	default:
		worse := hsum.Center < bsum.Center
		if u.Better == "lower" {
			worse = hsum.Center > bsum.Center
		}
		switch {
		case !worse:
			ch.Verdict = Better
		case math.IsNaN(ch.Delta) || math.Abs(ch.Delta) > threshold:
			ch.Verdict = Regression
		default:
			ch.Verdict = Worse
		}
	}
	return ch
}

// Summary is one line: how many metrics moved which way.
func (r *Report) Summary() string {
	n := map[Verdict]int{}
	for _, c := range r.Changes {
		n[c.Verdict]++
	}
	parts := []string{fmt.Sprintf("%d compared", len(r.Changes))}
	for _, v := range []Verdict{Regression, Broken, Worse, Better, Same, TooFew} {
		if n[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
		}
	}
	if len(r.BaseOnly)+len(r.HeadOnly) > 0 {
		parts = append(parts, fmt.Sprintf("%d rows in base only, %d in head only", len(r.BaseOnly), len(r.HeadOnly)))
	}
	return strings.Join(parts, ", ")
}
