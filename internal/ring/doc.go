// Package ring holds the collection-ring designs that kbench compares: five
// ways for a producer (the "kernel") to hand fixed-size records to a consumer
// (user space) through shared memory, on the same substrate so that only the
// coordination protocol differs.
//
//  1. Owned: every slot starts with an ownership word (Zach Brown's 2006
//     proposal, af_packet's tp_status). Each side follows its own private
//     index; the only shared state is the word in the slot it is touching.
//     OwnedPow2 is the same protocol in af_packet's aligned layout (the word
//     inside a power-of-two slot, positions wrapped by mask), to measure
//     what Owned's 8-byte header in front of any payload size costs.
//  2. Shared: AIO's mmap'd aio_ring. Head and tail live on one cache line,
//     which both sides write, so every publication and every release moves
//     that line between the CPUs.
//  3. Split: head and tail on separate cache lines and each side caching
//     the other's index (io_uring's SQ/CQ, the classic Lamport/FastForward
//     SPSC queue): the far index is re-read only when the cached copy says
//     full or empty.
//  4. Take29: the final kevent ring (take29/take30, December 2006): whole
//     records indexed by the kernel's ring_kidx plus a wrap counter
//     ring_over, released by kevent_commit(new_uidx, over) with its error
//     rules. Exported so that impls/kevent uses this very code.
//  5. Busy: BPF ring buffer style. Producer and consumer positions on
//     separate lines plus a busy bit in each record header, so a record can
//     be reserved (position advanced) before it is written.
//
// All rings are single producer, single consumer: callers serialise
// multiple producers. All memory is one []byte; typed atomic views are
// derived from it (never a stored uintptr turned back into a pointer), so the
// same code runs over plain Go memory in tests and over mmap'd memory.
//
// Ordering vocabulary. A side hands memory to the other with a release
// store (storeRelease32/64) and takes it with an acquire load
// (atomic.Load*). sync/atomic's Store is sequentially consistent, which on
// amd64 is an XCHG: a full barrier the rings do not need, and measured to
// cost a third to a half of the streaming time per event. So on amd64
// storeRelease is a plain MOV in assembly (release_amd64.go has the
// memory-ordering argument and the numbers); elsewhere, under the race
// detector, and with the build tag ring_seqcst it is sync/atomic's Store.
// Every atomic access names the access it pairs with.
//
// Batching: the index designs (Shared, Split, Take29's kernel side, Busy)
// let a producer Reserve several records before one Publish makes all of
// them visible, and let a consumer take several records with Next before
// one Release returns all of them; that is where publication cost is
// amortised. Owned cannot batch by construction: each slot carries its own
// word, so there is no shared index to publish less often.
package ring
