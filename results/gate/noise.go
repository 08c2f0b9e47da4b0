package gate

import (
	"math"

	"kbench/results"
)

// The noise floor. A change fails only if it is larger than the scatter of
// one observation of what was compared: one run when two sets of runs are
// compared (Noise), one pair's ratio when pairs are (pairedChange). A
// significant change smaller than that is one this machine produces from
// one run (or pair) to the next by itself; the test may call it
// significant, because more runs make any shift significant, or because
// bursts of other work fell unevenly, but the gate does not fail on it.
// Measured: over 28 kept A/A trials on a busy machine (paired, Holm),
// requiring a change to exceed one pair's scatter left 1 flag where the
// test alone gave 4, and kept both detections in 3 injected trials.

// Noise is the scatter of one observation, relative to base's median: the
// robust standard deviation (1.4826 × the median absolute deviation) of
// both sides' observations, each around its own side's median, so that a
// real shift does not widen it while twice the runs estimate it. NaN when
// base's median is 0 or there are fewer than 3 observations.
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

// pairedChange is the change the pairs measure, head relative to base,
// from the median of their log ratios d (signed positive-is-worse), and
// the scatter of one pair's ratio (1.4826 × the median absolute deviation
// of d) as a relative change in the same direction, so that the change
// exceeds the noise exactly when its log ratio exceeds the scatter of log
// ratios (a halving and a doubling are the same distance).
func pairedChange(d []float64, better string) (delta, noise float64) {
	s := 1.0 // head/base = exp(s·d)
	if better == "higher" {
		s = -1
	}
	med := results.Median(d)
	var dev []float64
	for _, x := range d {
		dev = append(dev, math.Abs(x-med))
	}
	spread := 1.4826 * results.Median(dev)
	delta = math.Exp(s*med) - 1
	if delta < 0 {
		return delta, 1 - math.Exp(-spread)
	}
	return delta, math.Exp(spread) - 1
}
