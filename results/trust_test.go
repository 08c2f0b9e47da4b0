package results

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMedianInterval(t *testing.T) {
	seq := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i + 1)
		}
		rand.New(rand.NewPCG(1, uint64(n))).Shuffle(n, func(i, j int) { v[i], v[j] = v[j], v[i] })
		return v
	}
	// Confidence levels are exact binomial sums: 1 − 2·Σ_{i<k} C(n,i)/2^n.
	for _, c := range []struct {
		n      int
		c      float64
		lo, hi float64 // order statistics, 1-based, equal to the values
		conf   float64
	}{
		{1, 0.95, 1, 1, 0},
		{2, 0.95, 1, 2, 0.5},
		{5, 0.95, 1, 5, 1 - 2.0/32},              // 0.9375: below 95 %, the best there is
		{6, 0.95, 1, 6, 1 - 2.0/64},              // 0.96875
		{9, 0.95, 2, 8, 1 - 2*10.0/512},          // 0.9609
		{10, 0.95, 2, 9, 1 - 2*11.0/1024},        // 0.9785
		{10, 0.5, 4, 7, 1 - 2*176.0/1024},        // 0.65625
		{20, 0.95, 6, 15, 1 - 2*21700.0/(1<<20)}, // 0.9586
		{6, 1, 1, 6, 1 - 2.0/64},                 // 100 % is never reached: the widest
	} {
		iv := MedianInterval(seq(c.n), c.c)
		med := float64(c.n+1) / 2
		if iv.Lo != c.lo || iv.Hi != c.hi || iv.N != c.n || iv.Median != med || math.Abs(iv.Confidence-c.conf) > 1e-12 {
			t.Errorf("n=%d c=%v: got %+v, want [%v, %v] median %v at %v", c.n, c.c, iv, c.lo, c.hi, med, c.conf)
		}
	}
	// Large samples do not underflow, and land where the normal
	// approximation says: k ≈ n/2 − 1.96·√n/2.
	iv := MedianInterval(seq(2000), 0.95)
	if iv.Confidence < 0.95 || iv.Confidence > 0.96 || iv.Lo < 950 || iv.Lo > 960 || iv.Hi != 2001-iv.Lo {
		t.Errorf("n=2000: %+v", iv)
	}
	// Non-finite values are left out; nothing gives nothing.
	iv = MedianInterval([]float64{math.NaN(), 3, math.Inf(1), 1, 2}, 0.95)
	if iv.N != 3 || iv.Median != 2 || iv.Lo != 1 || iv.Hi != 3 {
		t.Errorf("with NaN/Inf: %+v", iv)
	}
	if iv := MedianInterval(nil, 0.95); iv != (Interval{}) {
		t.Errorf("empty: %+v", iv)
	}
}

func TestClusters(t *testing.T) {
	for _, c := range []struct {
		name   string
		v      []float64
		reason string // "" for no split
	}{
		{"fan-in regimes", []float64{2.5e6, 7.8e6, 2.6e6, 2.7e6, 7.7e6, 2.6e6}, "two clusters: 4 reps near 2.6M, 2 near 7.75M"},
		{"regimes at their widest", []float64{2e6, 3e6, 7e6, 9e6}, "two clusters: 2 reps near 2.5M, 2 near 8M"},
		{"identical pairs", []float64{5, 5, 9, 9}, "two clusters: 2 reps near 5, 2 near 9"},
		{"widest gap wins", []float64{1, 1.1, 3, 3.1, 10, 10.1}, "two clusters: 4 reps near 2.05, 2 near 10.1"},
		{"one value", []float64{1}, ""},
		{"three values", []float64{1, 1, 9}, ""},
		{"smooth", []float64{100, 101, 102, 103, 104, 105}, ""},
		{"uneven but tight", []float64{100, 100, 100, 105, 105, 105}, ""},
		{"one outlier", []float64{1, 1.01, 1.02, 1.03, 1.04, 5}, ""},
		{"gap like the spread", []float64{1, 2, 3, 5, 6, 7}, ""},
		{"NaN ignored", []float64{math.NaN(), 1, 1, 1}, ""},
	} {
		split, reason := Clusters(c.v)
		if split != (c.reason != "") || reason != c.reason {
			t.Errorf("%s: got %v %q, want %q", c.name, split, reason, c.reason)
		}
	}
}

