package gate

import (
	"math"

	"kbench/results"
)

// Noise is a metric's noise floor learned from the observations
// themselves: the spread of one observation (one run's median, or one
// repetition when a side has a single run) around its own side's median,
// as a robust standard deviation (1.4826 × the median absolute deviation),
// relative to base's median.
//
// Both sides are pooled, each around its own median, so a real shift does
// not widen the floor while twice the runs estimate it. A change smaller
// than this is one that base makes from run to run by itself: even when
// the U test calls it significant (drift that reached one side more than
// the other, a regime that fell unevenly), it does not fail the gate.
func Noise(base, head []float64) float64 {
	bm := results.Median(base)
	if bm == 0 || len(base)+len(head) < 3 {
		return math.NaN()
	}
	var dev []float64
	for _, side := range [][]float64{base, head} {
		m := results.Median(side)
		for _, v := range side {
			dev = append(dev, math.Abs(v-m))
		}
	}
	return 1.4826 * results.Median(dev) / math.Abs(bm)
}
