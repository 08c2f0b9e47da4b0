package results

import (
	"math"
	"math/rand/v2"
	"testing"
)

// roundsRow is a measured row whose events/s in round t is base·f[t]·noise.
func roundsRow(base float64, f []float64, noise func() float64) *Result {
	r := &Result{Status: StatusOK, Units: []Unit{{Name: "events/s", Better: "higher"}}}
	for t, x := range f {
		r.Samples = append(r.Samples, Sample{Rep: t, Values: map[string]float64{"events/s": base * x * noise()}})
	}
	return r
}

func TestMachineDriftCommonFactor(t *testing.T) {
	f := []float64{1, 1.2, 0.8, 1, 1.1, 0.9}
	var logs []float64
	for _, x := range f {
		logs = append(logs, math.Log(x))
	}
	// Each row's view of round t is log f_t minus log of its median factor
	// (the same for all rows): the spread is log f's.
	var mean, ss float64
	for _, x := range logs {
		mean += x / float64(len(logs))
	}
	for _, x := range logs {
		ss += (x - mean) * (x - mean)
	}
	want := math.Sqrt(ss / float64(len(logs)-1))
	one := func() float64 { return 1 }
	rows := []*Result{roundsRow(1e6, f, one), roundsRow(2e6, f, one), roundsRow(5e5, f, one)}
	rows = append(rows, &Result{Status: StatusFailed, Reason: "lost 3 events", Units: rows[0].Units,
		Samples: []Sample{{Rep: 0, Values: map[string]float64{"events/s": 1}}, {Rep: 1, Values: map[string]float64{"events/s": 1e9}}, {Rep: 2, Values: map[string]float64{"events/s": 1}}}})
	d := MachineDrift(rows)
	if math.Abs(d["events/s"]-want) > 1e-12 {
		t.Fatalf("drift %v, want %v (the failed row must not count)", d["events/s"], want)
	}
	r := rows[0]
	r.AssessDrift(DefaultTrust, d)
	iv := r.Trust.Intervals["events/s"]
	if math.Abs(iv.Lo-0.8e6*math.Exp(-want)) > 1e-6 || math.Abs(iv.Hi-1.2e6*math.Exp(want)) > 1e-6 || math.Abs(iv.Drift-math.Expm1(want)) > 1e-12 {
		t.Errorf("widened interval %+v, want [%v, %v]", iv, 0.8e6*math.Exp(-want), 1.2e6*math.Exp(want))
	}
	if r.Status != StatusUnstable {
		t.Errorf("a ±%.0f%% interval is unstable, got %s", 100*iv.RelHalfWidth(), r.Status)
	}
	// Assess without drift gives the plain order-statistic interval back.
	r.Assess(DefaultTrust)
	if iv := r.Trust.Intervals["events/s"]; iv.Lo != 0.8e6 || iv.Hi != 1.2e6 || iv.Drift != 0 {
		t.Errorf("plain interval %+v", iv)
	}
}

func TestMachineDriftNeedsRounds(t *testing.T) {
	one := func() float64 { return 1 }
	if d := MachineDrift([]*Result{roundsRow(1, []float64{1, 2}, one), roundsRow(3, []float64{2, 1}, one)}); len(d) != 0 {
		t.Errorf("two rounds: %v, want none", d)
	}
	// Zero and negative values (a metric that can be 0) are left out.
	r := roundsRow(1, []float64{0, 0, 0, 0}, one)
	if d := MachineDrift([]*Result{r}); len(d) != 0 {
		t.Errorf("all zero: %v", d)
	}
}

// Invocations whose rows share a machine state that wanders between rounds
// and between invocations: the widened intervals hold another invocation's
// median far more often than the plain ones. The model: a level per
// invocation and per round, both log-normal with the same spread, and 3 %
// noise of each row's own.
func TestDriftCoversOtherInvocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const inv, nrows, rounds = 8, 12, 6
	type run struct {
		plain, wide []Interval
		med         []float64
	}
	runs := make([]run, inv)
	for i := range runs {
		level := math.Exp(0.08 * rng.NormFloat64())
		f := make([]float64, rounds)
		for t := range f {
			f[t] = level * math.Exp(0.08*rng.NormFloat64())
		}
		noise := func() float64 { return math.Exp(0.03 * rng.NormFloat64()) }
		var rows []*Result
		for k := range nrows {
			rows = append(rows, roundsRow(float64(k+1)*1e5, f, noise))
		}
		d := MachineDrift(rows)
		for _, r := range rows {
			r.Assess(DefaultTrust)
			runs[i].plain = append(runs[i].plain, r.Trust.Intervals["events/s"])
			r.AssessDrift(DefaultTrust, d)
			runs[i].wide = append(runs[i].wide, r.Trust.Intervals["events/s"])
			runs[i].med = append(runs[i].med, r.Trust.Intervals["events/s"].Median)
		}
	}
	held := func(wide bool) float64 {
		n, h := 0, 0
		for i := range runs {
			for j := range runs {
				if i == j {
					continue
				}
				for k := range nrows {
					iv := runs[i].plain[k]
					if wide {
						iv = runs[i].wide[k]
					}
					n++
					if iv.Lo <= runs[j].med[k] && runs[j].med[k] <= iv.Hi {
						h++
					}
				}
			}
		}
		return float64(h) / float64(n)
	}
	plain, wide := held(false), held(true)
	t.Logf("held another invocation's median: plain %.0f%%, widened %.0f%%", 100*plain, 100*wide)
	if !(wide >= 0.8 && wide > plain+0.1) {
		t.Errorf("widened intervals hold %.0f%% (plain %.0f%%): want >= 80%% and clearly more", 100*wide, 100*plain)
	}
}
