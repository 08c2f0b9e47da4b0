package uring

import "unsafe"

// io_uring_setup flags (io_uring_params.flags).
const (
	IORING_SETUP_IOPOLL        = 1 << 0
	IORING_SETUP_SQPOLL        = 1 << 1
	IORING_SETUP_SQ_AFF        = 1 << 2
	IORING_SETUP_CQSIZE        = 1 << 3
	IORING_SETUP_CLAMP         = 1 << 4
	IORING_SETUP_COOP_TASKRUN  = 1 << 8
	IORING_SETUP_TASKRUN_FLAG  = 1 << 9
	IORING_SETUP_SINGLE_ISSUER = 1 << 12
	IORING_SETUP_DEFER_TASKRUN = 1 << 13
)

// io_uring_params.features.
const (
	IORING_FEAT_SINGLE_MMAP = 1 << 0
	IORING_FEAT_NODROP      = 1 << 1
	IORING_FEAT_POLL_32BITS = 1 << 6
	IORING_FEAT_EXT_ARG     = 1 << 8
	IORING_FEAT_CQE_SKIP    = 1 << 11
)

// Opcodes (enum io_uring_op) this binding uses.
const (
	IORING_OP_NOP            = 0
	IORING_OP_POLL_ADD       = 6
	IORING_OP_POLL_REMOVE    = 7
	IORING_OP_TIMEOUT        = 11
	IORING_OP_TIMEOUT_REMOVE = 12
	IORING_OP_MSG_RING       = 40
)

// IORING_OP_TIMEOUT flags, carried in sqe.timeout_flags (OpFlags). Without a
// clock flag the timer runs on CLOCK_MONOTONIC.
const (
	IORING_TIMEOUT_ABS       = 1 << 0
	IORING_TIMEOUT_MULTISHOT = 1 << 6
)

// sqe.flags.
const (
	IOSQE_CQE_SKIP_SUCCESS = 1 << 6
)

// POLL_ADD command flags, carried in sqe.len (poll32_events holds the mask).
const (
	IORING_POLL_ADD_MULTI = 1 << 0
)

// IORING_OP_MSG_RING commands, carried in sqe.addr.
const (
	IORING_MSG_DATA = 0
)

// cqe.flags.
const (
	IORING_CQE_F_MORE = 1 << 1
)

// sq_ring.flags, written by the kernel.
const (
	IORING_SQ_NEED_WAKEUP = 1 << 0
	IORING_SQ_CQ_OVERFLOW = 1 << 1
	IORING_SQ_TASKRUN     = 1 << 2
)

// io_uring_enter flags.
const (
	IORING_ENTER_GETEVENTS = 1 << 0
	IORING_ENTER_SQ_WAKEUP = 1 << 1
	IORING_ENTER_SQ_WAIT   = 1 << 2
	IORING_ENTER_EXT_ARG   = 1 << 3
)

// mmap offsets of the three regions.
const (
	IORING_OFF_SQ_RING = 0
	IORING_OFF_CQ_RING = 0x8000000
	IORING_OFF_SQES    = 0x10000000
)

// io_uring_register opcodes.
const (
	IORING_REGISTER_PROBE = 8
)

// IO_URING_OP_SUPPORTED is set in io_uring_probe_op.flags for a known opcode.
const IO_URING_OP_SUPPORTED = 1 << 0

// SQOffsets is struct io_sqring_offsets: byte offsets into the SQ ring mapping.
type SQOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Flags       uint32
	Dropped     uint32
	Array       uint32
	Resv1       uint32
	UserAddr    uint64 // resv2 in older headers
}

// CQOffsets is struct io_cqring_offsets: byte offsets into the CQ ring mapping.
type CQOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Overflow    uint32
	CQEs        uint32
	Flags       uint32
	Resv1       uint32
	UserAddr    uint64 // resv2 in older headers
}

// Params is struct io_uring_params, filled in by io_uring_setup.
type Params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32 // milliseconds
	Features     uint32
	WQFd         uint32
	Resv         [3]uint32
	SQOff        SQOffsets
	CQOff        CQOffsets
}

