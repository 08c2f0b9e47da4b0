// Package table renders result rows as terminal tables (tablewriter v1),
// one table per workload, one row per backend variant.
package table

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"kbench/results"
)

// Column shows one metric's median; Spread adds [min–max].
type Column struct {
	Header string
	Metric string
	Spread bool
}

// Columns per workload. A workload without an entry gets Generic.
var Columns = map[string][]Column{
	"fanin": {
		{"events/s", "events/s", true},
		{"ev/wait", "events/wait", false},
		{"sys/ev", "syscalls/event", false},
		{"cons ns/ev", "consumer-cpu-ns/event", false},
		{"prod ns/ev", "producer-cpu-ns/event", false},
		{"helper ns/ev", "helper-cpu-ns/event", false},
	},
}

// Lines is a workload's table as text: the header and one line per row
// (variant, the workload's columns, lost, dup, status). Render draws it for
// a terminal; the HTML report (kbench/plots) uses it as it is.
func Lines(workload string, rows []results.Result) (header []string, lines [][]string) {
	cols, ok := Columns[workload]
	if !ok {
		cols = Generic(rows)
	}
	cols = present(cols, rows)
	header = []string{"variant"}
	for _, c := range cols {
		header = append(header, c.Header)
	}
	header = append(header, "lost", "dup", "status")
	for i := range rows {
		r := &rows[i]
		line := []string{r.Backend + "/" + r.Variant}
		for _, c := range cols {
			line = append(line, cell(r, c))
		}
		_, _, lost, dup := r.Totals()
		status := string(r.Status)
		if r.Reason != "" {
			status += ": " + r.Reason
		}
		if len(r.Samples) == 0 {
			line = append(line, "-", "-", status)
		} else {
			line = append(line, strconv.FormatUint(lost, 10), strconv.FormatUint(dup, 10), status)
		}
		lines = append(lines, line)
	}
	return header, lines
}

// Render writes one table for the rows of one workload.
func Render(w io.Writer, workload string, rows []results.Result) error {
	header, lines := Lines(workload, rows)
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignRight
	}
	align[0], align[len(align)-1] = tw.AlignLeft, tw.AlignLeft
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
	)
	t.Header(header)
	for _, line := range lines {
		if err := t.Append(line); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%s\n", workload)
	return t.Render()
}

// present drops columns no row has a value for (helper CPU, say).
func present(cols []Column, rows []results.Result) []Column {
	var out []Column
	for _, c := range cols {
		for i := range rows {
			if _, ok := rows[i].Summary(c.Metric); ok {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// Generic shows every unit of the first row with samples.
func Generic(rows []results.Result) []Column {
	for _, r := range rows {
		if len(r.Samples) > 0 {
			var cols []Column
			for i, u := range r.Units {
				cols = append(cols, Column{Header: u.Name, Metric: u.Name, Spread: i == 0})
			}
			return cols
		}
	}
	return nil
}

func cell(r *results.Result, c Column) string {
	st, ok := r.Summary(c.Metric)
	if !ok {
		return "-"
	}
	s := Num(st.Median)
	if !c.Spread || st.N < 2 {
		return s
	}
	// The row's 95 % interval of the median, as the engine computed it;
	// rows from older files show their range instead.
	if r.Trust != nil {
		if iv, ok := r.Trust.Intervals[c.Metric]; ok && iv.N > 1 {
			return Num(iv.Median) + " ±" + Pct(iv.RelHalfWidth())
		}
	}
	return s + " [" + Num(st.Min) + "–" + Num(st.Max) + "]"
}

// Pct formats a share (0.042) as a whole percentage ("4%"), "<1%" below
// one percent.
func Pct(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "?"
	case x < 0.005:
		return "<1%"
	}
	return strconv.FormatFloat(x*100, 'f', 0, 64) + "%"
}

// Num formats a figure with three significant digits and an SI suffix for
// large values, so columns stay narrow and comparable.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', sig(v/1e9), 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', sig(v/1e6), 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', sig(v/1e3), 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 0.001:
		return strconv.FormatFloat(v, 'f', sig(v), 64)
	default:
		return strconv.FormatFloat(v, 'e', 1, 64)
	}
}

func sig(v float64) int {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	case a >= 0.1:
		return 3
	case a >= 0.01:
		return 4
	default:
		return 5
	}
}
