package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"kbench/internal/cpu"
	"kbench/workloads"
)

// TestCPUListRoles: --cpus names the producer's CPU, then the collectors':
// the first collector is the consumer of every single-collector workload,
// and all of them are herd's waiters' (CollectorCPUs). Without --cpus the
// collectors are every CPU but the producer's, so a larger machine gives
// the waiters more CPUs with no change; --placement=same puts everything
// on the producer's CPU.
func TestCPUListRoles(t *testing.T) {
	allowed, err := cpu.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("need two CPUs: %v %v", allowed, err)
	}
	cfgOf := func(cpus, placement string) workloads.Config {
		t.Helper()
		f := runFlags{cpus: cpus, placement: placement, helper: "consumer", wait: workloads.WaitBlock, given: map[string]bool{}}
		cfg, err := f.config()
		if err != nil {
			t.Fatalf("--cpus=%q: %v", cpus, err)
		}
		return cfg
	}
	p, c := allowed[0], allowed[1]
	cfg := cfgOf(fmt.Sprintf("%d,%d,%d", p, c, p), "cross")
	if cfg.ProducerCPU != p || cfg.ConsumerCPU != c || !slices.Equal(cfg.Collectors(), []int{c, p}) {
		t.Errorf("--cpus=%d,%d,%d: producer %d consumer %d collectors %v", p, c, p, cfg.ProducerCPU, cfg.ConsumerCPU, cfg.Collectors())
	}
	cfg = cfgOf("", "cross")
	if cfg.ProducerCPU != p || cfg.ConsumerCPU != c || !slices.Equal(cfg.Collectors(), allowed[1:]) {
		t.Errorf("default: producer %d consumer %d collectors %v, want %d %d %v", cfg.ProducerCPU, cfg.ConsumerCPU, cfg.Collectors(), p, c, allowed[1:])
	}
	cfg = cfgOf("", "same")
	if cfg.ConsumerCPU != p || !slices.Equal(cfg.Collectors(), []int{p}) {
		t.Errorf("--placement=same: consumer %d collectors %v", cfg.ConsumerCPU, cfg.Collectors())
	}
}

// TestCPUListRefusals: a list naming a CPU the process may not use, even
// among the collectors, is a usage error in one line.
func TestCPUListRefusals(t *testing.T) {
	allowed, err := cpu.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("need two CPUs: %v %v", allowed, err)
	}
	bad := allowed[len(allowed)-1] + 1
	for _, cpus := range []string{fmt.Sprintf("%d,%d,%d", allowed[0], allowed[1], bad), fmt.Sprintf("%d,%d-%d", allowed[0], allowed[1], bad)} {
		f := runFlags{cpus: cpus, placement: "cross", helper: "consumer", wait: workloads.WaitBlock, given: map[string]bool{}}
		_, err := f.config()
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("--cpus=%s: %v, want a usage error", cpus, err)
		}
	}
}

// TestCPUListProducers: --cpus=PRODUCERS/COLLECTORS names the producer
// CPUs (one producer thread on each, the first every single-producer
// workload's) and the collectors'; --producers=N puts N threads on the
// producer CPUs round-robin. A list without '/' means what it always
// meant, one producer, and 0/1 is 0,1.
func TestCPUListProducers(t *testing.T) {
	allowed, err := cpu.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("need two CPUs: %v %v", allowed, err)
	}
	p, c := allowed[0], allowed[1]
	for _, tc := range []struct {
		cpus      string
		producers int // 0: not given
		prods     []int
		consumer  int
		colls     []int
	}{
		{fmt.Sprintf("%d,%d", p, c), 0, []int{p}, c, []int{c}},
		{fmt.Sprintf("%d/%d", p, c), 0, []int{p}, c, []int{c}},
		{fmt.Sprintf("%d,%d/%d", p, c, c), 0, []int{p, c}, c, []int{c}},
		{fmt.Sprintf("%d-%d/%d,%d", p, p, c, p), 0, []int{p}, c, []int{c, p}},
		{fmt.Sprintf("%d,%d", p, c), 2, []int{p, p}, c, []int{c}},
		{fmt.Sprintf("%d,%d/%d", p, c, c), 3, []int{p, c, p}, c, []int{c}},
		{"", 2, []int{p, p}, c, allowed[1:]},
	} {
		f := runFlags{cpus: tc.cpus, placement: "cross", helper: "producer", wait: workloads.WaitBlock, given: map[string]bool{}}
		if tc.producers != 0 {
			f.producers, f.given["producers"] = tc.producers, true
		}
		cfg, err := f.config()
		if err != nil {
			t.Errorf("--cpus=%s --producers=%d: %v", tc.cpus, tc.producers, err)
			continue
		}
		if cfg.ProducerCPU != tc.prods[0] || !slices.Equal(cfg.Producers(), tc.prods) || cfg.ConsumerCPU != tc.consumer ||
			!slices.Equal(cfg.Collectors(), tc.colls) || cfg.HelperCPU != tc.prods[0] {
			t.Errorf("--cpus=%s --producers=%d: producer %d producers %v consumer %d collectors %v helper %d; want producers %v consumer %d collectors %v",
				tc.cpus, tc.producers, cfg.ProducerCPU, cfg.Producers(), cfg.ConsumerCPU, cfg.Collectors(), cfg.HelperCPU, tc.prods, tc.consumer, tc.colls)
		}
	}
}

