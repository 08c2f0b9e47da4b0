package workloads

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/impls/epoll"
	"kbench/internal/clock"
	"kbench/notify"
	"kbench/results"
)

func TestLatencyEpollQuick(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			cfg := quickCfg()
			cfg.Duration = 60 * time.Millisecond // 20 ms a load point
			r := Latency.Run(context.Background(), v, cfg)
			if r.Status != results.StatusOK {
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			checkAccounting(t, &r, 2)
			for _, s := range r.Samples {
				capacity := s.Values["capacity/s"]
				if capacity <= 0 {
					t.Fatalf("capacity %v", capacity)
				}
				var counted int64
				for _, l := range latencyLoads {
					x := "@" + strconv.Itoa(l) + "%"
					if _, ok := s.Values["p50-ns"+x]; !ok && s.Values["saturated"+x] == 1 {
						// A producer descheduled for the whole window (a
						// loaded machine) fires nothing: honest, flagged.
						t.Logf("rep %d: nothing fired at %s (achieved-ratio %v)", s.Rep, x, s.Values["achieved-ratio"+x])
						continue
					}
					checkPercentiles(t, s.Values, "", x)
					checkPercentiles(t, s.Values, "raw-", x)
					// Each firing's latency from its intended time is at
					// least the one from its actual time, so every
					// percentile is too (same histogram geometry).
					for _, q := range []string{"p50", "p99", "max"} {
						if c, raw := s.Values[q+"-ns"+x], s.Values["raw-"+q+"-ns"+x]; raw > c {
							t.Errorf("%s%s: uncorrected %v above corrected %v", q, x, raw, c)
						}
					}
					if want := capacity * float64(l) / 100; math.Abs(s.Values["target/s"+x]-want) > 1e-6*want {
						t.Errorf("target/s%s = %v, want %v", x, s.Values["target/s"+x], want)
					}
					if a := s.Values["achieved-ratio"+x]; a <= 0 || a > 1 {
						t.Errorf("achieved-ratio%s = %v", x, a)
					}
					if sat := s.Values["saturated"+x]; (sat == 1) != (s.Values["achieved-ratio"+x] < saturatedBelow) {
						t.Errorf("saturated%s = %v with achieved-ratio %v", x, sat, s.Values["achieved-ratio"+x])
					}
					h := decodeHist(t, s.Histograms["latency"+x])
					if raw := decodeHist(t, s.Histograms["raw"+x]); raw.TotalCount() != h.TotalCount() {
						t.Errorf("%s: %d corrected and %d raw latencies", x, h.TotalCount(), raw.TotalCount())
					}
					counted += h.TotalCount()
				}
				if uint64(counted) != s.Collected {
					t.Errorf("histograms hold %d latencies for %d collected firings", counted, s.Collected)
				}
			}
		})
	}
}

// stallOnce sleeps once, inside the after-th Wait, holding up collection
// the way a descheduled consumer would.
type stallOnce struct {
	notify.Notifier
	after, calls int
	stall        time.Duration
}

func (s *stallOnce) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	if s.calls++; s.calls == s.after {
		time.Sleep(s.stall)
	}
	return s.Notifier.Wait(ev, min, timeout)
}

