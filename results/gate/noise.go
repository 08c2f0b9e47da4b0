package gate

import (
	"math"

	"golang.org/x/perf/benchmath"

	"kbench/results"
)

// Noise is a metric's noise floor learned from base's own observations
// (its runs' medians, or one run's repetitions): how far base's median
// could lie from where it was measured, toward head's median, as the edge
// of base's 95 % interval of the median (x/perf's order-statistic
// interval, no assumption about the distribution), relative to base's
// median. A head median inside that interval is a change base's runs
// could have shown by themselves: even when the U test calls it
// significant (drift that reached one side more than the other, a regime
// that fell unevenly), it does not fail the gate.
//
// With fewer than 6 observations the order statistics give no 95 %
// interval; the floor is then the spread of one observation, 1.4826 × the
// median absolute deviation, pooled over both sides around each side's own
// median (so a real shift does not widen it). NaN when base's median is 0.
func Noise(base, head []float64) float64 {
	bm := results.Median(base)
	if bm == 0 || len(base) == 0 || len(head) == 0 {
		return math.NaN()
	}
	th := benchmath.DefaultThresholds
	s := benchmath.AssumeNothing.Summary(benchmath.NewSample(append([]float64(nil), base...), &th), 0.95)
	edge := s.Lo
	if results.Median(head) > s.Center {
		edge = s.Hi
	}
	if !math.IsInf(edge, 0) && !math.IsNaN(edge) {
		return math.Abs(edge-s.Center) / math.Abs(s.Center)
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
