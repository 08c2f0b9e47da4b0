package plots

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"kbench/results"
	"kbench/results/gate"
	"kbench/results/table"
)

// Comparison is one input against the first (the baseline), by the gate's
// statistics: per row and metric the change of the median, its range from
// the two sides' intervals, the U test's p and the verdict in the metric's
// own direction.
type Comparison struct {
	Base, Head string
	Summary    string
	Failed     bool // the gate's verdict: a regression or a broken row
	// Powerless: no gating comparison could ever reject (kbench gate
	// exits 2, NO POWER); why, in the gate's words.
	Powerless string
	// AllTooFew: no compared metric had enough observations to judge.
	AllTooFew bool
	// Reps: some metric was judged on one run's repetitions (a side had a
	// single run), which do not sample the drift between runs.
	Reps      bool
	Workloads []WorkloadCmp
	Broken    []string
	BaseOnly  int
	HeadOnly  int
}

// WorkloadCmp holds one workload's compared metrics: its headline metric
// first, per row, then the rest.
type WorkloadCmp struct {
	Workload string
	Headline []CmpRow
	Rest     []CmpRow
}

// CmpRow is one compared metric of one row.
type CmpRow struct {
	Row, Metric, Better string
	Base, Head          string // medians, formatted
	Delta, Range        string // "+3.2%", "[-1.0%, +7.5%]"
	P                   string
	N                   string
	Verdict             string
	Significant         bool // better, worse or a regression
	delta               float64
}

