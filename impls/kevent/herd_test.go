package kevent

import (
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

// TestGroupWakePolicy: queues of one Kernel watching one eventfd. First
// waker only: its firing readies the first queue's kevent alone;
// KEVENT_REQ_WAKEUP_ALL: every queue's.
func TestGroupWakePolicy(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		for _, x := range []struct {
			name    string
			wakeAll int
			policy  notify.WakePolicy
		}{{"first", 0, notify.WakeOne}, {"all", 1, notify.WakeAll}} {
			notifytest.RunGroup(t, p.String()+"-"+x.name, func(W int) ([]notify.Notifier, notify.WakePolicy, func(), error) {
				return openGroup(p, W, x.wakeAll, x.policy)
			})
		}
	}
}

func openGroup(p Path, W, wakeAll int, policy notify.WakePolicy) ([]notify.Notifier, notify.WakePolicy, func(), error) {
	k := NewKernel(-1)
	var ns []notify.Notifier
	closeAll := func() {
		for _, n := range ns {
			n.Close()
		}
		k.Close()
	}
	for range W {
		n, err := k.Open(p, notify.Options{Params: map[string]int{ParamWakeupAll: wakeAll}})
		if err != nil {
			closeAll()
			return nil, 0, nil, err
		}
		ns = append(ns, n)
	}
	return ns, policy, closeAll, nil
}

// TestGroupClaimRefused: the group check fails queues claiming the policy
// they do not have.
func TestGroupClaimRefused(t *testing.T) {
	for _, x := range []struct {
		wakeAll int
		claim   notify.WakePolicy
	}{{0, notify.WakeAll}, {1, notify.WakeOne}} {
		f := notifytest.GroupFailures(func(W int) ([]notify.Notifier, notify.WakePolicy, func(), error) {
			return openGroup(PathSyscall, W, x.wakeAll, x.claim)
		})
		if len(f) == 0 {
			t.Errorf("wakeup_all=%d claimed as %v passed the group check", x.wakeAll, x.claim)
		}
	}
}
