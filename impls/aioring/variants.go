//go:build linux

package aioring

import "kbench/notify"

// Variants lists the results rows of this backend.
//
// "ring" and "syscall" differ only in how completions are collected, so the
// pair shows what reaping from the mmap'd ring saves. "ring-oneshot" is the
// kernel's native trigger with re-arms batched into the next Wait's
// io_submit: next to epoll's oneshot row (one epoll_ctl per re-arm) it shows
// what batching the re-arm is worth, and next to "ring" what level-on-top
// costs (nothing in system calls: both resubmit once per Wait).
//
// notify.Options.RingEntries does not apply: every registered poll holds
// one of the context's nr_events until it completes (io_submit reserves a
// completion slot per iocb), so the ring is sized by MaxSources and cannot
// be smaller than the sources registered.
func Variants() []notify.Variant {
	open := func(r Reap) func(notify.Options) (notify.Notifier, error) {
		return func(o notify.Options) (notify.Notifier, error) {
			n, err := New(Options{MaxSources: o.MaxSources, Reap: r})
			if err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return []notify.Variant{
		{
			Backend: "aioring", Name: "ring", Trigger: notify.Level, Sources: notify.SourceFD,
			Note: "IOCB_CMD_POLL reaped from the mmap'd aio_ring; level derived by resubmission",
			Open: open(ReapRing),
		},
		{
			Backend: "aioring", Name: "syscall", Trigger: notify.Level, Sources: notify.SourceFD,
			Note: "IOCB_CMD_POLL reaped with io_getevents only; level derived by resubmission; several waiters may share the context",
			Open: func(o notify.Options) (notify.Notifier, error) {
				s, err := NewShared(Options{MaxSources: o.MaxSources})
				if err != nil {
					return nil, err
				}
				return s, nil
			},
		},
		{
			Backend: "aioring", Name: "ring-oneshot", Trigger: notify.Oneshot, Sources: notify.SourceFD,
			Note: "native oneshot IOCB_CMD_POLL; Modify re-arms, batched into the next Wait's io_submit",
			Open: open(ReapRing),
		},
	}
}