// TestCPUListProducerRefusals: bad producer syntax, a producer CPU the
// process may not use, a producer count out of its range, and several
// producers for workloads that run one are usage errors in one line that
// say what is wrong.
func TestCPUListProducerRefusals(t *testing.T) {
	allowed, err := cpu.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("need two CPUs: %v %v", allowed, err)
	}
	p, c := allowed[0], allowed[1]
	bad := allowed[len(allowed)-1] + 1
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{fmt.Sprintf("--cpus=%d/%d/%d", p, c, c)}, "more than one '/'"},
		{[]string{fmt.Sprintf("--cpus=/%d", c)}, "producer CPUs: empty CPU list"},
		{[]string{fmt.Sprintf("--cpus=%d/", p)}, "collector CPUs: empty CPU list"},
		{[]string{fmt.Sprintf("--cpus=%d+%d/%d", p, c, c)}, "producer CPUs: bad CPU"},
		{[]string{fmt.Sprintf("--cpus=%d/x", p)}, "collector CPUs: bad CPU"},
		{[]string{fmt.Sprintf("--cpus=%d,%d/%d", p, bad, c)}, fmt.Sprintf("CPU %d is not available", bad)},
		{[]string{fmt.Sprintf("--cpus=%d,%d/%d", p, c, c), "--producers=1"}, "--producers=1 is outside its range 2..64"},
		{[]string{"--producers=0"}, "--producers=0 is outside its range 1..64"},
		{[]string{"--producers=-2"}, "--producers=-2 is outside its range 1..64"},
		{[]string{"--producers=65"}, "--producers=65 is outside its range 1..64"},
		{[]string{"--producers=two"}, "invalid value"},
		{[]string{"--cpus=" + strings.Repeat(fmt.Sprintf("%d,", p), 64) + fmt.Sprint(c) + "/" + fmt.Sprint(c), "--workload=herd"}, "65 producer CPUs, more than the 64"},
		{[]string{"--producers=2"}, "2 producers (--cpus, --producers): none of the selected workloads runs several"},
		{[]string{fmt.Sprintf("--cpus=%d,%d/%d", p, c, c)}, "none of the selected workloads runs several"},
		{[]string{fmt.Sprintf("--cpus=%d,%d/%d", p, c, c), "--workload=fidelity"}, "none of the selected workloads runs several"},
	} {
		checkRefusedRun(t, []string{"--impl=epoll/et", "--workload=fanin"}, tc.args, tc.want)
	}
	// Several producers for a workload that runs them are accepted.
	_, cfg, _, _, err := parseRun("run", io.Discard, []string{"--impl=epoll/et", "--workload=herd,fanin", "--no-files", fmt.Sprintf("--cpus=%d,%d/%d", p, c, c)})
	if err != nil || !slices.Equal(cfg.Producers(), []int{p, c}) {
		t.Errorf("--workload=herd,fanin --cpus=%d,%d/%d: %v, producers %v", p, c, c, err, cfg.Producers())
	}
}
