package main

import (
	"io"

	"kbench/workloads"
)

// fidelityCmd runs each kernel backend's Go fan-in beside its C twin (the
// same loop in C, raw system calls) in one invocation and reports Go/C.
func fidelityCmd(stdout, stderr io.Writer, args []string) error {
	f, cfg, variants, help, err := parseRun("fidelity", stdout, args)
	if err != nil || help {
		return err
	}
	return measure(stdout, stderr, append([]string{"fidelity"}, args...), f, cfg, []workloads.Workload{workloads.Fidelity}, variants)
}
