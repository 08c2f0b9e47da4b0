package uring

import (
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"
)

// synthetic lays out SQ and CQ rings in plain byte slices the way the kernel
// describes them through the offsets, so the index arithmetic can be tested
// without a kernel. The test plays the kernel's part by hand.
type synthetic struct {
	ring []byte
	sqes []byte
	p    Params
}

func newSynthetic(t *testing.T, sqEntries, cqEntries uint32, start uint32) *synthetic {
	t.Helper()
	s := &synthetic{}
	p := &s.p
	p.SQEntries, p.CQEntries = sqEntries, cqEntries
	p.SQOff = SQOffsets{Head: 0, Tail: 64, RingMask: 128, RingEntries: 132, Flags: 136, Dropped: 140, Array: 256}
	cqBase := uint32(256 + 4*sqEntries + 64)
	cqBase = (cqBase + 63) &^ 63
	p.CQOff = CQOffsets{Head: cqBase, Tail: cqBase + 64, RingMask: cqBase + 128, RingEntries: cqBase + 132,
		Overflow: cqBase + 136, Flags: cqBase + 140, CQEs: cqBase + 192}
	s.ring = make([]byte, int(p.CQOff.CQEs)+int(cqEntries)*16)
	s.sqes = make([]byte, int(sqEntries)*64)
	s.put(p.SQOff.RingMask, sqEntries-1)
	s.put(p.SQOff.RingEntries, sqEntries)
	s.put(p.CQOff.RingMask, cqEntries-1)
	s.put(p.CQOff.RingEntries, cqEntries)
	// Start every counter just below the 32-bit wrap so the tests cross it.
	for _, off := range []uint32{p.SQOff.Head, p.SQOff.Tail, p.CQOff.Head, p.CQOff.Tail} {
		s.put(off, start)
	}
	return s
}

func (s *synthetic) put(off, v uint32) { binary.LittleEndian.PutUint32(s.ring[off:], v) }
func (s *synthetic) get(off uint32) uint32 {
	return binary.LittleEndian.Uint32(s.ring[off:])
}

func (s *synthetic) queues(t *testing.T) (SubmissionQueue, CompletionQueue) {
	t.Helper()
	sq, err := newSQ(s.ring, s.sqes, &s.p.SQOff, s.p.SQEntries)
	if err != nil {
		t.Fatal(err)
	}
	cq, err := newCQ(s.ring, &s.p.CQOff, s.p.CQEntries)
	if err != nil {
		t.Fatal(err)
	}
	return sq, cq
}

// kernelConsume plays io_submit_sqes: it consumes up to n published SQEs in
// order and returns their user_data.
func (s *synthetic) kernelConsume(n int) []uint64 {
	head, tail := s.get(s.p.SQOff.Head), s.get(s.p.SQOff.Tail)
	mask := s.p.SQEntries - 1
	var out []uint64
	for ; head != tail && len(out) < n; head++ {
		idx := s.get(s.p.SQOff.Array + 4*(head&mask))
		sqe := (*SQE)(unsafe.Pointer(&s.sqes[idx*64]))
		out = append(out, sqe.UserData)
	}
	s.put(s.p.SQOff.Head, head)
	return out
}

// kernelPost plays io_fill_cqe: it appends a CQE unless the ring is full.
func (s *synthetic) kernelPost(ud uint64) bool {
	head, tail := s.get(s.p.CQOff.Head), s.get(s.p.CQOff.Tail)
	if tail-head == s.p.CQEntries {
		return false
	}
	off := s.p.CQOff.CQEs + 16*(tail&(s.p.CQEntries-1))
	binary.LittleEndian.PutUint64(s.ring[off:], ud)
	s.put(s.p.CQOff.Tail, tail+1)
	return true
}

