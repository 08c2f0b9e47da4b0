package gate

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The same four p-values through each correction, worked by hand: Holm
// lets the two smallest through at 0.05, Benjamini–Hochberg all four.
func TestAdjust(t *testing.T) {
	p := []float64{0.01, 0.04, 0.03, 0.005}
	for _, tc := range []struct {
		c    Correction
		want []float64
	}{
		// Holm: sorted 0.005×4, 0.01×3, 0.03×2, 0.04×1, made monotone.
		{Holm, []float64{0.03, 0.06, 0.06, 0.02}},
		// BH: sorted 0.005·4/1, 0.01·4/2, 0.03·4/3, 0.04·4/4, minimum from the top.
		{BH, []float64{0.02, 0.04, 0.04, 0.02}},
		{None, p},
	} {
		got := Adjust(tc.c, p)
		for i := range got {
			if !near(got[i], tc.want[i]) {
				t.Errorf("%s: adjusted %v, want %v", tc.c, got, tc.want)
				break
			}
		}
	}
	if got := Adjust(Holm, []float64{0.5, 0.9}); !near(got[0], 1) || !near(got[1], 1) {
		t.Errorf("Holm caps at 1: %v", got)
	}
	if got := Adjust(Holm, nil); len(got) != 0 {
		t.Errorf("empty family: %v", got)
	}
}

func TestMinP(t *testing.T) {
	for _, tc := range []struct {
		n1, n2 int
		want   float64
	}{
		{3, 3, 1.0 / 20}, // can never get below 0.05
		{4, 4, 1.0 / 70},
		{5, 5, 1.0 / 252},
		{8, 8, 1.0 / 12870},
		{6, 1, 1.0 / 7},
		{0, 5, 1},
	} {
		if got := MinP(tc.n1, tc.n2); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("MinP(%d, %d) = %g, want %g", tc.n1, tc.n2, got, tc.want)
		}
	}
	mw := func(n int) float64 { return MinP(n, n) }
	if n := enough(0.05/6, mw); MinP(n, n) >= 0.05/6 || MinP(n-1, n-1) < 0.05/6 {
		t.Errorf("enough(%g) = %d", 0.05/6, n)
	}
}

func TestOneSided(t *testing.T) {
	base, lower := []float64{10, 11, 12}, []float64{7, 8, 9}
	// Higher is better: head lower is worse.
	if w, b := oneSided(0.1, base, lower, "higher"); !near(w, 0.05) || !near(b, 0.95) {
		t.Errorf("higher-is-better, head lower: worse %v better %v", w, b)
	}
	if w, b := oneSided(0.1, base, lower, "lower"); !near(w, 0.95) || !near(b, 0.05) {
		t.Errorf("lower-is-better, head lower: worse %v better %v", w, b)
	}
	if w, b := oneSided(1, base, base, "lower"); !near(w, 0.5) || !near(b, 0.5) {
		t.Errorf("no shift: worse %v better %v", w, b)
	}
}

func TestPrimary(t *testing.T) {
	for _, tc := range []struct {
		workload, metric string
		want             bool
	}{
		{"fanin", "events/s", true},
		{"fanin", "consumer-cpu-ns/event", true},
		{"fanin", "syscalls/event", false},
		{"fanin", "producer-cpu-ns/event", false},
		{"latency", "p99-ns@50%", true},
		{"latency", "raw-p99-ns@50%", false}, // the corrected one gates
		{"latency", "p50-ns@50%", false},
		{"latency", "achieved/s@50%", false},
		{"pingpong", "rt-p99-ns@cross", true},
		{"pingpong", "hops/s@cross", true},
		{"scale", "events/s@1000", true},
		{"scale", "reg-syscalls/op@1000", false},
		{"echo", "requests/s", true},
		{"echo", "p99-ns", true},
		{"calibrate", "ns", false},
		{"calibrate", "p99-ns", false}, // the machine's floors, not the code
		{"newworkload", "events/s", true},
		{"newworkload", "p99-ns@x", true},
		{"newworkload", "widgets/s", false},
	} {
		if got := Primary(tc.workload, tc.metric); got != tc.want {
			t.Errorf("Primary(%s, %s) = %v", tc.workload, tc.metric, got)
		}
	}
	for w, stems := range primary {
		for _, s := range stems {
			if stem(s) != s {
				t.Errorf("%s: primary %q carries a point", w, s)
			}
		}
	}
}

