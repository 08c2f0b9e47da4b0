package workloads

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kbench/impls/epoll"
	"kbench/internal/clock"
	"kbench/notify"
	"kbench/results"
)

var ppLabels = []string{"within-1", "within-many", "cross-1", "cross-many"}

func TestPingpongEpollExactlyOnce(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Pingpong.Run(context.Background(), v, quickCfg())
			if r.Status != results.StatusOK {
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			checkAccounting(t, &r, 2)
			K := float64(Pingpong.Params[0].Quick)
			for _, s := range r.Samples {
				for _, l := range ppLabels {
					checkPercentiles(t, s.Values, "rt-", "@"+l)
					rounds := decodeHist(t, s.Histograms["rt@"+l]).TotalCount()
					if rounds == 0 {
						t.Errorf("%s: no round trip", l)
					}
					// A round trip is K hops, each at least a firing and a
					// collection: far more than 100 ns.
					if p50 := s.Values["rt-p50-ns@"+l]; p50 < K*100 {
						t.Errorf("%s: round trip p50 %v ns for %v hops", l, p50, K)
					}
					if hs := s.Values["hops/s@"+l]; hs <= 0 || hs > 1e9 {
						t.Errorf("%s: %v hops/s", l, hs)
					}
				}
			}
		})
	}
}

func TestPingpongOneMode(t *testing.T) {
	cfg := quickCfg()
	cfg.Params = map[string]int{"mode": 2, "active": 1, "chain": 3}
	r := Pingpong.Run(context.Background(), epollVariant("et"), cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	if r.Params["chain"] != "4" {
		t.Errorf("chain 3 recorded as %q, want it rounded up to 4", r.Params["chain"])
	}
	for k := range r.Samples[0].Values {
		if !strings.HasSuffix(k, "@cross-1") {
			t.Errorf("mode=2 active=1 produced %q", k)
		}
	}
}

// A hop lost in the backend strands its token: the repetition ends after
// the grace period and the row fails with the loss counted.
func TestPingpongDetectsADroppedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the grace period")
	}
	v := epollVariant("et")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return &dropOne{Notifier: n}, err
	}
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	cfg.Params = map[string]int{"mode": 1, "active": 1}
	r := Pingpong.Run(context.Background(), v, cfg)
	_, _, lost, _ := r.Totals()
	if r.Status != results.StatusFailed || lost != 1 {
		t.Errorf("a dropped hop gave status %s (%s), lost %d; want failed with 1 lost", r.Status, r.Reason, lost)
	}
}

func TestPPLayout(t *testing.T) {
	for _, step := range []int{1, 2} {
		const K, T = 6, 3
		l := &ppLayout{K: K, T: T, step: step, stride: K / step}
		a, b := &sourceSet{}, &sourceSet{}
		l.sets = [2]*sourceSet{a, b}
		if step == 1 {
			l.sets[1] = a
		}
		seen := map[[2]any]bool{}
		for j := 0; j < T; j++ {
			for p := 0; p < K; p++ {
				set, idx := l.loc(j, p)
				parity := 0
				if set == b {
					parity = 1
				}
				if step == 2 && parity != p%2 {
					t.Errorf("step 2: position %d in set %d", p, parity)
				}
				if idx < 0 || idx >= T*l.stride || seen[[2]any{set, idx}] {
					t.Errorf("step %d: (%d,%d) → index %d, out of range or taken", step, j, p, idx)
				}
				seen[[2]any{set, idx}] = true
				if gj, gp := l.pos(parity, idx); gj != j || gp != p {
					t.Errorf("step %d: (%d,%d) → %d → (%d,%d)", step, j, p, idx, gj, gp)
				}
			}
		}
	}
}

func TestLedgerAbsorb(t *testing.T) {
	var a, b ledger
	a.reset(100)
	b.reset(300)
	for _, s := range []uint64{1, 3, 5} {
		a.mark(s)
	}
	for _, s := range []uint64{2, 4, 5, 200, 0} {
		b.mark(s)
	}
	a.absorb(&b)
	lost, dup := a.settle(6)
	// 6 never arrived; 5 came twice; 200 was never fired; 0 is spurious.
	if lost != 1 || dup != 2 || a.distinct != 6 || a.spurious != 1 {
		t.Errorf("lost %d dup %d distinct %d spurious %d, want 1 2 6 1", lost, dup, a.distinct, a.spurious)
	}
}

// One thread passing a token round a chain of 4: each collect is one hop.
func TestPingpongHopAllocatesNothing(t *testing.T) {
	skipAllocsUnderRace(t)
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
	lay := &ppLayout{K: 4, T: 1, step: 1, stride: 4, sets: [2]*sourceSet{src, src}}
	var done atomic.Bool
	th := &ppThread{lay: lay, n: n, own: src, events: make([]notify.Event, 8), done: &done, driver: true,
		rt: newHist(), t0: make([]int64, 1), rounds: make([]int, 1)}
	th.led.reset(1 << 12)
	if err := th.kick(int64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(500, func() {
		if k, err := th.collect(time.Second); k != 1 || err != nil {
			t.Fatalf("collect = %d, %v", k, err)
		}
	})
	if allocs != 0 {
		t.Errorf("a hop allocates %.1f", allocs)
	}
	if th.rt.TotalCount() < 100 || th.fires != th.led.distinct+1 {
		t.Errorf("%d round trips, %d fired, %d collected", th.rt.TotalCount(), th.fires, th.led.distinct)
	}
	// Time is up: the token retires at the end of its round.
	th.deadline = clock.Now()
	for i := 0; !done.Load(); i++ {
		if i > 8 {
			t.Fatal("the token did not retire within two rounds")
		}
		if _, err := th.collect(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if lost, dup := th.led.settle(th.fires); lost != 0 || dup != 0 || th.fires%4 != 0 {
		t.Errorf("after retirement: %d fired (not whole rounds?), lost %d dup %d", th.fires, lost, dup)
	}
}
