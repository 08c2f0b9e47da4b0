//go:build linux

package aioring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// errRingLayout: the mapping is not a struct aio_ring this code understands;
// the notifier then reaps through io_getevents only.
var errRingLayout = errors.New("aio_ring layout not understood")

// ring is the consumer side of the kernel's completion ring, viewed through a
// []byte so that synthetic memory and the kernel's mapping run the same code.
//
// The kernel (aio_complete, fs/aio.c) writes the io_event at tail, issues
// smp_wmb(), then stores tail = (tail+1) % nr. It never checks head before
// writing: overrun is prevented upstream, because io_submit only allocates a
// request while reqs_available > 0, and slots return to reqs_available only
// when the kernel reads a head that has moved past them
// (refill_reqs_available, under completion_lock). Publishing head is what
// gives slots back.
type ring struct {
	nr     uint32
	head   *atomic.Uint32 // typed views into mem, derived once here
	tail   *atomic.Uint32
	events []ioEvent // the nr slots, a view into mem after the header
}

// newRing validates mem as a struct aio_ring and derives its views. A ring
// this code does not understand (bad magic, incompat_features != 0, another
// header length) is refused, as the kernel's AIO_RING_INCOMPAT_FEATURES
// contract asks of user-space readers.
func newRing(mem []byte) (*ring, error) {
	if len(mem) < ringHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", errRingLayout, len(mem))
	}
	if uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, fmt.Errorf("%w: mapping not 8-byte aligned", errRingLayout)
	}
	u32 := func(off uintptr) uint32 { return (*atomic.Uint32)(unsafe.Pointer(&mem[off])).Load() }
	if m := u32(offRingMagic); m != ringMagic {
		return nil, fmt.Errorf("%w: magic %#x, want %#x", errRingLayout, m, uint32(ringMagic))
	}
	if f := u32(offRingIncompat); f != 0 {
		return nil, fmt.Errorf("%w: incompat_features %#x", errRingLayout, f)
	}
	if h := u32(offRingHdrLen); h != ringHeaderSize {
		return nil, fmt.Errorf("%w: header_length %d, want %d", errRingLayout, h, ringHeaderSize)
	}
	nr := u32(offRingNr)
	if nr < 2 || uint64(len(mem)) < ringHeaderSize+uint64(nr)*ioEventSize {
		return nil, fmt.Errorf("%w: nr %d does not fit %d bytes", errRingLayout, nr, len(mem))
	}
	return &ring{
		nr:     nr,
		head:   (*atomic.Uint32)(unsafe.Pointer(&mem[offRingHead])),
		tail:   (*atomic.Uint32)(unsafe.Pointer(&mem[offRingTail])),
		events: unsafe.Slice((*ioEvent)(unsafe.Pointer(&mem[ringHeaderSize])), nr),
	}, nil
}

// kernelRing derives the one []byte view of the ring io_setup mapped at ctx.
// The header is read through a typed pointer first, because its nr sizes the
// view; the magic is checked before nr is trusted for that.
func kernelRing(ctx unsafe.Pointer) ([]byte, error) {
	h := (*ringHeader)(ctx)
	if h.magic != ringMagic {
		return nil, fmt.Errorf("%w: magic %#x, want %#x", errRingLayout, h.magic, uint32(ringMagic))
	}
	// ioctx_alloc refuses rings above 0x10000000 bytes of events; a larger
	// nr is not a ring we know.
	if h.nr > 0x10000000/ioEventSize {
		return nil, fmt.Errorf("%w: nr %d", errRingLayout, h.nr)
	}
	return unsafe.Slice((*byte)(ctx), ringHeaderSize+uintptr(h.nr)*ioEventSize), nil
}

// read copies up to len(dst) completions out of the ring and publishes the
// new head. It returns 0 when the ring is empty.
func (r *ring) read(dst []ioEvent) int {
	// head is written by the kernel only inside our own io_getevents
	// (aio_read_events_ring, under ring_lock), which never overlaps this
	// call, so this load needs no ordering of its own. The kernel clamps a
	// user-written head with % nr_events (refill_reqs_available); so do we.
	head := r.head.Load() % r.nr
	// Acquire: pairs with aio_complete's smp_wmb() between writing the
	// io_event and storing ring->tail, so the slots below tail are complete
	// when we copy them.
	tail := r.tail.Load() % r.nr
	avail := (tail + r.nr - head) % r.nr
	k := min(avail, uint32(len(dst)))
	if k == 0 {
		return 0
	}
	// Indices wrap modulo nr, not with a mask: nr is (ring pages * PAGE_SIZE
	// - header) / 32, e.g. 127 or 255, never a power of two.
	first := min(k, r.nr-head)
	copy(dst, r.events[head:head+first])
	copy(dst[first:k], r.events[:k-first])
	// Release: the copies above are complete before the kernel can see the
	// new head. Pairs with aio_complete's and user_refill_reqs_available's
	// read of ring->head under completion_lock, after which these slots may
	// be handed to new requests and overwritten.
	r.head.Store((head + k) % r.nr)
	return int(k)
}

// ready reports how many completions the ring holds (tests and diagnostics).
func (r *ring) ready() int {
	head := r.head.Load() % r.nr // see read
	tail := r.tail.Load() % r.nr // acquire, pairs with aio_complete's smp_wmb(); see read
	return int((tail + r.nr - head) % r.nr)
}
