package kevent

import "kbench/notify"

// Variants are kevent's result rows: each collection path with user
// sources (fired through storage_ready by the producer, as kernel code
// would) and with fd sources (eventfds, through the emulated hook thread).
//
// Every row registers its sources Edge (KEVENT_REQ_ET). ET is kevent's own
// mode — ret flags cleared on delivery, no requeue, no re-check — so the
// rows measure the queue and the collection path rather than our level
// emulation (which re-polls each level fd with ppoll at every collection),
// it is the mode whose records may enter Zach's ring (level sources may
// not), and it lines the rows up with epoll's ET row.
func Variants() []notify.Variant {
	var vs []notify.Variant
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		for _, src := range []notify.SourceKind{notify.SourceUser, notify.SourceFD} {
			note := "user sources fired as kernel code fires them (storage_ready, take30 unotify); --set fire_ctl=1 makes each firing a KEVENT_CTL_READY kernel entry, as an eventfd write is for the fd rows"
			params := pathParams(p)
			if src == notify.SourceFD {
				note = "emulated: fd readiness via epoll hook thread"
			} else {
				params[ParamFireCtl] = DefaultFireCtl
			}
			vs = append(vs, notify.Variant{
				Backend: "kevent",
				Name:    p.String() + "-" + src.String(),
				Trigger: notify.Edge,
				Sources: src,
				Note:    note,
				Params:  params,
				Open: func(o notify.Options) (notify.Notifier, error) {
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
	return vs
}

// The ranges kbench checks --set values against: a ring needs two slots
// (internal/ring), a batch or a collection interval one record; 1M records
// bounds the ring's memory at tens of MiB.
func init() {
	notify.DeclareRange(ParamRingSlots, 2, 1<<20)
	notify.DeclareRange(ParamZachN, 1, 1<<20)
	notify.DeclareRange(ParamCommitBatch, 1, 1<<20)
	notify.DeclareRange(ParamFireCtl, 0, 1)
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
