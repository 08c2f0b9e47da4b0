package workloads

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/results"
)

func TestScalePoints(t *testing.T) {
	for nmax, want := range map[int]string{
		50: "[50]", 100: "[100]", 1000: "[100 1000]", 10000: "[100 1000 10000]",
		100000: "[100 1000 10000 100000]", 20000: "[100 1000 10000 20000]",
	} {
		if got := fmt.Sprint(scalePoints(nmax)); got != want {
			t.Errorf("scalePoints(%d) = %s, want %s", nmax, got, want)
		}
	}
}

func TestScaleEpollExactlyOnce(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Scale.Run(context.Background(), v, quickCfg())
			if r.Status != results.StatusOK || r.Reason != "" {
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
				for _, n := range []int{100, 1000} {
					for _, m := range scaleMetrics {
						if x := s.Values[scaleMetric(m.Name, n)]; !(x > 0) {
							t.Errorf("rep %d: %s = %v", s.Rep, scaleMetric(m.Name, n), x)
						}
					}
				}
				// epoll: one epoll_ctl per operation, the flushing Waits aside.
				if x := s.Values["reg-syscalls/op@1000"]; x < 1 || x > 1.01 {
					t.Errorf("reg-syscalls/op@1000 = %v, want 1 (+ three flushes)", x)
				}
			}
			if _, ok := r.Params["n@1000"]; ok {
				t.Errorf("N=1000 reported capped: %v", r.Params)
			}
		})
	}
}

// refuseAbove is a variant whose mechanism the machine refuses for large
// contexts, as fs.aio-max-nr refuses io_setup.
func refuseAbove(v notify.Variant, limit int) notify.Variant {
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		if o.MaxSources > limit {
			return nil, fmt.Errorf("io_setup(%d): %w: %w", o.MaxSources, unix.EAGAIN, notify.ErrUnavailable)
		}
		return open(o)
	}
	return v
}

func TestScaleSkipsARefusedPoint(t *testing.T) {
	cfg := quickCfg()
	cfg.Reps, cfg.Warmup = 1, 0
	r := Scale.Run(context.Background(), refuseAbove(epollVariant("lt"), 500), cfg)
	if r.Status != results.StatusOK || !strings.Contains(r.Reason, "N=1000 skipped") || !strings.Contains(r.Reason, "EAGAIN") && !strings.Contains(r.Reason, "resource temporarily unavailable") {
		t.Fatalf("status %s (%s), want ok with N=1000 skipped and the kernel's reason", r.Status, r.Reason)
	}
	if _, ok := r.Samples[0].Values["adds/s@100"]; !ok {
		t.Errorf("N=100 not measured: %v", r.Samples[0].Values)
	}
	if _, ok := r.Samples[0].Values["adds/s@1000"]; ok {
		t.Errorf("the refused N=1000 has values")
	}
	r = Scale.Run(context.Background(), refuseAbove(epollVariant("lt"), 50), cfg)
	if r.Status != results.StatusSkipped {
		t.Errorf("every point refused gave status %s (%s), want skipped", r.Status, r.Reason)
	}
}

func TestNoFileBudgetRaisesTheSoftLimit(t *testing.T) {
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	open, err := countOpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	low := uint64(open + fdHeadroom + 100)
	if orig.Max < low+2000 {
		t.Skipf("RLIMIT_NOFILE hard limit %d is too low to test raising", orig.Max)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: low, Max: orig.Max}); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &orig)
	l, err := noFileBudget(1000)
	if err != nil {
		t.Fatal(err)
	}
	var now unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &now)
	if l.avail != 1000 || l.raisedFrom != low || now.Cur < low+900 || now.Cur != l.soft || now.Max != orig.Max {
		t.Errorf("budget %+v, limit now %+v; want 1000 available, soft raised from %d", l, now, low)
	}
}

