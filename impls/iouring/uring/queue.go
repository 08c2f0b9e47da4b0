package uring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// SubmissionQueue is the application's side of the SQ ring: we produce at the
// tail, the kernel (or its SQPOLL thread) consumes at the head. Indices are
// free-running uint32 counters; a slot is index & mask, so wraparound of the
// counters is ordinary unsigned arithmetic.
type SubmissionQueue struct {
	head  *atomic.Uint32 // written by the kernel
	tail  *atomic.Uint32 // written by us
	flags *atomic.Uint32 // written by the kernel (NEED_WAKEUP, CQ_OVERFLOW, TASKRUN)
	array []uint32       // SQ index array, set to the identity once
	sqes  []SQE
	mask  uint32

	entries   uint32
	local     uint32 // tail including SQEs handed out but not yet published
	published uint32 // the last tail we stored
	headCache uint32 // a kernel head we saw; it only moves forward
}

// CompletionQueue is the application's side of the CQ ring: the kernel
// produces at the tail, we consume at the head.
type CompletionQueue struct {
	head     *atomic.Uint32 // written by us
	tail     *atomic.Uint32 // written by the kernel
	overflow *atomic.Uint32 // CQEs the kernel had to drop (written by the kernel)
	cqes     []CQE
	mask     uint32
	entries  uint32
	local    uint32 // our head: CQEs below it are consumed
}

// u32At returns a typed atomic view of the 4 bytes at off in mem. The view is
// derived from the slice, so no address is ever kept as an integer.
func u32At(mem []byte, off uint32, what string) (*atomic.Uint32, error) {
	if uint64(off)+4 > uint64(len(mem)) || off%4 != 0 {
		return nil, fmt.Errorf("io_uring ring layout: %s offset %d outside %d-byte mapping or misaligned", what, off, len(mem))
	}
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off])), nil
}

// ringSize reads the entry count and mask the kernel wrote into the ring and
// checks them against what setup reported.
func ringSize(mem []byte, maskOff, entriesOff, want uint32, what string) (mask, entries uint32, err error) {
	m, err := u32At(mem, maskOff, what+" ring_mask")
	if err != nil {
		return 0, 0, err
	}
	e, err := u32At(mem, entriesOff, what+" ring_entries")
	if err != nil {
		return 0, 0, err
	}
	// Written once by the kernel at setup, before the fd existed.
	mask, entries = m.Load(), e.Load()
	if entries == 0 || entries&(entries-1) != 0 || mask != entries-1 || entries != want {
		return 0, 0, fmt.Errorf("io_uring ring layout: %s ring has %d entries, mask %#x (setup said %d)", what, entries, mask, want)
	}
	return mask, entries, nil
}

// newSQ builds the SQ views over the SQ ring mapping and the SQE array.
func newSQ(ring, sqeMem []byte, off *SQOffsets, want uint32) (SubmissionQueue, error) {
	var q SubmissionQueue
	var err error
	if q.mask, q.entries, err = ringSize(ring, off.RingMask, off.RingEntries, want, "SQ"); err != nil {
		return q, err
	}
	if q.head, err = u32At(ring, off.Head, "SQ head"); err != nil {
		return q, err
	}
	if q.tail, err = u32At(ring, off.Tail, "SQ tail"); err != nil {
		return q, err
	}
	if q.flags, err = u32At(ring, off.Flags, "SQ flags"); err != nil {
		return q, err
	}
	if off.Array%4 != 0 || uint64(off.Array)+4*uint64(q.entries) > uint64(len(ring)) {
		return q, fmt.Errorf("io_uring ring layout: SQ array at %d does not fit the %d-byte mapping", off.Array, len(ring))
	}
	if uint64(len(sqeMem)) < uint64(q.entries)*uint64(unsafe.Sizeof(SQE{})) {
		return q, fmt.Errorf("io_uring ring layout: %d-byte SQE mapping for %d entries", len(sqeMem), q.entries)
	}
	q.array = unsafe.Slice((*uint32)(unsafe.Pointer(&ring[off.Array])), q.entries)
	q.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&sqeMem[0])), q.entries)
	// The SQ array maps ring slots to SQE indices; the identity lets the
	// slot of an SQE be its own index. These plain stores precede the first
	// tail store, which publishes them.
	for i := range q.array {
		q.array[i] = uint32(i)
	}
	// Start from wherever the kernel's counters are (0 on a fresh ring;
	// synthetic tests start near the wrap point).
	q.headCache = q.head.Load()
	q.local = q.tail.Load()
	q.published = q.local
	return q, nil
}

