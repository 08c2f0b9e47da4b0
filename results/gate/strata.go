package gate

import (
	"math"
	"sort"
)

// The stratified test (Options.Strata, --strata; off by default). Measured
// here it is anti-conservative: a run's repetitions share more than the
// machine's state (the process, its layout, the regime its trials settled
// in), so they are not exchangeable with the other run's of the pair, and
// in 8-pair A/A trials it called one side significantly better or worse in
// about a third of them (the README's gate section has the counts). It is
// kept as an option for comparison; the default tests one ratio per pair.
//
// Since kbench's repetitions became
// independent trials (each sets the variant up afresh, rounds interleave
// the rows), one run's repetitions sample the machine's state during that
// run, and a pair's two runs ran side by side. Van Elteren's test asks the
// pairs' question with every repetition: Wilcoxon's rank sum of head's
// repetitions among the pair's, in each pair (a stratum), weighted by
// 1/(N+1) and summed, so that a burst of other work that moved a whole
// pair cancels as it does in the signed-rank test, while 6+6 repetitions a
// pair carry far more than the sign of one ratio. Normal approximation,
// ties corrected; one-sided.

// stratified returns, for one metric of one row, the one-sided p of "head
// is worse" and of "head is better", the smallest p the strata could give,
// and the number of strata used (pairs in which both runs have the metric).
func stratified(ps []pair, b, h *row, metric, better string) (pWorse, pBetter, minP float64, strata int) {
	sign := 1.0 // larger is worse
	if better == "higher" {
		sign = -1
	}
	var t, v, tmax float64
	for _, p := range ps {
		bv, hv := b.runOf(p.b)[metric], h.runOf(p.h)[metric]
		m, n := len(bv), len(hv)
		if m == 0 || n == 0 {
			continue
		}
		type obs struct {
			x    float64
			head bool
		}
		all := make([]obs, 0, m+n)
		for _, x := range bv {
			all = append(all, obs{sign * x, false})
		}
		for _, x := range hv {
			all = append(all, obs{sign * x, true})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].x < all[j].x })
		N := float64(m + n)
		var r, ties float64
		for i := 0; i < len(all); {
			j := i
			for j+1 < len(all) && all[j+1].x == all[i].x {
				j++
			}
			mean := float64(i+j)/2 + 1
			for k := i; k <= j; k++ {
				if all[k].head {
					r += mean
				}
			}
			c := float64(j - i + 1)
			ties += c*c*c - c
			i = j + 1
		}
		fm, fn := float64(m), float64(n)
		e := fn * (N + 1) / 2
		vr := fm * fn * (N + 1) / 12
		if N > 1 {
			vr -= fm * fn * ties / (12 * N * (N - 1))
		}
		w := 1 / (N + 1)
		t += w * (r - e)
		v += w * w * vr
		tmax += w * (fn*(2*N-fn+1)/2 - e)
		strata++
	}
	if strata == 0 || v <= 0 {
		return 1, 1, 1, strata
	}
	z, zmax := t/math.Sqrt(v), tmax/math.Sqrt(v)
	return upper(z), upper(-z), upper(zmax), strata
}

// upper is the standard normal's upper tail P(Z > z).
func upper(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
