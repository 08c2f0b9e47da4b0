package workloads

import (
	"fmt"

	"kbench/notify"
	"kbench/results"
)

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

func fail(r results.Result, err error) results.Result {
	r.Status, r.Reason = results.StatusFailed, err.Error()
	return r
}

// finish marks a row failed when any repetition lost or duplicated a firing.
func finish(r results.Result) results.Result {
	if r.Status != "" {
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
