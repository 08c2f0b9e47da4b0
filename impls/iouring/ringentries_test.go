package iouring

import (
	"maps"
	"testing"

	"kbench/notify"
)

// TestRingEntries: notify.Options.RingEntries sizes the CQ, the SQ no
// larger, and the values are written back for the row; a cq_entries in
// Params (the user's) wins and nothing is derived.
func TestRingEntries(t *testing.T) {
	v := Variants()[0]
	for _, x := range []struct {
		params     map[string]int
		sq, cq     uint32
		wantParams map[string]int
	}{
		{map[string]int{}, 64, 64, map[string]int{"cq_entries": 64, "sq_entries": 64}},
		{map[string]int{"sq_entries": 16}, 16, 64, map[string]int{"cq_entries": 64, "sq_entries": 16}},
		{map[string]int{"cq_entries": 512}, DefaultSQEntries, 512, map[string]int{"cq_entries": 512}},
	} {
		o := notify.Options{MaxSources: 4, HelperCPU: -1, RingEntries: 64, Params: maps.Clone(x.params)}
		nn, err := v.Open(o)
		if notify.IsUnavailable(err) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		n, ok := nn.(*Notifier)
		if sh, shared := nn.(*Shared); shared {
			n, ok = sh.Notifier, true
		}
		if !ok {
			t.Fatalf("%s opened a %T", v.ID(), nn)
		}
		sq, cq := n.ring.Params.SQEntries, n.ring.Params.CQEntries
		n.Close()
		if sq != x.sq || cq != x.cq || !maps.Equal(o.Params, x.wantParams) {
			t.Errorf("Params %v, RingEntries 64: ring sq=%d cq=%d, Params after %v; want sq=%d cq=%d, %v",
				x.params, sq, cq, o.Params, x.sq, x.cq, x.wantParams)
		}
	}
}
