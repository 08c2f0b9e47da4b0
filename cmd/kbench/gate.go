package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"kbench/results/gate"
	"kbench/results/table"
)

const gateUsage = `usage: kbench gate [flags] BASE HEAD

BASE and HEAD are kbench result files (JSON) or directories of them, matched
row by row. A metric regresses when the Mann-Whitney U test finds head
different from base (p < alpha) and its median is worse, in the metric's own
direction, by more than the threshold. A row ok in base and failed in head also
fails the gate. With two or more runs on each side (make gate interleaves them)
the test compares the runs' medians; with one run a side it compares that run's
repetitions, which do not sample the drift between runs of a shared machine
(verdicts then say "reps").

Exit status: 0 no regression, 1 regression, 2 unusable input.

flags:
`

// gateCmd compares two result sets and fails (exit 1) on a regression.
func gateCmd(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := gate.DefaultOptions
	fs.Float64Var(&o.Alpha, "alpha", o.Alpha, "significance level of the U test")
	threshold := fs.Float64("threshold", o.Threshold*100, "percent: the smallest significant worsening of a median that fails the gate")
	metrics := fs.String("metrics", "", "compare only these units, comma-separated (events/s,p99-ns); default: every unit with a direction")
	all := fs.Bool("all", false, "list every compared metric, not only the significant ones")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, gateUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return usagef("gate: %v", err)
	}
	if fs.NArg() != 2 {
		return usagef("gate: want two result sets, BASE and HEAD (got %d arguments)", fs.NArg())
	}
	o.Threshold = *threshold / 100
	if *metrics != "" {
		o.Metrics = strings.Split(*metrics, ",")
	}
	base, err := gate.Load([]string{fs.Arg(0)})
	if err != nil {
		return usagef("gate: base: %v", err)
	}
	head, err := gate.Load([]string{fs.Arg(1)})
	if err != nil {
		return usagef("gate: head: %v", err)
	}
	rep, err := gate.Compare(base, head, o)
	if err != nil {
		return usagef("gate: %v", err)
	}
	printGate(stdout, rep, *all)
	if rep.Failed() {
		return exitError{code: 1, msg: "gate: regression (" + rep.Summary() + ")"}
	}
	return nil
}

func printGate(w io.Writer, rep *gate.Report, all bool) {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("row", "metric", "base", "head", "delta", "p", "n", "verdict")
	shown := 0
	for _, c := range rep.Changes {
		if !all && (c.Verdict == gate.Same || c.Verdict == gate.TooFew) {
			continue
		}
		shown++
		if c.Verdict == gate.Broken {
			t.Append(c.Row, "-", "ok", "failed", "-", "-", "-", string(c.Verdict)+": "+c.Note)
			continue
		}
		delta := "-"
		if !math.IsNaN(c.Delta) {
			delta = fmt.Sprintf("%+.1f%%", c.Delta*100)
		}
		v := string(c.Verdict)
		if c.Note != "" {
			v += " (" + c.Note + ")"
		}
		n := fmt.Sprintf("%d+%d runs", c.BaseN, c.HeadN)
		if !c.PerRun {
			n = fmt.Sprintf("%d+%d reps", c.BaseN, c.HeadN)
		}
		t.Append(c.Row, c.Metric+" ("+c.Better+")", table.Num(c.BaseMed), table.Num(c.HeadMed), delta,
			fmt.Sprintf("%.3f", c.P), n, v)
	}
	if shown > 0 {
		t.Render()
	}
	for _, r := range rep.BaseOnly {
		fmt.Fprintln(w, "base only:", r)
	}
	for _, r := range rep.HeadOnly {
		fmt.Fprintln(w, "head only:", r)
	}
	fmt.Fprintln(w, "gate:", rep.Summary())
}