// newCQ builds the CQ views over the CQ ring mapping.
func newCQ(ring []byte, off *CQOffsets, want uint32) (CompletionQueue, error) {
	var q CompletionQueue
	var err error
	if q.mask, q.entries, err = ringSize(ring, off.RingMask, off.RingEntries, want, "CQ"); err != nil {
		return q, err
	}
	if q.head, err = u32At(ring, off.Head, "CQ head"); err != nil {
		return q, err
	}
	if q.tail, err = u32At(ring, off.Tail, "CQ tail"); err != nil {
		return q, err
	}
	if q.overflow, err = u32At(ring, off.Overflow, "CQ overflow"); err != nil {
		return q, err
	}
	size := uint64(unsafe.Sizeof(CQE{}))
	if off.CQEs%8 != 0 || uint64(off.CQEs)+size*uint64(q.entries) > uint64(len(ring)) {
		return q, fmt.Errorf("io_uring ring layout: CQE array at %d does not fit the %d-byte mapping", off.CQEs, len(ring))
	}
	q.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&ring[off.CQEs])), q.entries)
	q.local = q.head.Load()
	return q, nil
}

// Entries is the ring size.
func (q *SubmissionQueue) Entries() uint32 { return q.entries }

// Next hands out the next free SQE, zeroed, or nil when the ring is full.
// The SQE reaches the kernel at the next Publish.
func (q *SubmissionQueue) Next() *SQE {
	if q.local-q.headCache >= q.entries {
		// Looks full: reload the kernel's head. The load-acquire pairs with
		// the kernel's smp_store_release of sq.head in io_commit_sqring: a
		// slot below the new head has been copied out and may be rewritten.
		q.headCache = q.head.Load()
		if q.local-q.headCache >= q.entries {
			return nil
		}
	}
	sqe := &q.sqes[q.local&q.mask]
	*sqe = SQE{}
	q.local++
	return sqe
}

// Publish makes every SQE handed out so far visible to the kernel and
// returns how many SQEs the kernel has not consumed yet.
func (q *SubmissionQueue) Publish() uint32 {
	if q.local != q.published {
		// Store-release pairs with the kernel's smp_load_acquire of sq.tail
		// in io_sqring_entries: the kernel reads the SQEs only after it sees
		// the new tail.
		q.tail.Store(q.local)
		q.published = q.local
	}
	return q.Pending()
}

// Pending is the number of SQEs handed out that the kernel has not consumed
// (published or not).
func (q *SubmissionQueue) Pending() uint32 {
	if q.local == q.headCache {
		return 0
	}
	// Pairs with the kernel's smp_store_release of sq.head (io_commit_sqring).
	q.headCache = q.head.Load()
	return q.local - q.headCache
}

// Unpublished is the number of SQEs handed out since the last Publish.
func (q *SubmissionQueue) Unpublished() uint32 { return q.local - q.published }

// Flags loads the SQ ring flags. After a Publish the tail store and this load
// are ordered as if by smp_mb() (sequentially consistent atomics), which the
// SQPOLL protocol needs: it pairs with the SQ thread setting
// IORING_SQ_NEED_WAKEUP and then re-checking the tail before it sleeps, so
// either we see the flag or the thread sees our tail. The same load reads
// IORING_SQ_CQ_OVERFLOW and IORING_SQ_TASKRUN, which the kernel sets with
// atomic_or when it parks a CQE on its overflow list or queues deferred work.
func (q *SubmissionQueue) Flags() uint32 { return q.flags.Load() }

// Entries is the ring size.
func (q *CompletionQueue) Entries() uint32 { return q.entries }

// Head is our consumer index: CQEs below it have been consumed.
func (q *CompletionQueue) Head() uint32 { return q.local }

// Tail loads the kernel's producer index: CQEs in [Head(), Tail()) are ready.
func (q *CompletionQueue) Tail() uint32 {
	// Load-acquire pairs with the kernel's smp_store_release of cq.tail in
	// io_commit_cqring: the CQEs below the tail are written before we read them.
	return q.tail.Load()
}

// At returns the CQE for index i (any value in [Head(), Tail())).
func (q *CompletionQueue) At(i uint32) *CQE { return &q.cqes[i&q.mask] }

// Release consumes every CQE below head.
func (q *CompletionQueue) Release(head uint32) {
	if head == q.local {
		return
	}
	q.local = head
	// Store-release: publish the CQ head only after the CQEs are read. Pairs
	// with the kernel's read of cq.head before it refills a slot
	// (io_cqe_cache_refill) and with the head it counts in io_cqring_wait.
	q.head.Store(head)
}

// Dropped is the kernel's count of CQEs it could not even park on its
// overflow list (allocation failure); nonzero means completions were lost.
func (q *CompletionQueue) Dropped() uint32 {
	// Plain counter the kernel bumps with WRITE_ONCE; only read for reports.
	return q.overflow.Load()
}
