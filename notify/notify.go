package notify

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Interest is the readiness a source is registered for. A valid Interest is
// never empty.
type Interest uint8

const (
	Readable Interest = 1 << iota
	Writable
)

// Valid reports whether in is a non-empty combination of known bits.
func (in Interest) Valid() bool { return in != 0 && in&^(Readable|Writable) == 0 }

func (in Interest) String() string {
	var parts []string
	if in&Readable != 0 {
		parts = append(parts, "r")
	}
	if in&Writable != 0 {
		parts = append(parts, "w")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "")
}

// Trigger selects when a ready source is reported.
type Trigger uint8

const (
	Level Trigger = iota
	Edge
	Oneshot
	Multishot
	numTriggers
)

var triggerNames = [...]string{"level", "edge", "oneshot", "multishot"}

func (t Trigger) String() string {
	if t < numTriggers {
		return triggerNames[t]
	}
	return "trigger(" + string(rune('0'+t)) + ")"
}

// Triggers is a set of Trigger values.
type Triggers uint8

// Of builds a set from its members.
func Of(ts ...Trigger) Triggers {
	var s Triggers
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// Has reports whether t is in the set.
func (s Triggers) Has(t Trigger) bool { return t < numTriggers && s&(1<<t) != 0 }

func (s Triggers) String() string {
	var parts []string
	for t := Trigger(0); t < numTriggers; t++ {
		if s.Has(t) {
			parts = append(parts, t.String())
		}
	}
	return strings.Join(parts, ",")
}

// Flags qualify an Event.
type Flags uint8

const (
	// Hangup: the peer closed or the source was torn down.
	Hangup Flags = 1 << iota
	// Error: the source reported an error condition.
	Error
)

// Event is one readiness report. It is small and copied by value into the
// caller's slice.
type Event struct {
	Token uint64   // the token given at registration, intact
	Ready Interest // readiness observed (KindFD); Readable for the other kinds
	Flags Flags
	Kind  Kind   // the source's kind (KindFD for Add's sources)
	Data  uint64 // KindSources' count (kinds.go); 0 for descriptors
}

// Caps describes what a backend can do.
type Caps struct {
	// Triggers the backend accepts.
	Triggers Triggers
	// Native is the subset the kernel mechanism implements itself; the rest
	// are derived by the backend (documented in its package), such as level
	// behaviour built from re-submitted oneshot AIO polls.
	Native Triggers
	// Interests the backend accepts.
	Interests Interest
	// UserSources: the Notifier implements UserSources.
	UserSources bool
	// Emulated: readiness of fd sources reaches the mechanism through another
	// one (kevent's hook thread learns it from epoll); results label it.
	// Workloads read this field, never the Note string.
	Emulated bool
	// Kinds the backend accepts through KindSources (KindFD always).
	Kinds Kinds
	// NativeKinds is the subset its kernel interface serves itself (an
	// io_uring timeout, a kevent timer); the rest go through a descriptor
	// (timerfd, signalfd, eventfd) the backend owns and drains.
	NativeKinds Kinds
	// KindNote says, in one line, how the non-fd kinds are served and what
	// the backend adds to the kernel's signal coalescing.
	KindNote string
}

// Notifier is the contract of doc.go.
type Notifier interface {
	// Add registers fd. Adding an fd twice returns an error wrapping
	// os.ErrExist.
	Add(fd int, token uint64, in Interest, tr Trigger) error
	// Modify replaces fd's registration; for Oneshot it re-arms the source.
	// Modifying an unknown fd returns an error wrapping os.ErrNotExist.
	Modify(fd int, token uint64, in Interest, tr Trigger) error
	// Remove unregisters fd; no event for it is reported afterwards, even
	// one that was already pending.
	Remove(fd int) error
	// Wait collects events as doc.go describes.
	Wait(events []Event, min int, timeout time.Duration) (int, error)
	// Wake unblocks Wait; callable from any goroutine.
	Wake() error
	// Close releases everything; callable from any goroutine.
	Close() error
	// Caps reports the backend's capabilities.
	Caps() Caps
	// Syscalls reports the system calls made so far, per kind.
	Syscalls() SyscallCounts
}

// UserSources is implemented by backends with sources that are not file
// descriptors and are fired by code, the way kernel code calls
// kevent_storage_ready. Ids live in their own namespace, not the fds'.
type UserSources interface {
	AddUser(token uint64, tr Trigger) (id int, err error)
	ModifyUser(id int, token uint64, tr Trigger) error
	RemoveUser(id int) error
	// Fire marks the source ready. Unlike the other methods it may be
	// called from any goroutine (the producer's), concurrently with Wait.
	Fire(id int) error
}

var (
	// ErrClosed is returned by every method after Close, and by a second Close.
	ErrClosed = os.ErrClosed
	// ErrInvalid reports a bad argument (empty interest, min > len(events)).
	ErrInvalid = os.ErrInvalid
	// ErrUnavailable wraps a kernel's refusal of the mechanism on this
	// machine (sysctl, seccomp, resource limits); the harness skips the
	// backend with the wrapped reason.
	ErrUnavailable = errors.New("mechanism unavailable on this machine")
)

// Forever is the timeout that blocks.
const Forever time.Duration = -1

// WaitArgs checks Wait's arguments for a backend and applies the contract's
// rule that min == 0 never blocks: it returns the timeout to honour.
func WaitArgs(backend string, events []Event, min int, timeout time.Duration) (time.Duration, error) {
	if min < 0 || min > len(events) {
		return 0, fmt.Errorf("%s wait: min %d with room for %d events: %w", backend, min, len(events), ErrInvalid)
	}
	if min == 0 {
		return 0, nil
	}
	return timeout, nil
}
