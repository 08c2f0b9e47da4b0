//go:build !amd64 || race || ring_seqcst

package ring

import "sync/atomic"

// ReleaseStoreAsm reports whether storeRelease is the assembly MOV (true) or
// sync/atomic's sequentially consistent Store (false). Results record it.
const ReleaseStoreAsm = false

// storeRelease32 falls back to sync/atomic's Store, which is at least a
// release. It is used on every platform without an assembly release store,
// with the ring_seqcst build tag (to measure what XCHG costs), and on amd64
// under the race detector, which sees sync/atomic operations
// as synchronisation but cannot see an assembly MOV (see release_amd64.go).
func storeRelease32(w *atomic.Uint32, v uint32) { w.Store(v) } // pairs with the caller's partner Load

// storeRelease64 is storeRelease32 for 64-bit indices.
func storeRelease64(w *atomic.Uint64, v uint64) { w.Store(v) }