func TestNoFileBudgetReportsTheCap(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	want := int(lim.Max) + 10
	l, err := noFileBudget(want)
	if err != nil {
		t.Fatal(err)
	}
	note := l.capNote(0, want)
	if l.avail >= want || l.soft != lim.Max || !strings.Contains(note, "hard limit "+strconv.FormatUint(lim.Max, 10)) {
		t.Errorf("asking for %d past the hard limit %d: %+v, %q", want, lim.Max, l, note)
	}
}

// The cap end to end needs a low hard limit, which a process cannot raise
// again: the test runs itself in a child that lowers its own.
func TestScaleReportsAnFDCap(t *testing.T) {
	const env = "KBENCH_SCALE_CAP_CHILD"
	if os.Getenv(env) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScaleReportsAnFDCap$", "-test.v")
		cmd.Env = append(os.Environ(), env+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	open, err := countOpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(open + fdHeadroom + 300)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	cfg := quickCfg()
	cfg.Reps, cfg.Warmup = 1, 0
	cfg.Params = map[string]int{"n_max": 10000}
	r := Scale.Run(context.Background(), epollVariant("lt"), cfg)
	used, _ := strconv.Atoi(r.Params["n@1000"])
	if r.Status != results.StatusOK || !strings.Contains(r.Reason, "N=1000 capped to") || !strings.Contains(r.Reason, "RLIMIT_NOFILE") || used < 100 || used >= 1000 {
		t.Fatalf("status %s (%s), params %v; want ok, N=1000 capped by RLIMIT_NOFILE", r.Status, r.Reason, r.Params)
	}
	if !strings.Contains(r.Reason, "N=10000 not run") {
		t.Errorf("reason %q does not say the 10k point was not run", r.Reason)
	}
	if x := r.Samples[0].Values["adds/s@1000"]; !(x > 0) {
		t.Errorf("the capped point was not measured: %v", r.Samples[0].Values)
	}
	t.Logf("%s", r.Reason)
}

func TestEventfdPoolReusesAndDrains(t *testing.T) {
	a, err := efdPool.get(8)
	if err != nil {
		t.Fatal(err)
	}
	if !a.pooled || len(a.fds) != 8 {
		t.Fatalf("lease %+v", a)
	}
	// A second borrower while the first holds the pool gets its own fds.
	b, err := efdPool.get(4)
	if err != nil {
		t.Fatal(err)
	}
	if b.pooled || len(b.fds) != 4 || b.fds[0] == a.fds[0] {
		t.Errorf("concurrent lease %+v shares the pool's fds %v", b, a.fds)
	}
	efdPool.put(b, nil)
	if _, err := unix.FcntlInt(uintptr(b.fds[0]), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("a private lease's fd is still open after put: %v", err)
	}
	one := [8]byte{1}
	unix.Write(a.fds[3], one[:])
	first := a.fds[0]
	efdPool.put(a, a.fds[3:4])
	c, err := efdPool.get(8)
	if err != nil {
		t.Fatal(err)
	}
	defer efdPool.put(c, nil)
	if !c.pooled || c.fds[0] != first {
		t.Errorf("the pool did not lend its fds again: %v, had %d", c.fds, first)
	}
	var buf [8]byte
	if _, err := unix.Read(c.fds[3], buf[:]); err != unix.EAGAIN {
		t.Errorf("a dirty fd came back undrained: read %v %v", buf, err)
	}
}

// The registration loops add nothing of their own to the backend's cost:
// epoll's Modify allocates nothing, and neither does the loop around it.
func TestScaleModifyLoopAllocatesNothing(t *testing.T) {
	v := epollVariant("oneshot")
	n, err := v.Open(notify.Options{MaxSources: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	lease, err := efdPool.get(64)
	if err != nil {
		t.Fatal(err)
	}
	defer efdPool.put(lease, nil)
	p := newScalePoint(v, 64, 64, 4)
	p.nt, p.fds, p.events = n, lease.fds[:64], make([]notify.Event, 8)
	if err := p.addAll(); err != nil {
		t.Fatal(err)
	}
	defer p.removeAll()
	if allocs := testing.AllocsPerRun(50, func() {
		if err := p.modifyAll(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("modifying 64 sources allocates %.1f times", allocs)
	}
}
