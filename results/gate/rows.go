package gate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"kbench/results"
)

// NoticeKind names what happened to a row, or a run, that the numbers
// alone would not show.
type NoticeKind string

const (
	// Broken: ok in base, failed in head (lost or duplicated events, an
	// error). Fails.
	Broken NoticeKind = "BROKEN"
	// Skipped: measured in base, skipped or n/a in some head run: the
	// machine refused in head what it did in base on the same machine,
	// and a row that is not measured hides any regression. Fails.
	Skipped NoticeKind = "SKIPPED"
	// Missing: measured in base, in no head run at all. Fails: a row that
	// vanished is what a broken variant list looks like.
	Missing NoticeKind = "MISSING"
	// Incomplete: a run of either set was interrupted ("complete":
	// false); the set is not what was asked for. Fails.
	Incomplete NoticeKind = "INCOMPLETE"
	// Noisy: a run of the row, on either side, was disturbed by other
	// work on the pinned CPUs (status noisy, from kbench's interference
	// metering). Its figures are left out of the comparison: they measure
	// the neighbours as much as the code. Warns; when too few runs are
	// left for the test to ever reject, the gate says so (exit 2 if no
	// gating comparison is left that could): a busy machine cannot judge.
	Noisy NoticeKind = "NOISY"
	// Unstable: some head run's repetitions were wide or split into two
	// clusters (status unstable). Compared; warns.
	Unstable NoticeKind = "UNSTABLE"
	// BaseFailed: the row failed in some base run; nothing to compare it
	// with. Warns: head did not break it.
	BaseFailed NoticeKind = "BASE FAILED"
	// HeadOnly: a row only head has (a new variant or parameter). Listed.
	HeadOnly NoticeKind = "head only"
)

var noticeOrder = []NoticeKind{Broken, Skipped, Missing, Incomplete, Noisy, Unstable, BaseFailed, HeadOnly}

// Notice is one verdict line about a row or a run.
type Notice struct {
	Kind NoticeKind
	Row  string // the row's benchmark name; empty for a run
	Note string
}

// Fails reports whether the notice fails the gate (exit 1); the others warn.
func (n Notice) Fails() bool {
	switch n.Kind {
	case Broken, Skipped, Missing, Incomplete:
		return true
	}
	return false
}

// row is one benchmark across the runs of a set.
type row struct {
	id       string
	workload string
	units    []results.Unit
	statuses []results.Status       // one per run that has the row
	reasons  []string               // the reason of each non-ok status
	runs     []map[string][]float64 // per usable run, per metric: the repetitions
	runFile  []int                  // the index in its set of each usable run's file
}

// runOf is the usable run of the row in file i of its set, or nil.
func (w *row) runOf(i int) map[string][]float64 {
	for k, f := range w.runFile {
		if f == i {
			return w.runs[k]
		}
	}
	return nil
}

// usable: the statuses whose figures the gate compares. Noisy rows are
// measured (their figures are in the file) but not usable.
func usable(s results.Status) bool { return s == results.StatusOK || s == results.StatusUnstable }

func (w *row) count(ok func(results.Status) bool) int {
	n := 0
	for _, s := range w.statuses {
		if ok(s) {
			n++
		}
	}
	return n
}

func (w *row) nMeasured() int { return w.count(results.Status.Measured) }
func (w *row) measured() bool { return w.nMeasured() > 0 }
func (w *row) failed() bool   { return w.count(is(results.StatusFailed)) > 0 }
func is(s results.Status) func(results.Status) bool {
	return func(x results.Status) bool { return x == s }
}

// summary is the row's statuses over its runs: "3 ok, 1 skipped".
func (w *row) summary() string {
	n := map[results.Status]int{}
	var order []results.Status
	for _, s := range w.statuses {
		if n[s] == 0 {
			order = append(order, s)
		}
		n[s]++
	}
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
	}
	return strings.Join(parts, ", ")
}

// firstReason is the first recorded reason for a status in want.
func (w *row) firstReason(want func(results.Status) bool) string {
	for i, s := range w.statuses {
		if want(s) && w.reasons[i] != "" {
			return w.reasons[i]
		}
	}
	return ""
}

