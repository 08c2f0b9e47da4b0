package ring

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Take29 shared layout: struct kevent_ring { unsigned int ring_kidx,
// ring_over; struct ukevent event[0]; }. The records follow the two words
// directly, so record 0 shares the header's cache line, as in the original.
const (
	take29KidxOff = 0
	take29OverOff = 4
	// Take29Header is the bytes before record 0.
	Take29Header = 8
)

// Take29 is the final kevent ring (design 4; take29 of 23 Dec 2006, kept
// unchanged in take30): whole records in user memory, the kernel's next
// write index ring_kidx and the wrap counter ring_over in the ring header,
// and kernel-private uidx/full/over state behind the ring_lock mutex.
//
// Kernel side (kevent_copy_ring_buffer, called from kevent_wait and
// kevent_get_events once per dequeued kevent, under ring_lock):
//
//	space = full ? 0 : (uidx > kidx ? uidx-kidx : size-(kidx-uidx))
//	if space == 0: fail (-EAGAIN; the kevent gets KEVENT_RET_COPY_FAILED)
//	event[kidx] = ukevent; kidx = (kidx+1) % size
//	if kidx == uidx: full = 1
//	ring->ring_kidx = kidx (put_user)
//
// kevent_wait(num, old_uidx, timeout) returns EINVAL without a ring or when
// num > size; it sleeps until (a kevent is ready and space > 0), or a wakeup
// (need_exit), or old_uidx != uidx (someone committed), then copies up to num
// ready kevents while there is space and returns how many it copied. That
// return value is how the reader learns how many records arrived: ring_kidx
// alone cannot tell a full ring from an empty one (kidx == uidx in both).
//
// User side: the reader keeps its own uidx (Drepper had ring_uidx dropped
// from the shared struct in take26), reads records from it up to what it
// was told, and releases them with kevent_commit(new_uidx, over), which
// returns the number of records committed or:
//
//   - EINVAL when new_uidx >= size;
//   - EOVERFLOW when over is neither ring_over nor ring_over-1 (the caller's
//     view is more than one wrap old);
//   - EINVAL when uidx < kidx and new_uidx > kidx (committing records the
//     kernel has not written);
//   - EOVERFLOW when new_uidx > uidx but over != ring_over (a stale caller
//     from before the last wrap: its records were committed already).
//
// Otherwise new_uidx > uidx commits new_uidx-uidx records; new_uidx < uidx
// is a wrap: it commits size-(uidx-new_uidx) records, increments ring_over
// and publishes it (put_user); new_uidx == uidx commits nothing and returns
// 0 — even when the ring is full, so a full ring is released in two calls.
// Both non-zero cases clear full. The over argument exists because several
// threads may commit: one that slept across a wrap must not free records
// another thread already freed and the kernel refilled.
//
// What the original did not check, reproduced here on purpose: new_uidx is
// compared with kidx only when uidx < kidx. With uidx >= kidx (empty, or
// the kernel has wrapped and the reader has not), or with new_uidx < uidx
// taken as a wrap, a commit can free records the kernel has not written.
//
// Callers serialise the kernel side (Put, PutSpare, Space, Drained) as the
// kernel did with its own locks; Commit may run concurrently with them, and
// both take ring_lock here, as kevent_copy_ring_buffer and
// __kevent_user_commit did (a spinning lock here; see spinlock.go).
type Take29 struct {
	mem   []byte // header, then slots*size record bytes
	size  int
	slots int
	_     pad
	mu    spinLock // ring_lock (see spinlock.go)
	kidx  uint32   // kernel-private state, written under mu
	over  uint32
	// uidx and full are also read without the lock by Drained, as the
	// original's kevent_wait evaluated kevent_ring_space in its wait
	// condition without ring_lock; hence atomics.
	uidx atomic.Uint32
	full atomic.Bool
	_    pad
}

// NewTake29 allocates a take29 ring of slots records of size bytes
// (kevent's ukevent is 40). Like kevent_init, it refuses fewer than 2 slots.
func NewTake29(slots, size int) (*Take29, error) {
	if err := checkRecord("ring.NewTake29", slots, size); err != nil {
		return nil, err
	}
	return &Take29{mem: alignedBytes(Take29Header + slots*size), size: size, slots: slots}, nil
}

// Slots is the ring size in records.
func (r *Take29) Slots() int { return r.slots }

// PayloadSize is the record size.
func (r *Take29) PayloadSize() int { return r.size }

// Record is record i's bytes (user side reads them between its uidx and the
// count it was told).
func (r *Take29) Record(i uint32) []byte {
	off := Take29Header + int(i)*r.size
	return r.mem[off : off+r.size : off+r.size]
}

// Kidx is the shared ring_kidx, read by user space.
func (r *Take29) Kidx() uint32 {
	// Acquire: pairs with the release store in put; records before kidx
	// are written.
	return u32(r.mem, take29KidxOff).Load()
}

// Over is the shared ring_over, read by user space to pass to Commit.
func (r *Take29) Over() uint32 {
	// Acquire: pairs with the release store in Commit.
	return u32(r.mem, take29OverOff).Load()
}

// space is kevent_ring_space; r.mu must be held.
func (r *Take29) space() int {
	uidx := r.uidx.Load()
	switch {
	case r.full.Load():
		return 0
	case uidx > r.kidx:
		return int(uidx - r.kidx)
	default:
		return r.slots - int(r.kidx-uidx)
	}
}

// Space is the free records as the kernel sees them (kevent_ring_space).
func (r *Take29) Space() int {
	r.mu.lock()
	defer r.mu.unlock()
	return r.space()
}

// Uidx is the kernel's copy of the committed index, which kevent_wait
// compares with its old_uidx argument to decide whether to wake.
func (r *Take29) Uidx() uint32 {
	return r.uidx.Load() // pairs with the store in Commit
}

// Drained reports, without taking ring_lock, whether every record the
// kernel side copied has been committed. Only the kernel side may call it
// (it reads kidx, which only the kernel side writes).
func (r *Take29) Drained() bool {
	// Acquire loads: pair with the stores in Commit.
	return r.uidx.Load() == r.kidx && !r.full.Load()
}

// Put is kevent_copy_ring_buffer: it copies payload (at most the record
// size) into record kidx and publishes the new ring_kidx; false means no
// space (the original's -EAGAIN / KEVENT_RET_COPY_FAILED).
func (r *Take29) Put(payload []byte) bool { return r.put(payload, 0) }

// PutSpare is Put that refuses the ring's last free record. It is for a
// producer that, unlike kevent_wait, has no return value through which to
// tell the reader how many records it copied: leaving one record free keeps
// ring_kidx == uidx meaning "empty" only.
func (r *Take29) PutSpare(payload []byte) bool { return r.put(payload, 1) }

func (r *Take29) put(payload []byte, spare int) bool {
	r.mu.lock()
	if r.space() <= spare {
		r.mu.unlock()
		return false
	}
	copy(r.Record(r.kidx), payload)
	if r.kidx++; r.kidx == uint32(r.slots) {
		r.kidx = 0
	}
	if r.kidx == r.uidx.Load() {
		r.full.Store(true)
	}
	// Release: pairs with the acquire load in Kidx; the record is
	// written before the index that covers it.
	storeRelease32(u32(r.mem, take29KidxOff), r.kidx)
	r.mu.unlock()
	return true
}

// Commit is kevent_commit(new_uidx, over): it releases the records before
// newUidx and returns how many it released, or an error wrapping
// unix.EINVAL or unix.EOVERFLOW by the rules in the type's comment.
func (r *Take29) Commit(newUidx, over uint32) (int, error) {
	r.mu.lock()
	defer r.mu.unlock()
	if newUidx >= uint32(r.slots) {
		return 0, fmt.Errorf("kevent_commit(new_uidx=%d, over=%d): index beyond ring of %d: %w", newUidx, over, r.slots, unix.EINVAL)
	}
	if over != r.over-1 && over != r.over {
		return 0, fmt.Errorf("kevent_commit(new_uidx=%d, over=%d): ring_over is %d: %w", newUidx, over, r.over, unix.EOVERFLOW)
	}
	uidx := r.uidx.Load()
	if uidx < r.kidx && newUidx > r.kidx {
		return 0, fmt.Errorf("kevent_commit(new_uidx=%d, over=%d): beyond kidx %d: %w", newUidx, over, r.kidx, unix.EINVAL)
	}
	switch {
	case newUidx > uidx:
		if over != r.over {
			return 0, fmt.Errorf("kevent_commit(new_uidx=%d, over=%d): stale, ring_over is %d: %w", newUidx, over, r.over, unix.EOVERFLOW)
		}
		r.full.Store(false)
		r.uidx.Store(newUidx) // pairs with the loads in space and Drained
		return int(newUidx - uidx), nil
	case newUidx < uidx:
		r.full.Store(false)
		r.uidx.Store(newUidx) // pairs with the loads in space and Drained
		n := r.slots - int(uidx-newUidx)
		r.over++
		// Release: pairs with the acquire load in Over.
		storeRelease32(u32(r.mem, take29OverOff), r.over)
		return n, nil
	}
	return 0, nil
}
