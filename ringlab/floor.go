package ringlab

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/notify"
)

// CacheLineRoundTrip measures the physical floor under every ring row: one
// cache line bounced between a thread pinned to cpuA and one pinned to
// cpuB. One round trip is: A writes the line, B sees the write and answers
// on the same line, A sees the answer. iters round trips are split into five
// timed rounds after an untimed warm-up; the result is the median round's
// ns per round trip.
//
// Both sides use sync/atomic (Load is a plain MOV on amd64, Store an XCHG),
// the same instructions the rings use by default, so a ring row divided by
// this number says how many line transfers' worth of time an event costs.
// cpuA == cpuB is refused (os.ErrInvalid): a line does not move between a
// CPU and itself. A refused affinity wraps notify.ErrUnavailable.
func CacheLineRoundTrip(cpuA, cpuB int, iters int) (ns float64, err error) {
	if cpuA == cpuB || cpuA < 0 || cpuB < 0 || iters < 5 {
		return 0, fmt.Errorf("ringlab.CacheLineRoundTrip(%d, %d, %d): need two distinct CPUs and iters >= 5: %w",
			cpuA, cpuB, iters, os.ErrInvalid)
	}
	// One 64-byte line to itself, aligned by hand; the address is only used
	// to compute the offset.
	buf := make([]byte, 192)
	off := int(-uintptr(unsafe.Pointer(&buf[0]))&63) + 64
	word := (*atomic.Uint64)(unsafe.Pointer(&buf[off]))
	var stop atomic.Bool
	timer := time.AfterFunc(30*time.Second, func() { stop.Store(true) })
	defer timer.Stop()

	const rounds = 5
	per := iters / rounds
	warm := per / 4
	total := uint64(warm + rounds*per)

	errc := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(cpuB)
		if err != nil {
			stop.Store(true)
			errc <- fmt.Errorf("ringlab.CacheLineRoundTrip: %w: %w", notify.ErrUnavailable, err)
			return
		}
		defer unpin()
		// B answers each odd value v with v+1.
		for v := uint64(1); v < 2*total; v += 2 {
			for word.Load() != v { // pairs with A's Store(v)
				if stop.Load() {
					errc <- nil
					return
				}
			}
			word.Store(v + 1) // pairs with A's Load loop
		}
		errc <- nil
	}()

	unpin, err := cpu.Pin(cpuA)
	if err != nil {
		stop.Store(true)
		<-errc
		return 0, fmt.Errorf("ringlab.CacheLineRoundTrip: %w: %w", notify.ErrUnavailable, err)
	}
	defer unpin()
	v := uint64(1)
	bounce := func(n int) bool {
		for i := 0; i < n; i++ {
			word.Store(v) // pairs with B's Load loop
			for word.Load() != v+1 {
				if stop.Load() {
					return false
				}
			}
			v += 2
		}
		return true
	}
	samples := make([]float64, 0, rounds)
	ok := bounce(warm)
	for r := 0; ok && r < rounds; r++ {
		t0 := clock.Now()
		ok = bounce(per)
		samples = append(samples, float64(clock.Now()-t0)/float64(per))
	}
	if berr := <-errc; berr != nil {
		return 0, berr
	}
	if !ok {
		return 0, errors.New("ringlab.CacheLineRoundTrip: the other side did not answer within 30s")
	}
	slices.Sort(samples)
	return samples[rounds/2], nil
}
