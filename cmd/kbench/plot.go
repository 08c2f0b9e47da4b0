package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kbench/plots"
	"kbench/results"
)

const plotUsage = `usage: kbench plot [--out DIR] RESULT.json

Draws the result file's figures (PNG and SVG, gonum/plot) and an HTML report
with them and every table into DIR, by default plots/<result name>/. DIR must
not exist yet, or be empty: figures of an earlier plot are never overwritten.

flags:
`

// plotCmd draws a result file's figures and report.
func plotCmd(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory for the figures and report.html (default plots/<result name>)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, plotUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return usagef("plot: %v", err)
	}
	if fs.NArg() != 1 {
		return usagef("plot: want one result file (got %d arguments)", fs.NArg())
	}
	in := fs.Arg(0)
	f, err := results.ReadJSON(in)
	if err != nil {
		return usagef("plot: %v", err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("plots", strings.TrimSuffix(filepath.Base(in), filepath.Ext(in)))
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return usagef("plot: %s exists and is not empty; remove it or choose --out", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	figs, err := plots.Draw(f, dir)
	if err != nil {
		return err
	}
	if err := plots.Report(f, figs, dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d figures and report.html in %s\n", len(figs), dir)
	return nil
}
