package epoll

import (
	"errors"
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

// TestGroupWakePolicy: epoll instances watching one eventfd are all woken
// by its firing, unless each registered it with EPOLLEXCLUSIVE.
func TestGroupWakePolicy(t *testing.T) {
	for _, x := range []struct {
		name      string
		exclusive int
		policy    notify.WakePolicy
	}{{"plain", 0, notify.WakeAll}, {"exclusive", 1, notify.WakeOne}} {
		notifytest.RunGroup(t, x.name, func(W int) ([]notify.Notifier, notify.WakePolicy, func(), error) {
			return openGroup(W, x.exclusive, x.policy)
		})
	}
}

func openGroup(W, exclusive int, policy notify.WakePolicy) ([]notify.Notifier, notify.WakePolicy, func(), error) {
	var ns []notify.Notifier
	closeAll := func() {
		for _, n := range ns {
			n.Close()
		}
	}
	for range W {
		n, err := NewWith(notify.Options{Params: map[string]int{ParamExclusive: exclusive}})
		if err != nil {
			closeAll()
			return nil, 0, nil, err
		}
		ns = append(ns, n)
	}
	return ns, policy, closeAll, nil
}

// TestGroupClaimRefused: the check fails a group that claims the policy
// it does not have, in both directions.
func TestGroupClaimRefused(t *testing.T) {
	for _, x := range []struct {
		exclusive int
		claim     notify.WakePolicy
	}{{0, notify.WakeOne}, {1, notify.WakeAll}} {
		f := notifytest.GroupFailures(func(W int) ([]notify.Notifier, notify.WakePolicy, func(), error) {
			return openGroup(W, x.exclusive, x.claim)
		})
		if len(f) == 0 {
			t.Errorf("exclusive=%d claimed as %v passed the group check", x.exclusive, x.claim)
		}
	}
}

// TestExclusiveRefusals: EPOLLEXCLUSIVE takes neither ONESHOT nor a
// modification, and says so as unsupported.
func TestExclusiveRefusals(t *testing.T) {
	n, err := NewWith(notify.Options{Params: map[string]int{ParamExclusive: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Add(0, 1, notify.Readable, notify.Oneshot); !isUnsupported(err) {
		t.Errorf("exclusive oneshot Add: %v, want ErrUnsupported", err)
	}
	if err := n.Modify(0, 1, notify.Readable, notify.Edge); !isUnsupported(err) {
		t.Errorf("exclusive Modify: %v, want ErrUnsupported", err)
	}
	if _, err := NewWith(notify.Options{Params: map[string]int{ParamExclusive: 2}}); err == nil {
		t.Errorf("exclusive=2 accepted")
	}
}

func isUnsupported(err error) bool { return errors.Is(err, errors.ErrUnsupported) }

// wakeAllClaim is epoll claiming that a firing wakes every waiter of an
// instance.
type wakeAllClaim struct{ *Notifier }

func (wakeAllClaim) WakePolicy() notify.WakePolicy { return notify.WakeAll }

// TestSharedClaimRefused: the conformance check of shared waiters fails a
// backend that claims a policy it does not have, and passes the honest one.
func TestSharedClaimRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	f := notifytest.Failures(func() (notify.Notifier, error) { n, err := New(); return wakeAllClaim{n}, err })
	if _, ok := f["SharedWaitersWakePolicy"]; !ok {
		t.Errorf("the suite passed epoll claiming WakeAll for one instance:\n%s", notifytest.Summary(f))
	}
}
