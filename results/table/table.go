// Package table renders result rows as terminal tables (tablewriter v1),
// one table per workload, one row per backend variant.
package table

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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

// Narrow lists, per workload, the metrics of its default terminal table:
// the ones a reader looks at first, so that the table fits 120 columns.
// `--wide`, the files and the report show every column. A workload without
// an entry shows every column by default.
var Narrow = map[string][]string{}

// Options choose a table's form.
type Options struct {
	// Wide shows every column, not only the workload's Narrow set.
	Wide bool
	// Format: "table" (default, for a terminal), "markdown" or "csv".
	Format string
}

// Formats are the values Options.Format takes.
var Formats = []string{"table", "markdown", "csv"}

// Lines is a workload's table as text: the header and one line per row
// (variant, the workload's columns, lost, dup, status with its reason), with
// every column. The HTML report (kbench/plots) uses it as it is.
func Lines(workload string, rows []results.Result) (header []string, lines [][]string) {
	header, lines, _ = build(workload, rows, true, false)
	return header, lines
}

// build lays a table out. With notes, a status's reason is moved out of the
// line into a numbered note, so that one long reason does not widen the
// whole table.
func build(workload string, rows []results.Result, wide, notes bool) (header []string, lines [][]string, footnotes []string) {
	cols, ok := Columns[workload]
	if !ok {
		cols = Generic(rows)
	}
	if narrow, ok := Narrow[workload]; ok && !wide {
		cols = only(cols, narrow)
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
			if notes {
				footnotes = append(footnotes, fmt.Sprintf("[%d] %s/%s: %s", len(footnotes)+1, r.Backend, r.Variant, r.Reason))
				status += fmt.Sprintf(" [%d]", len(footnotes))
			} else {
				status += ": " + r.Reason
			}
		}
		if len(r.Samples) == 0 {
			line = append(line, "-", "-", status)
		} else {
			line = append(line, strconv.FormatUint(lost, 10), strconv.FormatUint(dup, 10), status)
		}
		lines = append(lines, line)
	}
	if notes {
		footnotes = append(footnotes, firingNote(rows)...)
	}
	return header, lines, footnotes
}

// firingNote says how kevent's user sources were fired in these rows, when
// any row has them: through KEVENT_CTL_READY, one kernel entry per firing,
// as take30's unotify did (fire_direct=0), or by kbench calling
// storage_ready with no kernel entry (fire_direct=1), which the patch never
// had. Their figures are not comparable.
func firingNote(rows []results.Result) []string {
	ready, direct := 0, 0
	for _, r := range rows {
		switch r.Params["fire_direct"] {
		case "0":
			ready++
		case "1":
			direct++
		}
	}
	var out []string
	if ready > 0 {
		out = append(out, "kevent user sources: fired through kevent_ctl(KEVENT_CTL_READY), one kernel entry per firing (take30 unotify)")
	}
	if direct > 0 {
		out = append(out, "kevent user sources with fire_direct=1: storage_ready called by the producer, no kernel entry (not in the patch)")
	}
	return out
}

func only(cols []Column, metrics []string) []Column {
	var out []Column
	for _, c := range cols {
		if slices.Contains(metrics, c.Metric) {
			out = append(out, c)
		}
	}
	return out
}

// Render writes the default terminal table for the rows of one workload.
func Render(w io.Writer, workload string, rows []results.Result) error {
	return Write(w, workload, rows, Options{})
}

// Write writes one workload's rows in the form o asks for.
func Write(w io.Writer, workload string, rows []results.Result, o Options) error {
	switch o.Format {
	case "", "table", "markdown", "csv":
	default:
		return fmt.Errorf("table format %q: want one of %v", o.Format, Formats)
	}
	header, lines, notes := build(workload, rows, o.Wide, o.Format != "csv")
	return WriteLines(w, o.Format, workload, header, lines, notes)
}

// WriteLines writes a titled table of text lines in a format ("table",
// "markdown" or "csv"), with notes under it (not in CSV): the one writer
// of every table kbench prints (run's, plot's comparisons, the gate's).
func WriteLines(w io.Writer, format, title string, header []string, lines [][]string, notes []string) error {
	switch format {
	case "markdown":
		return markdown(w, title, header, lines, notes)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(append([]string{"table"}, header...))
		for _, l := range lines {
			cw.Write(append([]string{title}, l...))
		}
		cw.Flush()
		return cw.Error()
	case "", "table":
	default:
		return fmt.Errorf("table format %q: want one of %v", format, Formats)
	}
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
	t.Header(stack(header))
	for _, line := range lines {
		if err := t.Append(line); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%s\n", title)
	if err := t.Render(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(w, wrap(n, 120, "    "))
	}
	return nil
}

// stack breaks long headers onto two lines at their last space ("cons
// ns/ev"): a header wider than its figures would widen the whole table.
func stack(header []string) []string {
	out := make([]string, len(header))
	for i, h := range header {
		out[i] = h
		if j := strings.LastIndexAny(h, " @"); len(h) > 8 && j > 0 {
			if h[j] == ' ' {
				out[i] = h[:j] + "\n" + h[j+1:]
			} else {
				out[i] = h[:j] + "\n" + h[j:]
			}
		}
	}
	return out
}

// markdown writes a GitHub-flavoured Markdown table (CI summaries, reviews).
func markdown(w io.Writer, title string, header []string, lines [][]string, notes []string) error {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	fmt.Fprintf(w, "\n### %s\n\n|", title)
	for _, h := range header {
		fmt.Fprintf(w, " %s |", esc(h))
	}
	fmt.Fprint(w, "\n|")
	for i := range header {
		if i == 0 || i == len(header)-1 {
			fmt.Fprint(w, " --- |")
		} else {
			fmt.Fprint(w, " ---: |")
		}
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprint(w, "|")
		for _, c := range l {
			fmt.Fprintf(w, " %s |", esc(c))
		}
		fmt.Fprintln(w)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "%s  \n", esc(n))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
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
			return Num(iv.Median) + " " + iv.PlusMinus()
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

// wrap breaks s at spaces into lines of at most width runes, continuation
// lines indented.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		if i > 0 && line+1+n > width {
			b.WriteString("\n" + indent)
			line = utf8.RuneCountInString(indent)
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}
