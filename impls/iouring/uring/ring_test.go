package uring

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newRing(t *testing.T, entries uint32, p *Params) *Ring {
	t.Helper()
	r, err := New(entries, p)
	var se *SetupError
	if errors.As(err, &se) && (se.Errno == unix.EPERM || se.Errno == unix.ENOSYS) {
		t.Skipf("kernel refuses io_uring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// TestNopRoundTrip submits NOPs through the real kernel across several wraps
// of a 4-entry SQ ring and reads their CQEs back in order.
func TestNopRoundTrip(t *testing.T) {
	p := Params{Flags: IORING_SETUP_CQSIZE, CQEntries: 8}
	r := newRing(t, 4, &p)
	if r.SQ.Entries() != 4 || r.CQ.Entries() != 8 {
		t.Fatalf("entries %d/%d, want 4/8", r.SQ.Entries(), r.CQ.Entries())
	}
	var want uint64
	for round := 0; round < 10; round++ {
		for i := 0; i < 3; i++ {
			sqe := r.SQ.Next()
			if sqe == nil {
				t.Fatalf("round %d: SQ full after %d SQEs", round, i)
			}
			sqe.Opcode = IORING_OP_NOP
			sqe.UserData = want + uint64(i)
		}
		n, errno := r.Wait(r.SQ.Publish(), 3, 0, time.Second)
		if errno != 0 || n != 3 {
			t.Fatalf("round %d: enter = %d, %v", round, n, errno)
		}
		head, tail := r.CQ.Head(), r.CQ.Tail()
		if tail-head != 3 {
			t.Fatalf("round %d: %d CQEs, want 3", round, tail-head)
		}
		for ; head != tail; head++ {
			if c := r.CQ.At(head); c.UserData != want || c.Res != 0 {
				t.Fatalf("round %d: CQE %+v, want user_data %d res 0", round, *c, want)
			}
			want++
		}
		r.CQ.Release(head)
	}
}

// TestWaitTimeout: an EXT_ARG wait on an empty ring ends with ETIME after
// about the timeout, also below a millisecond.
func TestWaitTimeout(t *testing.T) {
	var p Params
	r := newRing(t, 4, &p)
	if p.Features&IORING_FEAT_EXT_ARG == 0 {
		t.Skip("kernel lacks IORING_FEAT_EXT_ARG")
	}
	for _, d := range []time.Duration{300 * time.Microsecond, 15 * time.Millisecond} {
		start := time.Now()
		_, errno := r.Wait(0, 1, 0, d)
		el := time.Since(start)
		if errno != unix.ETIME {
			t.Fatalf("Wait(%v) on an empty ring = %v, want ETIME", d, errno)
		}
		if el < d*8/10 || el > d+200*time.Millisecond {
			t.Errorf("Wait(%v) took %v", d, el)
		}
	}
}

func TestProbe(t *testing.T) {
	var p Params
	r := newRing(t, 4, &p)
	if err := r.Probe(IORING_OP_NOP, IORING_OP_POLL_ADD); err != nil {
		t.Fatal(err)
	}
	if err := r.Probe(255); err == nil {
		t.Fatal("opcode 255 reported as supported")
	}
}
