package workloads

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

func twinOrSkip(t *testing.T) string {
	t.Helper()
	bin, err := FaninTwin()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("C twin not built: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func twoCPUs() (int, int) {
	if cpus, _ := cpu.Allowed(); len(cpus) >= 2 {
		return cpus[0], cpus[1]
	}
	return -1, -1
}

// The epoll twin builds, runs, and accounts for every firing.
func TestFaninTwinEpoll(t *testing.T) {
	bin := twinOrSkip(t)
	p, c := twoCPUs()
	for _, mode := range []string{"epoll-lt", "epoll-et", "epoll-oneshot"} {
		r, err := runTwin(context.Background(), bin, twinArgs{mode: mode, setup: "plain", sources: 64, batch: 256,
			d: 30 * time.Millisecond, warmup: 5 * time.Millisecond, pcpu: p, ccpu: c, wait: WaitBlock})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if r.generated == 0 || r.collected != r.generated || r.eventsPerSec <= 0 || r.eventsPerWait < 1 {
			t.Errorf("%s: implausible repetition %+v", mode, r)
		}
		if mode == "epoll-oneshot" && r.syscallsPerEvent < 1 {
			t.Errorf("%s: %.3f syscalls/event, but every event costs an EPOLL_CTL_MOD", mode, r.syscallsPerEvent)
		}
	}
}

// TestTwinAtIdlePriorityFails: a twin that reports having run under another
// scheduling policy than SCHED_OTHER fails the row rather than being
// compared.
func TestTwinAtIdlePriorityFails(t *testing.T) {
	line := "rep=%d generated=5 collected=5 lost=0 dup=0 spurious=0 events_per_s=10 events_per_wait=2 " +
		"syscalls_per_event=0.5 io_syscalls_per_event=1 consumer_cpu_ns=100 producer_cpu_ns=50 consumer_sys_ns=70 " +
		"producer_sys_ns=40 consumer_nvcsw=1 consumer_nivcsw=2 producer_nvcsw=0 producer_nivcsw=3 elapsed_ns=1000000 policy=%d"
	for _, pol := range []int{0, 5} {
		script := filepath.Join(t.TempDir(), "twin")
		body := fmt.Sprintf("#!/bin/sh\necho '"+line+"'\necho '"+line+"'\n", -1, pol, 0, pol)
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := runTwin(context.Background(), script, twinArgs{mode: "epoll-et", setup: "plain", sources: 4, batch: 4,
			d: time.Millisecond, pcpu: -1, ccpu: -1, wait: WaitBlock})
		if pol == 0 && err != nil {
			t.Errorf("policy 0: %v", err)
		}
		if pol != 0 && (err == nil || !strings.Contains(err.Error(), "policy")) {
			t.Errorf("policy %d: %v, want an error naming the policy", pol, err)
		}
	}
}

func TestFaninTwinRefusesBadArguments(t *testing.T) {
	bin := twinOrSkip(t)
	_, err := runTwin(context.Background(), bin, twinArgs{mode: "kqueue", setup: "plain", sources: 4, batch: 4,
		d: time.Millisecond, pcpu: -1, ccpu: -1, wait: WaitBlock})
	if err == nil || notify.IsUnavailable(err) {
		t.Errorf("unknown mode gave %v, want a plain error", err)
	}
}

func TestParseTwinOutput(t *testing.T) {
	out := "rep=-1 generated=5 collected=5 lost=0 dup=0 spurious=0 events_per_s=10.5 events_per_wait=2 syscalls_per_event=0.5 io_syscalls_per_event=1 consumer_cpu_ns=100 producer_cpu_ns=50 consumer_sys_ns=70 producer_sys_ns=40 consumer_nvcsw=1 consumer_nivcsw=2 producer_nvcsw=0 producer_nivcsw=3 elapsed_ns=1000000 policy=0\n" +
		"rep=0 generated=9 collected=8 lost=1 dup=0 spurious=0 events_per_s=20 events_per_wait=3 syscalls_per_event=0.25 io_syscalls_per_event=1 consumer_cpu_ns=200 producer_cpu_ns=60 consumer_sys_ns=150 producer_sys_ns=45 consumer_nvcsw=4 consumer_nivcsw=5 producer_nvcsw=0 producer_nivcsw=6 elapsed_ns=2000000 policy=5\n"
	reps, err := parseTwinOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || reps[1].rep != 0 || reps[1].lost != 1 || reps[1].eventsPerSec != 20 || reps[0].consumerCPUNs != 100 ||
		reps[1].nivcsw != 11 || reps[1].elapsedNs != 2e6 || reps[1].policy != 5 {
		t.Errorf("parsed %+v", reps)
	}
	for _, bad := range []string{"rep=0 generated=x", "rep=0 nonsense", "generated=1"} {
		if _, err := parseTwinOutput([]byte(bad)); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestFidelityEpollRow(t *testing.T) {
	twinOrSkip(t)
	cfg := quickCfg()
	cfg.ProducerCPU, cfg.ConsumerCPU = twoCPUs()
	rows := RunFidelity(context.Background(), cfg, []notify.Variant{epollVariant("et")})
	if len(rows) != 1 {
		t.Fatalf("%d rows for one selected variant", len(rows))
	}
	r := rows[0]
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	s := r.Samples[0].Values
	if s["go-events/s"] <= 0 || s["c-events/s"] <= 0 || s["go/c"] <= 0 || r.Params["twin_mode"] != "epoll-et" {
		t.Errorf("values %v params %v", s, r.Params)
	}
	// Both sides report how often their threads were preempted (zero is a
	// possible count, a missing key is not).
	for _, k := range []string{"go-preemptions/s", "c-preemptions/s"} {
		if v, ok := s[k]; !ok || v < 0 {
			t.Errorf("%s = %v, %v", k, v, ok)
		}
	}
}

// Every mode of the suite runs, or says why not; none fails. The Go/C
// ratio is not checked here: -race slows only the Go side.
func TestFidelityAllModes(t *testing.T) {
	twinOrSkip(t)
	cfg := quickCfg()
	cfg.ProducerCPU, cfg.ConsumerCPU = twoCPUs()
	for _, r := range Fidelity.RunAll(context.Background(), cfg, nil) {
		switch r.Status {
		case results.StatusOK:
			st, _ := r.Summary("go/c")
			t.Logf("%s/%s: go/c %.2f", r.Backend, r.Variant, st.Median)
		case results.StatusNA, results.StatusSkipped:
			t.Logf("%s/%s: %s: %s", r.Backend, r.Variant, r.Status, r.Reason)
			if r.Status == results.StatusNA && !strings.Contains(r.Reason, "not available") {
				t.Errorf("n/a without saying what is missing: %s", r.Reason)
			}
		default:
			t.Errorf("%s/%s: %s: %s", r.Backend, r.Variant, r.Status, r.Reason)
		}
	}
}
