// Package coverage checks whether a row's interval describes the next
// invocation, not only its own repetitions: over several independent
// result files of the same rows, how often one invocation's headline
// interval of the median holds another invocation's median, over all
// ordered pairs of invocations (i ≠ j).
//
// Even perfectly calibrated 95 % intervals hold another invocation's
// median less often than 95 %, because that median is itself drawn: for
// a roughly normal median the expected share is P(|Z| < 1.96/√2) ≈ 83 %.
// An interval built from repetitions that all sat in one regime of a
// bimodal row scores far lower. The target is ≥ 80 %.
package coverage

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"kbench/results"
)

// Row is one row's tally across the invocations.
type Row struct {
	// Key is the row's benchmark name (results.BenchName); Name is the
	// shorter "workload backend/variant" when no other row shares it.
	Key, Name string
	Headline  string
	// Files: how many invocations measured the row.
	Files int
	// Pairs: ordered pairs (i, j), i ≠ j, of those; Held: of which i's
	// interval held j's median.
	Pairs, Held int
	// Width is the median over the invocations of the interval's relative
	// half-width, and Confidence the lowest confidence any interval
	// achieved (6 repetitions: 96.9 %; 5: 93.75 %).
	Width, Confidence float64
}

// Share is Held/Pairs, 0 without pairs.
func (r Row) Share() float64 {
	if r.Pairs == 0 {
		return 0
	}
	return float64(r.Held) / float64(r.Pairs)
}

// Report is the tally over every row.
type Report struct {
	Files       int
	Rows        []Row
	Pairs, Held int
}

// Share is Held/Pairs over all rows, 0 without pairs.
func (r *Report) Share() float64 {
	if r.Pairs == 0 {
		return 0
	}
	return float64(r.Held) / float64(r.Pairs)
}

// Measure tallies files (at least two). A row counts in the files where it
// measured (ok, noisy or unstable) and has headline values; its interval
// is the one the file recorded (Trust.Intervals) or, for files written
// before intervals were, recomputed from the samples at 95 %.
func Measure(files []*results.File) (*Report, error) {
	if len(files) < 2 {
		return nil, fmt.Errorf("coverage: %d result file(s), need at least 2", len(files))
	}
	type acc struct {
		id       string
		headline string
		ivs      []results.Interval // one per invocation
	}
	rows := map[string]*acc{}
	var order []string
	for _, f := range files {
		for i := range f.Results {
			r := &f.Results[i]
			if !r.Status.Measured() {
				continue
			}
			key := results.BenchName(r)
			a := rows[key]
			if a == nil {
				a = &acc{id: r.ID(), headline: headline(r)}
				if a.headline == "" {
					continue
				}
				rows[key] = a
				order = append(order, key)
			}
			if iv, ok := interval(r, a.headline); ok {
				a.ivs = append(a.ivs, iv)
			}
		}
	}
	if len(order) == 0 {
		return nil, errors.New("coverage: no measured rows in the files")
	}
	ids := map[string]int{}
	for _, a := range rows {
		ids[a.id]++
	}
	rep := &Report{Files: len(files)}
	for _, key := range order {
		a := rows[key]
		row := Row{Key: key, Name: key, Headline: a.headline, Files: len(a.ivs), Confidence: 1}
		if ids[a.id] == 1 {
			row.Name = a.id
		}
		widths := make([]float64, 0, len(a.ivs))
		for i, oi := range a.ivs {
			widths = append(widths, oi.RelHalfWidth())
			row.Confidence = min(row.Confidence, oi.Confidence)
			for j, oj := range a.ivs {
				if i == j {
					continue
				}
				row.Pairs++
				if oi.Lo <= oj.Median && oj.Median <= oi.Hi {
					row.Held++
				}
			}
		}
		if len(widths) > 0 {
			row.Width = results.Median(widths)
		} else {
			row.Confidence = 0
		}
		rep.Rows = append(rep.Rows, row)
		rep.Pairs += row.Pairs
		rep.Held += row.Held
	}
	slices.SortFunc(rep.Rows, func(x, y Row) int { return strings.Compare(x.Key, y.Key) })
	return rep, nil
}

// headline is the row's judged metric, as the file recorded it.
func headline(r *results.Result) string {
	if r.Trust != nil && r.Trust.Headline != "" {
		return r.Trust.Headline
	}
	return r.Headline()
}

// interval is the row's interval of metric, recorded or recomputed.
func interval(r *results.Result, metric string) (results.Interval, bool) {
	if r.Trust != nil {
		if iv, ok := r.Trust.Intervals[metric]; ok && iv.N > 0 {
			return iv, true
		}
	}
	var v []float64
	for _, s := range r.Samples {
		if x, ok := s.Values[metric]; ok {
			v = append(v, x)
		}
	}
	iv := results.MedianInterval(v, results.DefaultTrust.Confidence)
	return iv, iv.N > 0
}

// Write prints the overall share, then one line per row.
func (r *Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d invocations: an interval held another invocation's median in %d of %d ordered pairs (%s)\n\n",
		r.Files, r.Held, r.Pairs, pct(r.Share(), r.Pairs))
	fmt.Fprintln(tw, "row\theadline\tfiles\theld\tshare\twidth\tconfidence")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%s\t%s\t%s\n", row.Name, row.Headline, row.Files, row.Held, row.Pairs,
			pct(row.Share(), row.Pairs), plusMinus(row.Width), pct(row.Confidence, row.Files))
	}
	return tw.Flush()
}

func pct(f float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func plusMinus(w float64) string {
	return results.Interval{Median: 1, Lo: 1 - w, Hi: 1 + w}.PlusMinus()
}