func TestRelHalfWidth(t *testing.T) {
	for _, c := range []struct {
		iv   Interval
		w    float64
		text string
	}{
		{Interval{Median: 100, Lo: 90, Hi: 104}, 0.10, "±10%"},
		{Interval{Median: 100, Lo: 99.8, Hi: 100.3}, 0.003, "±0.3%"},
		{Interval{Median: -200, Lo: -210, Hi: -150}, 0.25, "±25%"},
		{Interval{}, 0, "±0.0%"},
		{Interval{Lo: -1, Hi: 1}, math.Inf(1), "±?"},
	} {
		if w := c.iv.RelHalfWidth(); math.Abs(w-c.w) > 1e-12 && w != c.w {
			t.Errorf("%+v: width %v, want %v", c.iv, w, c.w)
		}
		if s := c.iv.PlusMinus(); s != c.text {
			t.Errorf("%+v: %q, want %q", c.iv, s, c.text)
		}
	}
}

// row builds a fan-in-like row: events/s (the headline) and ns/event, one
// sample per value, each with an interference share (negative: none).
func row(status Status, events []float64, shares []float64) Result {
	r := Result{Workload: "fanin", Backend: "epoll", Variant: "lt", Status: status,
		Units: []Unit{{"events/s", "higher"}, {"ns/event", "lower"}, {"lost", "lower"}}}
	for i, e := range events {
		s := Sample{Rep: i, Values: map[string]float64{"events/s": e, "ns/event": 1e9 / max(e, 1)}}
		if shares[i] >= 0 {
			s.Interference = &Interference{WallNs: 1e8, CPUs: []int{0, 1}, StealNs: int64(i) * 1e6, Share: shares[i]}
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}

var (
	tight   = []float64{2.60e6, 2.61e6, 2.59e6, 2.62e6, 2.60e6, 2.58e6}
	wide    = []float64{2.0e6, 2.6e6, 2.3e6, 2.9e6, 2.5e6, 3.2e6}
	quiet   = []float64{0.01, 0.02, 0.0, 0.03, 0.01, 0.02}
	busy    = []float64{0.50, 0.45, 0.48, 0.60, 0.47, 0.49}
	unmeter = []float64{-1, -1, -1, -1, -1, -1}
)

func TestAssess(t *testing.T) {
	for _, c := range []struct {
		name    string
		r       Result
		status  Status
		flags   []string
		reason  string
		interf  float64
		maxInt  float64
		headlen int
	}{
		{name: "ok", r: row(StatusOK, tight, quiet), status: StatusOK, interf: 0.015, maxInt: 0.03},
		{name: "noisy", r: row(StatusOK, tight, busy), status: StatusNoisy, flags: []string{"noisy"},
			reason: "interference 48% of the pinned CPUs (threshold 10%)", interf: 0.485, maxInt: 0.6},
		// 6 values: the interval is [min, max]; median 2.55M, max 3.2M: +25.5 %.
		{name: "unstable", r: row(StatusOK, wide, unmeter), status: StatusUnstable, flags: []string{"unstable"},
			reason: "events/s ±25% wide (threshold 10%)"},
		{name: "noisy and unstable", r: row(StatusOK, wide, busy), status: StatusNoisy, flags: []string{"noisy", "unstable"},
			reason: "interference 48% of the pinned CPUs (threshold 10%); events/s ±25% wide (threshold 10%)", interf: 0.485, maxInt: 0.6},
		{name: "two regimes", r: row(StatusOK, []float64{2.5e6, 7.8e6, 2.6e6, 2.7e6, 7.7e6, 2.6e6}, quiet), status: StatusUnstable,
			flags:  []string{"unstable"},
			reason: "events/s ±194% wide (threshold 10%); events/s two clusters: 4 reps near 2.6M, 2 near 7.75M", interf: 0.015, maxInt: 0.03},
		{name: "failed keeps its status", r: func() Result {
			r := row(StatusFailed, wide, busy)
			r.Reason = "lost 3 events"
			return r
		}(), status: StatusFailed, flags: []string{"noisy", "unstable"}, reason: "lost 3 events", interf: 0.485, maxInt: 0.6},
		{name: "ok note kept", r: func() Result {
			r := row(StatusOK, tight, busy)
			r.Reason = "achieved 97% of the target rate"
			return r
		}(), status: StatusNoisy, flags: []string{"noisy"},
			reason: "interference 48% of the pinned CPUs (threshold 10%); achieved 97% of the target rate", interf: 0.485, maxInt: 0.6},
		{name: "some reps unmetered", r: row(StatusOK, tight, []float64{-1, 0.5, -1, 0.02, 0.04, -1}), status: StatusOK, interf: 0.04, maxInt: 0.5},
		{name: "zero median", r: row(StatusOK, []float64{-1, 1, 0, 0, 0, 2}, quiet), status: StatusUnstable, flags: []string{"unstable"},
			reason: "events/s median 0, interval -1…2: no relative width", interf: 0.015, maxInt: 0.03},
		{name: "all zero", r: row(StatusOK, []float64{0, 0, 0, 0}, quiet), status: StatusOK, interf: 0.015, maxInt: 0.03},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			r.Assess(DefaultTrust)
			tr := r.Trust
			if tr == nil {
				t.Fatal("no trust")
			}
			if r.Status != c.status || r.Reason != c.reason || !slices.Equal(tr.Flags, c.flags) {
				t.Errorf("status %s %v reason %q, want %s %v %q", r.Status, tr.Flags, r.Reason, c.status, c.flags, c.reason)
			}
			if len(tr.Flags) != len(tr.Reasons) {
				t.Errorf("flags %v, reasons %q", tr.Flags, tr.Reasons)
			}
			if math.Abs(tr.Interference-c.interf) > 1e-12 || tr.MaxInterference != c.maxInt {
				t.Errorf("interference %v max %v, want %v %v", tr.Interference, tr.MaxInterference, c.interf, c.maxInt)
			}
			if tr.Headline != "events/s" || len(tr.Intervals) != 2 {
				t.Errorf("headline %q intervals %v", tr.Headline, tr.Intervals)
			}
			// No NaN or Inf ever reaches the file.
			if _, err := json.Marshal(r); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAssessDetails(t *testing.T) {
	r := row(StatusOK, wide, busy)
	r.Assess(TrustOptions{}) // zero options are the defaults
	if r.Status != StatusNoisy {
		t.Errorf("zero options: %s", r.Status)
	}
	iv := r.Trust.Intervals["events/s"]
	if iv.Lo != 2.0e6 || iv.Hi != 3.2e6 || iv.Median != 2.55e6 || iv.N != 6 || iv.Confidence != 1-2.0/64 {
		t.Errorf("interval %+v", iv)
	}
	// Steal: 5 ms of 2×100 ms at most (rep 5).
	if math.Abs(r.Trust.MaxSteal-0.025) > 1e-12 {
		t.Errorf("max steal %v", r.Trust.MaxSteal)
	}

	// Rerun with other thresholds: the earlier classification is undone.
	r.Reason += "; achieved 97% of the target rate"
	r.Assess(TrustOptions{NoisyShare: 0.9, UnstableWidth: 0.5})
	if r.Status != StatusOK || r.Reason != "achieved 97% of the target rate" || len(r.Trust.Flags) != 0 {
		t.Errorf("rerun: %s %q %v", r.Status, r.Reason, r.Trust.Flags)
	}
	r.Assess(DefaultTrust)
	r.Assess(DefaultTrust)
	if r.Status != StatusNoisy || strings.Count(r.Reason, "interference") != 1 || !strings.HasSuffix(r.Reason, "; achieved 97% of the target rate") {
		t.Errorf("assessed twice: %s %q", r.Status, r.Reason)
	}

	// No samples: no trust, status unchanged.
	r = Result{Status: StatusSkipped, Reason: "io_uring disabled", Units: []Unit{{"events/s", "higher"}}}
	r.Assess(DefaultTrust)
	if r.Trust != nil || r.Status != StatusSkipped || r.Reason != "io_uring disabled" {
		t.Errorf("skipped: %+v", r)
	}
}

func TestHeadline(t *testing.T) {
	r := Result{Units: []Unit{{"p99", "lower"}, {"events/s", "higher"}},
		Samples: []Sample{{Values: map[string]float64{"events/s": 1}}, {Values: map[string]float64{"other": 1}}}}
	if h := r.Headline(); h != "events/s" {
		t.Errorf("headline %q", h)
	}
	r.Samples[1].Values["p99"] = 3
	if h := r.Headline(); h != "p99" {
		t.Errorf("headline %q", h)
	}
	if h := (&Result{Units: r.Units}).Headline(); h != "" {
		t.Errorf("no samples: headline %q", h)
	}
}
