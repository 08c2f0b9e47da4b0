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
