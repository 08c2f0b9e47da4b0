//go:build !amd64 || race || ring_seqcst

package ring

import "sync/atomic"

// ReleaseStoreAsm reports whether storeRelease is the assembly MOV (true) or
// sync/atomic's sequentially consistent Store (false). Results record it.
const ReleaseStoreAsm = false

// storeRelease32 is sync/atomic's Store: sequentially consistent, so at
// least a release. It is used on platforms without an assembly release
// store, with the build tag ring_seqcst (to measure what the XCHG costs on
// amd64; see release_amd64.go), and under the race detector, which sees
// sync/atomic operations as synchronisation but cannot see an assembly
// store. The caller's comment names the load it pairs with.
func storeRelease32(w *atomic.Uint32, v uint32) { w.Store(v) }

// storeRelease64 is storeRelease32 for 64-bit indices.
func storeRelease64(w *atomic.Uint64, v uint64) { w.Store(v) }

// storeReleaseAt is storeRelease32 to the word at mem[off:].
func storeReleaseAt(mem []byte, off int, v uint32) { word(mem, off).Store(v) }
