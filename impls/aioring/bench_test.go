//go:build linux

package aioring

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
	"kbench/notify"
)

// BenchmarkFanIn is the fan-in loop: a producer pinned to CPU 0 writes 64
// eventfds round-robin as fast as it can; the consumer, pinned to CPU 1,
// Waits and drains what each Wait reports. One op is one Wait. Metrics:
// events/op (events per Wait), events/s, and syscalls/event and syscalls/op
// counting the backend's system calls only (the consumer's eventfd reads and the
// producer's writes are the workload's). Every firing is accounted for at
// the end.
func BenchmarkFanIn(b *testing.B) {
	cpus, err := cpu.Allowed()
	if err != nil || len(cpus) < 2 {
		b.Skipf("need two CPUs to pin producer and consumer apart (allowed %v, %v)", cpus, err)
	}
	for _, c := range []struct {
		name string
		reap Reap
		tr   notify.Trigger
	}{
		{"ring", ReapRing, notify.Level},
		{"syscall", ReapSyscall, notify.Level},
		{"ring-oneshot", ReapRing, notify.Oneshot},
	} {
		b.Run(c.name, func(b *testing.B) { fanIn(b, cpus[0], cpus[1], c.reap, c.tr) })
	}
}

func fanIn(b *testing.B, producerCPU, consumerCPU int, reap Reap, tr notify.Trigger) {
	const sources = 64
	n := newOrSkip(b, Options{MaxSources: sources, Reap: reap})
	fds := make([]int, sources)
	for i := range fds {
		fds[i] = eventfd(b)
		if err := n.Add(fds[i], uint64(i), notify.Readable, tr); err != nil {
			b.Fatal(err)
		}
	}
	unpin, err := cpu.Pin(consumerCPU)
	if err != nil {
		b.Skipf("pin consumer: %v", err)
	}
	defer unpin()

	var stop atomic.Bool
	var fired uint64
	var wg sync.WaitGroup
	pinErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		unpin, err := cpu.Pin(producerCPU)
		pinErr <- err
		if err != nil {
			return
		}
		defer unpin()
		one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		for i := 0; !stop.Load(); i++ {
			unix.Write(fds[i%sources], one)
			fired++
		}
	}()
	if err := <-pinErr; err != nil {
		b.Skipf("pin producer: %v", err)
	}

	ev := make([]notify.Event, sources)
	var buf [8]byte
	var got, events uint64
	collect := func(timeout time.Duration) int {
		k, err := n.Wait(ev, 1, timeout)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ev[:k] {
			got += drainFD(fds[e.Token], &buf)
			if tr == notify.Oneshot {
				n.Modify(fds[e.Token], e.Token, notify.Readable, tr)
			}
		}
		return k
	}
	b.ReportAllocs()
	before := n.Syscalls()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		events += uint64(collect(time.Second))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	calls := n.Syscalls().Sub(before).Total()

	stop.Store(true)
	wg.Wait() // fired is final from here on
	deadline := time.Now().Add(5 * time.Second)
	for got < fired && time.Now().Before(deadline) {
		collect(100 * time.Millisecond)
	}
	if got != fired {
		b.Fatalf("collected %d firings, producer made %d", got, fired)
	}
	if events > 0 {
		b.ReportMetric(float64(events)/float64(b.N), "events/op")
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(calls)/float64(events), "syscalls/event")
		b.ReportMetric(float64(calls)/float64(b.N), "syscalls/op")
	}
}
