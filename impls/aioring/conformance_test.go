//go:build linux

package aioring

import (
	"testing"

	"kbench/notify"
	"kbench/notify/notifytest"
)

// testSources keeps each test context small: fs.aio-max-nr is shared by the
// whole machine, and other packages' tests run beside these.
const testSources = 128

func TestConformanceRing(t *testing.T) {
	notifytest.Run(t, func() (notify.Notifier, error) { return open(Options{MaxSources: testSources}) })
}

func TestConformanceSyscall(t *testing.T) {
	notifytest.Run(t, func() (notify.Notifier, error) {
		return open(Options{MaxSources: testSources, Reap: ReapSyscall})
	})
}

// TestConformanceShared: the syscall variant's shape, whose context
// several goroutines may wait on (the shared-waiters check runs here).
func TestConformanceShared(t *testing.T) {
	notifytest.Run(t, func() (notify.Notifier, error) {
		s, err := NewShared(Options{MaxSources: testSources})
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// TestVariantsOpen opens each row as the harness would and checks that the
// ring variants really reap from the ring on this kernel.
func TestVariantsOpen(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			if v.Backend != "aioring" {
				t.Errorf("backend %q", v.Backend)
			}
			nf, err := v.Open(notify.Options{MaxSources: testSources})
			if notify.IsUnavailable(err) {
				t.Skipf("AIO unavailable: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nf.Close()
			if !nf.Caps().Triggers.Has(v.Trigger) {
				t.Errorf("variant trigger %v not in caps %v", v.Trigger, nf.Caps().Triggers)
			}
			if s, ok := nf.(*Shared); ok {
				nf = s.Notifier
			}
			mode, why := nf.(*Notifier).Reaping()
			want := ReapRing
			if v.Name == "syscall" {
				want = ReapSyscall
			}
			if mode != want {
				t.Errorf("reaping %v (%v), want %v", mode, why, want)
			}
		})
	}
}

// open adapts New to the Opener shape without a typed nil in the interface.
func open(o Options) (notify.Notifier, error) {
	n, err := New(o)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// newOrSkip opens a notifier for package tests, skipping with the kernel's
// reason when AIO is refused.
func newOrSkip(t testing.TB, o Options) *Notifier {
	t.Helper()
	n, err := New(o)
	if notify.IsUnavailable(err) {
		t.Skipf("AIO unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
