// Package kindfd serves notify's source kinds through descriptors a
// backend owns: a timerfd per timer, a signalfd per signal, an eventfd per
// user event. A backend watches each descriptor for readability with its
// own mechanism (an epoll item, an IOCB_CMD_POLL) and, when one is reported,
// drains it here inside Wait: the read is the count the Event carries
// (timerfd: expirations; signalfd: signals dequeued; eventfd: the sum
// posted), and reading it is what re-arms the descriptor.
//
// Ids are (generation<<32 | slot). Post runs on any goroutine while the
// collector adds and removes sources, so the slot array is published
// through an atomic pointer and each slot is an atomic pointer; a source
// carries a callgate that RemoveSource closes and waits on, so the eventfd
// is never closed (and its number never reused) under a Post that is
// writing it.
package kindfd

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/callgate"
	"kbench/internal/rawsys"
	"kbench/notify"
)

// Source is one registered timer, signal or user event.
type Source struct {
	FD    int
	Token uint64
	Kind  notify.Kind
	Sig   int    // KindSignal: the signal number
	Ref   uint32 // the backend's own index for the source (aioring's registration slot)
	gen   uint32
	gate  callgate.Gate // Post inside; closed by Remove
}

// Table holds a backend instance's sources. Add and Remove belong to the
// collecting goroutine; Get and Post may run on any.
type Table struct {
	slots atomic.Pointer[[]atomic.Pointer[Source]] // replaced (copied) only to grow
	gens  []uint32                                 // next generation by slot; collector's
	free  []uint32
	sigs  [notify.SigRTMax + 1]bool // signals watched; collector's
	n     int                       // live sources
}

const genMask = 1<<31 - 1 // ids stay non-negative ints

func makeID(slot, gen uint32) int { return int(gen&genMask)<<32 | int(slot) }

// Slot is the index an id names, for a backend's kernel cookie.
func Slot(id int) uint32 { return uint32(id) }

// Len is the number of live sources.
func (t *Table) Len() int { return t.n }

// Add records a source and returns its id and its slot. A signal watched
// already is os.ErrExist: two signalfds for one signal would split its
// deliveries between them.
func (t *Table) Add(s *Source) (id int, slot uint32, err error) {
	if s.Kind == notify.KindSignal {
		if t.sigs[s.Sig] {
			return 0, 0, fmt.Errorf("signal %d is watched already: %w", s.Sig, os.ErrExist)
		}
		t.sigs[s.Sig] = true
	}
	p := t.slots.Load()
	if k := len(t.free); k > 0 {
		slot = t.free[k-1]
		t.free = t.free[:k-1]
	} else {
		slot = uint32(len(t.gens))
		t.gens = append(t.gens, 0)
		if p == nil || int(slot) >= len(*p) {
			grown := make([]atomic.Pointer[Source], max(2*int(slot), 8))
			if p != nil {
				for i := range *p {
					grown[i].Store((*p)[i].Load())
				}
			}
			// Release: Post's Load of t.slots sees the copied entries.
			t.slots.Store(&grown)
			p = &grown
		}
	}
	s.gen = t.gens[slot]
	(*p)[slot].Store(s) // pairs with Get's Load
	t.n++
	return makeID(slot, s.gen), slot, nil
}

// Get returns the live source id names, or nil. Any goroutine.
func (t *Table) Get(id int) *Source {
	if id < 0 {
		return nil
	}
	p := t.slots.Load() // pairs with Add's Store of a grown array
	slot := uint32(id)
	if p == nil || int(slot) >= len(*p) {
		return nil
	}
	s := (*p)[slot].Load() // pairs with Add's and Remove's Stores
	if s == nil || s.gen != uint32(id>>32) {
		return nil
	}
	return s
}

// At returns the source in slot, or nil: the collector's lookup from a
// kernel cookie.
func (t *Table) At(slot uint32) *Source {
	p := t.slots.Load()
	if p == nil || int(slot) >= len(*p) {
		return nil
	}
	return (*p)[slot].Load()
}

// Remove takes id out of the table and waits until no Post is writing its
// descriptor; the caller then unregisters and closes it.
func (t *Table) Remove(id int) (*Source, error) {
	s := t.Get(id)
	if s == nil {
		return nil, fmt.Errorf("source id %d: %w", id, os.ErrNotExist)
	}
	slot := uint32(id)
	(*t.slots.Load())[slot].Store(nil) // pairs with Get's Load: no new Post finds it
	s.gate.Close()                     // a Post that found it before is refused or counted...
	s.gate.WaitIdle()                  // ...and has left once this returns
	t.gens[slot] = (s.gen + 1) & genMask
	t.free = append(t.free, slot)
	if s.Kind == notify.KindSignal {
		t.sigs[s.Sig] = false
	}
	t.n--
	return s, nil
}