// A consumer stalled for 50 ms while the producer keeps its schedule:
// the firings intended during the stall are held back (their sources are
// all outstanding), go out late and are collected quickly. Measured from
// the intended time they carry the stall; from the actual time only the
// few fired before the sources ran out do.
func TestLatencyCoordinatedOmission(t *testing.T) {
	const stall = 50 * time.Millisecond
	v := epollVariant("lt")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return &stallOnce{Notifier: n, after: 100, stall: stall}, err
	}
	cfg := quickCfg()
	cfg.Duration, cfg.Warmup, cfg.Reps = 300*time.Millisecond, 0, 1
	cfg.Params = map[string]int{"rate": 20000, "poisson": 0, "sources": 4}
	r := Latency.Run(context.Background(), v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	checkAccounting(t, &r, 1)
	vals := r.Samples[0].Values
	corr, raw := vals["p99-ns@rate"], vals["raw-p99-ns@rate"]
	t.Logf("p99 corrected %v ns, uncorrected %v ns; max %v, %v; producer late p99 %v", corr, raw, vals["max-ns@rate"], vals["raw-max-ns@rate"], vals["late-p99-ns@rate"])
	if corr < float64(stall)*8/10 {
		t.Errorf("corrected p99 %v ns: the %v stall does not show", corr, stall)
	}
	if vals["max-ns@rate"] < float64(stall)*9/10 {
		t.Errorf("corrected max %v ns below the %v stall", vals["max-ns@rate"], stall)
	}
	// The stall hides from the uncorrected figure (coordinated omission).
	// On a quiet machine it stays far below the stall; on a loaded one the
	// machine's own delays reach it too, so the check is relative: the
	// correction must at least double the p99 (without it the two agree).
	if raw > corr/2 {
		t.Errorf("uncorrected p99 %v ns against corrected %v ns: the stall should hide from it", raw, corr)
	}
}

func TestLatencyRejectsBadParams(t *testing.T) {
	cfg := quickCfg()
	cfg.Params = map[string]int{"poisson": 2}
	if r := Latency.Run(context.Background(), epollVariant("lt"), cfg); r.Status != results.StatusFailed {
		t.Errorf("poisson=2 gave status %s", r.Status)
	}
}

func TestMakeSchedule(t *testing.T) {
	buf := make([]int64, 5000)
	offs := makeSchedule(buf, 1e5, 10*time.Millisecond, false, nil)
	if len(offs) != 1000 || offs[0] != 0 || offs[1] != 10000 || offs[999] != 9990000 {
		t.Errorf("constant: %d firings, %v … %v", len(offs), offs[:2], offs[len(offs)-1])
	}
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
	offs = makeSchedule(buf, 1e5, 30*time.Millisecond, true, rng())
	// 3000 expected, standard deviation √3000 ≈ 55.
	if len(offs) < 2700 || len(offs) > 3300 {
		t.Errorf("poisson: %d firings in 30 ms at 100k/s", len(offs))
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] || offs[i] >= int64(30*time.Millisecond) {
			t.Fatalf("poisson: offset %d = %d after %d", i, offs[i], offs[i-1])
		}
	}
	again := makeSchedule(make([]int64, 5000), 1e5, 30*time.Millisecond, true, rng())
	if len(again) != len(offs) || again[len(again)-1] != offs[len(offs)-1] {
		t.Errorf("the same seed gave a different schedule")
	}
	if full := makeSchedule(buf[:0:10], 1e6, time.Second, false, nil); len(full) != 10 {
		t.Errorf("a full buffer gave %d offsets", len(full))
	}
}

// The producer's firing step and the collector's loop body, back to back.
func TestOpenLoopAllocatesNothing(t *testing.T) {
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
	const runs = 500
	o := &openOrder{stamps: make([]stamp, runs+2)}
	var stop atomic.Bool
	p := &openProducer{src: src, stop: &stop}
	c := &timedCollector{n: n, src: src, events: make([]notify.Event, 8), stamps: o.stamps,
		corr: newHist(), raw: newHist(), late: newHist(), levelBase: math.MaxUint64}
	c.led.reset(runs + 2)
	k := 0
	end := clock.Now() + int64(time.Hour)
	allocs := testing.AllocsPerRun(runs, func() {
		due := clock.Now()
		if !p.await(due, end) {
			t.Fatal("await gave up")
		}
		i, ok := p.freeSource(end)
		if !ok {
			t.Fatal("no free source")
		}
		if err := p.fire(o, k, i, due); err != nil {
			t.Fatal(err)
		}
		k++
		if got, err := c.collect(time.Second); got != 1 || err != nil {
			t.Fatalf("collect = %d, %v", got, err)
		}
	})
	if allocs != 0 {
		t.Errorf("firing and collecting allocate %.1f per event", allocs)
	}
	if lost, dup := c.led.settle(uint64(k)); lost != 0 || dup != 0 || c.corr.TotalCount() != int64(k) {
		t.Errorf("lost %d dup %d, %d latencies for %d firings", lost, dup, c.corr.TotalCount(), k)
	}
}

