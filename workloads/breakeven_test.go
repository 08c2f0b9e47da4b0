package workloads

import (
	"context"
	"math"
	"testing"

	"kbench/impls/epoll"
	"kbench/results"
)

func TestCrossing(t *testing.T) {
	ws := []float64{0, 100, 300, 1000}
	for _, c := range []struct {
		shares []float64
		t      float64
		want   float64
		ok     bool
	}{
		{[]float64{1, 0.5, 0.2, 0.05}, 0.10, math.Exp(math.Log(300) + (0.2-0.1)/(0.2-0.05)*(math.Log(1000)-math.Log(300))), true},
		{[]float64{1, 0.05, 0.02, 0.01}, 0.10, 100 * (1 - 0.1) / (1 - 0.05), true}, // from 0: linear
		{[]float64{1, 0.5, 0.2, 0.15}, 0.10, 0, false},
		{[]float64{0.05, 0.04, 0.03, 0.02}, 0.10, 0, true},
	} {
		got, ok := crossing(ws, c.shares, c.t)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("crossing(%v, %g) = %g, %v; want %g, %v", c.shares, c.t, got, ok, c.want, c.ok)
		}
	}
}

// A quick break-even row over epoll: every point measured, exactly once,
// and the overhead share falls as work grows (the work dominates at 3 µs).
func TestBreakevenEpollQuick(t *testing.T) {
	var v = epoll.Variants()[0]
	cfg := crossCfg()
	cfg.Reps = 1
	r := runBreakeven(context.Background(), v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	s := r.Samples[0]
	if s.Lost != 0 || s.Dup != 0 || s.Generated == 0 {
		t.Fatalf("accounting: %+v", s)
	}
	at0, at3000 := s.Values["overhead-share@w=0"], s.Values["overhead-share@w=3000"]
	if at0 != 1 || !(at3000 < at0) {
		t.Errorf("overhead share %g at no work, %g at 3 µs: want 1, then less", at0, at3000)
	}
	if w := s.Values["work-ns/event@w=3000"]; w < 1000 {
		t.Errorf("measured work at 3000 ns requested: %g ns", w)
	}
}
