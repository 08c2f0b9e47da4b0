package iouring

import (
	"testing"
	"time"

	"kbench/notify"
)

// TestWaitAllocatesNothing covers the paths the suite's allocation check
// does not: oneshot re-arm through Modify, multishot, and the re-arm of
// multishot requests the kernel ended on CQ overflow.
func TestWaitAllocatesNothing(t *testing.T) {
	for _, s := range setups {
		for _, tr := range []notify.Trigger{notify.Oneshot, notify.Multishot, notify.Level} {
			t.Run(s.String()+"-"+tr.String(), func(t *testing.T) { waitAllocs(t, s, tr) })
		}
	}
}

func waitAllocs(t *testing.T, s Setup, tr notify.Trigger) {
	// 16 sources fired together into an 8-entry CQ ring: every round
	// overflows, so the overflow flush and the re-arm paths run each time.
	const sources = 16
	n := openLocked(t, Config{Setup: s, SQEntries: 8, CQEntries: 8, HelperCPU: -1})
	fds := eventfds(t, sources)
	for i, fd := range fds {
		if err := n.Add(fd, uint64(i), notify.Readable, tr); err != nil {
			t.Fatal(err)
		}
	}
	ev := make([]notify.Event, 4)
	var failed string
	d := new(drainer)
	round := func() {
		for _, fd := range fds {
			fire(fd)
		}
		var got int
		deadline := time.Now().Add(5 * time.Second)
		for got < sources && time.Now().Before(deadline) {
			k, err := n.Wait(ev, 1, time.Second)
			if err != nil {
				failed = err.Error()
				return
			}
			for _, e := range ev[:k] {
				got += int(d.drain(fds[e.Token]))
				if tr == notify.Oneshot {
					n.Modify(fds[e.Token], e.Token, notify.Readable, tr)
				}
			}
		}
		if got != sources {
			failed = "a round lost firings"
		}
	}
	before := n.stats
	allocs := testing.AllocsPerRun(50, round)
	if failed != "" {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("Wait loop allocates %.2f times per round, want 0", allocs)
	}
	if n.stats.overflowFlushes == before.overflowFlushes {
		t.Errorf("no overflow during the measured rounds (stats %+v)", n.stats)
	}
	if tr == notify.Multishot && n.stats.ended == before.ended {
		t.Errorf("no ended multishot request was re-armed during the measured rounds (stats %+v)", n.stats)
	}
}

// TestKindsAllocateNothing: Wait reaping timers (re-armed each period), user
// events posted from another goroutine and a signal, and Post itself,
// allocate nothing once the sources are registered.
func TestKindsAllocateNothing(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			onSignalThread(t, testSig, func(t *testing.T, tid int) {
				n, err := New(Config{Setup: s, HelperCPU: -1, Multishot: s == Plain})
				if notify.IsUnavailable(err) {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				kindsAllocs(t, n, s, tid)
			})
		})
	}
}

func kindsAllocs(t *testing.T, n *Notifier, s Setup, tid int) {
	for i := 0; i < 4; i++ {
		if _, err := n.AddTimer(notify.TimerSpec{Value: time.Millisecond, Interval: 200 * time.Microsecond}, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	user, err := n.AddEvent(100)
	if err != nil {
		t.Fatal(err)
	}
	withSignal := s != SQPoll
	if withSignal {
		if _, err := n.AddSignal(testSig, 200); err != nil {
			t.Fatal(err)
		}
	}
	ev := make([]notify.Event, 2) // smaller than the sources: reports wait for room
	var kinds [4]uint64
	var failed error
	measured := func() {
		if err := n.Post(user, 1); err != nil {
			failed = err
		}
		if withSignal {
			raiseSignal(tid, testSig)
		}
		for i := 0; i < 8; i++ {
			k, err := n.Wait(ev, 1, time.Second)
			if err != nil {
				failed = err
				return
			}
			for _, e := range ev[:k] {
				kinds[e.Kind] += e.Data
			}
		}
	}
	allocs := testing.AllocsPerRun(50, measured)
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("Wait with kind sources and Post allocate %.2f times per round, want 0", allocs)
	}
	if kinds[notify.KindTimer] == 0 || kinds[notify.KindUser] == 0 || (withSignal && kinds[notify.KindSignal] == 0) {
		t.Errorf("a kind was never reported during the measured rounds: %v", kinds)
	}
	if post := testing.AllocsPerRun(100, func() { n.Post(user, 1) }); post != 0 {
		t.Errorf("Post allocates %.2f times", post)
	}
}
