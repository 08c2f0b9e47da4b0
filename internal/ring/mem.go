package ring

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// CacheLine is the coherence granule the layouts pad to (64 on amd64).
const CacheLine = int(unsafe.Sizeof(cpu.CacheLinePad{}))

// alignedBytes returns n zeroed bytes whose first byte is cache-line aligned.
//
// The rings use ordinary Go memory (make) rather than an anonymous mmap:
// nothing has to be unmapped, the GC never moves heap objects so the
// alignment holds for the slice's lifetime, and a ring built over mmap'd
// kernel memory only needs a different []byte. The alignment is computed
// from the address, but the address is never turned back into a pointer.
func alignedBytes(n int) []byte {
	b := make([]byte, n+CacheLine)
	addr := uintptr(unsafe.Pointer(&b[0]))
	off := int(-addr & uintptr(CacheLine-1))
	return b[off : off+n : off+n]
}

// u32 is the atomic view of the 4 bytes at mem[off:]; off must be 4-aligned
// relative to an aligned base. Slicing (not indexing, which the race
// detector counts as a plain read) keeps the bounds check on all 4 bytes.
func u32(mem []byte, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(unsafe.SliceData(mem[off : off+4])))
}

// word is u32 without the bounds check, for the offsets Publish and Release
// store to, which the ring bounds itself (a slot index below slots, a
// masked index, a constant header offset inside mem). Without the check
// those two methods fit the inliner's budget, so each costs the caller one
// call (the release store) rather than two, with every live register
// spilled around each: measured as part of the Go/C gap (ringlab).
func word(mem []byte, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(mem)), off))
}

// u64 is the atomic view of the 8 bytes at mem[off:]; off must be 8-aligned.
func u64(mem []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(unsafe.SliceData(mem[off : off+8])))
}

// checkRecord validates a payload size shared by the index designs.
func checkRecord(op string, slots, size int) error {
	if slots < 2 {
		return fmt.Errorf("%s: %d slots, need at least 2: %w", op, slots, os.ErrInvalid)
	}
	if size < 8 || size%8 != 0 {
		return fmt.Errorf("%s: record size %d, need a multiple of 8 and at least 8: %w", op, size, os.ErrInvalid)
	}
	if slots > 1<<30 || size > 1<<20 {
		return fmt.Errorf("%s: %d slots of %d bytes is too large: %w", op, slots, size, os.ErrInvalid)
	}
	return nil
}

// pad keeps fields that different sides write on different cache lines.
type pad [64]byte

// Compile-time check that pad covers the platform's line (cpu.CacheLinePad
// is 64 on amd64, arm64 Linux and most others; grow pad if that changes).
var _ [64 - unsafe.Sizeof(cpu.CacheLinePad{})]byte
