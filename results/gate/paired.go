package gate

import (
	"math"
	"slices"
	"sort"

	"kbench/results"
)

// Paired comparison. scripts/gate.sh alternates base and head runs, so the
// k-th run of each side ran next to each other, on the same machine state.
// On a shared machine that state is most of the variance: other work comes
// in bursts of seconds to minutes that raise every run in them by 20–60 %,
// and a 10 % change hides in that spread when the runs are compared as two
// unordered samples (Mann-Whitney) — while inside almost every pair head is
// the slower one. So when the files prove the runs alternated, the gate
// asks the question pair by pair: Wilcoxon's signed-rank test on each
// pair's log ratio head/base, exact. gate.sh lets a seeded coin decide
// which run of a pair goes first, so under no change which of the two did
// worse is itself a fair coin, whatever the machine did meanwhile, and the
// test is exact without assuming anything about the noise. The unpaired U test (benchmath) is still computed and
// shown, and judges sets that did not alternate.

// pair is one base run and the head run beside it, as indexes into the sets.
type pair struct{ b, h int }

// pairs matches the k-th run of base with the k-th of head in time order,
// and returns nil unless every such pair ran back to back (no other run
// started between them) and there are at least two.
func pairs(base, head []*results.File) []pair {
	if len(base) != len(head) || len(base) < 2 {
		return nil
	}
	type run struct {
		side, i int
		t       int64
	}
	var all []run
	for side, set := range [][]*results.File{base, head} {
		for i, f := range set {
			if f.Started.IsZero() {
				return nil
			}
			all = append(all, run{side, i, f.Started.UnixNano()})
		}
	}
	slices.SortStableFunc(all, func(x, y run) int {
		switch {
		case x.t < y.t:
			return -1
		case x.t > y.t:
			return 1
		}
		return 0
	})
	pos := [2][]int{}
	for p, r := range all {
		if p > 0 && all[p-1].t == r.t {
			return nil // two runs at once: not interleaved
		}
		pos[r.side] = append(pos[r.side], p)
	}
	var out []pair
	for k := range pos[0] {
		pb, ph := pos[0][k], pos[1][k]
		if pb-ph != 1 && ph-pb != 1 {
			return nil
		}
		out = append(out, pair{all[pb].i, all[ph].i})
	}
	return out
}

// pairedDiffs are, for one metric of one row, each pair's log ratio of the
// runs' medians, signed so that positive is worse. Pairs in which either
// run lacks the row or the metric, or was left out (noisy), are dropped;
// nil if a value is not positive (a ratio means nothing there).
func pairedDiffs(ps []pair, b, h *row, metric, better string) []float64 {
	var d []float64
	for _, p := range ps {
		bv, hv := b.runOf(p.b)[metric], h.runOf(p.h)[metric]
		if len(bv) == 0 || len(hv) == 0 {
			continue
		}
		x, y := results.Median(bv), results.Median(hv)
		if x <= 0 || y <= 0 {
			return nil
		}
		v := math.Log(y / x)
		if better == "higher" {
			v = -v
		}
		d = append(d, v)
	}
	return d
}

// SignedRank is Wilcoxon's signed-rank test of differences d, exact: the
// one-sided p of "d leans positive" and of "d leans negative", and the
// number of non-zero differences it used. Zeros are dropped; tied
// magnitudes share their mean rank.
func SignedRank(d []float64) (pPos, pNeg float64, n int) {
	var nz []float64
	for _, x := range d {
		if x != 0 && !math.IsNaN(x) {
			nz = append(nz, x)
		}
	}
	n = len(nz)
	if n == 0 {
		return 1, 1, 0
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return math.Abs(nz[idx[a]]) < math.Abs(nz[idx[b]]) })
	// Ranks doubled, so that mean ranks of ties stay whole numbers.
	rank2 := make([]int, n)
	for i := 0; i < n; {
		j := i
		for j+1 < n && math.Abs(nz[idx[j+1]]) == math.Abs(nz[idx[i]]) {
			j++
		}
		for k := i; k <= j; k++ {
			rank2[idx[k]] = i + j + 2 // (i+1 + j+1), twice the mean rank
		}
		i = j + 1
	}
	obs, total := 0, 0
	for i, r := range rank2 {
		total += r
		if nz[i] > 0 {
			obs += r
		}
	}
	// count[s]: sign assignments whose positive ranks sum to s; each of
	// the 2^n is equally likely when no change is the truth.
	count := make([]float64, total+1)
	count[0] = 1
	for _, r := range rank2 {
		for s := total; s >= r; s-- {
			count[s] += count[s-r]
		}
	}
	all := math.Ldexp(1, n)
	var ge, le float64
	for s, c := range count {
		if s >= obs {
			ge += c
		}
		if s <= obs {
			le += c
		}
	}
	return ge / all, le / all, n
}
