package notifytest_test

import (
	"testing"
	"time"

	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/notify/notifytest"
)

// everyone is a "shared" instance whose every Waiter is an epoll instance
// of its own with the owner's registrations replayed: a firing returns all
// of them, whatever policy it claims.
type everyone struct {
	*epoll.Notifier
	claim notify.WakePolicy
	regs  []reg
	own   []*epoll.Notifier
}

type reg struct {
	fd  int
	tok uint64
	in  notify.Interest
	tr  notify.Trigger
}

func (e *everyone) Add(fd int, tok uint64, in notify.Interest, tr notify.Trigger) error {
	e.regs = append(e.regs, reg{fd, tok, in, tr})
	return e.Notifier.Add(fd, tok, in, tr)
}

func (e *everyone) NewWaiter() notify.Waiter {
	n, err := epoll.New()
	if err != nil {
		panic(err)
	}
	for _, r := range e.regs {
		if err := n.Add(r.fd, r.tok, r.in, r.tr); err != nil {
			panic(err)
		}
	}
	e.own = append(e.own, n)
	return n
}

func (e *everyone) WakePolicy() notify.WakePolicy { return e.claim }

func (e *everyone) Close() error {
	for _, n := range e.own {
		n.Close() // returns its blocked Wait
	}
	return e.Notifier.Close()
}

// TestSharedWaitersCheckJudgesPolicy: the shared-waiters check passes an
// instance whose firing returns every waiter when it says WakeAll, and
// fails it when it says WakeOne (the other direction, a WakeOne backend
// claiming WakeAll, is epoll's TestSharedClaimRefused).
func TestSharedWaitersCheckJudgesPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite twice")
	}
	for _, x := range []struct {
		claim notify.WakePolicy
		fails bool
	}{{notify.WakeAll, false}, {notify.WakeOne, true}} {
		f := notifytest.Failures(func() (notify.Notifier, error) {
			n, err := epoll.New()
			if err != nil {
				return nil, err
			}
			return &everyone{Notifier: n, claim: x.claim}, nil
		})
		if _, failed := f["SharedWaitersWakePolicy"]; failed != x.fails {
			t.Errorf("every waiter woken, claimed %v: check failed %v, want %v\n%s", x.claim, failed, x.fails, notifytest.Summary(f))
		}
	}
}

// miscount is a shared epoll instance whose Waiters lose (drop) or add
// (dup) one unit of the first user event they report.
type miscount struct {
	*epoll.Notifier
	dup bool
}

func (m *miscount) NewWaiter() notify.Waiter {
	return &miscounter{w: m.Notifier.NewWaiter(), dup: m.dup}
}

type miscounter struct {
	w    notify.Waiter
	dup  bool
	done bool
}

func (m *miscounter) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	k, err := m.w.Wait(ev, min, timeout)
	for i := range ev[:k] {
		if !m.done && ev[i].Kind == notify.KindUser {
			m.done = true
			if m.dup {
				ev[i].Data++
			} else {
				ev[i].Data--
			}
		}
	}
	return k, err
}

// TestSharedExactlyOnceCheckFails: the check across several waiters fails
// an instance whose Waiters lose a unit, and one whose Waiters report one
// twice, and passes the instance itself.
func TestSharedExactlyOnceCheckFails(t *testing.T) {
	for _, x := range []struct {
		name   string
		broken bool
		dup    bool
	}{{"epoll", false, false}, {"losing", true, false}, {"doubling", true, true}} {
		f := notifytest.Failures(func() (notify.Notifier, error) {
			n, err := epoll.New()
			if err != nil || !x.broken {
				return n, err
			}
			return &miscount{Notifier: n, dup: x.dup}, nil
		}, "SharedWaitersExactlyOnce")
		if _, failed := f["SharedWaitersExactlyOnce"]; failed != x.broken {
			t.Errorf("%s: check failed %v, want %v\n%s", x.name, failed, x.broken, notifytest.Summary(f))
		}
	}
}
