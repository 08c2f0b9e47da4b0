package workloads

import (
	"context"
	"strconv"
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

// A variant with ring parameters gets ring_entries, with sq_entries and
// commit_batch following, except what the command line names.
func TestOverflowSetsRingSizes(t *testing.T) {
	var got map[string]int
	v := epollVariant("lt")
	v.Params = map[string]int{"cq_entries": 4096, "sq_entries": 256, "ring_slots": 1024, "commit_batch": 512, "zach_n": 256}
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		got = o.Params
		return open(o)
	}
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	cfg.Params = map[string]int{"ring_entries": 64, "burst": 512, "commit_batch": 7}
	r := Overflow.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	want := map[string]int{"cq_entries": 64, "sq_entries": 64, "ring_slots": 64, "commit_batch": 7, "zach_n": 256}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("opened with %s=%d, want %d (all: %v)", k, got[k], w, got)
		}
		if r.Params[k] != strconv.Itoa(w) {
			t.Errorf("recorded %s=%q, want %d", k, r.Params[k], w)
		}
	}
	if r.Params["ring_params"] != "cq_entries+ring_slots+sq_entries" || r.Params["ring_entries"] != "64" {
		t.Errorf("ring_params %q ring_entries %q", r.Params["ring_params"], r.Params["ring_entries"])
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
