package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kbench/plots"
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
	for _, c := range comps {
		fmt.Fprintf(stdout, "%s against %s: %s\n", c.Head, c.Base, c.Summary)
	}
	size := int64(0)
	if st, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(stdout, "%d figures and report.html (%d kB, self-contained) in %s\n", len(figs), (size+1023)/1024, dir)
	return nil
}