// checkAccounting: every repetition fired something and collected exactly
// what it fired.
func checkAccounting(t *testing.T, r *results.Result, reps int) {
	t.Helper()
	gen, col, lost, dup := r.Totals()
	if gen == 0 || gen != col || lost != 0 || dup != 0 {
		t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
	}
	if len(r.Samples) != reps {
		t.Errorf("%d samples, want %d", len(r.Samples), reps)
	}
	for _, s := range r.Samples {
		if s.Generated == 0 || s.Collected != s.Generated {
			t.Errorf("rep %d: generated %d collected %d", s.Rep, s.Generated, s.Collected)
		}
	}
	names := map[string]bool{}
	for _, u := range r.Units {
		names[u.Name] = true
	}
	for _, s := range r.Samples {
		for k := range s.Values {
			if !names[k] {
				t.Errorf("value %q has no unit", k)
			}
		}
	}
}

// checkPercentiles: all present, positive, ordered.
func checkPercentiles(t *testing.T, vals map[string]float64, prefix, suffix string) {
	t.Helper()
	last := 0.0
	for _, q := range []string{"p50", "p90", "p99", "p99.9", "max"} {
		name := prefix + q + "-ns" + suffix
		x, ok := vals[name]
		if !ok || x <= 0 || x < last {
			t.Errorf("%s = %v (present %v), previous percentile %v", name, x, ok, last)
		}
		last = x
	}
	// A collection takes a system call; nothing on this machine is a
	// nanosecond, nor (outside a stall) a minute.
	if p50 := vals[prefix+"p50-ns"+suffix]; p50 < 50 || p50 > 60e9 {
		t.Errorf("%sp50-ns%s = %v ns is implausible", prefix, suffix, p50)
	}
}

func decodeHist(t *testing.T, s string) *hdrhistogram.Histogram {
	t.Helper()
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode histogram: %v", err)
	}
	return h
}

// skipAllocsUnderRace: the race detector's instrumentation makes buffers
// passed to system calls escape, so allocation counts only mean something
// in a normal build.
func skipAllocsUnderRace(t *testing.T) {
	t.Helper()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("built with -race, whose instrumentation allocates: run without -race to count allocations")
			}
		}
	}
}

func TestHistHelpers(t *testing.T) {
	a, b := newHist(), newHist()
	record(a, -5)        // clamped to 0
	record(a, 2*histMax) // clamped to the top, not dropped
	for i := int64(1); i <= 1000; i++ {
		record(b, i*1000)
	}
	if err := mergeHist(a, b); err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	putPercentiles(vals, a, "x-", "@y")
	if a.TotalCount() != 1002 || vals["x-max-ns@y"] < float64(histMax)*0.999 || math.Abs(vals["x-p50-ns@y"]-500000) > 500 {
		t.Errorf("count %d, values %v", a.TotalCount(), vals)
	}
	if len(vals) != len(percentileUnits("x-", "@y")) {
		t.Errorf("%d values for %d units", len(vals), len(percentileUnits("x-", "@y")))
	}
	enc, err := encodeHist(a)
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeHist(t, enc); d.TotalCount() != a.TotalCount() || d.Max() != a.Max() {
		t.Errorf("decoded %d values, max %d; encoded %d, max %d", d.TotalCount(), d.Max(), a.TotalCount(), a.Max())
	}
	empty := map[string]float64{}
	if putPercentiles(empty, newHist(), "", ""); len(empty) != 0 {
		t.Errorf("an empty histogram gave %v", empty)
	}
}
