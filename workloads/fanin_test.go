package workloads

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kbench/impls/all"
	"kbench/impls/epoll"
	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

func quickCfg() Config {
	return Config{ProducerCPU: -1, ConsumerCPU: -1, HelperCPU: -1, Duration: 20 * time.Millisecond, Warmup: 5 * time.Millisecond, Reps: 2, Wait: WaitBlock, Quick: true}
}

func epollVariant(name string) notify.Variant {
	for _, v := range epoll.Variants() {
		if v.Name == name {
			return v
		}
	}
	panic("no epoll/" + name)
}

func TestFaninEpollExactlyOnce(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Fanin.Run(context.Background(), v, quickCfg())
			if r.Status != results.StatusOK {
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			gen, col, lost, dup := r.Totals()
			if gen == 0 || gen != col || lost != 0 || dup != 0 {
				t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
			}
			if len(r.Samples) != 2 {
				t.Errorf("%d samples, want 2", len(r.Samples))
			}
			for _, s := range r.Samples {
				if s.Values["events/s"] <= 0 || s.Values["io-syscalls/event"] != 1 {
					t.Errorf("implausible sample values %v", s.Values)
				}
			}
		})
	}
}

// TestFaninQuietHousekeeping: with quiet housekeeping allowed, a blocking
// fan-in row runs with it (and still collects everything exactly once); a
// spinning collector's row does not; without it allowed, neither does.
func TestFaninQuietHousekeeping(t *testing.T) {
	p, c := twoCPUs()
	cfg := quickCfg()
	cfg.ProducerCPU, cfg.ConsumerCPU = p, c
	v := epollVariant("et")
	if r := Fanin.Run(context.Background(), v, cfg); r.Params["housekeeping"] != "normal" {
		t.Errorf("housekeeping %q without EnableQuiet, want normal", r.Params["housekeeping"])
	}
	hk := []int{c}
	if c < 0 {
		hk = nil
	}
	if err := cpu.EnableQuiet(hk); err != nil {
		t.Skipf("quiet housekeeping refused here: %v", err)
	}
	defer cpu.DisableQuiet()
	for wait, want := range map[string]string{WaitBlock: "idle", WaitSpin: "normal"} {
		cfg.Wait = wait
		r := Fanin.Run(context.Background(), v, cfg)
		if r.Status != results.StatusOK {
			t.Fatalf("wait=%s: status %s: %s", wait, r.Status, r.Reason)
		}
		if gen, col, lost, dup := r.Totals(); gen == 0 || gen != col || lost != 0 || dup != 0 {
			t.Errorf("wait=%s: generated %d collected %d lost %d dup %d", wait, gen, col, lost, dup)
		}
		if r.Params["housekeeping"] != want {
			t.Errorf("wait=%s: housekeeping %q, want %q", wait, r.Params["housekeeping"], want)
		}
	}
	if err := cpu.QuietErr(); err != nil {
		t.Errorf("QuietErr = %v", err)
	}
}

// dropOne loses exactly one event, once.
type dropOne struct {
	notify.Notifier
	dropped atomic.Bool
}

func (d *dropOne) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := d.Notifier.Wait(ev, min, timeout)
	if n > 0 && d.dropped.CompareAndSwap(false, true) {
		copy(ev, ev[1:n])
		n--
	}
	return n, err
}

// expectDroppedEventFails runs w over epoll ET with one event dropped and
// wants the row failed with exactly one firing lost. Edge-triggered: a
// level source would re-report the dropped readiness and heal the loss,
// which is exactly level triggering's promise.
func expectDroppedEventFails(t *testing.T, w Workload) {
	t.Helper()
	v := epollVariant("et")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return &dropOne{Notifier: n}, err
	}
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	r := w.Run(context.Background(), v, cfg)
	_, _, lost, _ := r.Totals()
	if r.Status != results.StatusFailed || lost != 1 || !strings.Contains(r.Reason, "1 lost") {
		t.Errorf("a dropped event gave status %s (%s), lost %d; want failed with 1 lost", r.Status, r.Reason, lost)
	}
}

