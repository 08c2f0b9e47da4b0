package kevent

import (
	"maps"
	"testing"

	"kbench/notify"
)

// TestRingEntries: notify.Options.RingEntries becomes a ringed path's
// ring_slots (take29's commit_batch half of it), written back for the
// row; the user's ring_slots wins; the syscall path has no ring.
func TestRingEntries(t *testing.T) {
	for _, x := range []struct {
		path       Path
		params     map[string]int
		slots      int
		wantParams map[string]int
	}{
		{PathTake29, map[string]int{}, 64, map[string]int{ParamRingSlots: 64, ParamCommitBatch: 32}},
		{PathTake29, map[string]int{ParamCommitBatch: 5}, 64, map[string]int{ParamRingSlots: 64, ParamCommitBatch: 5}},
		{PathZach, map[string]int{}, 64, map[string]int{ParamRingSlots: 64}},
		{PathZach, map[string]int{ParamRingSlots: 128}, 128, map[string]int{ParamRingSlots: 128}},
		{PathSyscall, map[string]int{}, 0, map[string]int{}},
	} {
		o := notify.Options{MaxSources: 4, HelperCPU: -1, RingEntries: 64, Params: maps.Clone(x.params)}
		n, err := New(x.path, o)
		if err != nil {
			t.Fatal(err)
		}
		var slots int
		if n.u.t29buf != nil {
			slots = len(n.u.t29buf) // take29's ring: one record per slot
		} else if n.u.zring != nil {
			slots = n.u.zring.Slots()
		}
		commit := n.commitBatch
		n.Close()
		if slots != x.slots {
			t.Errorf("%v with %v: ring of %d slots, want %d", x.path, x.params, slots, x.slots)
		}
		if want, ok := x.wantParams[ParamCommitBatch]; ok && commit != want {
			t.Errorf("%v with %v: commit batch %d, want %d", x.path, x.params, commit, want)
		}
		if !maps.Equal(o.Params, x.wantParams) {
			t.Errorf("%v with %v: Params after Open %v, want %v", x.path, x.params, o.Params, x.wantParams)
		}
	}
}
