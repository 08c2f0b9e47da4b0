package gate

import (
	"math"
	"slices"
)

// Correction is how the gate keeps its false-alarm rate at alpha across
// the many comparisons of one gate run (rows × gating metrics).
type Correction string

const (
	// Holm's step-down procedure bounds the family-wise error rate: the
	// chance that any gating comparison is flagged when none changed is
	// at most alpha, whatever the other comparisons did. That is the
	// property a gate needs: it fails on a single flag, and a change that
	// truly improved some rows must not buy false regressions elsewhere.
	Holm Correction = "holm"
	// Benjamini–Hochberg bounds the expected share of false flags among
	// the flags. When nothing changed that is the same bound as Holm's,
	// but a pull request with real changes loosens it for every other
	// row, so a real improvement can make a noise-level row fail: fine
	// for exploring, wrong for a pass/fail gate.
	BH Correction = "bh"
	// None compares each p with alpha on its own: with tens of
	// comparisons a gate run is then likely to flag one by chance.
	None Correction = "none"
)

// Adjust returns p-values adjusted for the family, in the order given:
// a comparison is significant at level alpha when its adjusted p < alpha.
func Adjust(c Correction, p []float64) []float64 {
	m := len(p)
	adj := make([]float64, m)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	switch c {
	case Holm:
		// Step down from the smallest p: the k-th smallest (k from 0)
		// is compared with alpha/(m-k); adjusted values are made
		// monotone so that stopping at the first failure is implied.
		run := 0.0
		for k, i := range order {
			run = math.Max(run, math.Min(1, float64(m-k)*p[i]))
			adj[i] = run
		}
	case BH:
		// Step up from the largest p: the k-th smallest (k from 1)
		// is compared with k·alpha/m.
		run := 1.0
		for k := m - 1; k >= 0; k-- {
			i := order[k]
			run = math.Min(run, math.Min(1, p[i]*float64(m)/float64(k+1)))
			adj[i] = run
		}
	default:
		copy(adj, p)
	}
	return adj
}

// MinP is the smallest one-sided p-value the exact Mann-Whitney U test can
// give for samples of n1 and n2 values: complete separation,
// 1/C(n1+n2, n1) (the two-sided value is twice that). With 3 runs a side
// it is 0.05, so such a comparison can never get below 0.05; with 5 a
// side 0.004, and Holm over m comparisons needs it below 0.05/m.
func MinP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// C(n1+n2, k) term by term: each partial product is itself a
	// binomial coefficient, an integer float64 holds exactly for the
	// sample sizes a gate sees, so 3+3 gives exactly 1/20 and compares
	// equal to 0.05.
	k := min(n1, n2)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n1+n2-k+i) / float64(i)
	}
	return math.Min(1, 1/c)
}

// oneSided turns benchmath's two-sided U-test p into the p-value of "head
// is worse" and of "head is better". The U statistic's null distribution
// is symmetric, so the tail the samples lean into holds half the
// two-sided p. The gate asks a one-sided question (did head get worse?),
// and answering it as such halves the p a real regression reaches
// without raising the false-alarm rate of that question.
func oneSided(p float64, base, head []float64, better string) (worse, improved float64) {
	// u counts the pairs in which head is worse than base (ties half).
	u := 0.0
	for _, b := range base {
		for _, h := range head {
			switch {
			case h == b:
				u += 0.5
			case (h < b) == (better == "higher"):
				u++
			}
		}
	}
	mid := float64(len(base)*len(head)) / 2
	half := math.Min(1, p/2)
	switch {
	case u > mid:
		return half, 1 - half
	case u < mid:
		return 1 - half, half
	}
	return 1 - half, 1 - half
}

// firstStep is the largest level a p of a family of m can be flagged at:
// a comparison whose smallest possible p is not below it can never fail
// the gate (Holm: alpha/m for the first step; BH: alpha, when every
// comparison is that small).
func firstStep(c Correction, alpha float64, m int) float64 {
	switch {
	case c == None || m == 0:
		return alpha
	case c == BH:
		// BH rejects the k smallest when the k-th is below k·alpha/m: with
		// every comparison moved, a p just below alpha is enough.
		return alpha
	}
	return alpha / float64(m)
}