func TestSQWrapAndFull(t *testing.T) {
	s := newSynthetic(t, 8, 16, ^uint32(0)-5)
	sq, _ := s.queues(t)
	var next uint64
	for round := 0; round < 5; round++ {
		// Fill the ring: exactly 8 SQEs fit, the 9th is refused.
		for i := 0; i < 8; i++ {
			sqe := sq.Next()
			if sqe == nil {
				t.Fatalf("round %d: ring full after %d SQEs, want 8", round, i)
			}
			sqe.UserData = next
			next++
		}
		if sq.Next() != nil {
			t.Fatalf("round %d: a 9th SQE was handed out from an 8-entry ring", round)
		}
		if got := sq.Pending(); got != 8 {
			t.Fatalf("round %d: Pending = %d, want 8", round, got)
		}
		// Nothing reaches the kernel before Publish.
		if got := s.kernelConsume(8); len(got) != 0 {
			t.Fatalf("round %d: kernel saw %d unpublished SQEs", round, len(got))
		}
		if p := sq.Publish(); p != 8 {
			t.Fatalf("round %d: Publish reported %d pending, want 8", round, p)
		}
		// The kernel takes 3, then the rest, in submission order.
		got := append(s.kernelConsume(3), s.kernelConsume(8)...)
		for i, ud := range got {
			if want := next - 8 + uint64(i); ud != want {
				t.Fatalf("round %d: SQE %d carried %d, want %d", round, i, ud, want)
			}
		}
		if len(got) != 8 || sq.Pending() != 0 {
			t.Fatalf("round %d: consumed %d, pending %d", round, len(got), sq.Pending())
		}
	}
	if tail := s.get(s.p.SQOff.Tail); tail >= 1<<31 {
		t.Fatalf("tail %#x: the test never crossed the 32-bit wrap", tail)
	}
}

func TestSQPartialConsumeFreesSlots(t *testing.T) {
	s := newSynthetic(t, 4, 8, ^uint32(0)-1)
	sq, _ := s.queues(t)
	for i := 0; i < 4; i++ {
		sq.Next().UserData = uint64(i)
	}
	sq.Publish()
	s.kernelConsume(1)
	// One slot came free, and only one.
	if sq.Next() == nil {
		t.Fatal("no SQE after the kernel consumed one")
	}
	if sq.Next() != nil {
		t.Fatal("a second SQE was handed out with only one slot free")
	}
	if got := sq.Unpublished(); got != 1 {
		t.Fatalf("Unpublished = %d, want 1", got)
	}
}

func TestCQEmptyWrapAndRelease(t *testing.T) {
	s := newSynthetic(t, 4, 8, ^uint32(0)-3)
	_, cq := s.queues(t)
	if cq.Tail() != cq.Head() {
		t.Fatal("a fresh CQ ring is not empty")
	}
	var want uint64
	for round := 0; round < 7; round++ {
		posted := 0
		for s.kernelPost(want + uint64(posted)) {
			posted++
		}
		if posted != 8 {
			t.Fatalf("round %d: kernel posted %d into an empty 8-entry ring", round, posted)
		}
		// Read half, release, and the kernel can refill exactly that many.
		head, tail := cq.Head(), cq.Tail()
		if tail-head != 8 {
			t.Fatalf("round %d: %d CQEs visible, want 8", round, tail-head)
		}
		for i := 0; i < 4; i++ {
			if ud := cq.At(head).UserData; ud != want {
				t.Fatalf("round %d: CQE carried %d, want %d", round, ud, want)
			}
			head++
			want++
		}
		cq.Release(head)
		if got := s.get(s.p.CQOff.Head); got != head {
			t.Fatalf("round %d: published head %#x, want %#x", round, got, head)
		}
		for i := 0; i < 4; i++ {
			if !s.kernelPost(want + 4 + uint64(i)) {
				t.Fatalf("round %d: kernel could not refill a released slot", round)
			}
		}
		if s.kernelPost(0) {
			t.Fatalf("round %d: kernel posted into a full ring", round)
		}
		// Drain everything: the remaining 4 old ones and the 4 refills.
		for tail = cq.Tail(); head != tail; head++ {
			if ud := cq.At(head).UserData; ud != want {
				t.Fatalf("round %d: CQE carried %d, want %d", round, ud, want)
			}
			want++
		}
		cq.Release(head)
		if cq.Tail() != cq.Head() {
			t.Fatalf("round %d: ring not empty after draining", round)
		}
	}
}

func TestLayoutRejected(t *testing.T) {
	s := newSynthetic(t, 8, 16, 0)
	s.put(s.p.SQOff.RingEntries, 6) // not a power of two
	if _, err := newSQ(s.ring, s.sqes, &s.p.SQOff, 8); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Fatalf("newSQ accepted a 6-entry ring: %v", err)
	}
	s = newSynthetic(t, 8, 16, 0)
	off := s.p.CQOff
	off.CQEs = uint32(len(s.ring)) // array past the end of the mapping
	if _, err := newCQ(s.ring, &off, 16); err == nil {
		t.Fatal("newCQ accepted a CQE array outside the mapping")
	}
	off = s.p.CQOff
	off.Head = 3 // misaligned
	if _, err := newCQ(s.ring, &off, 16); err == nil {
		t.Fatal("newCQ accepted a misaligned head")
	}
}
