//go:build amd64 && !race && !ring_seqcst

package ring

import (
	"sync/atomic"
	"unsafe"
)

// ReleaseStoreAsm reports whether storeRelease is the assembly MOV (true) or
// sync/atomic's sequentially consistent Store (false). Results record it.
const ReleaseStoreAsm = true

// storeRelease32 publishes v at w with release semantics and no more.
//
// Why a plain MOV is enough on amd64. Under x86-TSO a store is never
// reordered with an earlier load or an earlier store of the same CPU, and
// stores become visible to other CPUs in program order. So once another CPU
// observes this store, it also observes every payload byte written before it
// (producer side), and no load issued before it can still be pending
// (consumer side: the slot's payload was read before the slot is handed
// back, so the producer cannot overwrite bytes the consumer has yet to read).
// That is exactly a release store; the acquire side is atomic.Load, which is
// also a plain MOV on amd64. What TSO does allow — a later load passing this
// store — is the store→load (Dekker) pattern only sequential consistency
// forbids, and the rings never depend on it: no side decides anything from
// "my store and then your store" ordering; each index or word has one
// writer. sync/atomic.Store must forbid it, so it is an XCHG (an implicit
// LOCK, a full barrier that drains the store buffer), which is what this
// function avoids.
//
// The compiler is the other half: Go may not move memory operations across
// a call to an assembly function it cannot inline or inspect, so the payload
// stores stay before this call and payload loads stay before the consumer's
// Release. The function is marked noescape and NOSPLIT so that the call is
// cheap (no stack check, no heap escape of w).
//
// Measured (ringlab, streaming, 40-byte payloads, CPUs 0 and 1 of a
// 2-vCPU AMD EPYC VM, quiet machine, medians of 6): ownership-word ring
// 37 ns/event with sync/atomic's XCHG vs 23 ns with this MOV; split ring 40
// vs 26 ns; the C twins (release stores, also a MOV) 14 and 12.5 ns. The
// XCHG must drain the store buffer, and with the payload stores queued
// behind it that means waiting for the slot line to come back from the
// consumer's CPU; the MOV lets the producer run on. In a single-threaded
// loop, with nothing to wait for, the MOV is slower instead (the call
// cannot be inlined: ABI0, arguments on the stack), which is why the
// microbenchmark BenchmarkOwnedLocal favours XCHG. Build with the tag
// ring_seqcst to get sync/atomic everywhere and compare.
//
// Under the race detector this file is never built (release_other.go is):
// the detector cannot see assembly stores, so it would miss the
// happens-before edge and report false races on the payload.
func storeRelease32(w *atomic.Uint32, v uint32) { movl((*uint32)(unsafe.Pointer(w)), v) }

// storeRelease64 is storeRelease32 for 64-bit indices.
func storeRelease64(w *atomic.Uint64, v uint64) { movq((*uint64)(unsafe.Pointer(w)), v) }

// storeReleaseAt is storeRelease32 to the 32-bit word at mem[off:], which
// the caller has bounded (a slot offset, a header offset). The address is
// formed in the assembly, so that Publish and Release are small enough to
// inline: each then costs its caller one call instead of two (with every
// live register spilled around each call, Go having no callee-saved
// registers).
func storeReleaseAt(mem []byte, off int, v uint32) { movlAt(unsafe.SliceData(mem), off, v) }

//go:noescape
func movl(p *uint32, v uint32)

//go:noescape
func movq(p *uint64, v uint64)

//go:noescape
func movlAt(base *byte, off int, v uint32)
