package ringlab

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
	"kbench/notify"
)

// twoCPUs returns two CPUs this process may use, or skips.
func twoCPUs(t *testing.T) (int, int) {
	t.Helper()
	cpus, err := cpu.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skipf("need two CPUs, have %v", cpus)
	}
	return cpus[0], cpus[1]
}

// small is a short run of every design that still wraps the ring often.
func small(t *testing.T) Params {
	a, b := twoCPUs(t)
	p := Quick()
	p.ProducerCPU, p.ConsumerCPU = a, b
	p.RingSlots = 16
	p.Events = 3000
	p.Warmup = 500
	p.Reps = 2
	return p
}

func checkExactlyOnce(t *testing.T, rows []Row, p Params) {
	t.Helper()
	if want := len(p.Designs) * len(p.SlotSizes); len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		if r.Failed {
			t.Errorf("%s/%d %s batch %d: failed: %s", r.Design, r.SlotSize, r.Pattern, r.Batch, r.Reason)
			continue
		}
		if r.Received != r.Generated || r.Generated != int64(p.Events*p.Reps+p.Warmup) {
			t.Errorf("%s/%d: generated %d received %d, want %d", r.Design, r.SlotSize,
				r.Generated, r.Received, p.Events*p.Reps+p.Warmup)
		}
		if len(r.NsPerEvent) != p.Reps || len(r.EventsPerSec) != p.Reps {
			t.Errorf("%s/%d: %d samples, want %d", r.Design, r.SlotSize, len(r.NsPerEvent), p.Reps)
		}
		for _, ns := range r.NsPerEvent {
			if ns <= 0 {
				t.Errorf("%s/%d: sample %v ns/event", r.Design, r.SlotSize, ns)
			}
		}
		if r.FloorNs <= 0 || r.FloorMultiple() <= 0 {
			t.Errorf("%s/%d: floor %v", r.Design, r.SlotSize, r.FloorNs)
		}
	}
}

// TestQuick runs the Quick preset as the harness would and holds every
// row to exactly-once delivery.
func TestQuick(t *testing.T) {
	a, b := twoCPUs(t)
	p := Quick()
	p.ProducerCPU, p.ConsumerCPU = a, b
	if raceEnabled {
		p.Events, p.Warmup = 4000, 400 // the detector slows every access
	}
	rows, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rows, p)
	if got := rowDesigns(rows); !slices.Equal(got, Designs()) {
		t.Fatalf("designs %v, want %v", got, Designs())
	}
}

func rowDesigns(rows []Row) []string {
	var ds []string
	for _, r := range rows {
		if !slices.Contains(ds, r.Design) {
			ds = append(ds, r.Design)
		}
	}
	return ds
}

// TestPatterns covers lockstep, bursts with batching, every slot size and
// the same-CPU placement on a small ring.
func TestPatterns(t *testing.T) {
	base := small(t)
	cases := map[string]func(*Params){
		"lockstep":       func(p *Params) { p.Pattern = Lockstep },
		"lockstep-batch": func(p *Params) { p.Pattern, p.Batch = Lockstep, 4 },
		"burst":          func(p *Params) { p.Pattern, p.Burst, p.Batch, p.IdleGap = Burst, 24, 5, time.Microsecond },
		"stream-batch":   func(p *Params) { p.Batch, p.SlotSizes = 7, []int{16, 64} },
		"same-cpu":       func(p *Params) { p.ConsumerCPU, p.Batch, p.Events = p.ProducerCPU, 4, 1000 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			p := base
			mod(&p)
			rows, err := Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, rows, p)
		})
	}
}

// TestFaultDetected proves the exactly-once check can fail: a producer that
// skips one sequence number, or repeats one, fails every row with the count.
func TestFaultDetected(t *testing.T) {
	p := small(t)
	p.Reps = 1
	p.fault.dropAt = 77
	rows, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		// One loss in the warm-up and one in the timed repetition.
		if !r.Failed || r.Lost != 2 || r.Dup != 0 || !strings.Contains(r.Reason, "2 lost") {
			t.Errorf("drop: %s/%d failed=%v lost=%d dup=%d reason %q", r.Design, r.SlotSize, r.Failed, r.Lost, r.Dup, r.Reason)
		}
	}
	p.fault = fault{dupAt: 5}
	rows, err = Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.Failed || r.Dup != 2 || r.Lost != 0 || r.Received != r.Generated+2 {
			t.Errorf("dup: %s/%d failed=%v lost=%d dup=%d received %d of %d", r.Design, r.SlotSize,
				r.Failed, r.Lost, r.Dup, r.Received, r.Generated)
		}
	}
}

