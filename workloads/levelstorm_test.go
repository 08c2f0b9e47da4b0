package workloads

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/epoll"
	"kbench/internal/clock"
	"kbench/notify"
	"kbench/results"
)

func TestLevelstormEpoll(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Levelstorm.Run(context.Background(), v, quickCfg())
			if r.Status != results.StatusOK {
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			checkAccounting(t, &r, 2)
			for _, s := range r.Samples {
				checkPercentiles(t, s.Values, "edge-", "")
				checkPercentiles(t, s.Values, "edge-raw-", "")
				// 16 sources always ready beside 2 fired every 50 µs:
				// most of what is collected is level, but not all.
				if share := s.Values["level-share"]; share < 0.5 || share >= 1 {
					t.Errorf("level share %v", share)
				}
				if lw := s.Values["level/wait"]; lw < 1 || lw > float64(Levelstorm.Params[3].Quick) {
					t.Errorf("level events per Wait %v", lw)
				}
				if n := decodeHist(t, s.Histograms["edge"]).TotalCount(); uint64(n) != s.Collected {
					t.Errorf("%d latencies for %d collected firings", n, s.Collected)
				}
				for k := range s.Values {
					if strings.Contains(k, "@n=") {
						t.Errorf("epoll row has a zach_n sweep value %q", k)
					}
				}
			}
		})
	}
}

// A variant with kevent zach's parameter gets the sweep; --set fixes it.
func TestLevelstormSweepsZachN(t *testing.T) {
	v := epollVariant("et")
	v.Params = map[string]int{zachN: 256}
	var opened []int
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		opened = append(opened, o.Params[zachN])
		return open(o)
	}
	cfg := quickCfg()
	cfg.Reps = 1
	r := Levelstorm.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	if !slices.Equal(opened, []int{256, 1, 16}) || r.Params["zach_n_sweep"] != "1:16:256" {
		t.Errorf("opened with zach_n %v, recorded sweep %q", opened, r.Params["zach_n_sweep"])
	}
	for _, x := range []string{"", "@n=1", "@n=16"} {
		if _, ok := r.Samples[0].Values["edge-p99-ns"+x]; !ok {
			t.Errorf("no edge-p99-ns%s", x)
		}
	}

	opened = nil
	cfg.Params = map[string]int{zachN: 32}
	r = Levelstorm.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK || !slices.Equal(opened, []int{32}) || r.Params[zachN] != "32" {
		t.Errorf("zach_n=32: status %s, opened with %v, recorded %q", r.Status, opened, r.Params[zachN])
	}
}

// noLevel is a backend without the Level trigger.
type noLevel struct{ notify.Notifier }

func (n noLevel) Caps() notify.Caps {
	c := n.Notifier.Caps()
	c.Triggers &^= notify.Of(notify.Level)
	return c
}

func TestLevelstormWithoutLevelIsNA(t *testing.T) {
	v := epollVariant("et")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return noLevel{n}, err
	}
	if r := Levelstorm.Run(context.Background(), v, quickCfg()); r.Status != results.StatusNA {
		t.Errorf("status %s (%s), want n/a", r.Status, r.Reason)
	}
}

// Collection beside always-ready level sources: their events are counted,
// the fired source's firing is taken and timed, nothing allocated.
func TestLevelstormCollectAllocatesNothing(t *testing.T) {
	skipAllocsUnderRace(t)
	v := epollVariant("et")
	n, err := v.Open(notify.Options{MaxSources: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	src, err := newSourceSet(n, v, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	for j := 0; j < 2; j++ {
		fd, err := unix.Eventfd(1, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := n.Add(fd, stormLevelBase+uint64(j), notify.Readable, notify.Level); err != nil {
			t.Fatal(err)
		}
	}
	const runs = 300
	o := &openOrder{stamps: make([]stamp, runs+2)}
	var stop atomic.Bool
	p := &openProducer{src: src, stop: &stop}
	c := &timedCollector{n: n, src: src, events: make([]notify.Event, 8), stamps: o.stamps,
		corr: newHist(), raw: newHist(), late: newHist(), levelBase: stormLevelBase}
	c.led.reset(runs + 2)
	k := 0
	end := clock.Now() + int64(time.Hour)
	allocs := testing.AllocsPerRun(runs, func() {
		i, _ := p.freeSource(end)
		if err := p.fire(o, k, i, clock.Now()); err != nil {
			t.Fatal(err)
		}
		k++
		for w := 0; c.led.distinct < uint64(k); w++ {
			if _, err := c.collect(time.Second); err != nil || w > 10 {
				t.Fatalf("collect: %v after %d Waits", err, w)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("collecting beside level sources allocates %.1f per event", allocs)
	}
	if c.levels < 2*uint64(k) || c.edges != uint64(k) {
		t.Errorf("%d level and %d fired events for %d firings", c.levels, c.edges, k)
	}
}
