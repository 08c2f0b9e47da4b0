package iouring

import (
	"time"

	"kbench/notify"
)

// Variants lists the results rows: each setup with oneshot and with
// multishot sources, e.g. "plain-oneshot", "coop-multishot".
func Variants() []notify.Variant {
	notes := map[Setup]string{
		Plain:  "io_uring POLL_ADD, no task-running flags; several waiters may share the ring",
		Coop:   "io_uring POLL_ADD, COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN (open on the collecting thread)",
		SQPoll: "io_uring POLL_ADD, SQPOLL kernel thread on --helper-cpu (default the consumer's; it wants a spare CPU; its time is the helper column)",
	}
	var vs []notify.Variant
	for _, s := range []Setup{Plain, Coop, SQPoll} {
		for _, tr := range []notify.Trigger{notify.Oneshot, notify.Multishot} {
			params := map[string]int{"sq_entries": DefaultSQEntries, "cq_entries": DefaultCQEntries}
			if s == SQPoll {
				params["sq_thread_idle_ms"] = int(DefaultSQThreadIdle / time.Millisecond)
			}
			vs = append(vs, notify.Variant{
				Backend: "iouring",
				Name:    s.String() + "-" + tr.String(),
				Trigger: tr,
				Sources: notify.SourceFD,
				Note:    notes[s] + ", " + tr.String(),
				Params:  params,
				Open:    opener(s, tr),
			})
		}
	}
	return vs
}

// The ranges kbench checks --set values against: the kernel's
// IORING_MAX_ENTRIES (SQ) and twice that (CQ); an SQPOLL idle of 0 would
// be replaced by the default, so it is refused, and a minute bounds it.
func init() {
	notify.DeclareRange("sq_entries", 1, 32768)
	notify.DeclareRange("cq_entries", 1, 65536)
	notify.DeclareRange("sq_thread_idle_ms", 1, 60_000)
}

func opener(s Setup, tr notify.Trigger) func(notify.Options) (notify.Notifier, error) {
	return func(o notify.Options) (notify.Notifier, error) {
		ringEntries(&o)
		cfg := Config{
			Setup:        s,
			SQEntries:    uint32(o.Param("sq_entries", DefaultSQEntries)),
			CQEntries:    uint32(o.Param("cq_entries", DefaultCQEntries)),
			HelperCPU:    o.HelperCPU,
			SQThreadIdle: time.Duration(o.Param("sq_thread_idle_ms", int(DefaultSQThreadIdle/time.Millisecond))) * time.Millisecond,
			Multishot:    tr == notify.Multishot,
		}
		if s == Plain {
			// Several threads may wait on a plain ring (shared.go).
			sh, err := NewShared(cfg)
			if err != nil {
				return nil, err // a nil *Shared must not become a non-nil interface
			}
			return sh, nil
		}
		n, err := New(cfg)
		if err != nil {
			return nil, err // a nil *Notifier must not become a non-nil interface
		}
		return n, nil
	}
}

// ringEntries maps notify.Options.RingEntries to the ring's sizes:
// cq_entries, with sq_entries no larger, unless Params sets cq_entries
// (the user's ring wins, and RingEntries is ignored); a sq_entries that
// Params sets stays (New clamps it to the CQ). Each value derived is
// written to Params, so that the row records what was used.
func ringEntries(o *notify.Options) {
	if o.RingEntries <= 0 {
		return
	}
	if _, user := o.Params["cq_entries"]; user {
		return
	}
	if o.Params == nil {
		o.Params = map[string]int{}
	}
	o.Params["cq_entries"] = o.RingEntries
	if _, user := o.Params["sq_entries"]; !user {
		o.Params["sq_entries"] = min(DefaultSQEntries, o.RingEntries)
	}
}
