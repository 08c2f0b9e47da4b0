package workloads

import (
	"context"
	"testing"

	"kbench/notify"
	"kbench/results"
)

// claimsEmulated is epoll saying its fd readiness is emulated.
type claimsEmulated struct{ notify.Notifier }

func (c claimsEmulated) Caps() notify.Caps {
	caps := c.Notifier.Caps()
	caps.Emulated = true
	return caps
}

// TestEmulatedFromCaps: a row says emulated when the opened instance's
// Caps do, and never because of the variant's Note.
func TestEmulatedFromCaps(t *testing.T) {
	cfg := quickCfg()
	cfg.Warmup, cfg.Reps = 0, 1
	for _, w := range []Workload{Fanin, Overflow} {
		noted := epollVariant("et")
		noted.Note = "emulated: only in its note"
		if r := w.Run(context.Background(), noted, cfg); r.Status != results.StatusOK || r.Params["emulated"] != "" {
			t.Errorf("%s: a Note starting with emulated: status %s (%s), emulated=%q; want ok and not emulated",
				w.Name, r.Status, r.Reason, r.Params["emulated"])
		}
		claimed := epollVariant("et")
		open := claimed.Open
		claimed.Open = func(o notify.Options) (notify.Notifier, error) {
			n, err := open(o)
			if err != nil {
				return nil, err
			}
			return claimsEmulated{n}, nil
		}
		if r := w.Run(context.Background(), claimed, cfg); r.Status != results.StatusOK || r.Params["emulated"] != "true" {
			t.Errorf("%s: Caps.Emulated: status %s (%s), emulated=%q; want ok and emulated=true",
				w.Name, r.Status, r.Reason, r.Params["emulated"])
		}
	}
}
