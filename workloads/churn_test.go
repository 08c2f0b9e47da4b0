package workloads

import (
	"context"
	"strings"
	"testing"
	"time"

	"kbench/impls/epoll"
	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

// crossCfg pins producer and collector on two CPUs when there are two, so
// that firings arrive while the collector is busy with control operations.
func crossCfg() Config {
	cfg := quickCfg()
	if cpus, err := cpu.Allowed(); err == nil && len(cpus) >= 2 {
		cfg.ProducerCPU, cfg.ConsumerCPU = cpus[0], cpus[1]
	}
	return cfg
}

func TestChurnEpollExactlyOnce(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			// Whether a firing is pending at some Remove is up to timing:
			// on a loaded machine a short run may have none. Every run is
			// checked in full; runs repeat (a few at most) until the drain
			// path has been taken.
			var drained float64
			for attempt := 0; attempt < 8 && drained == 0; attempt++ {
				r := Churn.Run(context.Background(), v, crossCfg())
				if r.Status != results.StatusOK {
					t.Fatalf("status %s: %s", r.Status, r.Reason)
				}
				gen, col, lost, dup := r.Totals()
				if gen == 0 || gen != col || lost != 0 || dup != 0 {
					t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
				}
				for _, s := range r.Samples {
					drained += s.Values["drained"]
					if s.Values["stale"] != 0 || !(s.Values["ctl/s"] > 0) || !(s.Values["events/s"] > 0) {
						t.Errorf("rep %d: %v", s.Rep, s.Values)
					}
					// Every operation is one epoll_ctl: Modify, Remove, Add.
					if x := s.Values["ctl-syscalls/op"]; x != 1 {
						t.Errorf("rep %d: ctl-syscalls/op = %v, want 1", s.Rep, x)
					}
				}
			}
			if drained == 0 {
				t.Errorf("in 8 runs no firing was pending at a Remove: the drain path went untested")
			}
		})
	}
}

// staleAfterRemove reports, once, an event carrying the token of a
// registration that was just removed: what a backend that forgot to drop a
// queued completion would do.
type staleAfterRemove struct {
	notify.Notifier
	tokens   map[int]uint64
	stale    uint64
	have     bool
	injected bool
}

func (s *staleAfterRemove) Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	s.tokens[fd] = token
	return s.Notifier.Add(fd, token, in, tr)
}

func (s *staleAfterRemove) Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	s.tokens[fd] = token
	return s.Notifier.Modify(fd, token, in, tr)
}

func (s *staleAfterRemove) Remove(fd int) error {
	if !s.have {
		s.stale, s.have = s.tokens[fd], true
	}
	return s.Notifier.Remove(fd)
}

func (s *staleAfterRemove) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := s.Notifier.Wait(ev, min, timeout)
	if s.have && !s.injected && n < len(ev) && err == nil {
		ev[n] = notify.Event{Token: s.stale, Ready: notify.Readable}
		n++
		s.injected = true
	}
	return n, err
}

func TestChurnDetectsAStaleEvent(t *testing.T) {
	v := epollVariant("lt")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return &staleAfterRemove{Notifier: n, tokens: map[int]uint64{}}, err
	}
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	r := Churn.Run(context.Background(), v, cfg)
	if r.Status != results.StatusFailed || !strings.Contains(r.Reason, "1 stale") {
		t.Errorf("a stale event gave status %s (%s); want failed with 1 stale", r.Status, r.Reason)
	}
	if len(r.Samples) != 1 || r.Samples[0].Values["stale"] != 1 {
		t.Errorf("samples %+v, want one with stale=1", r.Samples)
	}
}

// Remove drains a pending firing and Modify re-checks readiness; neither may
// repair a backend's loss.
func TestChurnDetectsADroppedEvent(t *testing.T) { expectDroppedEventFails(t, Churn) }

func TestChurnCollectAllocatesNothing(t *testing.T) {
	for _, name := range []string{"lt", "oneshot"} {
		v := epollVariant(name)
		n, err := v.Open(notify.Options{MaxSources: 4})
		if err != nil {
			t.Fatal(err)
		}
		src, err := newSourceSet(n, v, 4)
		if err != nil {
			t.Fatal(err)
		}
		sh := &churnShared{fired: make([]paddedU64, 4)}
		c := newChurnCollector(n, src, sh, v.Trigger, WaitBlock, 1)
		c.led.reset(1 << 12)
		seq := uint64(0)
		i := 0
		allocs := testing.AllocsPerRun(500, func() {
			// Fire the next free source as the producer would.
			for src.busy[i].v.Load() != churnFree {
				i = (i + 1) % 4
			}
			seq++
			src.busy[i].v.Store(churnPending)
			sh.fired[i].v.Store(seq)
			sh.last.Store(seq)
			src.fire(i, seq)
			if k, err := c.collect(time.Second); k != 1 || err != nil {
				t.Fatalf("collect = %d, %v", k, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: collection with churn allocates %.1f per event", name, allocs)
		}
		if c.ops < 500 || c.stale != 0 || c.led.distinct != seq {
			t.Errorf("%s: %d ctl ops, %d stale, %d of %d firings collected", name, c.ops, c.stale, c.led.distinct, seq)
		}
		src.close()
		n.Close()
	}
}
