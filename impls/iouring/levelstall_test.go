package iouring

import (
	"fmt"
	"testing"
	"time"

	"kbench/notify"
)

// TestLevelNeighboursDoNotStarve reproduces the levelstorm stall: sixteen
// always-ready level sources keep the CQ ring from ever running empty, so a
// Wait always has events in hand and only ever submits the level re-arms. On
// a coop ring that submit must also run the deferred task_work of the other
// sources' polls, or a firing on them is never posted. One source beside the
// level ones is fired twenty times, each time only after the previous firing
// was collected; every firing must arrive within firingBound. Each setup and
// trigger runs four ways: the stall itself; with an 8-entry CQ ring that the
// level CQEs overflow; with min 0 (a non-blocking poll); and a min-0 poll
// with no level sources at all, which on a coop ring must enter to run the
// deferred completions even though it has nothing to submit.
func TestLevelNeighboursDoNotStarve(t *testing.T) {
	type shape struct {
		levels    int
		cqEntries uint32
		min       int
	}
	shapes := []shape{{16, 0, 1}, {16, 8, 1}, {16, 0, 0}, {0, 0, 0}}
	for _, s := range setups {
		for _, tr := range []notify.Trigger{notify.Oneshot, notify.Multishot} {
			for _, sh := range shapes {
				name := fmt.Sprintf("%v-%v-level%d-cq%d-min%d", s, tr, sh.levels, sh.cqEntries, sh.min)
				t.Run(name, func(t *testing.T) { levelNeighbours(t, s, tr, sh.levels, sh.cqEntries, sh.min) })
			}
		}
	}
}

// firingBound is generous: the stall it catches is forever, and the SQPOLL
// thread shares two CPUs with other tests.
const firingBound = 2 * time.Second

func levelNeighbours(t *testing.T, s Setup, tr notify.Trigger, levels int, cqEntries uint32, min int) {
	const rounds = 20
	fired := uint64(levels) // the fired source's token; level sources are 0..levels-1
	n := openLocked(t, Config{Setup: s, SQEntries: cqEntries, CQEntries: cqEntries, HelperCPU: -1})
	fds := eventfds(t, levels+1)
	for i, fd := range fds[:levels] {
		// Written once, never read: readable for the whole test.
		if err := fire(fd); err != nil {
			t.Fatal(err)
		}
		if err := n.Add(fd, uint64(i), notify.Readable, notify.Level); err != nil {
			t.Fatalf("Add level: %v", err)
		}
	}
	if err := n.Add(fds[fired], fired, notify.Readable, tr); err != nil {
		t.Fatalf("Add %v: %v", tr, err)
	}
	ev := make([]notify.Event, 4) // fewer than 16 level sources: the CQ never drains
	d := new(drainer)
	var got, levelReports, waits uint64
	wait := func() {
		k, err := n.Wait(ev, min, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		waits++
		for _, e := range ev[:k] {
			switch {
			case e.Token < fired:
				levelReports++
			case e.Token == fired:
				// A report without a count behind it (a re-armed poll
				// finding the drained source) is allowed; the count decides.
				got += d.drain(fds[fired])
				if tr == notify.Oneshot {
					if err := n.Modify(fds[fired], fired, notify.Readable, tr); err != nil {
						t.Fatalf("Modify: %v", err)
					}
				}
			default:
				t.Fatalf("unknown token %d", e.Token)
			}
		}
	}
	for r := uint64(0); r < rounds; r++ {
		// Two Waits first, so the source's poll (a oneshot's re-arm) has
		// reached the kernel and the firing completes it as task_work, not
		// inline in the submit that arms it.
		wait()
		wait()
		if err := fire(fds[fired]); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for got <= r {
			if time.Since(start) > firingBound {
				t.Fatalf("firing %d not collected after %v (%d Waits, %d level reports so far; sq flags %#x; stats %+v)",
					r, firingBound, waits, levelReports, n.ring.SQ.Flags(), n.stats)
			}
			wait()
		}
	}
	if got != rounds {
		t.Fatalf("collected %d firings, want %d", got, rounds)
	}
	// The stall needs Waits that find level events in hand; without them the
	// test would not test it.
	if levels > 0 && levelReports < 2*rounds {
		t.Fatalf("%d level reports in %d Waits: the level sources did not keep the CQ ring busy", levelReports, waits)
	}
	t.Logf("%d firings in %d Waits beside %d level reports; syscalls %v; stats %+v", got, waits, levelReports, n.Syscalls().Map(), n.stats)
}