// SQE is struct io_uring_sqe (64 bytes, IORING_SETUP_SQE128 not used). Union
// members are named after the use this binding makes of them.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	FD          int32
	Off         uint64 // off / addr2; MSG_RING: user_data of the target CQE; TIMEOUT: completion count
	Addr        uint64 // addr; POLL_REMOVE, TIMEOUT_REMOVE: user_data of the request; TIMEOUT: *Timespec
	Len         uint32 // POLL_ADD: IORING_POLL_ADD_* flags; MSG_RING: target res; TIMEOUT: 1
	OpFlags     uint32 // poll32_events / msg_ring_flags / timeout_flags ...
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	FileIndex   uint32 // splice_fd_in / file_index
	Addr3       uint64
	Pad2        uint64
}

// CQE is struct io_uring_cqe (16 bytes, IORING_SETUP_CQE32 not used).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Timespec is struct __kernel_timespec.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// GeteventsArg is struct io_uring_getevents_arg, passed with
// IORING_ENTER_EXT_ARG. The kernel reads Ts as a user pointer to a Timespec
// (0: no timeout). The 32-bit word after SigmaskSz is pad in older headers and
// min_wait_usec since 6.12; it stays 0 here.
type GeteventsArg struct {
	Sigmask     uint64
	SigmaskSz   uint32
	MinWaitUsec uint32
	Ts          uint64
}

// ProbeOp is struct io_uring_probe_op; ProbeHeader is the fixed part of
// struct io_uring_probe that precedes its ops[] array.
type ProbeOp struct {
	Op    uint8
	Resv  uint8
	Flags uint16
	Resv2 uint32
}

type ProbeHeader struct {
	LastOp uint8
	OpsLen uint8
	Resv   uint16
	Resv2  [3]uint32
}

// Compile-time layout checks, both ways: a negative array length fails the
// build if Go's layout ever disagrees with the kernel's.
var (
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
	_ [unsafe.Sizeof(SQOffsets{}) - 40]byte
	_ [40 - unsafe.Sizeof(SQOffsets{})]byte
	_ [unsafe.Sizeof(CQOffsets{}) - 40]byte
	_ [40 - unsafe.Sizeof(CQOffsets{})]byte
	_ [unsafe.Sizeof(Params{}) - 120]byte
	_ [120 - unsafe.Sizeof(Params{})]byte
	_ [unsafe.Sizeof(GeteventsArg{}) - 24]byte
	_ [24 - unsafe.Sizeof(GeteventsArg{})]byte
	_ [unsafe.Sizeof(Timespec{}) - 16]byte
	_ [16 - unsafe.Sizeof(Timespec{})]byte
	_ [unsafe.Sizeof(ProbeOp{}) - 8]byte
	_ [8 - unsafe.Sizeof(ProbeOp{})]byte
	_ [unsafe.Sizeof(ProbeHeader{}) - 16]byte
	_ [16 - unsafe.Sizeof(ProbeHeader{})]byte

	// Field offsets the kernel checks with BUILD_BUG_SQE_ELEM.
	_ [unsafe.Offsetof(SQE{}.Off) - 8]byte
	_ [8 - unsafe.Offsetof(SQE{}.Off)]byte
	_ [unsafe.Offsetof(SQE{}.Len) - 24]byte
	_ [24 - unsafe.Offsetof(SQE{}.Len)]byte
	_ [unsafe.Offsetof(SQE{}.OpFlags) - 28]byte
	_ [28 - unsafe.Offsetof(SQE{}.OpFlags)]byte
	_ [unsafe.Offsetof(SQE{}.UserData) - 32]byte
	_ [32 - unsafe.Offsetof(SQE{}.UserData)]byte
	_ [unsafe.Offsetof(SQE{}.FileIndex) - 44]byte
	_ [44 - unsafe.Offsetof(SQE{}.FileIndex)]byte
	_ [unsafe.Offsetof(SQE{}.Addr3) - 48]byte
	_ [48 - unsafe.Offsetof(SQE{}.Addr3)]byte
	_ [unsafe.Offsetof(Params{}.SQOff) - 40]byte
	_ [40 - unsafe.Offsetof(Params{}.SQOff)]byte
	_ [unsafe.Offsetof(GeteventsArg{}.Ts) - 16]byte
	_ [16 - unsafe.Offsetof(GeteventsArg{}.Ts)]byte
)
