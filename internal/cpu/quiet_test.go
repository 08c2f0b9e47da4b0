package cpu

import (
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// affinity lists the CPUs thread tid may run on.
func affinity(t *testing.T, tid int) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

func policy(t *testing.T, tid int) int {
	t.Helper()
	p, err := Policy(tid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestQuietHousekeeping: in a Quiet scope, while a thread is pinned, a
// bystander thread runs SCHED_IDLE on the housekeeping CPU and the pinned
// one SCHED_OTHER; after the last unpin both are back to SCHED_OTHER on
// every CPU. Outside a scope, pinning changes no other thread.
func TestQuietHousekeeping(t *testing.T) {
	all, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	hk := all[len(all)-1:]
	if err := EnableQuiet(hk); err != nil {
		t.Skipf("quiet housekeeping refused here: %v", err)
	}
	defer DisableQuiet()

	bystander := make(chan int)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		bystander <- unix.Gettid()
		<-release
	}()
	by := <-bystander
	defer close(release)

	// No scope: a pin leaves the bystander alone.
	unpin, err := Pin(all[0])
	if err != nil {
		t.Skipf("affinity refused here: %v", err)
	}
	if p := policy(t, by); p != unix.SCHED_NORMAL {
		t.Errorf("bystander policy %d with no Quiet scope open, want SCHED_OTHER", p)
	}
	unpin()

	end, on := Quiet()
	defer end()
	if !on {
		t.Fatal("Quiet not in effect after EnableQuiet succeeded")
	}
	unpin, err = Pin(all[0])
	if err != nil {
		t.Fatal(err)
	}
	me := unix.Gettid()
	if p := policy(t, me); p != unix.SCHED_NORMAL {
		t.Errorf("pinned thread policy %d, want SCHED_OTHER", p)
	}
	if p := policy(t, by); p != unix.SCHED_IDLE {
		t.Errorf("bystander policy %d while a thread is pinned, want SCHED_IDLE", p)
	}
	if got := affinity(t, by); !slices.Equal(got, hk) {
		t.Errorf("bystander may run on %v while a thread is pinned, want %v", got, hk)
	}
	// A second measured thread that leaves while the first stays becomes a
	// housekeeping one again.
	second := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		unpin2, err := Pin(-1)
		if err != nil {
			second <- -1
			return
		}
		tid := unix.Gettid()
		if p, _ := Policy(0); p != unix.SCHED_NORMAL {
			t.Errorf("second measured thread policy %d, want SCHED_OTHER", p)
		}
		unpin2()
		second <- tid
	}()
	if tid := <-second; tid > 0 {
		if p := policy(t, tid); p != unix.SCHED_IDLE {
			t.Errorf("a measured thread released while another stays pinned: policy %d, want SCHED_IDLE", p)
		}
	}
	unpin()
	for _, tid := range []int{me, by} {
		if p := policy(t, tid); p != unix.SCHED_NORMAL {
			t.Errorf("thread %d policy %d after the last unpin, want SCHED_OTHER", tid, p)
		}
		if got := affinity(t, tid); !slices.Equal(got, all) {
			t.Errorf("thread %d may run on %v after the last unpin, want %v", tid, got, all)
		}
	}
	if err := QuietErr(); err != nil {
		t.Errorf("QuietErr = %v", err)
	}
}

// TestQuietScopeEndRestores: closing the scope while a thread is still
// pinned puts the others back to SCHED_OTHER at once.
func TestQuietScopeEndRestores(t *testing.T) {
	all, _ := Allowed()
	if err := EnableQuiet(all[len(all)-1:]); err != nil {
		t.Skipf("quiet housekeeping refused here: %v", err)
	}
	defer DisableQuiet()
	bystander := make(chan int)
	release := make(chan struct{})
	defer close(release)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		bystander <- unix.Gettid()
		<-release
	}()
	by := <-bystander
	unpin, err := Pin(all[0])
	if err != nil {
		t.Skipf("affinity refused here: %v", err)
	}
	defer unpin()
	end, _ := Quiet() // opened after the pin: quiets at once
	if p := policy(t, by); p != unix.SCHED_IDLE {
		t.Errorf("bystander policy %d in a scope opened while a thread is pinned, want SCHED_IDLE", p)
	}
	end()
	if p := policy(t, by); p != unix.SCHED_NORMAL {
		t.Errorf("bystander policy %d after the scope ended, want SCHED_OTHER", p)
	}
}

func TestQuietWithoutEnableIsOff(t *testing.T) {
	DisableQuiet()
	end, on := Quiet()
	defer end()
	if on {
		t.Fatal("Quiet in effect without EnableQuiet")
	}
}

func TestQuietRejectsForeignCPU(t *testing.T) {
	if err := EnableQuiet([]int{1 << 16}); err == nil {
		DisableQuiet()
		t.Fatal("a housekeeping CPU outside the process's set was accepted")
	}
}
