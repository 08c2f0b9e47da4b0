package notify

import "errors"

// SourceKind says what a workload registers for a variant.
type SourceKind uint8

const (
	SourceFD   SourceKind = iota // eventfds, pipes, sockets through Add
	SourceUser                   // added through UserSources and fired with Fire
)

func (k SourceKind) String() string {
	if k == SourceUser {
		return "user"
	}
	return "fd"
}

// Options configure a Notifier when a workload opens it.
type Options struct {
	// MaxSources the workload will register (sizes AIO contexts and rings).
	MaxSources int
	// HelperCPU is the CPU for a backend's own kernel-side thread (kevent's
	// hook thread, io_uring's SQPOLL thread); -1 leaves it unpinned.
	HelperCPU int
	// RingEntries, when > 0, sizes the backend's event ring, whatever its
	// own parameter is called (io_uring cq_entries with sq_entries no
	// larger, kevent ring_slots, AIO nr_events): the one generic knob, so
	// that workloads name no backend's private parameters. A value the user
	// set for the backend's own parameter wins: one present in Params counts
	// as set (a workload that sizes the ring passes only the user's values
	// there), and the backend writes each value it derives into Params (when
	// non-nil), so that the row records what was used. 0 keeps the defaults.
	RingEntries int
	// Params are variant parameters (kevent zach's N, ring sizes); every
	// value used is recorded in results.
	Params map[string]int
}

// Param returns o.Params[name] or def when unset.
func (o Options) Param(name string, def int) int {
	if v, ok := o.Params[name]; ok {
		return v
	}
	return def
}

// Variant is one row of the results: a backend configured one way.
type Variant struct {
	Backend string     // "epoll", "aioring", "iouring", "kevent"
	Name    string     // unique within the backend: "lt", "et", "multishot", "zach-user"
	Trigger Trigger    // the trigger workloads register sources with
	Sources SourceKind // fd or user sources
	Note    string     // one line for `kbench list` and result labels ("emulated: …")
	// Params lists the variant's own parameters with their defaults, so they
	// are recorded even when the user did not set them.
	Params map[string]int
	Open   func(Options) (Notifier, error)
}

// ID is "backend/name".
func (v Variant) ID() string { return v.Backend + "/" + v.Name }

// IsUnavailable reports whether err is a kernel refusal (skip, not failure).
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable)
}