func TestNoise(t *testing.T) {
	base := []float64{90, 95, 100, 105, 110}
	// |deviations| 10 5 0 5 10 on each side: median 5, ×1.4826, / 100.
	want := 1.4826 * 5 / 100
	if got := Noise(base, base); !near(got, want) {
		t.Errorf("Noise = %v, want %v", got, want)
	}
	// A real shift of head does not widen the floor: each side is
	// measured around its own median.
	shifted := []float64{180, 190, 200, 210, 220}
	if got := Noise(base, shifted); got < want || got > 2*want {
		t.Errorf("Noise with head shifted by 100 %% = %v, want about %v", got, want)
	}
	if got := Noise([]float64{0, 0}, []float64{1, 1}); !math.IsNaN(got) {
		t.Errorf("base median 0: %v, want NaN", got)
	}
}

// judgeOne runs the verdict logic on one gating comparison.
func judgeOne(c Change) Change {
	c.Gating, c.MinP = true, 1e-4
	rep := &Report{Changes: []Change{c}}
	judge(rep, DefaultOptions)
	return rep.Changes[0]
}

func TestNoiseFloor(t *testing.T) {
	// Significant and 8 % worse: a regression where the runs spread by 3 %
	// (the 5 % threshold applies), not where they spread by 24 % (the
	// floor is half of that at the default NoiseScale).
	c := Change{Better: "higher", BaseMed: 100, HeadMed: 92, Delta: -0.08, PWorse: 0.001, PBetter: 0.999}
	c.Noise = 0.03
	if got := judgeOne(c); got.Verdict != Regression || !near(got.Floor, 0.05) {
		t.Errorf("8%% worse, 3%% noise: %s, floor %v", got.Verdict, got.Floor)
	}
	c.Noise = 0.24
	if got := judgeOne(c); got.Verdict != Worse || !near(got.Floor, 0.12) || got.Note != "within the noise floor 12.0%" {
		t.Errorf("8%% worse, 24%% noise: %s (%s), floor %v", got.Verdict, got.Note, got.Floor)
	}
	c.Noise = math.NaN()
	if got := judgeOne(c); got.Verdict != Regression {
		t.Errorf("8%% worse, noise unknown: %s", got.Verdict)
	}
	// Not significant after correction: nothing, however large.
	c.Noise, c.PWorse, c.Delta, c.HeadMed = 0.01, 0.2, -0.3, 70
	if got := judgeOne(c); got.Verdict != Same {
		t.Errorf("p 0.2: %s", got.Verdict)
	}
}

// BH can flag a comparison whose p is just below alpha when every other one
// is as small (p_(k) <= k·alpha/m at k = m), so only a smallest possible p
// at or above alpha is "too few"; Holm's first step is alpha/m.
func TestFirstStep(t *testing.T) {
	if got := firstStep(BH, 0.05, 24); got != 0.05 {
		t.Errorf("bh: %v", got)
	}
	if got := firstStep(Holm, 0.05, 24); math.Abs(got-0.05/24) > 1e-15 {
		t.Errorf("holm: %v", got)
	}
	// Six comparisons at p = 0.04: BH rejects all six, Holm none.
	ps := []float64{0.04, 0.04, 0.04, 0.04, 0.04, 0.04}
	for _, p := range Adjust(BH, ps) {
		if !(p < 0.05) {
			t.Errorf("bh adjusted %v", Adjust(BH, ps))
			break
		}
	}
	for _, p := range Adjust(Holm, ps) {
		if p < 0.05 {
			t.Errorf("holm adjusted %v", Adjust(Holm, ps))
			break
		}
	}
}
