package gate

import (
	"math"
	"testing"
)

// rowOf builds a row whose run i holds metric m's repetitions runs[i].
func rowOf(m string, runs ...[]float64) *row {
	r := &row{}
	for i, reps := range runs {
		r.runs = append(r.runs, map[string][]float64{m: reps})
		r.runFile = append(r.runFile, i)
	}
	return r
}

func TestStratified(t *testing.T) {
	ps := []pair{{0, 0}, {1, 1}, {2, 2}}
	// Each pair at its own level (a burst moved the second one by 50 %),
	// head 10 % slower inside every pair, repetitions spread ±2 %.
	reps := func(level float64) []float64 {
		return []float64{level * 0.98, level * 0.99, level, level * 1.01, level * 1.02, level * 1.005}
	}
	b := rowOf("ns", reps(100), reps(150), reps(100))
	h := rowOf("ns", reps(110), reps(165), reps(110))
	pw, pb, minP, n := stratified(ps, b, h, "ns", "lower")
	if n != 3 || !(pw < 0.001) || !(pb > 0.99) || !(minP <= pw) {
		t.Errorf("10%% slower in every pair: pWorse %g pBetter %g minP %g strata %d", pw, pb, minP, n)
	}
	// The same for a metric where higher is better: head lower is worse.
	bh := rowOf("ev", reps(100), reps(150), reps(100))
	hh := rowOf("ev", reps(90), reps(135), reps(90))
	if pw, _, _, _ := stratified(ps, bh, hh, "ev", "higher"); !(pw < 0.001) {
		t.Errorf("10%% fewer events/s: pWorse %g", pw)
	}
	// No change: the same repetitions on both sides of every pair.
	pw, pb, _, _ = stratified(ps, b, b, "ns", "lower")
	if math.Abs(pw-0.5) > 1e-9 || math.Abs(pb-0.5) > 1e-9 {
		t.Errorf("no change: pWorse %g pBetter %g, want 0.5 each", pw, pb)
	}
	// A burst that moves a whole pair does not make a change: pair 1 is
	// 50 % slower on both sides.
	h2 := rowOf("ns", reps(100), reps(150), reps(100))
	if pw, _, _, _ := stratified(ps, b, h2, "ns", "lower"); math.Abs(pw-0.5) > 1e-9 {
		t.Errorf("a burst on both sides of a pair: pWorse %g", pw)
	}
	// No strata with the metric: nothing to say.
	if pw, pb, minP, n := stratified(ps, b, h, "other", "lower"); n != 0 || pw != 1 || pb != 1 || minP != 1 {
		t.Errorf("absent metric: %g %g %g %d", pw, pb, minP, n)
	}
}