func TestFaninDetectsADroppedEvent(t *testing.T) { expectDroppedEventFails(t, Fanin) }

func TestLedger(t *testing.T) {
	var l ledger
	l.reset(10)
	for _, s := range []uint64{1, 2, 3, 3, 0, 5, 200} {
		l.mark(s)
	}
	lost, dup := l.settle(5)
	// 4 never arrived; 3 twice; 200 was never fired; 0 is a spurious notification.
	if lost != 1 || dup != 2 || l.spurious != 1 {
		t.Errorf("lost %d dup %d spurious %d, want 1 2 1", lost, dup, l.spurious)
	}
}

func TestCollectAllocatesNothing(t *testing.T) {
	v := epollVariant("lt")
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
	c := &faninCollector{n: n, src: src, events: make([]notify.Event, 8)}
	c.led.reset(1 << 12)
	seq := uint64(0)
	allocs := testing.AllocsPerRun(500, func() {
		seq++
		src.busy[0].v.Store(1)
		src.fire(0, seq)
		if k, err := c.collect(time.Second); k != 1 || err != nil {
			t.Fatalf("collect = %d, %v", k, err)
		}
	})
	if allocs != 0 {
		t.Errorf("collection loop allocates %.1f per event", allocs)
	}
}

// BenchmarkFanin measures every registered variant's fan-in collection loop
// (producer on the first allowed CPU, collector on the second).
func BenchmarkFanin(b *testing.B) {
	for _, v := range all.Variants() {
		b.Run(v.Backend+"-"+v.Name, func(b *testing.B) { benchFanin(b, v) })
	}
}

func benchFanin(b *testing.B, v notify.Variant) {
	const S = 64
	cpus, _ := cpu.Allowed()
	prodCPU, consCPU := -1, -1
	if len(cpus) >= 2 {
		prodCPU, consCPU = cpus[0], cpus[1]
	}
	unpin, err := cpu.Pin(consCPU)
	if err != nil {
		b.Skip(err)
	}
	defer unpin()
	n, err := v.Open(notify.Options{MaxSources: S, HelperCPU: prodCPU, Params: v.Params})
	if notify.IsUnavailable(err) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	src, err := newSourceSet(n, v, S)
	if err != nil {
		b.Fatal(err)
	}
	defer src.close()
	orders := make(chan repOrder)
	reports := make(chan repReport, 1) // buffered: the producer reports, then wakes a sleeping consumer
	var stop atomic.Bool
	go faninProducer(prodCPU, src, n, orders, reports, &stop)
	defer close(orders)
	c := &faninCollector{n: n, src: src, events: make([]notify.Event, 256)}
	c.led.reset(uint64(b.N) + 4*S)
	sys0 := n.Syscalls()
	var waits, notes uint64
	orders <- repOrder{duration: time.Hour}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for c.led.distinct < uint64(b.N) {
		k, err := c.collect(notify.Forever)
		if err != nil {
			b.Fatal(err)
		}
		waits++
		notes += uint64(k)
	}
	el := time.Since(start)
	b.StopTimer()
	stop.Store(true)
	rep := <-reports
	// Drain what is still in flight; a Wait may return empty (the
	// producer's closing Wake), so only a second of silence is a failure.
	for idle := 0; c.led.distinct < rep.generated; {
		k, err := c.collect(100 * time.Millisecond)
		if err != nil {
			b.Fatalf("draining after the run: %v", err)
		}
		if k == 0 {
			if idle++; idle > 10 {
				b.Fatalf("draining after the run: %d of %d firings collected", c.led.distinct, rep.generated)
			}
		}
	}
	if lost, dup := c.led.settle(rep.generated); lost != 0 || dup != 0 {
		b.Fatalf("lost %d dup %d", lost, dup)
	}
	sys := n.Syscalls().Sub(sys0)
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(notes)/float64(waits), "events/wait")
	b.ReportMetric(float64(sys.Collector())/float64(b.N), "syscalls/event")
}
