// Package gate is kbench's performance regression gate: it compares two
// result sets, base and head, metric by metric, and fails on a change only
// when it is significantly worse after correcting for the number of
// comparisons, in the metric's own direction (`better` in the result
// file's units), and larger than both a fixed threshold and the noise
// floor the runs themselves show.
//
// A result set is one or more kbench result files (JSON), one file per run;
// rows are matched by their Go benchmark name (workload, backend, variant
// and every measured parameter). The repetitions of one run share that
// minute's neighbours and frequency, so the observations are the runs
// (each run's median) whenever both sides hold at least two. When the
// files show that base and head ran alternately (`make gate`), the k-th
// runs of each side are a pair that saw the same machine state, and the
// test is Wilcoxon's signed-rank over the pairs' ratios (paired.go);
// otherwise the Mann-Whitney U test of golang.org/x/perf/benchmath compares
// the two sets of runs (with one run a side, its repetitions, marked so).
//
// Which comparisons gate: by default the primary metrics of each workload
// (primary.go); the others are compared and reported, never failing. The
// gating comparisons form one family whose one-sided p-values are adjusted
// with Holm's procedure (family.go), so that a run in which nothing changed
// fails with probability at most alpha however many rows it holds.
//
// What cannot be compared is said, never passed over (Notice): a row ok in
// base and failed, skipped or missing in head, a run measured on a
// disturbed machine (left out), an interrupted run. Which of these fail
// the gate is in Notice.Fails.
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
	// Alpha is the family-wise significance level (default 0.05).
	Alpha float64
	// Threshold is the smallest relative change of the median, in the
	// worse direction, that fails the gate (0.05 = 5 %); the noise floor
	// raises it where the runs spread more.
	Threshold float64
	// Metrics selects the gating metrics: empty or "primary" for each
	// workload's primary set, "all" for every metric with a direction, or
	// metric names (stems such as p99-ns match every point p99-ns@…).
	Metrics []string
	// Correction across the gating comparisons (default Holm).
	Correction Correction
	// Paired: when base and head ran alternately (paired.go), test each
	// pair's ratio (Wilcoxon signed-rank) instead of the two sets as
	// unordered samples (Mann-Whitney U).
	Paired bool
	// Strata: in paired comparisons, test with every repetition of each
	// pair's two runs (van Elteren's stratified rank sum, strata.go)
	// instead of one ratio per pair.
	Strata bool
	// NoiseScale multiplies the noise floor (noise.go): 1 requires a
	// change beyond the scatter of one observation; 0 leaves the
	// threshold alone.
	NoiseScale float64
}

// DefaultOptions are the gate's defaults.
var DefaultOptions = Options{Alpha: 0.05, Threshold: 0.05, Correction: BH, Paired: false, NoiseScale: 0.5}

// Verdict of one metric of one row.
type Verdict string

const (
	Same       Verdict = "~"          // no significant difference
	Better     Verdict = "better"     // significant, in the metric's good direction
	Worse      Verdict = "worse"      // significant and worse, within the threshold or noise floor, or not gating
	Regression Verdict = "REGRESSION" // gating, significant and worse beyond threshold and noise floor
	TooFew     Verdict = "too few"    // with these sample sizes the test could never reject
)

// Change is one compared metric of one row.
type Change struct {
	Row, Metric      string
	Better           string // "higher" or "lower"
	Gating           bool   // in the corrected family; else reported only
	BaseMed, HeadMed float64
	BaseN, HeadN     int     // observations on each side
	PerRun           bool    // observations are runs' medians, not one run's repetitions
	Pairs            int     // > 0: PWorse and PBetter are the signed-rank test's over this many pairs
	Delta            float64 // (head-base)/|base|, from the pairs' median ratio when paired; NaN when base is 0
	Floor            float64 // the change that fails: max(threshold, noise)
	Noise            float64 // the noise floor learned from the runs (NaN if unknown)
	P                float64 // the U test's two-sided p (benchmath)
	PWorse           float64 // one-sided p of "head is worse"
	PBetter          float64 // one-sided p of "head is better"
	PAdj             float64 // PWorse adjusted for the gating family; PWorse if not gating
	MinP             float64 // the smallest one-sided p these sample sizes allow
	Verdict          Verdict
	Note             string
}

// Report is the outcome of a comparison.
type Report struct {
	Changes []Change
	Notices []Notice
	// Gating is the size of the corrected family; Level is the level the
	// family's smallest p must beat before anything can be flagged.
	Gating     int
	Level      float64
	Correction Correction
	// Powerless explains why no gating comparison could ever reject
	// (too few runs for the family, or no gating metric at all); empty
	// when the gate can detect something.
	Powerless string
}

