package kevent

import (
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

// testOptions leaves the hook thread unpinned: the conformance suite runs
// next to other packages' tests.
var testOptions = notify.Options{HelperCPU: -1}

func TestConformance(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			notifytest.Run(t, func() (notify.Notifier, error) { return v.Open(testOptions) })
		})
	}
}
