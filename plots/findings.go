package plots

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"kbench/results"
	"kbench/results/table"
)

// mainFigure is the figure a workload's findings link to when it has
// several.
var mainFigure = map[string]string{"latency": "latency-load"}

// Finding is one sentence the data supports, with the anchor of the figure
// or table that shows it.
type Finding struct {
	Kind string // lead, tie, status, fidelity, floors, machine
	Text string
	Link string
}

// Findings derives an input's findings: per workload and class of
// comparable rows, who leads on the headline metric, by how much and with
// what interval, and who cannot be told apart from the leader; the rows
// that are noisy, unstable, skipped, failed or n/a and why; fidelity
// against its target; the machine's floors and pre-flight.
func Findings(in *Input, figs []*Fig) []Finding {
	f := in.File
	link := func(wl string) string {
		for _, fg := range figs {
			if fg.Workload == wl && (mainFigure[wl] == "" || mainFigure[wl] == fg.Name) {
				return "#fig-" + fg.Name
			}
		}
		return "#table-" + wl
	}
	var out []Finding
	for _, wl := range workloads(f) {
		if wl == "calibrate" || wl == "fidelity" {
			continue
		}
		groups := map[string][]*results.Result{}
		var order []string
		for _, r := range measured(f, wl) {
			if wl == "ring" && !ringShown(r) {
				continue
			}
			k := class(r)
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
		for _, k := range order {
			name := wl
			if len(order) > 1 {
				name += " (" + k + ")"
			}
			out = append(out, lead(name, groups[k], link(wl))...)
		}
	}
	out = append(out, statusFindings(f, link)...)
	if fd := fidelityFinding(f, link("fidelity")); fd != nil {
		out = append(out, *fd)
	}
	out = append(out, machineFindings(f)...)
	return out
}

func workloads(f *results.File) []string {
	var out []string
	for _, r := range f.Results {
		if !slices.Contains(out, r.Workload) {
			out = append(out, r.Workload)
		}
	}
	return out
}

// lead ranks rows on their headline metric in its own direction.
func lead(name string, rows []*results.Result, link string) []Finding {
	if len(rows) < 2 {
		return nil
	}
	metric := headline(rows[0])
	dir := better(rows[0], metric)
	if metric == "" || dir == "" {
		return nil
	}
	type ranked struct {
		r *results.Result
		v Pt
	}
	var rs []ranked
	for _, r := range rows {
		if v, ok := value(r, metric); ok {
			rs = append(rs, ranked{r, v})
		}
	}
	if len(rs) < 2 {
		return nil
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if dir == "higher" {
			return cmp.Compare(b.v.Y, a.v.Y)
		}
		return cmp.Compare(a.v.Y, b.v.Y)
	})
	first := rs[0]
	// Rows whose interval overlaps the leader's cannot be told apart from it.
	var ties []string
	next := -1
	for i, x := range rs[1:] {
		if x.v.Lo <= first.v.Hi && first.v.Lo <= x.v.Hi {
			ties = append(ties, label(x.r))
		} else if next < 0 {
			next = i + 1
		}
	}
	var out []Finding
	if next > 0 {
		o := rs[next]
		ratio := first.v.Y / o.v.Y
		if dir == "lower" {
			ratio = o.v.Y / first.v.Y
		}
		out = append(out, Finding{Kind: "lead", Link: link, Text: fmt.Sprintf(
			"%s: %s leads on %s (%s is better) with %s, %.3g× the next row whose interval it does not overlap (%s, %s).",
			name, label(first.r), metric, dir, ival(first.v), ratio, label(o.r), ival(o.v))})
	} else {
		out = append(out, Finding{Kind: "tie", Link: link, Text: fmt.Sprintf(
			"%s: no row leads on %s: every row's interval overlaps the best median (%s, %s).",
			name, metric, label(first.r), ival(first.v))})
		return out
	}
	if len(ties) > 0 {
		out = append(out, Finding{Kind: "tie", Link: link, Text: fmt.Sprintf(
			"%s: no significant difference on %s between %s and %s (intervals overlap).",
			name, metric, label(first.r), list(ties, 6))})
	}
	return out
}

