//go:build linux

package aioring

import "unsafe"

// Layouts shared with the kernel (include/uapi/linux/aio_abi.h and the
// struct aio_ring at the top of fs/aio.c), declared here rather than taken
// from a binding so that each field the kernel reads or writes is visible.

// iocbCmdPoll is IOCB_CMD_POLL: aio_buf carries a poll mask, and the request
// completes once, with the ready mask in res, when the file becomes ready.
const iocbCmdPoll = 5

// iocb is struct iocb. aio_key and aio_rw_flags swap places on big-endian
// machines; both are zero for a poll (the kernel rejects a non-zero
// aio_rw_flags for IOCB_CMD_POLL and writes KIOCB_KEY, 0, into aio_key), so
// the little-endian order below is correct on either.
type iocb struct {
	data      uint64 // aio_data: comes back in io_event.data; holds a slot key, never a pointer
	key       uint32 // aio_key: written by io_submit, checked by io_cancel
	rwFlags   int32  // aio_rw_flags
	opcode    uint16 // aio_lio_opcode
	reqprio   int16  // aio_reqprio
	fildes    uint32 // aio_fildes
	buf       uint64 // aio_buf: for IOCB_CMD_POLL, the requested POLL* mask
	nbytes    uint64 // aio_nbytes
	offset    int64  // aio_offset
	reserved2 uint64 // aio_reserved2: must be zero
	flags     uint32 // aio_flags (IOCB_FLAG_RESFD, IOCB_FLAG_IOPRIO)
	resfd     uint32 // aio_resfd
}

// ioEvent is struct io_event, also the slot type of the mmap'd ring.
type ioEvent struct {
	data uint64 // the iocb's aio_data
	obj  uint64 // the iocb's user address (io_cancel's lookup key)
	res  int64  // for a poll: mangle_poll(ready mask), 0 if cancelled
	res2 int64
}

// ringHeader is the fixed head of struct aio_ring; the io_events follow it
// at header_length bytes from the start of the mapping.
type ringHeader struct {
	id               uint32 // kernel's context index; lookup_ioctx reads it back, so user space must not write it
	nr               uint32 // number of io_event slots: not a power of two
	head             uint32 // consumer index, written by user space or by io_getevents
	tail             uint32 // producer index, written by aio_complete
	magic            uint32
	compatFeatures   uint32
	incompatFeatures uint32
	headerLength     uint32
}

const (
	iocbSize       = 64
	ioEventSize    = 32
	ringHeaderSize = 32

	ringMagic = 0xa10a10a1 // AIO_RING_MAGIC

	offRingNr       = unsafe.Offsetof(ringHeader{}.nr)
	offRingHead     = unsafe.Offsetof(ringHeader{}.head)
	offRingTail     = unsafe.Offsetof(ringHeader{}.tail)
	offRingMagic    = unsafe.Offsetof(ringHeader{}.magic)
	offRingIncompat = unsafe.Offsetof(ringHeader{}.incompatFeatures)
	offRingHdrLen   = unsafe.Offsetof(ringHeader{}.headerLength)
)

// Compile-time layout checks: each array length is negative, and the build
// fails, if a size or offset differs from the kernel's.
var (
	_ [iocbSize - unsafe.Sizeof(iocb{})]byte
	_ [unsafe.Sizeof(iocb{}) - iocbSize]byte
	_ [16 - unsafe.Offsetof(iocb{}.opcode)]byte
	_ [unsafe.Offsetof(iocb{}.opcode) - 16]byte
	_ [24 - unsafe.Offsetof(iocb{}.buf)]byte
	_ [unsafe.Offsetof(iocb{}.buf) - 24]byte
	_ [56 - unsafe.Offsetof(iocb{}.flags)]byte
	_ [unsafe.Offsetof(iocb{}.flags) - 56]byte

	_ [ioEventSize - unsafe.Sizeof(ioEvent{})]byte
	_ [unsafe.Sizeof(ioEvent{}) - ioEventSize]byte
	_ [16 - unsafe.Offsetof(ioEvent{}.res)]byte
	_ [unsafe.Offsetof(ioEvent{}.res) - 16]byte

	_ [ringHeaderSize - unsafe.Sizeof(ringHeader{})]byte
	_ [unsafe.Sizeof(ringHeader{}) - ringHeaderSize]byte
	_ [8 - offRingHead]byte
	_ [offRingHead - 8]byte
	_ [12 - offRingTail]byte
	_ [offRingTail - 12]byte
)

// User-space POLL* bits (include/uapi/asm-generic/poll.h). The kernel
// demangles aio_buf from them and mangles the completion's res back into them.
const (
	pollIn     = 0x0001
	pollOut    = 0x0004
	pollErr    = 0x0008
	pollHup    = 0x0010
	pollNval   = 0x0020
	pollRdNorm = 0x0040
	pollRdHup  = 0x2000
)
