package workloads

import (
	"fmt"
	"math"
	"sort"

	"kbench/internal/cpu"

	"kbench/notify"
	"kbench/results"
)

// The three verdicts a row can get without a measurement, each in one
// place: skipped (the machine refused the mechanism), n/a (the backend
// cannot do what the workload needs), failed (anything else). The engine
// (engine.go) closes a row to further trials on any of them.

// notApplicable: the backend cannot do what the workload needs; reason says
// what.
func notApplicable(r results.Result, reason string) results.Result {
	r.Status, r.Reason = results.StatusNA, reason
	return r
}

func skip(r results.Result, err error) results.Result {
	r.Status, r.Reason = results.StatusSkipped, err.Error()
	return r
}

// skipOrFail: a kernel refusal skips the row; anything else fails it.
func skipOrFail(r results.Result, err error) results.Result {
	if notify.IsUnavailable(err) {
		return skip(r, err)
	}
	return fail(r, err)
}

// fail marks a row failed, except when the machine refused a resource or a
// call (file descriptors, a system call a seccomp filter forbids: refusal):
// that skips the row, with the reason, in every workload alike.
func fail(r results.Result, err error) results.Result {
	if why, ok := refusal(err); ok {
		return skip(r, why)
	}
	r.Status, r.Reason = results.StatusFailed, err.Error()
	return r
}

// finish marks a row failed when any repetition lost or duplicated a
// firing, or holds a value that is not a finite number (a rate over no
// time, a ratio of nothing): a result never carries NaN or Inf.
func finish(r results.Result) results.Result {
	if r.Status != "" {
		return r
	}
	bad := ""
	for _, s := range r.Samples {
		names := make([]string, 0, len(s.Values))
		for k := range s.Values {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if v := s.Values[k]; math.IsNaN(v) || math.IsInf(v, 0) {
				if bad == "" {
					bad = fmt.Sprintf("repetition %d measured %s = %v: not a finite number", s.Rep, k, v)
				}
				// JSON has no encoding for NaN or Inf: the value goes, the
				// row says why.
				delete(s.Values, k)
			}
		}
	}
	if bad != "" {
		r.Status, r.Reason = results.StatusFailed, bad
		return r
	}
	_, _, lost, dup := r.Totals()
	if lost != 0 || dup != 0 {
		r.Status = results.StatusFailed
		r.Reason = fmt.Sprintf("exactly-once violated: %d lost, %d duplicated", lost, dup)
		return r
	}
	if len(r.Samples) == 0 {
		r.Status = results.StatusFailed
		if r.Reason == "" {
			r.Reason = "no repetition completed"
		}
		return r
	}
	r.Status = results.StatusOK
	return r
}

// openPinned pins the calling goroutine to the consumer CPU, opens the
// variant there (io_uring's SINGLE_ISSUER binds the ring to its creator) and
// registers S numbered sources. On success release undoes all of it; on
// failure it returns the row to report (skipped, failed or n/a) instead.
func openPinned(res results.Result, v notify.Variant, cfg Config, S int) (n notify.Notifier, src *sourceSet, release func(), failed *results.Result) {
	return openPinnedSized(res, v, cfg, S, S)
}

// openPinnedSized is openPinned with the backend sized (AIO context, ring)
// for maxSources sources, of which S are the numbered fd sources.
func openPinnedSized(res results.Result, v notify.Variant, cfg Config, S, maxSources int) (n notify.Notifier, src *sourceSet, release func(), failed *results.Result) {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		r := skip(res, fmt.Errorf("pin consumer: %w", err))
		return nil, nil, nil, &r
	}
	n, err = v.Open(cfg.options(v, maxSources))
	if err != nil {
		unpin()
		r := skipOrFail(res, fmt.Errorf("open %s: %w", v.ID(), err))
		return nil, nil, nil, &r
	}
	if !n.Caps().Triggers.Has(v.Trigger) {
		n.Close()
		unpin()
		res = notApplicable(res, fmt.Sprintf("backend does not support trigger %v", v.Trigger))
		return nil, nil, nil, &res
	}
	noteEmulated(res.Params, n) // the caller's map
	if src, err = newSourceSet(n, v, S); err != nil {
		n.Close()
		unpin()
		r := fail(res, err)
		return nil, nil, nil, &r
	}
	return n, src, func() { src.close(); n.Close(); unpin() }, nil
}
