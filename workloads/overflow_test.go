package workloads

import (
	"context"
	"maps"
	"testing"
	"time"

	"kbench/impls/all"
	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/results"
)

func TestOverflowEpollExactlyOnce(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Overflow.Run(context.Background(), v, quickCfg())
			if r.Status != results.StatusOK {
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			gen, col, lost, dup := r.Totals()
			if gen == 0 || gen != col || lost != 0 || dup != 0 {
				t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
			}
			for _, s := range r.Samples {
				// Whole bursts only: 1024 sources, each fired once per burst.
				if s.Generated%1024 != 0 || !(s.Values["burst-ms"] > 0) || !(s.Values["events/s"] > 0) {
					t.Errorf("rep %d: generated %d, %v", s.Rep, s.Generated, s.Values)
				}
				// The whole burst is pending: every Wait but the last fills the slice.
				if x := s.Values["events/wait"]; x < overflowBatch/2 {
					t.Errorf("rep %d: %.1f events per Wait, want a full batch of %d most times", s.Rep, x, overflowBatch)
				}
			}
			if r.Params["ring_params"] != "none" {
				t.Errorf("epoll has no ring, yet ring_params = %q", r.Params["ring_params"])
			}
		})
	}
}

func TestOverflowDetectsADroppedEvent(t *testing.T) { expectDroppedEventFails(t, Overflow) }

// The workload asks for ring_entries through notify.Options.RingEntries,
// passing only the command line's parameters, and records what the
// backend derived from it (what its Open wrote back into Params).
func TestOverflowSetsRingSizes(t *testing.T) {
	var ring int
	var passed map[string]int
	v := epollVariant("lt")
	v.Params = map[string]int{"cq_entries": 4096, "sq_entries": 256, "commit_batch": 512}
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		ring, passed = o.RingEntries, maps.Clone(o.Params)
		// A backend that maps RingEntries as io_uring does.
		if _, user := o.Params["cq_entries"]; !user {
			o.Params["cq_entries"] = o.RingEntries
			o.Params["sq_entries"] = min(256, o.RingEntries)
		}
		return open(o)
	}
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	cfg.Params = map[string]int{"ring_entries": 64, "burst": 512, "commit_batch": 7}
	r := Overflow.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	if ring != 64 || !maps.Equal(passed, map[string]int{"commit_batch": 7}) {
		t.Errorf("opened with RingEntries %d and Params %v; want 64 and only the command line's commit_batch=7", ring, passed)
	}
	for k, w := range map[string]string{"cq_entries": "64", "sq_entries": "64", "commit_batch": "7",
		"ring_entries": "64", "ring_params": "cq_entries+sq_entries"} {
		if r.Params[k] != w {
			t.Errorf("recorded %s=%q, want %q", k, r.Params[k], w)
		}
	}
	// The user's own ring parameter: the backend leaves it, nothing derived.
	cfg.Params["cq_entries"] = 512
	r = Overflow.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK || r.Params["cq_entries"] != "512" || r.Params["ring_params"] != "none" {
		t.Errorf("cq_entries=512 set: status %s, recorded cq_entries=%q ring_params=%q; want 512 and none",
			r.Status, r.Params["cq_entries"], r.Params["ring_params"])
	}
}

func TestOverflowCollectAllocatesNothing(t *testing.T) {
	v := epollVariant("oneshot")
	n, err := v.Open(notify.Options{MaxSources: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	src, err := newSourceSet(n, v, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	c := &overflowCollector{n: n, src: src, B: 4, events: make([]notify.Event, 8), timeout: time.Second}
	c.led.reset(1 << 12)
	seq := uint64(0)
	allocs := testing.AllocsPerRun(500, func() {
		for i := 0; i < 4; i++ {
			seq++
			src.fire(i, seq)
		}
		if _, err := c.drain(seq); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("draining a burst allocates %.1f times", allocs)
	}
	if c.led.distinct != seq {
		t.Errorf("collected %d of %d", c.led.distinct, seq)
	}
}

// Every variant this build has, quick: a row may be skipped or not
// applicable, with a reason, but never fail.
func TestScaleChurnOverflowQuickAllVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cfg := crossCfg()
	cfg.Reps = 1
	for _, w := range []Workload{Scale, Churn, Overflow} {
		for _, v := range all.Variants() {
			r := w.Run(context.Background(), v, cfg)
			switch r.Status {
			case results.StatusOK:
			case results.StatusSkipped, results.StatusNA:
				if r.Reason == "" {
					t.Errorf("%s: %s without a reason", r.ID(), r.Status)
				}
				t.Logf("%s: %s: %s", r.ID(), r.Status, r.Reason)
			default:
				t.Errorf("%s: %s: %s", r.ID(), r.Status, r.Reason)
			}
		}
	}
}