// ival is a median with its interval: "2.1M [1.9M–2.3M]".
func ival(v Pt) string {
	if v.Lo == v.Hi {
		return table.Num(v.Y)
	}
	return table.Num(v.Y) + " [" + table.Num(v.Lo) + "–" + table.Num(v.Hi) + "]"
}

func list(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// statusFindings group the rows that are not plainly ok by status and
// reason.
func statusFindings(f *results.File, link func(string) string) []Finding {
	type key struct {
		wl     string
		status results.Status
		reason string
	}
	var order []key
	rows := map[key][]string{}
	for i := range f.Results {
		r := &f.Results[i]
		if r.Status == results.StatusOK {
			continue
		}
		reason := r.Reason
		if reason == "" && r.Trust != nil {
			reason = strings.Join(r.Trust.Reasons, "; ")
		}
		k := key{r.Workload, r.Status, reason}
		if rows[k] == nil {
			order = append(order, k)
		}
		rows[k] = append(rows[k], label(r))
	}
	var out []Finding
	for _, k := range order {
		why := k.reason
		if why == "" {
			why = "no reason recorded"
		}
		verb := map[results.Status]string{
			results.StatusNoisy:    "kept, but the pinned CPUs were disturbed",
			results.StatusUnstable: "kept, but its figures are not stable",
			results.StatusSkipped:  "not measured: the machine refused",
			results.StatusNA:       "not applicable",
			results.StatusFailed:   "failed",
		}[k.status]
		out = append(out, Finding{Kind: "status", Link: "#table-" + k.wl, Text: fmt.Sprintf(
			"%s: %d row(s) %s (%s; %s): %s.", k.wl, len(rows[k]), k.status, verb, why, list(rows[k], 6))})
	}
	return out
}

func fidelityFinding(f *results.File, link string) *Finding {
	var meet, below []string
	for _, r := range measured(f, "fidelity") {
		v, ok := value(r, "go/c")
		if !ok {
			continue
		}
		s := label(r) + " " + ival(v)
		if v.Y >= fidelityTarget {
			meet = append(meet, s)
		} else {
			below = append(below, s)
		}
	}
	if len(meet)+len(below) == 0 {
		return nil
	}
	text := fmt.Sprintf("fidelity: %d of %d kernel backends hold Go/C at or above the %.1f target", len(meet), len(meet)+len(below), fidelityTarget)
	if len(below) > 0 {
		text += "; below it: " + list(below, 8)
	}
	return &Finding{Kind: "fidelity", Link: link, Text: text + "."}
}

func machineFindings(f *results.File) []Finding {
	var out []Finding
	if len(f.Calibration) > 0 {
		var fl []string
		for _, k := range slices.Sorted(maps.Keys(f.Calibration)) {
			fl = append(fl, k+" = "+table.Num(f.Calibration[k]))
		}
		out = append(out, Finding{Kind: "floors", Link: "#env", Text: "the machine's floors, measured in this run: " + strings.Join(fl, ", ") + "."})
	}
	if p := f.Preflight; p != nil {
		t := fmt.Sprintf("before the first row, other work took %s of CPUs %v", table.Pct(p.Share), p.CPUs)
		if p.Quiet {
			t += " (quiet)"
		} else {
			t += " (not quiet)"
		}
		if len(p.Procs) > 0 {
			t += fmt.Sprintf("; busiest: %s (pid %d, %s of a CPU)", p.Procs[0].Command, p.Procs[0].PID, table.Pct(p.Procs[0].Share))
		}
		out = append(out, Finding{Kind: "machine", Link: "#env", Text: t + "."})
	}
	if !f.Complete {
		out = append(out, Finding{Kind: "machine", Link: "#env", Text: "the run was interrupted: only the rows that finished are in the file."})
	}
	return out
}
