package iouring

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

var setups = []Setup{Plain, Coop, SQPoll}

// openLocked locks the calling test goroutine to its OS thread (a coop ring
// accepts only its creator) and opens a Notifier, skipping with the kernel's
// reason when the setup is refused.
func openLocked(t testing.TB, cfg Config) *Notifier {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	n, err := New(cfg)
	if notify.IsUnavailable(err) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	// Cleanups run last-registered first: Close before the thread unlocks.
	t.Cleanup(func() { n.Close() })
	return n
}

func eventfds(t testing.TB, k int) []int {
	t.Helper()
	fds := make([]int, k)
	for i := range fds {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatalf("eventfd: %v", err)
		}
		fds[i] = fd
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fds
}

var one = func() (b [8]byte) { b[0] = 1; return }()

func fire(fd int) error {
	_, err := unix.Write(fd, one[:])
	return err
}

// drainer empties eventfds into a buffer of its own: a local array would
// escape under the race detector and show up as an allocation of Wait's loop.
type drainer struct{ b [8]byte }

// drain empties an eventfd and returns the count it held.
func (d *drainer) drain(fd int) uint64 {
	if k, err := unix.Read(fd, d.b[:]); err != nil || k != 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(d.b[:])
}
