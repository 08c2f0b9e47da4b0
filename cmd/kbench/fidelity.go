package main

import (
	"io"
	"time"

	"kbench/results"
	"kbench/workloads"
)

// fidelityCmd runs each kernel backend's Go fan-in beside its C twin (the
// same loop in C, raw system calls) in one invocation and reports Go/C.
func fidelityCmd(stdout, stderr io.Writer, args []string) error {
	f, cfg, variants, help, err := parseRun("fidelity", stdout, args)
	if err != nil || help {
		return err
	}
	if f.impl == "all" {
		variants = nil // every twin, "not available" where a backend is missing
	}
	ctx, stop := interruptContext()
	defer stop()
	file := &results.File{
		Schema:  results.Schema,
		Started: time.Now().UTC(),
		Env:     results.CollectEnv(append([]string{"kbench", "fidelity"}, args...), []int{cfg.ProducerCPU, cfg.ConsumerCPU}),
	}
	var quiet func()
	file.Env.Housekeeping, quiet = housekeeping(stderr, f, cfg)
	defer quiet()
	file.Results = workloads.RunFidelity(ctx, cfg, variants)
	return report(stdout, f, file, []string{workloads.Fidelity.Name}, ctx.Err() == nil)
}
