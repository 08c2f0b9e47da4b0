package kevent

import "kbench/notify"

// Variants are kevent's result rows: each collection path with user
// sources (take30 unotify kevents, fired by the producer's
// KEVENT_CTL_READY; fire_direct=1 fires them through storage_ready
// instead, kbench's variant) and with fd sources (eventfds, through the
// emulated hook thread).
//
// Every row registers its sources Edge (KEVENT_REQ_ET). ET is kevent's own
// mode — ret flags cleared on delivery, no requeue, no re-check — so the
// rows measure the queue and the collection path rather than our level
// emulation (which re-polls each level fd with ppoll at every collection),
// it is the mode whose records may enter Zach's ring (level sources may
// not), and it lines the rows up with epoll's ET row. One more row,
// syscall-fd-oneshot, registers fd sources ONESHOT: each delivery is then
// re-armed by an ADD, the control traffic kevent_ctl's arrays batch (churn
// and scale, ctl_batch), beside epoll's oneshot row.
//
// The syscall rows open a Shared queue (waiters.go): several goroutines
// may block on it, as on the patch's kevent_get_events; a lone collector
// sees the Notifier's Wait unchanged.
func Variants() []notify.Variant {
	var vs []notify.Variant
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		for _, src := range []notify.SourceKind{notify.SourceUser, notify.SourceFD} {
			note := "user sources: take30 unotify kevents fired by the producer's KEVENT_CTL_READY (one kernel entry per firing); fire_direct=1: kbench's direct storage_ready on a per-source storage, no kernel entry"
			params := pathParams(p)
			if src == notify.SourceFD {
				note = "emulated: fd readiness via epoll hook thread"
			} else {
				params[ParamFireDirect] = DefaultFireDirect
			}
			if p == PathZach {
				note += "; " + zachNote // after: an fd row's note starts with "emulated"
			}
			if p == PathSyscall {
				note += "; several waiters may share the queue"
			}
			vs = append(vs, notify.Variant{
				Backend: "kevent",
				Name:    p.String() + "-" + src.String(),
				Trigger: notify.Edge,
				Sources: src,
				Note:    note,
				Params:  params,
				Open: func(o notify.Options) (notify.Notifier, error) {
					if p == PathSyscall {
						s, err := NewShared(o)
						if err != nil {
							return nil, err
						}
						s.emulated = src == notify.SourceFD
						return s, nil
					}
					n, err := New(p, o)
					if err != nil {
						return nil, err
					}
					n.emulated = src == notify.SourceFD
					return n, nil
				},
			})
		}
	}
	vs = append(vs, notify.Variant{
		Backend: "kevent",
		Name:    "syscall-fd-oneshot",
		Trigger: notify.Oneshot,
		Sources: notify.SourceFD,
		Note:    "emulated: fd readiness via epoll hook thread; ONESHOT, each re-arm a KEVENT_CTL_ADD, batched into kevent_ctl arrays where the workload batches (ctl_batch); several waiters may share the queue",
		Params:  pathParams(PathSyscall),
		Open: func(o notify.Options) (notify.Notifier, error) {
			s, err := NewShared(o)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	})
	return vs
}

// zachNote labels every zach row: the ring is not Polyakov's design, and
// its early completion changes what a oneshot re-arm finds.
const zachNote = "variant: Zach Brown's July 2006 ring proposal, not a kevent take; completing at storage_ready frees ONESHOT kevents before user space reads them (a MODIFY re-arm then gets ENOENT and becomes an ADD)"

// The ranges kbench checks --set values against: a ring needs two slots
// (internal/ring), a batch or a collection interval one record; 1M records
// bounds the ring's memory at tens of MiB.
func init() {
	notify.DeclareRange(ParamRingSlots, 2, 1<<20)
	notify.DeclareRange(ParamZachN, 1, 1<<20)
	notify.DeclareRange(ParamCommitBatch, 1, 1<<20)
	notify.DeclareRange(ParamFireDirect, 0, 1)
	notify.DeclareRange(ParamWakeupAll, 0, 1)
}

func pathParams(p Path) map[string]int {
	switch p {
	case PathTake29:
		return map[string]int{ParamRingSlots: DefaultRingSlots, ParamCommitBatch: DefaultCommitBatch}
	case PathZach:
		return map[string]int{ParamRingSlots: DefaultRingSlots, ParamZachN: DefaultZachN}
	}
	return map[string]int{}
}

// ringEntries maps notify.Options.RingEntries to the path's ring, where it
// has one (take29, zach): ring_slots, with take29's commit_batch half of it,
// each unless Params sets it (the user's value wins; a ring_slots the user
// set makes RingEntries ignored). Each value derived is written to Params,
// so that the row records what was used.
func ringEntries(p Path, o *notify.Options) {
	has := pathParams(p)
	if _, ring := has[ParamRingSlots]; o.RingEntries <= 0 || !ring {
		return
	}
	if _, user := o.Params[ParamRingSlots]; user {
		return
	}
	if o.Params == nil {
		o.Params = map[string]int{}
	}
	o.Params[ParamRingSlots] = o.RingEntries
	if _, batch := has[ParamCommitBatch]; batch {
		if _, user := o.Params[ParamCommitBatch]; !user {
			o.Params[ParamCommitBatch] = max(1, o.RingEntries/2)
		}
	}
}