func TestParamsInvalid(t *testing.T) {
	for name, mod := range map[string]func(*Params){
		"design":  func(p *Params) { p.Designs = []string{"ownd"} },
		"pattern": func(p *Params) { p.Pattern = "bursty" },
		"size":    func(p *Params) { p.SlotSizes = []int{12} },
		"batch":   func(p *Params) { p.Batch = p.RingSlots },
		"ring":    func(p *Params) { p.RingSlots = 2 },
		"cpu":     func(p *Params) { p.ConsumerCPU = -1 },
		"pow2":    func(p *Params) { p.RingSlots = 100 },
	} {
		p := Quick()
		mod(&p)
		if _, err := Run(context.Background(), p); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("%s: Run = %v, want ErrInvalid", name, err)
		}
	}
}

func TestCancel(t *testing.T) {
	p := small(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a cancelled context = %v", err)
	}
}

func TestCacheLineRoundTrip(t *testing.T) {
	a, b := twoCPUs(t)
	ns, err := CacheLineRoundTrip(a, b, 20000)
	if err != nil {
		t.Fatal(err)
	}
	// Two cache-line transfers cannot take less than a nanosecond, and a
	// round trip of a millisecond would mean nothing was measured.
	if ns < 1 || ns > 1e6 {
		t.Fatalf("round trip %v ns", ns)
	}
	t.Logf("cache-line round trip CPU %d <-> %d: %.1f ns", a, b, ns)
	if _, err := CacheLineRoundTrip(a, a, 100); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("same CPU: %v, want ErrInvalid", err)
	}
}

func TestSuite(t *testing.T) {
	for _, quick := range []bool{false, true} {
		for _, p := range Suite(quick, 0, 1) {
			if _, err := p.withDefaults(); err != nil {
				t.Errorf("quick=%v: suite entry invalid: %v", quick, err)
			}
		}
	}
}

// TestRefusedAffinity: a CPU the kernel will not give us is the machine's
// refusal, reported as notify.ErrUnavailable with the errno.
func TestRefusedAffinity(t *testing.T) {
	p := small(t)
	p.ConsumerCPU = 1000
	_, err := Run(context.Background(), p)
	if !errors.Is(err, notify.ErrUnavailable) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Run on CPU 1000 = %v, want ErrUnavailable and EINVAL", err)
	}
}

// TestNetAndWork: with Net and work per event, every row carries the
// unchecked samples, the harness cost derived from them and the measured
// work; the unchecked runs are held to their count and checksum.
func TestNetAndWork(t *testing.T) {
	p := small(t)
	p.Net, p.WorkNs, p.WorkBytes = true, 200, 4096
	rows, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rows, p)
	for _, r := range rows {
		if len(r.NetNsPerEvent) != p.Reps || len(r.WorkMeasuredNs) != p.Reps || r.WorkNs != 200 || r.WorkBytes != 4096 {
			t.Errorf("%s/%d: net %v, work %v (asked %d ns %d B)", r.Design, r.SlotSize, r.NetNsPerEvent, r.WorkMeasuredNs, r.WorkNs, r.WorkBytes)
			continue
		}
		if r.HarnessNs != r.MedianNs()-r.NetMedianNs() {
			t.Errorf("%s: harness %v", r.Design, r.HarnessNs)
		}
		for _, w := range r.WorkMeasuredNs {
			if w <= 0 {
				t.Errorf("%s: measured work %v", r.Design, w)
			}
		}
	}
	p.fault = fault{dropAt: 9}
	p.Reps = 1
	rows, err = Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.Failed {
			t.Errorf("%s: a dropped event passed", r.Design)
		}
	}
}

func TestWantSum(t *testing.T) {
	// Two events of 16 bytes: seq, seq^8 → 0 + 8 + 1 + 9.
	if got := wantSum(2, 16); got != 18 {
		t.Fatalf("wantSum(2, 16) = %d, want 18", got)
	}
	c := consumer{}
	b := make([]byte, 16)
	for i := uint64(0); i < 2; i++ {
		fill(b, i)
		c.add(b)
	}
	if c.sum != 18 || c.received != 2 {
		t.Fatalf("add: sum %d received %d", c.sum, c.received)
	}
}

func TestParamsWorkInvalid(t *testing.T) {
	for _, mod := range []func(*Params){
		func(p *Params) { p.WorkNs = -1 },
		func(p *Params) { p.WorkNs = 1e9 + 1 },
		func(p *Params) { p.WorkBytes = 1<<30 + 1 },
	} {
		p := Quick()
		mod(&p)
		if _, err := Run(context.Background(), p); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("Run = %v, want ErrInvalid", err)
		}
	}
}
