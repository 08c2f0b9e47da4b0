package main

import (
	"errors"
	"fmt"
	"slices"
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
