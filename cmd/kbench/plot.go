package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kbench/plots"
	"kbench/results/table"
)

const plotUsage = `usage: kbench plot [--out DIR] [--label NAME]... INPUT...

Each INPUT is a result file (JSON) or a directory of them (its runs pooled).
With one input, draws its figures (PNG and SVG, gonum/plot) and report.html;
with several, draws each figure with the inputs side by side (one colour per
input, the first the baseline), compares each later input with the first by
the gate's statistics, and opens the report with what changed.

report.html is one self-contained file (figures inlined as SVG, nothing
fetched); the PNG and SVG files stay beside it. DIR defaults to
plots/<result name> (plots/<first>-vs-<second>… when comparing) and must not
exist yet, or be empty: an earlier plot is never overwritten.

flags:
`

// labels is a repeatable flag.
type labels []string

func (l *labels) String() string     { return strings.Join(*l, ",") }
func (l *labels) Set(s string) error { *l = append(*l, s); return nil }

// plotCmd draws result files' figures and report.
func plotCmd(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory for the figures and report.html (default plots/<result name>)")
	format := fs.String("format", "text", "stdout, when comparing: text (one summary line per comparison), or the comparison tables as table, markdown, csv or json")
	var lab labels
	fs.Var(&lab, "label", "name of an input in the report, once per input in order (default: what differs: kernel, host, commit, start time)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, plotUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return usagef("plot: %v", err)
	}
	if fs.NArg() == 0 {
		return usagef("plot: want one result file or more (or directories of them)")
	}
	if !slices.Contains([]string{"text", "table", "markdown", "csv", "json"}, *format) {
		return usagef("plot: --format %q: want text, table, markdown, csv or json", *format)
	}
	ins, err := plots.Load(fs.Args(), lab)
	if err != nil {
		return usagef("plot: %v", err)
	}
	dir := *out
	if dir == "" {
		var names []string
		for _, p := range fs.Args() {
			names = append(names, strings.TrimSuffix(filepath.Base(filepath.Clean(p)), ".json"))
		}
		dir = filepath.Join("plots", strings.Join(names, "-vs-"))
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return usagef("plot: %s exists and is not empty; remove it or choose --out", dir)
	}
	var comps []plots.Comparison
	if len(ins) > 1 {
		if comps, err = plots.Compare(ins); err != nil {
			return usagef("plot: %v", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	figs, err := plots.Draw(ins, dir)
	if err != nil {
		return err
	}
	if err := plots.Report(ins, figs, comps, dir); err != nil {
		return err
	}
	if err := printComparisons(stdout, comps, *format); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(stdout, "%d figures and report.html (%d kB, self-contained) in %s\n", len(figs), (size+1023)/1024, dir)
	return nil
}

// printComparisons writes the comparisons to stdout: a summary line each
// (text), or every workload's compared metrics, headline first, as a table
// in the asked-for form, or as JSON.
func printComparisons(w io.Writer, comps []plots.Comparison, format string) error {
	switch format {
	case "text":
		for _, c := range comps {
			fmt.Fprintf(w, "%s against %s: %s\n", c.Head, c.Base, c.Summary)
		}
		return nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(comps)
	}
	header := []string{"row", "metric", "base", "head", "delta", "range", "p", "verdict"}
	for _, c := range comps {
		for _, wc := range c.Workloads {
			var lines [][]string
			for _, r := range append(slices.Clone(wc.Headline), wc.Rest...) {
				lines = append(lines, []string{r.Row, r.Metric + " (" + r.Better + ")", r.Base, r.Head, r.Delta, r.Range, r.P, r.Verdict})
			}
			title := fmt.Sprintf("%s: %s against %s", wc.Workload, c.Head, c.Base)
			if err := table.WriteLines(w, format, title, header, lines, nil); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "%s against %s: %s\n", c.Head, c.Base, c.Summary)
	}
	return nil
}
