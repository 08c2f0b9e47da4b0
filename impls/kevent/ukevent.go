package kevent

import "unsafe"

// ukevent is struct ukevent of take29's include/linux/ukevent.h: the record
// user space hands to kevent_ctl and gets back from kevent_get_events and
// from both rings. 40 bytes, 8-aligned, the same on every architecture.
type ukevent struct {
	ID       uint64    // struct kevent_id (raw_u64): the search key
	Type     uint32    // KEVENT_POLL, KEVENT_UNOTIFY, ...
	Event    uint32    // the requested event mask
	ReqFlags uint32    // KEVENT_REQ_*; kbench keeps the priority in the top byte
	RetFlags uint32    // KEVENT_RET_*
	RetData  [2]uint32 // filled by the origin: revents for poll kevents
	User     uint64    // never interpreted: copied to and from user space
}

// ukeventSize is sizeof(struct ukevent); the rings carry exactly this.
const ukeventSize = 40

var (
	_ [ukeventSize - unsafe.Sizeof(ukevent{})]byte
	_ [unsafe.Sizeof(ukevent{}) - ukeventSize]byte
)

// Request flags, values from ukevent.h.
const (
	reqOneshot     = 0x1  // KEVENT_REQ_ONESHOT: off the storage when ready, freed on delivery
	reqWakeupAll   = 0x2  // KEVENT_REQ_WAKEUP_ALL: ready even if an earlier kevent of the storage was
	reqET          = 0x4  // KEVENT_REQ_ET: ret flags cleared on delivery
	reqLastCheck   = 0x8  // KEVENT_REQ_LAST_CHECK: callback re-run at dequeue; dropped if not ready
	reqAlwaysQueue = 0x10 // KEVENT_REQ_ALWAYS_QUEUE: ready-at-add goes to the ready list
	// reqReady is take30's KEVENT_REQ_READY: the kevent is marked ready at
	// enqueue time. The take30 mails read give its meaning, not its value:
	// 0x20 is the next free bit.
	reqReady = 0x20
	// reqLevel is kbench's, not take29's: after delivery the kevent goes back
	// on the ready list with LAST_CHECK set, as epoll's ep_send_events does
	// for level-triggered items, so the next collection re-polls it. It is
	// what notify.Level needs from a poll kevent; take29's default mode only
	// re-reports on new source activity.
	reqLevel = 0x100

	reqKnown = reqOneshot | reqWakeupAll | reqET | reqLastCheck | reqAlwaysQueue | reqReady | reqLevel

	// The original ABI has no priority field (Polyakov's July 2006 reply
	// offered priorities as several ready lists but take29 shipped one); we
	// carry it in req_flags' top byte, which take29 leaves unused.
	reqPrioShift = 24
	numPrio      = 4 // priorities 0..3; the higher is drained first
)

// Return flags, values from ukevent.h.
const (
	retBroken     = 0x1 // KEVENT_RET_BROKEN
	retDone       = 0x2 // KEVENT_RET_DONE
	retCopyFailed = 0x4 // KEVENT_RET_COPY_FAILED: get_events found the queue's ring full
)

// Kevent types. KEVENT_TIMER, KEVENT_POLL and KEVENT_SIGNAL are ukevent.h's
// values; take30's private user notifications (kevent_unotify.c) had no
// number in the mails we read, so typeUnotify is ours.
const (
	typeTimer   = 2
	typePoll    = 3
	typeSignal  = 7
	typeUnotify = 9
)

// Per-type events (ukevent.h): KEVENT_TIMER_FIRED, KEVENT_SIGNAL_DELIVERY.
const (
	timerFired     = 0x1
	signalDelivery = 0x1
)

// counting reports whether kevents of type t carry a count in ret_data
// (kbench's, see doc.go): timer expirations, signals received, the values
// posted to a user event, as a 64-bit sum across ret_data[0] (low) and
// ret_data[1] (high). take29's timer put the expiry time in milliseconds
// there and its signal kevent nothing; a poll kevent keeps its revents.
func counting(t uint32) bool { return t == typeTimer || t == typeSignal || t == typeUnotify }

// count is the 64-bit count a counting kevent carries.
func (uk *ukevent) count() uint64 { return uint64(uk.RetData[0]) | uint64(uk.RetData[1])<<32 }

// addCount adds n to it (wrapping, as an unsigned sum does).
func (uk *ukevent) addCount(n uint64) {
	c := uk.count() + n
	uk.RetData = [2]uint32{uint32(c), uint32(c >> 32)}
}

// Poll event bits (KEVENT_POLL_POLL*, equal to Linux's POLL* and EPOLL* bits).
const (
	pollIn    = 0x0001
	pollOut   = 0x0004
	pollErr   = 0x0008
	pollHup   = 0x0010
	pollNval  = 0x0020
	pollRdHup = 0x2000
)

// prio extracts the kbench priority from req_flags.
func prio(req uint32) int { return int(req>>reqPrioShift) & (numPrio - 1) }

// keventID packs a registration slot and its generation: the Notifier's
// readers drop ring records whose generation is stale.
func keventID(idx int, gen uint32) uint64 { return uint64(gen)<<32 | uint64(uint32(idx)) }

func idSlot(id uint64) (idx int, gen uint32) { return int(uint32(id)), uint32(id >> 32) }
