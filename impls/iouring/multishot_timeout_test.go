package iouring

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
)

// TestMultishotTimeoutDrifts records why periodic timers are re-armed by
// the backend rather than made IORING_TIMEOUT_MULTISHOT (timer.go): the
// kernel re-arms a multishot timeout, relative, from the task_work that
// posts each CQE. On a DEFER_TASKRUN ring that task_work runs only when the
// collector enters, so a collector away for 20 periods finds one CQE where
// timerfd would count 20. It fails if this kernel ever keeps the timer
// going on its own, and the choice should then be revisited.
func TestMultishotTimeoutDrifts(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := uring.Params{Flags: uring.IORING_SETUP_SINGLE_ISSUER | uring.IORING_SETUP_DEFER_TASKRUN}
	r, err := uring.New(8, &p)
	var se *uring.SetupError
	if errors.As(err, &se) {
		t.Skipf("kernel refuses a DEFER_TASKRUN ring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const period = 2 * time.Millisecond
	var arena tsArena // outside the Go heap, as the backend's timespecs are
	if err := arena.grow(0); err != nil {
		t.Fatal(err)
	}
	defer arena.close()
	ts, addr := arena.at(0)
	ts.Nsec = int64(period)
	sqe := r.SQ.Next()
	sqe.Opcode = uring.IORING_OP_TIMEOUT
	sqe.FD = -1
	sqe.Addr = addr
	sqe.Len = 1
	sqe.OpFlags = uring.IORING_TIMEOUT_MULTISHOT
	sqe.UserData = 1
	if _, errno := r.Submit(r.SQ.Publish(), 0); errno != 0 {
		t.Fatalf("submit: %v", errno)
	}
	time.Sleep(20 * period)
	if _, errno := r.Submit(0, uring.IORING_ENTER_GETEVENTS); errno != 0 {
		t.Fatalf("enter: %v", errno)
	}
	var cqes, more int
	for head, tail := r.CQ.Head(), r.CQ.Tail(); head != tail; head++ {
		c := r.CQ.At(head)
		if c.UserData == 1 && c.Res == -int32(unix.EINVAL) {
			t.Skip("kernel refuses IORING_TIMEOUT_MULTISHOT")
		}
		if c.UserData != 1 || c.Res != -int32(unix.ETIME) {
			t.Fatalf("CQE %+v, want the timeout's -ETIME", *c)
		}
		cqes++
		if c.Flags&uring.IORING_CQE_F_MORE != 0 {
			more++
		}
		r.CQ.Release(head + 1)
	}
	t.Logf("multishot timeout of %v, collector away %v: %d CQEs (%d with F_MORE)", period, 20*period, cqes, more)
	if cqes == 0 || cqes > 2 {
		t.Errorf("%d CQEs after 20 periods away: the kernel kept the multishot timer running without the collector", cqes)
	}
}
