package rusage

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spin burns about d of this thread's CPU without a system call that sleeps.
func spin(d time.Duration) {
	t0 := time.Now()
	for x := 0; time.Since(t0) < d; x++ {
	}
}

// A window shorter than a scheduler tick, with no sleep inside it, shows
// its CPU time: the thread clock counts what getrusage folds in only at
// the next tick.
func TestShortWindowHasCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond) // a fresh fold at the switch
		u0, err := Thread()
		if err != nil {
			t.Fatal(err)
		}
		spin(200 * time.Microsecond)
		d := mustThread(t).Sub(u0)
		if d.CPUNs() < int64(100*time.Microsecond) {
			t.Fatalf("window of 200µs spinning: CPUNs %d ns (user %d sys %d thread %d)", d.CPUNs(), d.UserNs, d.SysNs, d.ThreadNs)
		}
	}
}

func mustThread(t *testing.T) Usage {
	u, err := Thread()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTaskNsIsTheThreadClock(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := mustThread(t).ThreadNs
	b, err := TaskNs(unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	c := mustThread(t).ThreadNs
	if b < a || b > c {
		t.Fatalf("TaskNs(self) = %d, not between the thread clock's %d and %d", b, a, c)
	}
	if _, err := TaskNs(1 << 22); err == nil { // pid_max is at most 1<<22
		t.Fatal("TaskNs of a thread that does not exist: no error")
	}
	if _, err := TaskNs(0); err == nil {
		t.Fatal("TaskNs(0): no error")
	}
}

func TestCPUNsFallsBackForOldResults(t *testing.T) {
	if got := (Usage{UserNs: 3, SysNs: 4}).CPUNs(); got != 7 {
		t.Fatalf("CPUNs without the thread clock = %d, want 7", got)
	}
	if got := (Usage{UserNs: 3, SysNs: 4, ThreadNs: 9}).CPUNs(); got != 9 {
		t.Fatalf("CPUNs with the thread clock = %d, want 9", got)
	}
}
