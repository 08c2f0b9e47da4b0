package notifytest_test

import (
	"testing"
	"time"

	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/notify/notifytest"
)

// The suite must be able to fail: each broken backend below breaks one
// promise of the contract, and the suite has to name the check it breaks.

// dropper loses the first event of every other batch.
type dropper struct {
	*epoll.Notifier
	calls int
}

func (d *dropper) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := d.Notifier.Wait(ev, min, timeout)
	d.calls++
	if n > 0 && d.calls%2 == 0 {
		copy(ev, ev[1:n])
		n--
	}
	return n, err
}

// impatient ignores min.
type impatient struct{ *epoll.Notifier }

func (i impatient) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	if min > 1 {
		min = 1
	}
	return i.Notifier.Wait(ev, min, timeout)
}

// forgetful says it removed a source but keeps reporting it.
type forgetful struct{ *epoll.Notifier }

func (forgetful) Remove(int) error { return nil }

// tokenMangler truncates tokens to 32 bits.
type tokenMangler struct{ *epoll.Notifier }

func (m tokenMangler) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := m.Notifier.Wait(ev, min, timeout)
	for i := range ev[:n] {
		ev[i].Token = uint64(uint32(ev[i].Token))
	}
	return n, err
}

func TestSuiteFailsBrokenBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite four times")
	}
	cases := []struct {
		name string
		open notifytest.Opener
		want string
	}{
		{"dropper", func() (notify.Notifier, error) { n, err := epoll.New(); return &dropper{Notifier: n}, err }, "ExactlyOnceUnderLoad"},
		{"impatient", func() (notify.Notifier, error) { n, err := epoll.New(); return impatient{n}, err }, "MinHonoured"},
		{"forgetful", func() (notify.Notifier, error) { n, err := epoll.New(); return forgetful{n}, err }, "RemoveStopsDelivery"},
		{"tokenMangler", func() (notify.Notifier, error) { n, err := epoll.New(); return tokenMangler{n}, err }, "TokensIntact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := notifytest.Failures(c.open)
			if _, ok := f[c.want]; !ok {
				t.Errorf("suite did not fail check %s for a backend that breaks it; failures:\n%s", c.want, notifytest.Summary(f))
			}
		})
	}
}

// The honest backend passes the same entry point the broken ones fail.
func TestSuitePassesEpoll(t *testing.T) {
	if f := notifytest.Failures(func() (notify.Notifier, error) { return epoll.New() }); len(f) != 0 {
		t.Errorf("epoll fails the suite:\n%s", notifytest.Summary(f))
	}
}
