package work

import (
	"errors"
	"os"
	"testing"
)

func TestChain(t *testing.T) {
	x := uint64(7)
	for range 5 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if got := Chain(7, 5); got != x {
		t.Fatalf("Chain(7, 5) = %#x, want %#x", got, x)
	}
	if Chain(7, 0) != 7 {
		t.Fatal("Chain with no iterations changed x")
	}
}

func TestWalk(t *testing.T) {
	buf := make([]byte, 3*Line)
	buf[0], buf[Line], buf[2*Line] = 1, 2, 3
	buf[1] = 9 // not on the stride: never read
	// x: 10+1=11 (store 11), +2=13 (store 13), +3=16 (store 16).
	if x := Walk(buf, 10); x != 16 || buf[0] != 11 || buf[Line] != 13 || buf[2*Line] != 16 || buf[1] != 9 {
		t.Fatalf("Walk = %d, buf %v %v %v %v", x, buf[0], buf[Line], buf[2*Line], buf[1])
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		ns, bytes int64
		ok        bool
	}{
		{0, 0, true}, {MaxNs, MaxBytes, true}, {-1, 0, false}, {0, -1, false},
		{MaxNs + 1, 0, false}, {0, MaxBytes + 1, false},
	} {
		err := Check(c.ns, c.bytes)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, os.ErrInvalid)) {
			t.Errorf("Check(%d, %d) = %v", c.ns, c.bytes, err)
		}
		if _, err := New(c.ns, c.bytes, 1); (err == nil) != c.ok {
			t.Errorf("New(%d, %d) = %v", c.ns, c.bytes, err)
		}
	}
}

func TestNew(t *testing.T) {
	l, err := New(100, 100, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	if l.Iters() != 250 || l.BufBytes() != 2*Line || l.Zero() {
		t.Fatalf("iters %d, buffer %d, zero %v", l.Iters(), l.BufBytes(), l.Zero())
	}
	// The same iterations from the same start give the same chain.
	l.Do()
	if l.x != Walk(make([]byte, 2*Line), Chain(1, 250)) {
		t.Fatal("Do is not Chain then Walk")
	}
	z, err := New(0, 0, 0) // no calibration needed for no work
	if err != nil || !z.Zero() || z.Measure(10) != 0 || z.MeasureCalls() != 0 {
		t.Fatalf("zero loop: %v %v", z, err)
	}
	if _, err := New(10, 0, 0); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("New with no calibration = %v", err)
	}
	if n := l.MeasureCalls(); n < 16 || n > 4096 {
		t.Fatalf("MeasureCalls = %d", n)
	}
}

// TestCalibrated: the calibrated loop asked for 20 µs takes about that.
// Only a robust sanity bound: other work on the machine can only slow the
// loop down, and the calibration takes the fastest run, so the loop cannot
// be much faster than asked; the upper bound is loose for a busy machine.
func TestCalibrated(t *testing.T) {
	r := ItersPerNs()
	if !(r > 0.001 && r < 1000) {
		t.Fatalf("calibration %v iterations/ns", r)
	}
	l, err := New(20000, 0, r)
	if err != nil {
		t.Fatal(err)
	}
	got := l.Measure(50)
	if got < 20000*0.5 || got > 20000*50 {
		t.Fatalf("asked 20000 ns of work, measured %.0f ns (%.3f iterations/ns)", got, r)
	}
	t.Logf("%.3f iterations/ns; 20 µs of work measured %.0f ns", r, got)
}
