// Package interfere: temporary stand-in until the real meter lands.
package interfere

import (
	"context"
	"time"

	"kbench/results"
)

type Snapshot struct{ t time.Time }

func Take(cpus []int) (Snapshot, error) { return Snapshot{time.Now()}, nil }
func (s Snapshot) Since(b Snapshot) results.Interference {
	return results.Interference{WallNs: int64(s.t.Sub(b.t))}
}
func Preflight(ctx context.Context, cpus []int, window time.Duration, threshold float64) (results.Preflight, error) {
	return results.Preflight{CPUs: cpus, Quiet: true}, nil
}
func Line(p results.Preflight) string { return "busy" }
