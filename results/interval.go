package results

import (
	"math"
	"slices"
	"strconv"
)

// MedianInterval is the order-statistic confidence interval of the median
// of v: no assumption about the distribution. Among the symmetric
// intervals [x(k), x(n+1−k)] of the sorted values it takes the narrowest
// whose confidence, 1 − 2·P(Binomial(n, ½) ≤ k−1), is at least c. With too
// few values for c (fewer than 6 at 95 %) it is [min, max] with the
// confidence that actually achieves (5 values: 93.75 %; 1 value: 0).
// Values that are NaN or infinite are left out; no values give a zero
// Interval.
func MedianInterval(v []float64, c float64) Interval {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if finite(x) {
			s = append(s, x)
		}
	}
	n := len(s)
	if n == 0 {
		return Interval{}
	}
	slices.Sort(s)
	// k grows while the interval still holds c; conf(k) falls with k.
	k, conf := 1, medianConfidence(n, 1)
	for k+1 <= (n+1)/2 {
		next := medianConfidence(n, k+1)
		if next < c {
			break
		}
		k, conf = k+1, next
	}
	return Interval{Median: Median(s), Lo: s[k-1], Hi: s[n-k], Confidence: conf, N: n}
}

// medianConfidence is the probability that [x(k), x(n+1−k)] covers the
// population median: the number of values below it, Binomial(n, ½), is
// neither under k nor over n−k.
func medianConfidence(n, k int) float64 {
	tail := 0.0 // P(B ≤ k−1)
	for i := 0; i < k; i++ {
		tail += binomHalf(n, i)
	}
	return max(0, 1-2*tail)
}

// binomHalf is P(Binomial(n, ½) = i), in logs so large n do not underflow.
func binomHalf(n, i int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(i + 1))
	c, _ := math.Lgamma(float64(n - i + 1))
	return math.Exp(a - b - c - float64(n)*math.Ln2)
}

// clusterRatio: a gap this many times the larger group's range separates
// two clusters. kbench's fan-in regimes (2–3M and 7–9M events/s) are apart
// by at least twice the width of either.
const (
	clusterRatio = 2
	// clusterGap: the gap must also be this share of the median, so that
	// tight rows whose values are merely uneven do not split.
	clusterGap = 0.10
)

// Clusters reports whether v splits into two clusters: at some gap between
// consecutive sorted values, with at least two values on each side, the
// gap is at least 10 % of the median and at least twice the range of the
// values on either side. When several gaps qualify, the widest is the
// split. The reason reads "two clusters: 4 reps near 2.6M, 2 near 7.8M"
// (each group's median).
func Clusters(v []float64) (split bool, reason string) {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if finite(x) {
			s = append(s, x)
		}
	}
	n := len(s)
	if n < 4 {
		return false, ""
	}
	slices.Sort(s)
	med := math.Abs(Median(s))
	at, widest := -1, 0.0
	for i := 1; i+2 < n; i++ { // s[:i+1] and s[i+1:] hold two or more
		gap := s[i+1] - s[i]
		spread := max(s[i]-s[0], s[n-1]-s[i+1])
		if gap > 0 && gap >= clusterGap*med && gap >= clusterRatio*spread && gap > widest {
			at, widest = i, gap
		}
	}
	if at < 0 {
		return false, ""
	}
	lo, hi := s[:at+1], s[at+1:]
	return true, "two clusters: " + strconv.Itoa(len(lo)) + " reps near " + compact(Median(lo)) +
		", " + strconv.Itoa(len(hi)) + " near " + compact(Median(hi))
}
