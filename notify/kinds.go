package notify

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what a source is. Descriptors (Add) are one kind; a Notifier that
// implements KindSources takes the others through the same Wait.
type Kind uint8

const (
	// KindFD: a descriptor registered with Add.
	KindFD Kind = iota
	// KindTimer: a CLOCK_MONOTONIC timer, relative or absolute, once or
	// periodic (AddTimer).
	KindTimer
	// KindSignal: a signal number (AddSignal).
	KindSignal
	// KindUser: a user event posted from any goroutine with a value (AddEvent,
	// Post).
	KindUser
	numKinds
)

var kindNames = [...]string{"fd", "timer", "signal", "user"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds is a set of Kind values.
type Kinds uint8

// KindsOf builds a set from its members.
func KindsOf(ks ...Kind) Kinds {
	var s Kinds
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in the set.
func (s Kinds) Has(k Kind) bool { return k < numKinds && s&(1<<k) != 0 }

func (s Kinds) String() string {
	var parts []string
	for k := Kind(0); k < numKinds; k++ {
		if s.Has(k) {
			parts = append(parts, k.String())
		}
	}
	return strings.Join(parts, ",")
}

// MaxTimerSpan bounds a timer's relative first expiry and its period: a
// day. Longer ones are refused (ErrInvalid) rather than silently clamped.
const MaxTimerSpan = 24 * time.Hour

// MinTimerPeriod is the shortest period a periodic timer may have.
const MinTimerPeriod = time.Microsecond

// TimerSpec programs a timer on CLOCK_MONOTONIC, as timerfd_settime's
// itimerspec does.
type TimerSpec struct {
	// Value is the first expiry: a delay from now (1ns..MaxTimerSpan) or,
	// with Abs, a CLOCK_MONOTONIC time in nanoseconds (> 0). An absolute
	// deadline already past expires at once.
	Value time.Duration
	// Interval is the period after the first expiry (MinTimerPeriod..
	// MaxTimerSpan), or 0 for a timer that expires once.
	Interval time.Duration
	// Abs makes Value an absolute CLOCK_MONOTONIC time.
	Abs bool
}

// Check refuses a spec outside the contract's ranges, in one line.
func (s TimerSpec) Check() error {
	switch {
	case s.Abs && s.Value <= 0:
		return fmt.Errorf("timer: absolute deadline %d ns is not a CLOCK_MONOTONIC time: %w", int64(s.Value), ErrInvalid)
	case !s.Abs && (s.Value <= 0 || s.Value > MaxTimerSpan):
		return fmt.Errorf("timer: first expiry %v is outside 1ns..%v: %w", s.Value, MaxTimerSpan, ErrInvalid)
	case s.Interval != 0 && (s.Interval < MinTimerPeriod || s.Interval > MaxTimerSpan):
		return fmt.Errorf("timer: period %v is outside %v..%v (0: once): %w", s.Interval, MinTimerPeriod, MaxTimerSpan, ErrInvalid)
	}
	return nil
}

// KindSources is implemented by a Notifier that waits on sources other than
// descriptors in the same Wait (doc.go, "Source kinds"). Ids live in their
// own namespace (not fds'), shared by every kind of one instance.
//
// Every such source stays armed until RemoveSource, and each Event for one
// reports and consumes what accumulated since its last Event: Event.Kind is
// its kind and Event.Data its count —
//
//   - timer: expirations since the last delivery (>= 1), as a timerfd read
//     gives; a periodic timer's expirations are never lost or counted twice,
//     however late the collector is. A timer that expires once is delivered
//     once and then stays registered, disarmed, until RemoveSource.
//   - signal: the number of times the signal was received since the last
//     delivery. The kernel coalesces a standard signal raised again while it
//     is pending (one pending instance), and queues real-time signals
//     (SIGRTMIN..SIGRTMAX) one per raise; each backend's Caps note says what
//     it adds to that. Nothing the kernel accepted is lost.
//   - user: the sum of the values posted since the last delivery (each
//     Post adds its value, >= 1; eventfd's counter semantics).
//
// The methods belong to the collecting goroutine, except Post, which like
// UserSources.Fire may be called from any goroutine concurrently with Wait.
// A kind the backend cannot serve returns an error wrapping
// errors.ErrUnsupported (Caps.Kinds says which it can); a kernel refusal
// (an old kernel without multishot timeouts) wraps ErrUnavailable.
type KindSources interface {
	// AddTimer arms a timer (spec.Check must pass, else ErrInvalid).
	AddTimer(spec TimerSpec, token uint64) (id int, err error)
	// AddSignal watches sig. The caller has blocked sig in the threads it
	// may be delivered to (BlockSignal, signals.go) and raises it so that
	// no thread with it unblocked receives it; a signal that cannot be
	// watched (SIGKILL, SIGSTOP, out of range, one the Go runtime needs)
	// is ErrInvalid.
	AddSignal(sig int, token uint64) (id int, err error)
	// AddEvent registers a user event, fired with Post.
	AddEvent(token uint64) (id int, err error)
	// Post adds value (>= 1) to user event id and makes it ready. Any
	// goroutine; never allocates.
	Post(id int, value uint64) error
	// RemoveSource unregisters a timer, signal or user event; no event for
	// it is reported afterwards, even one already pending.
	RemoveSource(id int) error
}
