//go:build linux

package aioring

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// The ring arithmetic on synthetic memory: a []byte laid out as a struct
// aio_ring, with a fake kernel that posts completions the way aio_complete
// does (event, then tail). No kernel involved.

// fakeRing builds the memory of a ring with nr slots, aligned as a mapping is.
func fakeRing(t testing.TB, nr uint32) []byte {
	t.Helper()
	words := make([]uint64, (ringHeaderSize+int(nr)*ioEventSize)/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	put := func(off uintptr, v uint32) { (*atomic.Uint32)(unsafe.Pointer(&mem[off])).Store(v) }
	put(offRingNr, nr)
	put(offRingMagic, ringMagic)
	put(offRingIncompat, 0)
	put(offRingHdrLen, ringHeaderSize)
	return mem
}

// fakeKernel is the producer side, in aio_complete's order.
type fakeKernel struct {
	mem  []byte
	nr   uint32
	head *atomic.Uint32
	tail *atomic.Uint32
}

func newFakeKernel(mem []byte) *fakeKernel {
	return &fakeKernel{
		mem:  mem,
		nr:   (*atomic.Uint32)(unsafe.Pointer(&mem[offRingNr])).Load(),
		head: (*atomic.Uint32)(unsafe.Pointer(&mem[offRingHead])),
		tail: (*atomic.Uint32)(unsafe.Pointer(&mem[offRingTail])),
	}
}

// post writes one completion and publishes it; false when the ring is full
// (the real kernel never gets there: reqs_available stops io_submit first).
func (k *fakeKernel) post(data uint64) bool {
	head := k.head.Load() % k.nr // acquire: pairs with ring.read's head store
	tail := k.tail.Load()
	if (tail+1)%k.nr == head {
		return false
	}
	ev := (*ioEvent)(unsafe.Pointer(&k.mem[ringHeaderSize+uintptr(tail)*ioEventSize]))
	*ev = ioEvent{data: data, obj: ^data, res: int64(data)}
	k.tail.Store((tail + 1) % k.nr) // release: the event before the tail, as smp_wmb() in aio_complete
	return true
}

func mustRing(t *testing.T, mem []byte) *ring {
	t.Helper()
	r, err := newRing(mem)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads with a buffer of size buf until the ring is empty.
func readAll(r *ring, buf int) []uint64 {
	var out []uint64
	dst := make([]ioEvent, buf)
	for {
		k := r.read(dst)
		if k == 0 {
			return out
		}
		for _, e := range dst[:k] {
			out = append(out, e.data)
		}
	}
}

func checkSeq(t *testing.T, got []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(got)) != to-from {
		t.Fatalf("read %d events %v, want %d..%d", len(got), got, from, to-1)
	}
	for i, d := range got {
		if d != from+uint64(i) {
			t.Fatalf("event %d is %d, want %d (all: %v)", i, d, from+uint64(i), got)
		}
	}
}

func TestRingEmpty(t *testing.T) {
	mem := fakeRing(t, 7)
	r := mustRing(t, mem)
	k := newFakeKernel(mem)
	if n := r.read(make([]ioEvent, 4)); n != 0 {
		t.Fatalf("empty ring read %d events", n)
	}
	if h := k.head.Load(); h != 0 {
		t.Errorf("empty read moved head to %d", h)
	}
	if r.ready() != 0 {
		t.Errorf("ready %d on an empty ring", r.ready())
	}
}

// TestRingWraparound uses nr = 7, so indices wrap at a non-power-of-two;
// a mask (& 6 or & 7) would misplace slots.
func TestRingWraparound(t *testing.T) {
	mem := fakeRing(t, 7)
	r := mustRing(t, mem)
	k := newFakeKernel(mem)
	next := uint64(0)
	for round := 0; round < 20; round++ {
		from := next
		burst := 1 + round%6
		for i := 0; i < burst; i++ {
			if !k.post(next) {
				t.Fatalf("round %d: ring full after %d events", round, i)
			}
			next++
		}
		if r.ready() != burst {
			t.Fatalf("round %d: ready %d, want %d", round, r.ready(), burst)
		}
		// A small buffer forces partial reads that end mid-ring and
		// straddle the wrap.
		checkSeq(t, readAll(r, 2), from, next)
		if h, tl := k.head.Load(), k.tail.Load(); h != tl || h >= 7 {
			t.Fatalf("round %d: head %d tail %d after draining", round, h, tl)
		}
	}
	if next < 3*7 {
		t.Fatalf("only %d events: the indices did not wrap several times", next)
	}
}

// TestRingFull fills every usable slot (nr-1: one stays empty so that a full
// ring differs from an empty one) and reads them back across the wrap.
func TestRingFull(t *testing.T) {
	for _, nr := range []uint32{2, 7, 127, 255} {
		mem := fakeRing(t, nr)
		r := mustRing(t, mem)
		k := newFakeKernel(mem)
		// Start mid-ring so that the full ring straddles the end.
		for i := uint32(0); i < nr/2; i++ {
			k.post(0)
		}
		readAll(r, 1)
		for i := uint64(0); i < uint64(nr-1); i++ {
			if !k.post(i) {
				t.Fatalf("nr %d: full after %d events, want %d", nr, i, nr-1)
			}
		}
		if k.post(99) {
			t.Fatalf("nr %d: posted %d events into %d slots", nr, nr, nr)
		}
		if r.ready() != int(nr-1) {
			t.Fatalf("nr %d: ready %d on a full ring", nr, r.ready())
		}
		checkSeq(t, readAll(r, int(nr)), 0, uint64(nr-1))
	}
}

// TestRingHeadClamped: head is user-writable memory, and the kernel reduces
// it modulo nr; the reader does the same rather than index out of range.
func TestRingHeadClamped(t *testing.T) {
	mem := fakeRing(t, 7)
	r := mustRing(t, mem)
	k := newFakeKernel(mem)
	for i := uint64(0); i < 3; i++ {
		k.post(i)
	}
	k.head.Store(7) // == 0 modulo nr
	checkSeq(t, readAll(r, 8), 0, 3)
}

func TestRingRefused(t *testing.T) {
	set := func(mem []byte, off uintptr, v uint32) { (*atomic.Uint32)(unsafe.Pointer(&mem[off])).Store(v) }
	cases := []struct {
		name string
		edit func(mem []byte) []byte
	}{
		{"magic", func(m []byte) []byte { set(m, offRingMagic, 0xdeadbeef); return m }},
		{"incompat_features", func(m []byte) []byte { set(m, offRingIncompat, 1); return m }},
		{"header_length", func(m []byte) []byte { set(m, offRingHdrLen, 64); return m }},
		{"nr beyond mapping", func(m []byte) []byte { set(m, offRingNr, 8); return m }},
		{"nr too small", func(m []byte) []byte { set(m, offRingNr, 1); return m }},
		{"short", func(m []byte) []byte { return m[:16] }},
	}
	for _, c := range cases {
		mem := c.edit(fakeRing(t, 7))
		if _, err := newRing(mem); !errors.Is(err, errRingLayout) {
			t.Errorf("%s: newRing = %v, want errRingLayout", c.name, err)
		}
	}
	if _, err := newRing(fakeRing(t, 7)); err != nil {
		t.Errorf("valid ring refused: %v", err)
	}
}

// TestRingConcurrent runs the fake kernel and the reader on two goroutines
// through a 13-slot ring: under -race this checks that the tail and head
// ordering alone makes the event copies safe.
func TestRingConcurrent(t *testing.T) {
	const total = 50000
	mem := fakeRing(t, 13)
	r := mustRing(t, mem)
	k := newFakeKernel(mem)
	var wg sync.WaitGroup
	var stop atomic.Bool
	defer func() { stop.Store(true); wg.Wait() }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(0); i < total && !stop.Load(); {
			if k.post(i) {
				i++
			}
		}
	}()
	dst := make([]ioEvent, 5)
	for want := uint64(0); want < total; {
		n := r.read(dst)
		for _, e := range dst[:n] {
			if e.data != want || e.obj != ^want || e.res != int64(want) {
				t.Fatalf("event %+v, want data %d", e, want)
			}
			want++
		}
	}
}