// Compare compares every input after the first against the first.
func Compare(ins []*Input) ([]Comparison, error) {
	var out []Comparison
	for _, head := range ins[1:] {
		c, err := compareTwo(ins[0], head)
		if err != nil {
			return nil, fmt.Errorf("compare %s with %s: %w", head.Label, ins[0].Label, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func compareTwo(base, head *Input) (Comparison, error) {
	rep, err := gate.Compare(base.Files, head.Files, gate.DefaultOptions)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Base: base.Label, Head: head.Label, Summary: rep.Summary(), Failed: rep.Failed(), Powerless: rep.Powerless}
	rows := func(f *results.File) map[string]*results.Result {
		m := map[string]*results.Result{}
		for i := range f.Results {
			m[results.BenchName(&f.Results[i])] = &f.Results[i]
		}
		return m
	}
	br, hr := rows(base.File), rows(head.File)
	for _, n := range rep.Notices {
		switch {
		case n.Kind == gate.HeadOnly:
			c.HeadOnly++
		case n.Kind == gate.Missing:
			c.BaseOnly++
		case n.Fails() && n.Row != "":
			id := n.Row
			if h := hr[n.Row]; h != nil {
				id = h.ID()
			}
			c.Broken = append(c.Broken, string(n.Kind)+" "+id+": "+n.Note)
		}
	}
	byWl := map[string]*WorkloadCmp{}
	var order []string
	for _, ch := range rep.Changes {
		b, h := br[ch.Row], hr[ch.Row]
		if h == nil {
			continue
		}
		w := byWl[h.Workload]
		if w == nil {
			w = &WorkloadCmp{Workload: h.Workload}
			byWl[h.Workload] = w
			order = append(order, h.Workload)
		}
		row := CmpRow{Row: label(h), Metric: ch.Metric, Better: ch.Better,
			Base: table.Num(ch.BaseMed), Head: table.Num(ch.HeadMed), Delta: "-", Range: "-",
			P: fmt.Sprintf("%.3f", ch.P), Verdict: string(ch.Verdict), delta: ch.Delta,
			Significant: ch.Verdict == gate.Better || ch.Verdict == gate.Worse || ch.Verdict == gate.Regression}
		row.N = fmt.Sprintf("%d+%d reps", ch.BaseN, ch.HeadN)
		if ch.PerRun {
			row.N = fmt.Sprintf("%d+%d runs", ch.BaseN, ch.HeadN)
		}
		if !math.IsNaN(ch.Delta) {
			row.Delta = fmt.Sprintf("%+.1f%%", ch.Delta*100)
			bv, ok1 := value(b, ch.Metric)
			hv, ok2 := value(h, ch.Metric)
			if ok1 && ok2 && ch.BaseMed != 0 {
				d := math.Abs(ch.BaseMed)
				row.Range = fmt.Sprintf("[%+.1f%%, %+.1f%%]", (hv.Lo-bv.Hi)/d*100, (hv.Hi-bv.Lo)/d*100)
			}
		}
		if ch.Metric == headline(h) {
			w.Headline = append(w.Headline, row)
		} else {
			w.Rest = append(w.Rest, row)
		}
	}
	for _, wl := range order {
		c.Workloads = append(c.Workloads, *byWl[wl])
	}
	c.Reps = slices.ContainsFunc(rep.Changes, func(ch gate.Change) bool { return !ch.PerRun })
	c.AllTooFew = len(rep.Changes) > 0 && !slices.ContainsFunc(rep.Changes, func(ch gate.Change) bool { return ch.Verdict != gate.TooFew })
	return c, nil
}

// headlines name the metric a workload is judged on where its first unit
// is not it (latency's first unit is the capacity it fires against).
var headlines = map[string]string{"latency": "p99-ns@50%", "ring": "floor-multiple"}

// headline is the metric a row is read by first: the engine's choice when
// it made one, else the workload's, else the row's first unit with a
// direction; always one the row has samples of.
func headline(r *results.Result) string {
	var cands []string
	if r.Trust != nil && r.Trust.Headline != "" {
		cands = append(cands, r.Trust.Headline)
	}
	if m, ok := headlines[r.Workload]; ok {
		cands = append(cands, m)
	}
	for _, u := range r.Units {
		if u.Better == "higher" || u.Better == "lower" {
			cands = append(cands, u.Name)
		}
	}
	for _, m := range cands {
		if _, ok := r.Summary(m); ok {
			return m
		}
	}
	return ""
}

func better(r *results.Result, metric string) string {
	i := slices.IndexFunc(r.Units, func(u results.Unit) bool { return u.Name == metric })
	if i < 0 {
		return ""
	}
	return r.Units[i].Better
}

// topChanges are the significant headline changes: regressions first, then
// the largest.
func (c *Comparison) topChanges(n int) []CmpRow {
	var out []CmpRow
	for _, w := range c.Workloads {
		for _, r := range w.Headline {
			if r.Significant {
				r.Row = w.Workload + " " + r.Row
				out = append(out, r)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b CmpRow) int {
		ra, rb := a.Verdict == string(gate.Regression), b.Verdict == string(gate.Regression)
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return -cmp.Compare(math.Abs(a.delta), math.Abs(b.delta))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// envDiff lists the environment fields that differ between inputs.
func envDiff(ins []*Input) [][]string {
	fields := []struct {
		name string
		get  func(*results.File) string
	}{
		{"kernel", func(f *results.File) string { return f.Env.Kernel }},
		{"host", func(f *results.File) string { return f.Env.Hostname }},
		{"commit", func(f *results.File) string { return f.Env.Commit }},
		{"CPU", func(f *results.File) string { return f.Env.CPUModel }},
		{"Go", func(f *results.File) string { return f.Env.GoVersion }},
		{"started", func(f *results.File) string { return f.Started.UTC().Format("2006-01-02 15:04:05 UTC") }},
		{"command", func(f *results.File) string { return strings.Join(f.Env.Args, " ") }},
	}
	var out [][]string
	for _, fd := range fields {
		line := []string{fd.name}
		differ := false
		for _, in := range ins {
			v := fd.get(in.File)
			if len(in.Files) > 1 {
				v += fmt.Sprintf(" (first of %d runs)", len(in.Files))
			}
			line = append(line, v)
			differ = differ || fd.get(in.File) != fd.get(ins[0].File)
		}
		if differ {
			out = append(out, line)
		}
	}
	return out
}
