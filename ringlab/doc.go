// Package ringlab runs kbench's ring workload: the collection-ring designs
// of internal/ring, one producer goroutine and one consumer goroutine pinned
// to chosen CPUs, moving numbered payloads through each design under the
// same access patterns, and measured against the machine's physical floor —
// one cache line bounced between the two CPUs (CacheLineRoundTrip).
//
// The question it answers is the one Zach Brown asked on LKML in July 2006
// about a ring whose slots carry an ownership word: "can someone tell me if
// the cache coherence costs of this are extreme?", against AIO's shared
// head/tail line, split indices with cached copies, take29's kidx/commit
// ring and the BPF ring buffer's busy bit.
//
// Every payload carries a sequence number and a pattern derived from it; the
// consumer checks each one, so a row reports loss, duplication, reordering
// and torn payloads, and any of them fails the row. C twins of owned,
// owned-pow2, shared and split (csrc/ringtwin) run the same loops so a row
// can say how far Go is from C.
//
// What the harness itself costs is measured, not assumed: with Params.Net
// every repetition runs a second time with the consumer's checks off (it
// only sums the payload, as a minimal ring's reader does), so a row gives
// the design's cost as measured and net of the checks; exactly-once is
// proven on the checked runs. Params.WorkNs and WorkBytes add calibrated
// application work per event on the consumer (internal/work), and the
// design map (MapSpec, Cells) sweeps that work against batch, payload size
// and pattern and names the winning design of each cell, or says that none
// won in every round. Rows of one Run are measured interleaved, round by
// round, so that they can be compared with each other.
package ringlab
