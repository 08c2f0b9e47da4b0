package iouring

import (
	"sync"
	"testing"
	"time"

	"kbench/internal/cpu"
	"kbench/notify"
)

// BenchmarkFanIn: a producer pinned to CPU 0 writes 64 eventfds round-robin,
// b.N writes in all; the consumer, pinned to CPU 1, collects with
// Wait(min=1) and drains each reported eventfd (re-arming oneshot sources
// with Modify) until the drained counts add up to b.N. One op is one firing.
//
//	events/s        firings collected per second
//	events/wait     firings collected per Wait call
//	reports/wait    events Wait returned per call
//	syscalls/event  the backend's system calls per firing (the drains are the caller's)
func BenchmarkFanIn(b *testing.B) {
	for _, v := range Variants() {
		b.Run(v.Name, func(b *testing.B) { fanIn(b, v) })
	}
}

func fanIn(b *testing.B, v notify.Variant) {
	const sources = 64
	unpin, err := cpu.Pin(1)
	if err != nil {
		b.Skipf("consumer on CPU 1: %v", err)
	}
	defer unpin()
	nn, err := v.Open(notify.Options{MaxSources: sources, HelperCPU: -1})
	if notify.IsUnavailable(err) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer nn.Close()
	fds := eventfds(b, sources)
	for i, fd := range fds {
		if err := nn.Add(fd, uint64(i), notify.Readable, v.Trigger); err != nil {
			b.Fatal(err)
		}
	}
	ev := make([]notify.Event, 64)
	d := new(drainer)
	before := nn.Syscalls()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()

	var wg sync.WaitGroup
	wg.Add(1)
	perr := make(chan error, 1)
	go func() {
		defer wg.Done()
		unpin, err := cpu.Pin(0)
		if err != nil {
			perr <- err
			return
		}
		defer unpin()
		for i := 0; i < b.N; i++ {
			fire(fds[i%sources])
		}
	}()

	var got, reports, waits uint64
	lastProgress := time.Now()
	for got < uint64(b.N) {
		k, err := nn.Wait(ev, 1, 100*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		waits++
		if k == 0 {
			select {
			case err := <-perr:
				b.Skipf("producer on CPU 0: %v", err)
			default:
			}
			if time.Since(lastProgress) > 5*time.Second {
				b.Fatalf("collected %d of %d firings, nothing for 5s: readiness lost", got, b.N)
			}
			continue
		}
		lastProgress = time.Now()
		for _, e := range ev[:k] {
			got += d.drain(fds[e.Token])
			if v.Trigger == notify.Oneshot {
				if err := nn.Modify(fds[e.Token], e.Token, notify.Readable, v.Trigger); err != nil {
					b.Fatal(err)
				}
			}
		}
		reports += uint64(k)
	}
	el := time.Since(start)
	b.StopTimer()
	wg.Wait()
	if got != uint64(b.N) {
		b.Fatalf("collected %d firings, want %d", got, b.N)
	}
	calls := nn.Syscalls().Sub(before).Total()
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(waits), "events/wait")
	b.ReportMetric(float64(reports)/float64(waits), "reports/wait")
	b.ReportMetric(float64(calls)/float64(b.N), "syscalls/event")
}
