package iouring

import (
	"sync"
	"testing"
	"time"

	"kbench/notify"
)

// TestOverflowStorm drives 64 eventfds through an 8-entry CQ ring, so the
// kernel parks CQEs on its overflow list and ends multishot requests, and
// checks that every firing is collected exactly once: the counts drained
// from the eventfds must add up to the number of writes. A lost readiness
// would leave a count behind and the sum short.
func TestOverflowStorm(t *testing.T) {
	for _, s := range setups {
		for _, tr := range []notify.Trigger{notify.Oneshot, notify.Multishot, notify.Level} {
			t.Run(s.String()+"-"+tr.String(), func(t *testing.T) { overflowStorm(t, s, tr) })
		}
	}
}

func overflowStorm(t *testing.T, s Setup, tr notify.Trigger) {
	const sources, rounds, stormFires = 64, 20, 20000
	n := openLocked(t, Config{Setup: s, SQEntries: 8, CQEntries: 8, HelperCPU: -1})
	fds := eventfds(t, sources)
	for i, fd := range fds {
		if err := n.Add(fd, uint64(i), notify.Readable, tr); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	ev := make([]notify.Event, 4) // smaller than the ring, so CQEs stay behind
	var got, reports uint64
	d := new(drainer)
	consume := func(want uint64, what string) {
		deadline := time.Now().Add(10 * time.Second)
		for got < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: collected %d firings of %d (lost readiness); stats %+v", what, got, want, n.stats)
			}
			k, err := n.Wait(ev, 1, 100*time.Millisecond)
			if err != nil {
				t.Fatalf("%s: Wait: %v", what, err)
			}
			for _, e := range ev[:k] {
				if e.Token >= sources {
					t.Fatalf("%s: unknown token %d", what, e.Token)
				}
				reports++
				got += d.drain(fds[e.Token])
				if tr == notify.Oneshot {
					if err := n.Modify(fds[e.Token], e.Token, notify.Readable, tr); err != nil {
						t.Fatalf("%s: rearm: %v", what, err)
					}
				}
			}
		}
		if got != want {
			t.Fatalf("%s: collected %d firings, want %d", what, got, want)
		}
	}

	// Phase 1, deterministic: all 64 sources become ready at once, eight
	// times the CQ ring's size.
	var fired uint64
	for r := 0; r < rounds; r++ {
		for _, fd := range fds {
			if err := fire(fd); err != nil {
				t.Fatal(err)
			}
			fired++
		}
		consume(fired, "burst")
	}
	if n.stats.overflowFlushes == 0 {
		t.Fatalf("the CQ ring never overflowed (stats %+v): the test did not test overflow", n.stats)
	}
	if tr == notify.Multishot && n.stats.ended == 0 {
		t.Fatalf("no multishot request was ended by the kernel (stats %+v)", n.stats)
	}

	// Phase 2: a producer on another goroutine storms the sources while the
	// consumer collects.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < stormFires; i++ {
			fire(fds[(i*7)%sources])
		}
	}()
	consume(fired+stormFires, "storm")
	wg.Wait()
	t.Logf("%d firings in %d reports; stats %+v; syscalls %v", got, reports, n.stats, n.Syscalls().Map())
}
