package kindfd

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func newEvent(t *testing.T, tab *Table, token uint64) int {
	t.Helper()
	fd, err := OpenEvent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	id, _, err := tab.Add(&Source{FD: fd, Token: token, Kind: notify.KindUser})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIDsNotReused: a slot freed by Remove serves the next Add under a new
// generation, so the old id finds nothing.
func TestIDsNotReused(t *testing.T) {
	var tab Table
	var calls notify.Counters
	a := newEvent(t, &tab, 1)
	if _, err := tab.Remove(a); err != nil {
		t.Fatal(err)
	}
	b := newEvent(t, &tab, 2)
	if Slot(a) != Slot(b) || a == b {
		t.Fatalf("ids %#x and %#x: want one slot, two generations", a, b)
	}
	if tab.Get(a) != nil {
		t.Errorf("the removed id still finds a source")
	}
	if err := tab.Post(a, 1, &calls); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Post to the removed id = %v, want os.ErrNotExist", err)
	}
	if _, err := tab.Remove(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second Remove = %v, want os.ErrNotExist", err)
	}
	if s := tab.Get(b); s == nil || s.Token != 2 {
		t.Errorf("Get(new id) = %+v", s)
	}
	if tab.Len() != 1 {
		t.Errorf("Len %d, want 1", tab.Len())
	}
}

// TestPostDrainSum: posts sum in the eventfd, Drain reads the sum once,
// and every read and write is counted.
func TestPostDrainSum(t *testing.T) {
	var tab Table
	var calls notify.Counters
	id := newEvent(t, &tab, 1)
	for _, v := range []uint64{1, 2, 40} {
		if err := tab.Post(id, v, &calls); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.Post(id, 0, &calls); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("Post 0 = %v, want ErrInvalid", err)
	}
	var b Buf
	if got := Drain(tab.Get(id), &b, &calls); got != 43 {
		t.Errorf("Drain = %d, want 43", got)
	}
	if got := Drain(tab.Get(id), &b, &calls); got != 0 {
		t.Errorf("second Drain = %d, want 0", got)
	}
	c := calls.Snapshot()
	if c[notify.CallFire] != 3 || c[notify.CallDrain] != 2 {
		t.Errorf("counted fire %d drain %d, want 3 and 2", c[notify.CallFire], c[notify.CallDrain])
	}
}

// TestGrowWhilePosting: Add grows the slot array while another goroutine
// posts to an early source; every post lands (run with -race).
func TestGrowWhilePosting(t *testing.T) {
	var tab Table
	var calls notify.Counters
	first := newEvent(t, &tab, 0)
	const posts = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < posts; i++ {
			if err := tab.Post(first, 1, &calls); err != nil {
				t.Errorf("Post: %v", err)
				return
			}
		}
	}()
	for i := 1; i < 100; i++ {
		newEvent(t, &tab, uint64(i))
	}
	wg.Wait()
	var b Buf
	if got := Drain(tab.Get(first), &b, &calls); got != posts {
		t.Errorf("drained %d, want %d", got, posts)
	}
}

// TestSignalChecks: a signal watched twice is refused, as is one the
// calling thread has not blocked.
func TestSignalChecks(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, and its mask
		const sig = notify.SigRTMin + 11
		if _, err := OpenSignal(sig); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("OpenSignal of an unblocked signal = %v, want ErrInvalid", err)
		}
		if err := notify.BlockSignal(sig); err != nil {
			t.Error(err)
			return
		}
		var tab Table
		for i := 0; i < 2; i++ {
			fd, err := OpenSignal(sig)
			if err != nil {
				t.Error(err)
				return
			}
			defer unix.Close(fd)
			_, _, err = tab.Add(&Source{FD: fd, Kind: notify.KindSignal, Sig: sig})
			if i == 1 && !errors.Is(err, os.ErrExist) {
				t.Errorf("second watch of one signal = %v, want os.ErrExist", err)
			}
		}
	}()
	<-done
}
