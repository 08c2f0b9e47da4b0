package notifytest_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/notify/notifytest"
)

// Broken source kinds: each wraps epoll and breaks one promise of
// notify.KindSources; the per-kind checks must name the one it breaks.

// earlyTimer arms relative timers at a quarter of their delay and absolute
// ones 50ms before their deadline.
type earlyTimer struct{ *epoll.Notifier }

func (e earlyTimer) AddTimer(s notify.TimerSpec, token uint64) (int, error) {
	if s.Abs {
		s.Value -= 50 * time.Millisecond
	} else {
		s.Value = max(s.Value/4, 1)
	}
	return e.Notifier.AddTimer(s, token)
}

// rewriter edits the timer and signal counts that Wait reports.
type rewriter struct {
	*epoll.Notifier
	edit func(e *notify.Event)
}

func (r rewriter) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	k, err := r.Notifier.Wait(ev, min, timeout)
	for i := range ev[:k] {
		r.edit(&ev[i])
	}
	return k, err
}

// dropExpiration loses one expiration of every late collection.
func dropExpiration(e *notify.Event) {
	if e.Kind == notify.KindTimer && e.Data >= 2 {
		e.Data--
	}
}

// doubleExpiration counts one expiration of a late collection twice.
func doubleExpiration(e *notify.Event) {
	if e.Kind == notify.KindTimer && e.Data >= 2 {
		e.Data++
	}
}

// coalesceSignals reports any number of pending signals as one.
func coalesceSignals(e *notify.Event) {
	if e.Kind == notify.KindSignal {
		e.Data = 1
	}
}

// staleKind leaves a descriptor event's Kind and Data as a reused slot
// had them.
func staleKind(e *notify.Event) {
	if e.Kind == notify.KindFD {
		e.Kind, e.Data = notify.KindTimer, 1
	}
}

// deafPoster sees posts only when a Wait begins: one made while a Wait
// blocks is held until the next Wait.
type deafPoster struct {
	*epoll.Notifier
	waiting atomic.Bool
	mu      sync.Mutex
	held    [][2]uint64
}

func (d *deafPoster) Post(id int, v uint64) error {
	if d.waiting.Load() {
		d.mu.Lock()
		d.held = append(d.held, [2]uint64{uint64(id), v})
		d.mu.Unlock()
		return nil
	}
	return d.Notifier.Post(id, v)
}

func (d *deafPoster) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	d.mu.Lock()
	for _, p := range d.held {
		d.Notifier.Post(int(p[0]), p[1])
	}
	d.held = d.held[:0]
	d.mu.Unlock()
	d.waiting.Store(true)
	defer d.waiting.Store(false)
	return d.Notifier.Wait(ev, min, timeout)
}

// keeper says it removed a source and keeps it.
type keeper struct{ *epoll.Notifier }

func (keeper) RemoveSource(int) error { return nil }

// lax accepts what it should refuse.
type lax struct{ *epoll.Notifier }

func (l lax) AddTimer(s notify.TimerSpec, token uint64) (int, error) {
	id, err := l.Notifier.AddTimer(s, token)
	if errors.Is(err, notify.ErrInvalid) {
		return 1 << 40, nil
	}
	return id, err
}

func (l lax) AddSignal(sig int, token uint64) (int, error) {
	id, err := l.Notifier.AddSignal(sig, token)
	if errors.Is(err, notify.ErrInvalid) {
		return 1 << 40, nil
	}
	return id, err
}

func (l lax) Post(id int, v uint64) error {
	if v == 0 {
		return nil
	}
	return l.Notifier.Post(id, v)
}

func TestKindChecksFailBrokenBackends(t *testing.T) {
	wrap := func(f func(*epoll.Notifier) notify.Notifier) notifytest.Opener {
		return func() (notify.Notifier, error) {
			n, err := epoll.New()
			if err != nil {
				return nil, err
			}
			return f(n), nil
		}
	}
	rewrite := func(edit func(*notify.Event)) notifytest.Opener {
		return wrap(func(n *epoll.Notifier) notify.Notifier { return rewriter{n, edit} })
	}
	cases := []struct {
		name string
		open notifytest.Opener
		want string
	}{
		{"earlyTimer", wrap(func(n *epoll.Notifier) notify.Notifier { return earlyTimer{n} }), "TimerNeverEarly"},
		{"dropExpiration", rewrite(dropExpiration), "TimerExpirationsExact"},
		{"doubleExpiration", rewrite(doubleExpiration), "TimerExpirationsExact"},
		{"coalesceSignals", rewrite(coalesceSignals), "SignalCountsRealtime"},
		{"staleKind", rewrite(staleKind), "KindFDEventsReset"},
		{"deafPoster", wrap(func(n *epoll.Notifier) notify.Notifier { return &deafPoster{Notifier: n} }), "UserPostWakesBlockedWait"},
		{"keeper", wrap(func(n *epoll.Notifier) notify.Notifier { return keeper{n} }), "KindRemoveStopsDelivery"},
		{"lax", wrap(func(n *epoll.Notifier) notify.Notifier { return lax{n} }), "KindBadSpecsRefused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := notifytest.Failures(c.open, c.want)
			if _, ok := f[c.want]; !ok {
				t.Errorf("check %s passed a backend that breaks it", c.want)
			} else {
				t.Logf("%s fails it as it should: %v", c.want, f[c.want])
			}
			// The honest backend passes the same check.
			if f := notifytest.Failures(func() (notify.Notifier, error) { return epoll.New() }, c.want); len(f) != 0 {
				t.Errorf("honest epoll fails %s: %v", c.want, f)
			}
		})
	}
}

// TestKindChecksSkipWithoutKinds: a backend without KindSources skips the
// per-kind checks rather than failing them (the suite's epoll wrapper that
// hides the interface).
func TestKindChecksSkipWithoutKinds(t *testing.T) {
	f := notifytest.Failures(func() (notify.Notifier, error) {
		n, err := epoll.New()
		if err != nil {
			return nil, err
		}
		return fdOnly{n}, nil
	}, notifytest.KindChecks()...)
	if len(f) != 0 {
		t.Errorf("a backend without source kinds fails the kind checks:\n%s", notifytest.Summary(f))
	}
}

// fdOnly is epoll with the descriptor contract alone, as a backend that
// takes no other kinds presents itself.
type fdOnly struct{ fdNotifier }

type fdNotifier interface {
	Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error
	Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error
	Remove(fd int) error
	Wait(events []notify.Event, min int, timeout time.Duration) (int, error)
	Wake() error
	Close() error
	Syscalls() notify.SyscallCounts
}

func (fdOnly) Caps() notify.Caps {
	t := notify.Of(notify.Level, notify.Edge, notify.Oneshot)
	return notify.Caps{Triggers: t, Native: t, Interests: notify.Readable | notify.Writable, Kinds: notify.KindsOf(notify.KindFD)}
}