// Each calls f for every live source (Close's sweep).
func (t *Table) Each(f func(*Source)) {
	p := t.slots.Load()
	if p == nil {
		return
	}
	for i := range *p {
		if s := (*p)[i].Load(); s != nil {
			f(s)
		}
	}
}

// OpenTimer creates a CLOCK_MONOTONIC timerfd armed with spec.
func OpenTimer(spec notify.TimerSpec) (int, error) {
	if err := spec.Check(); err != nil {
		return -1, err
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("timerfd_create: %w", err)
	}
	if err := ArmTimer(fd, spec); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// ArmTimer programs timerfd fd with spec (TFD_TIMER_ABSTIME for Abs).
func ArmTimer(fd int, spec notify.TimerSpec) error {
	its := unix.ItimerSpec{
		Value:    unix.NsecToTimespec(int64(spec.Value)),
		Interval: unix.NsecToTimespec(int64(spec.Interval)),
	}
	flags := 0
	if spec.Abs {
		flags = unix.TFD_TIMER_ABSTIME
	}
	if err := unix.TimerfdSettime(fd, flags, &its, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	return nil
}

// OpenSignal creates a signalfd for sig after checking that sig may be
// watched and is blocked in the calling thread, whose pending signals the
// collector's reads will dequeue.
func OpenSignal(sig int) (int, error) {
	if err := notify.CheckSignal(sig); err != nil {
		return -1, err
	}
	blocked, err := notify.SignalBlocked(sig)
	if err != nil {
		return -1, err
	}
	if !blocked {
		return -1, fmt.Errorf("signal %d is not blocked in the calling thread (notify.BlockSignal on the collector's locked thread first): %w", sig, notify.ErrInvalid)
	}
	set := notify.SigsetOf(sig)
	fd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("signalfd: %w", err)
	}
	return fd, nil
}

// OpenEvent creates the eventfd of a user event (counter semantics: a read
// returns the sum written since the last one).
func OpenEvent() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("eventfd: %w", err)
	}
	return fd, nil
}

// Post adds value to user event id's eventfd. Any goroutine; no allocation
// on success. The write is counted as notify.CallFire (the producer's).
func (t *Table) Post(id int, value uint64, calls *notify.Counters) error {
	if value == 0 || value == ^uint64(0) {
		return fmt.Errorf("post %d to source %d: value outside 1..2^64-2: %w", value, id, notify.ErrInvalid)
	}
	s := t.Get(id)
	if s == nil {
		return fmt.Errorf("post to source %d: %w", id, os.ErrNotExist)
	}
	if s.Kind != notify.KindUser {
		return fmt.Errorf("post to source %d, a %v: %w", id, s.Kind, notify.ErrInvalid)
	}
	// Enter pairs with Remove's Close: either Remove waits for this write,
	// or this Post sees the source gone.
	if !s.gate.Enter() {
		return fmt.Errorf("post to source %d: %w", id, os.ErrNotExist)
	}
	// A raw write: a non-blocking eventfd write never sleeps, and
	// unix.Write's race instrumentation would move b to the heap.
	_, e := rawsys.Syscall(unix.SYS_WRITE, uintptr(s.FD), uintptr(unsafe.Pointer(&value)), 8)
	s.gate.Exit()
	calls.Inc(notify.CallFire)
	if e != 0 {
		// EAGAIN: the counter would pass 2^64-2 before the collector reads it.
		return fmt.Errorf("post %d to source %d: eventfd write: %w", value, id, e)
	}
	return nil
}

// sigsPerRead is how many signalfd records one drain read takes.
const sigsPerRead = 16

// Buf is one waiting goroutine's scratch for draining.
type Buf struct {
	sig [sigsPerRead]unix.SignalfdSiginfo
	u64 [8]byte
}

// Drain reads s's descriptor and returns the count the Event carries (0:
// nothing there, as when another waiter drained it first). Each read is
// counted as notify.CallDrain.
//
// A signalfd read dequeues as many records as fit; Drain reads again only
// after a full buffer, since a short read has taken every signal pending
// at that moment (the next one readies the descriptor again).
func Drain(s *Source, b *Buf, calls *notify.Counters) uint64 {
	if s.Kind != notify.KindSignal {
		calls.Inc(notify.CallDrain)
		k, _ := unix.Read(s.FD, b.u64[:])
		if k != 8 {
			return 0 // EAGAIN: nothing accumulated
		}
		return binary.NativeEndian.Uint64(b.u64[:])
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&b.sig[0])), unsafe.Sizeof(b.sig))
	var count uint64
	for {
		calls.Inc(notify.CallDrain)
		k, _ := unix.Read(s.FD, raw)
		if k <= 0 {
			return count
		}
		got := uint64(k) / uint64(unsafe.Sizeof(b.sig[0]))
		count += got
		if got < sigsPerRead {
			return count
		}
	}
}