// observations are what the test compares for one metric: each run's
// median when there are several runs, else the one run's repetitions.
func (w *row) observations(metric string, perRun bool) []float64 {
	var out []float64
	for _, r := range w.runs {
		v := r[metric]
		if len(v) == 0 {
			continue
		}
		if perRun {
			out = append(out, results.Median(v))
		} else {
			out = append(out, v...)
		}
	}
	return out
}

func pool(files []*results.File) map[string]*row {
	rows := map[string]*row{}
	for fi, f := range files {
		for i := range f.Results {
			r := &f.Results[i]
			key := results.BenchName(r)
			w := rows[key]
			if w == nil {
				w = &row{id: key, workload: r.Workload}
				rows[key] = w
			}
			w.statuses = append(w.statuses, r.Status)
			w.reasons = append(w.reasons, r.Reason)
			for _, u := range r.Units {
				if !slices.ContainsFunc(w.units, func(x results.Unit) bool { return x.Name == u.Name }) {
					w.units = append(w.units, u)
				}
			}
			if !usable(r.Status) {
				continue
			}
			run := map[string][]float64{}
			for _, s := range r.Samples {
				for name, v := range s.Values {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						run[name] = append(run[name], v)
					}
				}
			}
			w.runs = append(w.runs, run)
			w.runFile = append(w.runFile, fi)
		}
	}
	return rows
}

func sortedKeys(m map[string]*row) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rowNotices says what happened to a row present on both sides, and
// whether its figures can be compared.
func rowNotices(key string, b, h *row) (ns []Notice, comparable bool) {
	if b.failed() {
		return []Notice{{Kind: BaseFailed, Row: key, Note: "base: " + b.summary() + ": " + b.firstReason(is(results.StatusFailed))}}, false
	}
	if !b.measured() {
		if h.measured() {
			ns = append(ns, Notice{Kind: HeadOnly, Row: key, Note: "measured in head only (base: " + b.summary() + ")"})
		}
		return ns, false // skipped or n/a on both sides: nothing changed that the gate can see
	}
	head := fmt.Sprintf("head: %s", h.summary())
	if n := h.count(is(results.StatusFailed)); n > 0 {
		ns = append(ns, Notice{Kind: Broken, Row: key, Note: head + ": " + h.firstReason(is(results.StatusFailed))})
	}
	refused := func(s results.Status) bool { return s == results.StatusSkipped || s == results.StatusNA }
	if h.count(refused) > 0 {
		ns = append(ns, Notice{Kind: Skipped, Row: key, Note: head + ": " + h.firstReason(refused)})
	}
	for _, side := range []struct {
		name string
		w    *row
	}{{"base", b}, {"head", h}} {
		if n := side.w.count(is(results.StatusNoisy)); n > 0 {
			left := fmt.Sprintf("%d noisy runs left out, %d compared", n, len(side.w.runs))
			if len(side.w.runs) == 0 {
				left = "every run noisy: not compared"
			}
			ns = append(ns, Notice{Kind: Noisy, Row: key, Note: side.name + ": " + side.w.summary() + ": " +
				side.w.firstReason(is(results.StatusNoisy)) + " (" + left + ")"})
		}
	}
	if h.count(is(results.StatusUnstable)) > 0 && b.count(is(results.StatusUnstable)) == 0 {
		ns = append(ns, Notice{Kind: Unstable, Row: key, Note: head + ": " + h.firstReason(is(results.StatusUnstable))})
	}
	return ns, len(b.runs) > 0 && len(h.runs) > 0
}

// incomplete is one notice per interrupted run of a set.
func incomplete(files []*results.File, side string) []Notice {
	var ns []Notice
	for i, f := range files {
		if f.Complete {
			continue
		}
		ns = append(ns, Notice{Kind: Incomplete, Note: fmt.Sprintf("%s run %d of %d (started %s) was interrupted: %d rows",
			side, i+1, len(files), f.Started.UTC().Format("2006-01-02 15:04:05"), len(f.Results))})
	}
	return ns
}
