package iouring

import (
	"testing"
	"time"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// BenchmarkReap is the user-space cost of one Wait that finds 64 descriptor
// CQEs in the ring, with no system call inside the timed part: the CQEs are
// posted beforehand by IORING_OP_MSG_RING messages the ring sends itself,
// each carrying a multishot registration's user_data, POLLIN as res and
// IORING_CQE_F_MORE (IORING_MSG_RING_FLAGS_PASS), as a multishot poll's
// wakeup would. One op is one CQE reaped and reported.
func BenchmarkReap(b *testing.B) {
	const sources = 64
	n := openLocked(b, Config{Setup: Plain, SQEntries: 128, CQEntries: 256, HelperCPU: -1})
	fds := eventfds(b, sources)
	for i, fd := range fds {
		if err := n.Add(fd, uint64(i), notify.Readable, notify.Multishot); err != nil {
			b.Fatal(err)
		}
	}
	ev := make([]notify.Event, sources)
	if _, err := n.Wait(ev, 0, 0); err != nil { // submits the polls
		b.Fatal(err)
	}
	const msgFlagsPass = 1 << 1 // IORING_MSG_RING_FLAGS_PASS
	post := func() {
		for slot := range n.regs {
			sqe := n.ring.SQ.Next()
			sqe.Opcode = uring.IORING_OP_MSG_RING
			sqe.FD = int32(n.ring.FD)
			sqe.Addr = uring.IORING_MSG_DATA
			sqe.Off = userData(uint32(slot), n.regs[slot].gen)
			sqe.Len = 1 // POLLIN
			sqe.OpFlags = msgFlagsPass
			sqe.FileIndex = uring.IORING_CQE_F_MORE
			sqe.Flags = uring.IOSQE_CQE_SKIP_SUCCESS
			sqe.UserData = udWake
		}
		if _, errno := n.ring.Submit(n.ring.SQ.Publish(), 0); errno != 0 {
			b.Fatalf("MSG_RING: %v", errno)
		}
	}
	post()
	if k, err := n.Wait(ev, sources, time.Second); err != nil || k != sources {
		b.Skipf("self-addressed MSG_RING with FLAGS_PASS not taken by this kernel: %d events, %v", k, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += sources {
		b.StopTimer()
		post()
		b.StartTimer()
		if k, err := n.Wait(ev, sources, 0); err != nil || k != sources {
			b.Fatalf("Wait = %d, %v", k, err)
		}
	}
}
