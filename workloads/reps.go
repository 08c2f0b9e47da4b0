package workloads

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"kbench/results"
)

// repLoop is how a trial runs its repetitions once everything is set up:
// a warm-up of cfg.Warmup (repetition -1; none when it is 0), then
// cfg.Reps metered repetitions of cfg.Duration (the engine's trials ask
// for one). The workloads that share it differ only in the fields below.
type repLoop struct {
	// half: repetitions and warm-up of half the configured length, at
	// least a millisecond (churn, overflow: their repetitions do more per
	// unit of time than a fan-in's).
	half bool
	// stop, when set, is raised while Ctrl-C interrupts a repetition (the
	// producer watches it and ends the repetition early) and lowered after.
	stop *atomic.Bool
	// keepReason: an interruption appends "interrupted" to the row's
	// reason instead of replacing it (overflow's reason may already say
	// that its burst was capped).
	keepReason bool
	// failWarmup: a warm-up that lost or duplicated firings fails the row
	// with that reason. Otherwise its sample is kept as evidence, no more
	// repetitions run, and the row is judged from its samples.
	failWarmup bool
}

// repFunc runs one repetition of d (rep -1: the warm-up) and returns its
// sample and whether it is clean: nothing lost, duplicated or, for the
// workloads that check more, stale.
type repFunc func(rep int, d time.Duration) (s results.Sample, clean bool, err error)

// run runs the repetitions, appending each kept sample to res with its
// repetition's number. It returns false when the row is settled (failed,
// by an error or a broken warm-up): res then holds the verdict.
func (l repLoop) run(ctx context.Context, cfg Config, res *results.Result, one repFunc) bool {
	length := func(d time.Duration) time.Duration {
		if l.half {
			return max(d/2, time.Millisecond)
		}
		return d
	}
	for rep := -1; rep < cfg.Reps; rep++ { // rep -1 is the warm-up
		d := length(cfg.Duration)
		if rep < 0 {
			if cfg.Warmup <= 0 {
				continue
			}
			d = length(cfg.Warmup)
		}
		if ctx.Err() != nil {
			if l.keepReason {
				res.Reason = strings.TrimPrefix(res.Reason+"; interrupted", "; ")
			} else {
				res.Reason = "interrupted"
			}
			break
		}
		var stopWatch func() bool
		if l.stop != nil {
			stopWatch = context.AfterFunc(ctx, func() { l.stop.Store(true) })
		}
		s, clean, err := one(rep, d)
		if l.stop != nil {
			stopWatch()
			l.stop.Store(false)
		}
		if err != nil {
			*res = fail(*res, err)
			return false
		}
		s.Rep = rep
		if rep < 0 {
			if clean {
				continue // a clean warm-up is discarded
			}
			res.Samples = append(res.Samples, s) // a broken one is kept as evidence
			if l.failWarmup {
				*res = fail(*res, fmt.Errorf("warm-up lost %d and duplicated %d firings", s.Lost, s.Dup))
				return false
			}
			break
		}
		res.Samples = append(res.Samples, s)
	}
	return true
}
