package iouring

import (
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

// TestConformance runs the suite once per results row. The two rows of a
// setup open the same Notifier (the trigger only tells workloads what to
// register), so the rows differ in the ring they create, not in coverage.
func TestConformance(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			notifytest.Run(t, func() (notify.Notifier, error) {
				return v.Open(notify.Options{MaxSources: 64, HelperCPU: -1})
			})
		})
	}
}