// Failed reports whether the gate fails: a regression, or a notice that
// fails (a broken, skipped or missing row, an interrupted run).
func (r *Report) Failed() bool {
	for _, c := range r.Changes {
		if c.Verdict == Regression {
			return true
		}
	}
	for _, n := range r.Notices {
		if n.Fails() {
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

// Compare pools each set and compares every row both sets measured, metric
// by metric, then adjusts the gating family. It fails on unusable options,
// metric names no row has, and sets with no row in common.
func Compare(base, head []*results.File, o Options) (*Report, error) {
	if o.Alpha <= 0 || o.Alpha >= 1 || math.IsNaN(o.Alpha) {
		return nil, fmt.Errorf("alpha %v: want 0 < alpha < 1", o.Alpha)
	}
	if o.Threshold < 0 || math.IsNaN(o.Threshold) {
		return nil, fmt.Errorf("threshold %v: want >= 0", o.Threshold)
	}
	if o.Correction == "" {
		o.Correction = Holm
	}
	if o.Correction != Holm && o.Correction != BH && o.Correction != None {
		return nil, fmt.Errorf("correction %q: want holm, bh or none", o.Correction)
	}
	b, h := pool(base), pool(head)
	gates, err := selector(o.Metrics, b, h)
	if err != nil {
		return nil, err
	}
	rep := &Report{Notices: incomplete(base, "base")}
	rep.Notices = append(rep.Notices, incomplete(head, "head")...)
	common := 0
	for _, key := range sortedKeys(b) {
		if _, ok := h[key]; !ok && b[key].measured() && !b[key].failed() {
			rep.Notices = append(rep.Notices, Notice{Kind: Missing, Row: key,
				Note: fmt.Sprintf("measured in %d base runs, in no head run", b[key].nMeasured())})
		}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = o.Alpha
	var ps []pair
	if o.Paired {
		ps = pairs(base, head)
	}
	for _, key := range sortedKeys(h) {
		hr := h[key]
		br, ok := b[key]
		if !ok {
			rep.Notices = append(rep.Notices, Notice{Kind: HeadOnly, Row: key, Note: string(hr.summary())})
			continue
		}
		common++
		ns, comparable := rowNotices(key, br, hr)
		rep.Notices = append(rep.Notices, ns...)
		if !comparable {
			continue
		}
		perRun := len(br.runs) >= 2 && len(hr.runs) >= 2
		for _, u := range hr.units {
			if u.Better != "higher" && u.Better != "lower" {
				continue
			}
			bv, hv := br.observations(u.Name, perRun), hr.observations(u.Name, perRun)
			if len(bv) == 0 || len(hv) == 0 {
				continue
			}
			c := compareOne(key, u, bv, hv, &th)
			c.PerRun = perRun
			if d := pairedDiffs(ps, br, hr, u.Name, u.Better); len(ps) > 0 && len(d) >= 2 {
				var n int
				c.PWorse, c.PBetter, n = SignedRank(d)
				c.Pairs, c.MinP = len(d), math.Ldexp(1, -max(n, 1))
				if n == 0 {
					c.MinP = 1
				}
				c.Delta, c.Noise = pairedChange(d, u.Better)
				if o.Strata {
					c.PWorse, c.PBetter, c.MinP, _ = stratified(ps, br, hr, u.Name, u.Better)
				}
			}
			c.Gating = gates(br.workload, u.Name)
			rep.Changes = append(rep.Changes, c)
		}
	}
	if common == 0 {
		return nil, errors.New("the two result sets have no row in common (different workloads, backends or parameters?)")
	}
	slices.SortFunc(rep.Changes, func(x, y Change) int {
		return cmp.Or(cmp.Compare(x.Row, y.Row), cmp.Compare(x.Metric, y.Metric))
	})
	judge(rep, o)
	return rep, nil
}

// judge adjusts the gating family's p-values and gives every change its
// verdict; it also says when the family could never reject.
func judge(rep *Report, o Options) {
	var idx []int
	var worse, better []float64
	for i, c := range rep.Changes {
		if c.Gating {
			idx = append(idx, i)
			worse = append(worse, c.PWorse)
			better = append(better, c.PBetter)
		}
	}
	adjWorse, adjBetter := Adjust(o.Correction, worse), Adjust(o.Correction, better)
	betterAdj := map[int]float64{}
	rep.Gating, rep.Correction = len(idx), o.Correction
	rep.Level = firstStep(o.Correction, o.Alpha, len(idx))
	for k, i := range idx {
		rep.Changes[i].PAdj = adjWorse[k]
		betterAdj[i] = adjBetter[k]
	}
	able := 0
	smallest := 1.0
	for i := range rep.Changes {
		c := &rep.Changes[i]
		level, pBetter := o.Alpha, c.PBetter
		if c.Gating {
			level, pBetter = rep.Level, betterAdj[i]
			smallest = math.Min(smallest, c.MinP)
			if c.MinP < level {
				able++
			}
		} else {
			c.PAdj = c.PWorse
		}
		c.Floor = o.Threshold
		if !math.IsNaN(c.Noise) {
			c.Floor = math.Max(o.Threshold, o.NoiseScale*c.Noise)
		}
		switch {
		case c.PAdj < o.Alpha && !c.Gating:
			c.Verdict, c.Note = Worse, "not gating"
		case c.PAdj < o.Alpha && (math.IsNaN(c.Delta) || math.Abs(c.Delta) > c.Floor):
			c.Verdict = Regression
		case c.PAdj < o.Alpha:
			c.Verdict = Worse
			if c.Floor > o.Threshold {
				c.Note = fmt.Sprintf("within the noise floor %.1f%%", c.Floor*100)
			} else {
				c.Note = fmt.Sprintf("within the threshold %.1f%%", c.Floor*100)
			}
		case pBetter < o.Alpha:
			c.Verdict = Better
		case c.MinP >= level:
			c.Verdict = TooFew
			c.Note = fmt.Sprintf("p >= %.3g with these observations, needs < %.3g", c.MinP, level)
		default:
			c.Verdict = Same
		}
	}
	switch {
	case rep.Gating == 0:
		rep.Powerless = "no gating comparison: no row has a gating metric with usable runs on both sides (see the NOISY lines, or choose metrics with --metrics)"
	case able == 0:
		test, minP := "U test", func(n int) float64 { return MinP(n, n) }
		for _, c := range rep.Changes {
			if c.Gating && c.Pairs > 0 {
				test, minP = "signed-rank test over pairs", func(n int) float64 { return math.Ldexp(1, -n) }
			}
		}
		n := enough(rep.Level, minP)
		rep.Powerless = fmt.Sprintf("no gating comparison could ever reject: the smallest p the %s can give here is %.3g, "+
			"and %s over %d gating comparisons needs below %.3g (%d runs a side give %.3g)",
			test, smallest, o.Correction, rep.Gating, rep.Level, n, minP(n))
	}
}

// enough is the fewest runs a side whose smallest p beats level.
func enough(level float64, minP func(n int) float64) int {
	n := 2
	for minP(n) >= level && n < 50 {
		n++
	}
	return n
}

func compareOne(key string, u results.Unit, bv, hv []float64, th *benchmath.Thresholds) Change {
	bs := benchmath.NewSample(slices.Clone(bv), th)
	hs := benchmath.NewSample(slices.Clone(hv), th)
	bsum := benchmath.AssumeNothing.Summary(bs, 0.95)
	hsum := benchmath.AssumeNothing.Summary(hs, 0.95)
	c := benchmath.AssumeNothing.Compare(bs, hs)
	ch := Change{Row: key, Metric: u.Name, Better: u.Better, BaseMed: bsum.Center, HeadMed: hsum.Center,
		BaseN: len(bv), HeadN: len(hv), P: c.P, Delta: math.NaN(), Noise: Noise(bv, hv), MinP: MinP(len(bv), len(hv))}
	ch.PWorse, ch.PBetter = oneSided(c.P, bv, hv, u.Better)
	if bsum.Center != 0 {
		ch.Delta = (hsum.Center - bsum.Center) / math.Abs(bsum.Center)
	}
	return ch
}

// selector turns --metrics into the predicate "does this metric gate";
// names no row of either set has are an error listing the known ones.
func selector(names []string, b, h map[string]*row) (func(workload, metric string) bool, error) {
	if len(names) == 0 || len(names) == 1 && names[0] == "primary" {
		return Primary, nil
	}
	if len(names) == 1 && names[0] == "all" {
		return func(string, string) bool { return true }, nil
	}
	known := map[string]bool{}
	for _, set := range []map[string]*row{b, h} {
		for _, w := range set {
			for _, u := range w.units {
				if u.Better == "higher" || u.Better == "lower" {
					known[u.Name], known[stem(u.Name)] = true, true
				}
			}
		}
	}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	if len(unknown) > 0 {
		var k []string
		for n := range known {
			if !strings.Contains(n, "@") {
				k = append(k, n)
			}
		}
		sort.Strings(k)
		return nil, fmt.Errorf("unknown metric %s; known: primary, all, %s", strings.Join(unknown, ", "), strings.Join(k, ", "))
	}
	return func(_, metric string) bool {
		return slices.Contains(names, metric) || slices.Contains(names, stem(metric))
	}, nil
}

// Summary is one line: how many metrics moved which way, and the notices.
func (r *Report) Summary() string {
	n := map[Verdict]int{}
	for _, c := range r.Changes {
		if c.Gating {
			n[c.Verdict]++
		}
	}
	rule := fmt.Sprintf("the smallest p must be below %.3g", r.Level)
	if r.Correction == BH && r.Gating > 1 {
		rule = fmt.Sprintf("the k-th smallest p must be below k x %.3g", r.Level/float64(r.Gating))
	}
	parts := []string{fmt.Sprintf("%d compared, %d gating (%s: %s)", len(r.Changes), r.Gating, r.Correction, rule)}
	for _, v := range []Verdict{Regression, Worse, Better, Same, TooFew} {
		if n[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v], v))
		}
	}
	k := map[NoticeKind]int{}
	for _, x := range r.Notices {
		k[x.Kind]++
	}
	for _, kind := range noticeOrder {
		if k[kind] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k[kind], kind))
		}
	}
	return strings.Join(parts, ", ")
}
