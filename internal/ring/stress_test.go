package ring

import (
	"encoding/binary"
	"runtime"
	"testing"
)

// spsc is the producer/consumer surface every design offers to the tests.
type spsc interface {
	Reserve() ([]byte, bool)
	Publish()
	Next() ([]byte, bool)
	Release()
}

// stressEvents is how many records a stress run moves; small under -race.
func stressEvents() int {
	if raceEnabled {
		return 5000
	}
	if testing.Short() {
		return 20000
	}
	return 200000
}

// stressSPSC runs a producer goroutine against a consumer goroutine, with
// each payload filled from a sequence number (every byte), and checks that
// every record arrives once, in order, intact. batch > 1 reserves up to
// batch records before one Publish and takes up to batch before one Release.
// Under -race this also checks that the payload is ordered by the ring's
// synchronisation (the fallback store is a sync/atomic operation there).
func stressSPSC(t *testing.T, r spsc, payload, batch int) {
	t.Helper()
	n := stressEvents()
	done := make(chan error, 1)
	go func() {
		pending := 0
		for i := 0; i < n; {
			p, ok := r.Reserve()
			if !ok {
				if pending > 0 {
					r.Publish()
					pending = 0
				}
				runtime.Gosched()
				continue
			}
			fill(p, uint64(i))
			i++
			if pending++; pending == batch {
				r.Publish()
				pending = 0
			}
		}
		if pending > 0 {
			r.Publish()
		}
		done <- nil
	}()
	pending := 0
	for want := 0; want < n; {
		p, ok := r.Next()
		if !ok {
			if pending > 0 {
				r.Release()
				pending = 0
			}
			runtime.Gosched()
			continue
		}
		if err := check(p, uint64(want)); err != "" {
			t.Fatalf("record %d: %s", want, err)
		}
		want++
		if pending++; pending == batch {
			r.Release()
			pending = 0
		}
	}
	if pending > 0 {
		r.Release()
	}
	<-done
	if p, ok := r.Next(); ok {
		t.Fatalf("extra record after %d: % x", n, p)
	}
}

// fill writes seq into the first 8 bytes and a function of it everywhere
// else, so a torn or stale payload shows.
func fill(p []byte, seq uint64) {
	binary.LittleEndian.PutUint64(p, seq)
	for j := 8; j < len(p); j++ {
		p[j] = byte(seq) ^ byte(j)
	}
}

func check(p []byte, seq uint64) string {
	if v := binary.LittleEndian.Uint64(p); v != seq {
		return "sequence " + itoa(v)
	}
	for j := 8; j < len(p); j++ {
		if p[j] != byte(seq)^byte(j) {
			return "torn payload at byte " + itoa(uint64(j))
		}
	}
	return ""
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		if v /= 10; v == 0 {
			return string(b[i:])
		}
	}
}
