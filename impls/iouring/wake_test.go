package iouring

import (
	"errors"
	"testing"
	"time"

	"kbench/notify"
)

// TestWakeEndsLargeMin: the kernel wait is for min_complete CQEs, so one
// wake CQE would not end a Wait(min=5); Wake must post as many as the waiter
// needs. The suite only checks min=1.
func TestWakeEndsLargeMin(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			ev := make([]notify.Event, 8)
			errc := make(chan error, 1)
			go func() {
				time.Sleep(30 * time.Millisecond)
				errc <- n.Wake()
			}()
			start := time.Now()
			k, err := n.Wait(ev, 5, 5*time.Second)
			if el := time.Since(start); err != nil || k != 0 || el > 2*time.Second {
				t.Fatalf("Wait(min=5) woken: k=%d err=%v after %v", k, err, el)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Wake: %v", err)
			}
			if c := n.Syscalls()[notify.CallWake]; c != 1 {
				t.Errorf("a Wake of a blocked Wait made %d wake calls, want 1", c)
			}
			// A Wake with nobody blocked costs no system call and is not lost.
			if err := n.Wake(); err != nil {
				t.Fatal(err)
			}
			if err := n.Wake(); err != nil { // de-duplicated
				t.Fatal(err)
			}
			if c := n.Syscalls()[notify.CallWake]; c != 1 {
				t.Errorf("Wakes without a waiter made %d wake calls in total, want still 1", c)
			}
			start = time.Now()
			if _, err := n.Wait(ev, 5, 5*time.Second); err != nil || time.Since(start) > time.Second {
				t.Fatalf("Wait after Wake: err=%v after %v", err, time.Since(start))
			}
			// The leftover wake CQEs of the first Wake are never reported.
			if k, err := n.Wait(ev, 1, 30*time.Millisecond); k != 0 || err != nil {
				t.Fatalf("Wait after the wakes: k=%d err=%v", k, err)
			}
		})
	}
}

// TestCloseEndsLargeMin: Close from another goroutine ends a Wait(min=3)
// blocked in the kernel, and the rings are released only after it left.
func TestCloseEndsLargeMin(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			fd := eventfds(t, 1)[0]
			if err := n.Add(fd, 1, notify.Readable, notify.Multishot); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				time.Sleep(30 * time.Millisecond)
				errc <- n.Close()
			}()
			k, err := n.Wait(make([]notify.Event, 4), 3, 5*time.Second)
			if !errors.Is(err, notify.ErrClosed) {
				t.Fatalf("Wait during Close = %d, %v; want ErrClosed", k, err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := n.Wake(); !errors.Is(err, notify.ErrClosed) {
				t.Fatalf("Wake after Close = %v", err)
			}
		})
	}
}
