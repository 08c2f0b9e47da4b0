//go:build linux

package aioring

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestStorm fires 100k eventfd writes over 64 sources from another goroutine
// and accounts for every one: the eventfd counters drained after each report
// must sum to the writes, no report may come without data behind it (each
// report follows a re-arm made after the previous drain), and no token may
// appear twice in one Wait.
func TestStorm(t *testing.T) {
	for _, c := range []struct {
		reap Reap
		tr   notify.Trigger
	}{
		{ReapRing, notify.Level}, {ReapSyscall, notify.Level},
		{ReapRing, notify.Oneshot}, {ReapSyscall, notify.Oneshot},
	} {
		t.Run(fmt.Sprintf("%v-%v", c.reap, c.tr), func(t *testing.T) { storm(t, c.reap, c.tr) })
	}
}

func storm(t *testing.T, reap Reap, tr notify.Trigger) {
	const sources, fires = 64, 100000
	n := newOrSkip(t, Options{MaxSources: sources, Reap: reap})
	fds := make([]int, sources)
	for i := range fds {
		fds[i] = eventfd(t)
		if err := n.Add(fds[i], uint64(i), notify.Readable, tr); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		for i := 0; i < fires; i++ {
			unix.Write(fds[(i*7)%sources], b)
		}
	}()
	ev := make([]notify.Event, 32)
	var seen [sources]int // Wait number that last reported each token
	var buf [8]byte
	var got, reports, empty uint64
	deadline := time.Now().Add(30 * time.Second)
	for wait := 1; got < fires; wait++ {
		if time.Now().After(deadline) {
			t.Fatalf("collected %d of %d firings in 30s", got, fires)
		}
		k, err := n.Wait(ev, 1, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev[:k] {
			if e.Token >= sources {
				t.Fatalf("unknown token %d", e.Token)
			}
			if seen[e.Token] == wait {
				t.Fatalf("token %d twice in one Wait", e.Token)
			}
			seen[e.Token] = wait
			reports++
			c := drainFD(fds[e.Token], &buf)
			if c == 0 {
				empty++
			}
			got += c
			if tr == notify.Oneshot {
				if err := n.Modify(fds[e.Token], e.Token, notify.Readable, tr); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	wg.Wait()
	if got != fires {
		t.Errorf("collected %d firings, want %d", got, fires)
	}
	if empty != 0 {
		t.Errorf("%d of %d reports found the eventfd empty", empty, reports)
	}
	if k, _ := n.Wait(ev, 1, 20*time.Millisecond); k != 0 {
		t.Errorf("%d reports after every firing was collected", k)
	}
	// Every source is re-armed and nothing else is outstanding.
	if n.inflight != sources+1 {
		t.Errorf("%d requests in flight, want %d sources + the wake poll", n.inflight, sources)
	}
	t.Logf("%d firings in %d reports; system calls %v", fires, reports, n.Syscalls().Map())
}

// TestWaitAllocs: the collection loop of a ready source allocates nothing,
// re-arm included, on both paths and both triggers.
func TestWaitAllocs(t *testing.T) {
	for _, reap := range []Reap{ReapRing, ReapSyscall} {
		for _, tr := range []notify.Trigger{notify.Level, notify.Oneshot} {
			n := newOrSkip(t, Options{MaxSources: 8, Reap: reap})
			fds := []int{eventfd(t), eventfd(t)}
			for i, fd := range fds {
				if err := n.Add(fd, uint64(i), notify.Readable, tr); err != nil {
					t.Fatal(err)
				}
			}
			ev := make([]notify.Event, 8)
			b := []byte{1, 0, 0, 0, 0, 0, 0, 0}
			var buf [8]byte
			var got int
			allocs := testing.AllocsPerRun(500, func() {
				unix.Write(fds[0], b)
				unix.Write(fds[1], b)
				k, _ := n.Wait(ev, 2, time.Second)
				got += k
				for _, e := range ev[:k] {
					drainFD(fds[e.Token], &buf)
					if tr == notify.Oneshot {
						n.Modify(fds[e.Token], e.Token, notify.Readable, tr)
					}
				}
			})
			if allocs != 0 {
				t.Errorf("%v/%v: %.2f allocations per Wait, want 0", reap, tr, allocs)
			}
			if got < 2*500 {
				t.Errorf("%v/%v: %d events in 501 rounds of 2 firings: the loop measured nothing", reap, tr, got)
			}
		}
	}
}
