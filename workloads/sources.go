package workloads

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/rawsys"
	"kbench/notify"
)

// sourceSet is S sources of one kind registered with one Notifier. A firing
// carries its sequence number: written into the eventfd (whose counter then
// holds exactly that number, because a source has at most one firing
// outstanding) or stored in the user source's slot. Collection reads the
// number back, so the accounting checks each firing by identity, not by count.
type sourceSet struct {
	n     notify.Notifier
	us    notify.UserSources
	kind  notify.SourceKind
	trig  notify.Trigger
	fds   []int
	ids   []int
	slots []paddedU64 // user sources: the pending firing's number
	busy  []paddedU32 // 1 while a firing is outstanding: the producer's credit

	// The fields above are read by both threads on every firing and written
	// by neither; the consumer's and the producer's scratch below are each
	// written on every firing. Unpadded, they shared one cache line with
	// each other and with the slice headers above, so each firing and each
	// collection pulled the line across CPUs (false sharing the C twin, with
	// seq on the producer's stack, mostly does not have). 64 bytes of
	// padding between groups keep them on separate lines wherever the
	// allocator puts the struct.
	_     [64]byte
	reads uint64  // consumer read system calls on fd sources
	buf   [8]byte // the consumer's read buffer
	_     [64]byte
	fbuf  [8]byte // the producer's write buffer (a local would escape under -race)
	_     [56]byte
}

type paddedU32 struct {
	v atomic.Uint32
	_ [60]byte // one cache line each: the flag's traffic is the source's own
}

type paddedU64 struct {
	v atomic.Uint64
	_ [56]byte
}

func newSourceSet(n notify.Notifier, v notify.Variant, count int) (*sourceSet, error) {
	if count < 1 {
		return nil, fmt.Errorf("%d sources: %w", count, notify.ErrInvalid)
	}
	s := &sourceSet{n: n, kind: v.Sources, trig: v.Trigger, busy: make([]paddedU32, count)}
	if v.Sources == notify.SourceUser {
		us, ok := n.(notify.UserSources)
		if !ok {
			return nil, fmt.Errorf("%s: variant wants user sources but the backend has none", v.ID())
		}
		s.us = us
		s.slots = make([]paddedU64, count)
		for i := 0; i < count; i++ {
			id, err := us.AddUser(uint64(i), v.Trigger)
			if err != nil {
				s.close()
				return nil, fmt.Errorf("add user source %d: %w", i, err)
			}
			s.ids = append(s.ids, id)
		}
		return s, nil
	}
	// A soft RLIMIT_NOFILE lowered below what the sources need is raised
	// toward the hard limit first; what still does not fit ends in EMFILE,
	// which skips the row (fail, noFileRefusal).
	if _, err := noFileBudget(count); err != nil {
		return nil, fmt.Errorf("%d eventfd sources: %w", count, err)
	}
	for i := 0; i < count; i++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("eventfd %d: %w", i, err)
		}
		s.fds = append(s.fds, fd)
		if err := n.Add(fd, uint64(i), notify.Readable, v.Trigger); err != nil {
			s.close()
			return nil, fmt.Errorf("register eventfd %d: %w", i, err)
		}
	}
	return s, nil
}

// fire is the producer's: it sends firing seq on source i.
//
// fire and take move the 8 bytes through the eventfd with one system call
// each. The fds are non-blocking, so the calls never sleep and a raw call
// is safe: it skips the runtime's entersyscall/exitsyscall bookkeeping
// (about 70 ns a call here), which a C program does not pay either. The
// rawsys stub is called from here, not through a helper, because every
// frame between the loop and the kernel is a return to mispredict once the
// kernel is back (about 50 ns a call for x/sys's chain; package rawsys). A
// short transfer cannot happen on an eventfd: it moves exactly 8 bytes or
// fails.
func (s *sourceSet) fire(i int, seq uint64) error {
	if s.kind == notify.SourceUser {
		// Pairs with the Swap in take: the number is in place before the
		// source is marked ready.
		s.slots[i].v.Store(seq)
		return s.us.Fire(s.ids[i])
	}
	binary.NativeEndian.PutUint64(s.fbuf[:], seq)
	if _, e := rawsys.Syscall(unix.SYS_WRITE, uintptr(s.fds[i]), uintptr(unsafe.Pointer(&s.fbuf[0])), 8); e != 0 {
		return e
	}
	return nil
}

// take is the consumer's: it collects source i's pending firing number, or
// 0 when nothing is pending (a spurious notification). See fire for the
// system call.
func (s *sourceSet) take(i int) uint64 {
	if s.kind == notify.SourceUser {
		return s.slots[i].v.Swap(0)
	}
	s.reads++
	if _, e := rawsys.Syscall(unix.SYS_READ, uintptr(s.fds[i]), uintptr(unsafe.Pointer(&s.buf[0])), 8); e != 0 {
		return 0
	}
	return binary.NativeEndian.Uint64(s.buf[:])
}

// rearm re-enables a oneshot source after collection.
func (s *sourceSet) rearm(i int) error {
	if s.trig != notify.Oneshot {
		return nil
	}
	if s.kind == notify.SourceUser {
		return s.us.ModifyUser(s.ids[i], uint64(i), notify.Oneshot)
	}
	return s.n.Modify(s.fds[i], uint64(i), notify.Readable, notify.Oneshot)
}

func (s *sourceSet) close() {
	for _, id := range s.ids {
		s.us.RemoveUser(id)
	}
	for _, fd := range s.fds {
		s.n.Remove(fd)
		unix.Close(fd)
	}
	s.ids, s.fds = nil, nil
}
