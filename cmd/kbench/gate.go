package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"kbench/results/gate"
	"kbench/results/table"
)

const gateUsage = `usage: kbench gate [flags] BASE HEAD

BASE and HEAD are kbench result files (JSON) or directories of them, one file
per run, matched row by row. Each workload's primary metrics gate (throughput,
p99 latency and, in the closed fan-in loops, the collector's CPU per event);
the other metrics are reported and never fail.

A gating metric regresses when three things hold. It is significantly worse
(one-sided) after Benjamini-Hochberg's correction across all gating
comparisons (--correction=holm for Holm's family-wise step-down): by the
Mann-Whitney U test (x/perf benchmath) on the runs' medians, or on one run's
repetitions with one run a side ("reps"). When nothing changed, the chance
that any comparison is flagged is at most alpha either way; when something
did, a change that moves many rows a little is seen by BH and missed by Holm
(README, "How well it works here"). --paired tests each adjacent base/head
pair's ratio (Wilcoxon's signed-rank) instead, for runs that alternated
(make gate), so that bursts of other work reaching both runs of a pair
cancel; --strata, van Elteren's stratified rank sum over every repetition of
each pair, more powerful but measured to raise false alarms. Its change
exceeds the threshold. And it exceeds the noise floor: --noise-scale (0.5)
times the scatter of one observation, one pair's ratio or one run (1.4826 x
the median absolute deviation), learned from these runs. Few runs cannot
reject at all (3+3 runs: p >= 0.05; 6 pairs: p >= 0.016): such comparisons
say "too few", and a gate none of whose comparisons could reject exits 2.

Verdict lines that fail the gate: REGRESSION; BROKEN (ok in base, failed in
head); SKIPPED (measured in base, skipped or n/a in head); MISSING (measured in
base, absent from head); INCOMPLETE (an interrupted run on either side).
Lines that warn: NOISY (a run disturbed by other work: left out of the
comparison), UNSTABLE (compared), BASE FAILED, head only.

Exit status: 0 pass, 1 fail, 2 unusable input (bad flags or files, unknown
metric names, or a comparison that could never reject).

flags:
`

// gateCmd compares two result sets and fails (exit 1) on a regression.
func gateCmd(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := gate.DefaultOptions
	fs.Float64Var(&o.Alpha, "alpha", o.Alpha, "family-wise significance level")
	threshold := fs.Float64("threshold", o.Threshold*100, "percent: the smallest significant worsening of a median that fails the gate (the noise floor may raise it)")
	metrics := fs.String("metrics", "primary", "gating metrics: primary, all, or names comma-separated (events/s,p99-ns); the others are reported only")
	correction := fs.String("correction", string(o.Correction), "across the gating comparisons: holm (family-wise), bh (false discovery rate) or none")
	fs.BoolVar(&o.Paired, "paired", o.Paired, "when base and head runs alternated, test each adjacent pair's ratio (signed-rank) instead of two unordered samples (U test)")
	fs.BoolVar(&o.Strata, "strata", o.Strata, "in paired comparisons, test with every repetition of the two runs of each pair (van Elteren) instead of one ratio per pair; more powerful, but it raised false alarms here (README)")
	fs.Float64Var(&o.NoiseScale, "noise-scale", o.NoiseScale, "the noise floor, in units of one observation's scatter (0: only --threshold)")
	all := fs.Bool("all", false, "list every compared metric, not only the significant ones")
	format := fs.String("format", "table", "stdout: table, markdown (a CI job summary), csv or json")
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
	if !slices.Contains([]string{"table", "markdown", "csv", "json"}, *format) {
		return usagef("gate: --format %q: want table, markdown, csv or json", *format)
	}
	o.Threshold = *threshold / 100
	o.Correction = gate.Correction(*correction)
	o.Metrics = nil
	for _, m := range strings.Split(*metrics, ",") {
		if m = strings.TrimSpace(m); m != "" {
			o.Metrics = append(o.Metrics, m)
		}
	}
	if len(o.Metrics) == 0 {
		return usagef("gate: --metrics is empty (primary, all, or metric names)")
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
	if err := printGate(stdout, rep, *all, *format); err != nil {
		return err
	}
	if rep.Failed() {
		return exitError{code: 1, msg: "gate: FAIL (" + rep.Summary() + ")"}
	}
	if rep.Powerless != "" {
		return usagef("gate: %s", rep.Powerless)
	}
	return nil
}

// printGate writes the compared metrics (the significant ones, or all),
// then the verdict lines and the summary, as a table in the asked-for form
// (table, markdown, csv) or as the report's JSON.
func printGate(w io.Writer, rep *gate.Report, all bool, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(rep)
	}
	header := []string{"row", "metric", "base", "head", "delta", "floor", "p worse", "p adj", "n", "verdict"}
	var lines [][]string
	for _, c := range rep.Changes {
		if !all && (c.Verdict == gate.Same || c.Verdict == gate.TooFew && !c.Gating) {
			continue
		}
		pct := func(x float64, sign string) string {
			if math.IsNaN(x) {
				return "-"
			}
			return fmt.Sprintf("%"+sign+".1f%%", x*100)
		}
		v := string(c.Verdict)
		if c.Note != "" {
			v += " (" + c.Note + ")"
		}
		// The n column also names the test: pairs are the paired tests',
		// runs and reps the U test's.
		n := fmt.Sprintf("%d+%d runs", c.BaseN, c.HeadN)
		switch {
		case c.Pairs > 0:
			n = fmt.Sprintf("%d pairs", c.Pairs)
		case !c.PerRun:
			n = fmt.Sprintf("%d+%d reps", c.BaseN, c.HeadN)
		}
		metric := c.Metric + " (" + c.Better + ")"
		padj := fmt.Sprintf("%.3g", c.PAdj)
		if !c.Gating {
			metric += " secondary"
			padj = "-"
		}
		lines = append(lines, []string{c.Row, metric, table.Num(c.BaseMed), table.Num(c.HeadMed), pct(c.Delta, "+"), pct(c.Floor, ""),
			fmt.Sprintf("%.3g", c.PWorse), padj, n, v})
	}
	var notes []string
	for _, x := range rep.Notices {
		effect := "warn"
		if x.Fails() {
			effect = "fail"
		}
		subject := x.Row
		if subject == "" {
			subject = "run"
		}
		notes = append(notes, fmt.Sprintf("%s (%s): %s: %s", x.Kind, effect, subject, x.Note))
	}
	if rep.Powerless != "" {
		notes = append(notes, "NO POWER: "+rep.Powerless)
	}
	notes = append(notes, "gate: "+rep.Summary())
	if len(lines) == 0 {
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
		return nil
	}
	return table.WriteLines(w, format, "gate", header, lines, notes)
}
