package workloads

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"kbench/results"
)

// TestRepLoop: the shared warm-up and repetition loop, in each of the
// ways the workloads use it.
func TestRepLoop(t *testing.T) {
	cfg := Config{Duration: 40 * time.Millisecond, Warmup: 10 * time.Millisecond, Reps: 3}
	type call struct {
		rep int
		d   time.Duration
	}
	run := func(l repLoop, ctx context.Context, cfg Config, dirtyWarmup bool, errAt int) (results.Result, []call, bool) {
		res := results.Result{Reason: "capped"}
		var calls []call
		ok := l.run(ctx, cfg, &res, func(rep int, d time.Duration) (results.Sample, bool, error) {
			calls = append(calls, call{rep, d})
			if rep == errAt {
				return results.Sample{}, false, errors.New("broke")
			}
			if rep < 0 && dirtyWarmup {
				return results.Sample{Lost: 1}, false, nil
			}
			return results.Sample{Generated: 1}, true, nil
		})
		return res, calls, ok
	}
	reps := func(r results.Result) []int {
		var out []int
		for _, s := range r.Samples {
			out = append(out, s.Rep)
		}
		return out
	}

	res, calls, ok := run(repLoop{}, context.Background(), cfg, false, 99)
	want := []call{{-1, 10 * time.Millisecond}, {0, 40 * time.Millisecond}, {1, 40 * time.Millisecond}, {2, 40 * time.Millisecond}}
	if !ok || !slices.Equal(calls, want) || !slices.Equal(reps(res), []int{0, 1, 2}) {
		t.Errorf("plain: ok %v, calls %v, kept reps %v; want the warm-up discarded and reps 0..2", ok, calls, reps(res))
	}
	_, calls, _ = run(repLoop{half: true}, context.Background(), Config{Duration: time.Millisecond, Warmup: 10 * time.Millisecond, Reps: 1}, false, 99)
	if !slices.Equal(calls, []call{{-1, 5 * time.Millisecond}, {0, time.Millisecond}}) {
		t.Errorf("half: calls %v, want a 5ms warm-up and a 1ms repetition (halved, at least 1ms)", calls)
	}
	noWarm := cfg
	noWarm.Warmup = 0
	if _, calls, _ = run(repLoop{}, context.Background(), noWarm, false, 99); len(calls) != 3 || calls[0].rep != 0 {
		t.Errorf("no warm-up: calls %v", calls)
	}
	res, calls, ok = run(repLoop{failWarmup: true}, context.Background(), cfg, true, 99)
	if ok || len(calls) != 1 || res.Status != results.StatusFailed || !slices.Equal(reps(res), []int{-1}) {
		t.Errorf("failWarmup: ok %v, calls %v, status %s (%s), reps %v; want failed after the warm-up, its sample kept",
			ok, calls, res.Status, res.Reason, reps(res))
	}
	res, calls, ok = run(repLoop{}, context.Background(), cfg, true, 99)
	if !ok || len(calls) != 1 || res.Status != "" || !slices.Equal(reps(res), []int{-1}) {
		t.Errorf("broken warm-up kept: ok %v, calls %v, status %q, reps %v; want the evidence kept and no more repetitions",
			ok, calls, res.Status, reps(res))
	}
	res, _, ok = run(repLoop{}, context.Background(), cfg, false, 1)
	if ok || res.Status != results.StatusFailed || res.Reason != "broke" || len(res.Samples) != 1 {
		t.Errorf("error at rep 1: ok %v, status %s (%s), %d samples", ok, res.Status, res.Reason, len(res.Samples))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, x := range []struct {
		keep bool
		want string
	}{{false, "interrupted"}, {true, "capped; interrupted"}} {
		res, calls, ok = run(repLoop{keepReason: x.keep}, ctx, cfg, false, 99)
		if !ok || len(calls) != 0 || res.Reason != x.want {
			t.Errorf("interrupted, keepReason %v: ok %v, calls %v, reason %q; want %q", x.keep, ok, calls, res.Reason, x.want)
		}
	}

	// stop is raised while Ctrl-C interrupts a repetition, lowered after.
	var stop atomic.Bool
	ctx, cancel = context.WithCancel(context.Background())
	var seen bool
	res = results.Result{}
	(repLoop{stop: &stop}).run(ctx, Config{Duration: time.Millisecond, Reps: 1}, &res, func(int, time.Duration) (results.Sample, bool, error) {
		cancel()
		for deadline := time.Now().Add(time.Second); !stop.Load() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		seen = stop.Load()
		return results.Sample{}, true, nil
	})
	if !seen || stop.Load() {
		t.Errorf("stop: raised during the interrupted repetition %v, still raised after %v", seen, stop.Load())
	}
}
