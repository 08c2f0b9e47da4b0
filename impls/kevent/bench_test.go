package kevent

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/notify"
)

// BenchmarkFanIn: a producer pinned to CPU 0 fires 64 sources round-robin
// as fast as it can (b.N firings); the collector, pinned to CPU 1, waits
// with room for 64 events and spends consumerWork on each event it gets
// (user sources) or reads the eventfd (fd sources). So the producer is the
// faster side: a source fired again before it is collected is coalesced
// (in Zach's ring: takes another slot until the ring is full, then parks).
//
// Metrics: events/s collected, syscalls/event (every kind, the hook's
// included), kevent-calls/event (the emulated ctl/wait/commit calls),
// fires/event; allocs/op is per firing.
//
//	go test -run '^$' -bench FanIn -benchtime 2000000x ./impls/kevent/
func BenchmarkFanIn(b *testing.B) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		// The hook thread stands in for the writer's kernel context: with
		// the producer, on CPU 0.
		open := func() (notify.Notifier, error) { return New(p, notify.Options{HelperCPU: 0}) }
		direct := func() (notify.Notifier, error) {
			return New(p, notify.Options{HelperCPU: 0, Params: map[string]int{ParamFireDirect: 1}})
		}
		b.Run(p.String()+"-user", func(b *testing.B) { fanIn(b, open, false) })
		b.Run(p.String()+"-user-direct", func(b *testing.B) { fanIn(b, direct, false) })
		b.Run(p.String()+"-fd", func(b *testing.B) { fanIn(b, open, true) })
	}
}

// consumerWork is what the collector spends per user-source event, about
// an eventfd read on this machine's class of CPU: enough for the producer
// to stay ahead.
const consumerWork = 250 // ns

func work(ns int64) {
	for t := clock.Now(); clock.Now()-t < ns; {
	}
}

// fanIn runs the benchmark on any Notifier; user sources need UserSources.
func fanIn(b *testing.B, open func() (notify.Notifier, error), fds bool) {
	const srcs = 64
	n, err := open()
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	us, _ := n.(notify.UserSources)
	var ids [srcs]int
	var efd [srcs]int
	for i := range srcs {
		if fds {
			if efd[i], err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
				b.Fatal(err)
			}
			defer unix.Close(efd[i])
			err = n.Add(efd[i], uint64(i), notify.Readable, notify.Edge)
		} else {
			ids[i], err = us.AddUser(uint64(i), notify.Edge)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	unpin, err := cpu.Pin(1)
	if err != nil {
		b.Skipf("pinning the collector: %v", err)
	}
	defer unpin()

	var done atomic.Bool
	start := make(chan struct{})
	go func() {
		unpin, err := cpu.Pin(0)
		if err != nil {
			b.Errorf("pinning the producer: %v", err)
		} else {
			defer unpin()
		}
		<-start
		one := [8]byte{1}
		for i := range b.N {
			if fds {
				unix.Write(efd[i%srcs], one[:])
			} else {
				us.Fire(ids[i%srcs])
			}
		}
		done.Store(true)
		n.Wake()
	}()

	ev := make([]notify.Event, srcs)
	var buf [8]byte
	events := 0
	before := n.Syscalls()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	for {
		k, err := n.Wait(ev, 1, notify.Forever)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ev[:k] {
			if fds {
				unix.Read(efd[e.Token], buf[:])
			} else {
				work(consumerWork)
			}
		}
		events += k
		if done.Load() {
			// Every firing is made: take what is left without blocking.
			for {
				k, _ := n.Wait(ev, 1, 0)
				if k == 0 {
					break
				}
				events += k
			}
			break
		}
	}
	el := time.Since(t0)
	b.StopTimer()
	calls := n.Syscalls().Sub(before)
	b.ReportMetric(float64(events)/el.Seconds(), "events/s")
	b.ReportMetric(float64(calls.Total())/float64(events), "syscalls/event")
	b.ReportMetric(float64(calls[notify.CallWait]+calls[notify.CallCommit]+calls[notify.CallCtl])/float64(events), "kevent-calls/event")
	b.ReportMetric(float64(b.N)/float64(events), "fires/event")
	if testing.Verbose() {
		b.Logf("calls by kind: %v over %d events", calls.Map(), events)
	}
}
