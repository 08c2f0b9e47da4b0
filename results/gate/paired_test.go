package gate

import (
	"math"
	"testing"
	"time"

	"kbench/results"
)

func TestSignedRank(t *testing.T) {
	for _, tc := range []struct {
		d          []float64
		pos, neg   float64
		n          int
		worked_out string
	}{
		{[]float64{1, 2, 3, 4, 5}, 1.0 / 32, 1, 5, "all positive: 1 of 2^5"},
		{[]float64{1, -2, 3, 4, 5}, 3.0 / 32, 30.0 / 32, 5, "T+ = 13: sums >= 13 leave out {}, {1} or {2}"},
		{[]float64{1, -1, 2}, 3.0 / 8, 7.0 / 8, 3, "tied magnitudes share rank 1.5: T+ = 4.5"},
		{[]float64{0, 1, 2}, 1.0 / 4, 1, 2, "a zero is dropped"},
		{[]float64{0, 0}, 1, 1, 0, "nothing left"},
	} {
		pos, neg, n := SignedRank(tc.d)
		if !near(pos, tc.pos) || !near(neg, tc.neg) || n != tc.n {
			t.Errorf("%v (%s): p+ %v p- %v n %d; want %v %v %d", tc.d, tc.worked_out, pos, neg, n, tc.pos, tc.neg, tc.n)
		}
	}
}

// alternating makes n pairs of runs, base then head then base..., the
// order reversed halfway as gate.sh does, one fan-in row each. Pair k's
// machine state multiplies both runs' CPU per event by state(k); head's
// is further multiplied by factor.
func alternating(n int, state func(k int) float64, factor float64) (base, head []*results.File) {
	t0 := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	slot := 0
	at := func() time.Time { slot++; return t0.Add(time.Duration(slot) * 3 * time.Second) }
	for k := 0; k < n; k++ {
		b := file(results.StatusOK, []float64{1e6, 1e6, 1e6, 1e6, 1e6, 1e6}, 600*state(k))
		h := file(results.StatusOK, []float64{1e6, 1e6, 1e6, 1e6, 1e6, 1e6}, 600*state(k)*factor)
		if 2*k < n {
			b.Started, h.Started = at(), at()
		} else {
			h.Started, b.Started = at(), at()
		}
		base, head = append(base, b), append(head, h)
	}
	return base, head
}

// Bursts of other work that raise both runs of a pair by up to 2x hide a
// 10 % slowdown from two unordered samples; pair by pair it is plain.
func TestPairedSeesThroughMachineState(t *testing.T) {
	state := func(k int) float64 { return []float64{1, 1.9, 1.3, 0.8, 1.6, 1.1, 2.0, 0.9, 1.4, 1.2, 1.7, 1.05}[k] }
	base, head := alternating(12, state, 1.1)
	paired := DefaultOptions
	paired.Paired = true
	rep, err := Compare(base, head, paired)
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, rep, "consumer-cpu-ns/event")
	if c.Pairs != 12 || c.Verdict != Regression || !rep.Failed() {
		t.Errorf("paired: %+v", c)
	}
	o := DefaultOptions
	o.Paired = false
	rep, _ = Compare(base, head, o)
	if c := find(t, rep, "consumer-cpu-ns/event"); c.Pairs != 0 || c.Verdict == Regression {
		t.Errorf("unpaired, the same runs: %+v", c)
	}
	// No change: half the pairs lean each way.
	base, head = alternating(12, state, 1)
	for k, f := range head {
		f.Results[0].Samples[0].Values["consumer-cpu-ns/event"] *= 1 + 0.02*float64(k%2*2-1)
	}
	if rep, _ := Compare(base, head, DefaultOptions); rep.Failed() {
		t.Errorf("no change, paired: %+v", rep.Changes)
	}
}

func TestPairsNeedAlternation(t *testing.T) {
	one := func(k int) float64 { return 1 }
	base, head := alternating(6, one, 1)
	ps := pairs(base, head)
	if len(ps) != 6 {
		t.Fatalf("alternating runs: %d pairs", len(ps))
	}
	// The order inside a pair is reversed halfway, and pairs hold their
	// own runs.
	for k, p := range ps {
		if p.b != k || p.h != k {
			t.Errorf("pair %d = %+v", k, p)
		}
	}
	// All of base, then all of head: no pairs, the U test judges.
	for k := range head {
		head[k].Started = base[5].Started.Add(time.Duration(k+1) * time.Second)
	}
	if ps := pairs(base, head); ps != nil {
		t.Errorf("base then head: %v", ps)
	}
	base, head = alternating(6, one, 1)
	if ps := pairs(base, head[:5]); ps != nil {
		t.Errorf("6 base runs, 5 head: %v", ps)
	}
	head[2].Started = base[2].Started
	if ps := pairs(base, head); ps != nil {
		t.Errorf("two runs started at once: %v", ps)
	}
	base, head = alternating(6, one, 1)
	for _, f := range append(base, head...) {
		f.Started = time.Time{}
	}
	if ps := pairs(base, head); ps != nil {
		t.Errorf("no start times: %v", ps)
	}
}

func TestPairedChange(t *testing.T) {
	// Twelve pairs, head 10 % slower in each give or take 0.5 %, lower is
	// better: the change is +10 %, one pair's scatter about 0.5 %.
	var d []float64
	for k := 0; k < 12; k++ {
		d = append(d, math.Log(1.1)+0.005*float64(k%3-1))
	}
	delta, noise := pairedChange(d, "lower")
	if math.Abs(delta-0.1) > 1e-9 || noise < 0.004 || noise > 0.008 {
		t.Errorf("steady +10%%: delta %v, noise %v", delta, noise)
	}
	// Higher is better: the same log ratios (positive is worse) are a
	// drop, and the noise is measured the same way down as up.
	if delta, down := pairedChange(d, "higher"); math.Abs(delta-(1/1.1-1)) > 1e-9 || !near(math.Log(1-down), -math.Log(1+noise)) {
		t.Errorf("higher is better: delta %v, want %v; noise %v down, %v up", delta, 1/1.1-1, down, noise)
	}
	// Pairs that scatter by ±30 % around a 4 % change: within the noise.
	d = []float64{-0.3, -0.2, -0.1, 0.02, 0.03, 0.04, 0.05, 0.2, 0.3, 0.4, -0.25, 0.25}
	if delta, noise := pairedChange(d, "lower"); noise <= math.Abs(delta) || noise < 0.2 {
		t.Errorf("scattered pairs: delta %v, noise %v", delta, noise)
	}
}
