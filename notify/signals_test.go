package notify

import (
	"errors"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestCheckSignal(t *testing.T) {
	for _, sig := range []int{0, -1, SigRTMax + 1, int(unix.SIGKILL), int(unix.SIGSTOP), int(unix.SIGURG),
		int(unix.SIGPROF), int(unix.SIGSEGV), int(unix.SIGCHLD), 32, 33} {
		if err := CheckSignal(sig); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckSignal(%d) = %v, want ErrInvalid", sig, err)
		}
	}
	for _, sig := range []int{int(unix.SIGUSR1), int(unix.SIGUSR2), int(unix.SIGHUP), SigRTMin, SigRTMax} {
		if err := CheckSignal(sig); err != nil {
			t.Errorf("CheckSignal(%d) = %v, want nil", sig, err)
		}
	}
	if err := BlockSignal(int(unix.SIGKILL)); !errors.Is(err, ErrInvalid) {
		t.Errorf("BlockSignal(SIGKILL) = %v, want ErrInvalid", err)
	}
}

// onDoomedThread runs f on a goroutine locked to its thread that exits
// still locked, so the runtime ends the thread, with whatever mask and
// pending signals f left on it.
func onDoomedThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f()
	}()
	<-done
}

// TestBlockSignalThreadOnly: the mask changes in the calling thread and no
// other.
func TestBlockSignalThreadOnly(t *testing.T) {
	const sig = SigRTMin + 6
	onDoomedThread(func() {
		if b, err := SignalBlocked(sig); err != nil || b {
			t.Errorf("before BlockSignal: blocked=%v err=%v, want false", b, err)
		}
		if err := BlockSignal(sig); err != nil {
			t.Errorf("BlockSignal: %v", err)
			return
		}
		if b, err := SignalBlocked(sig); err != nil || !b {
			t.Errorf("after BlockSignal: blocked=%v err=%v, want true", b, err)
		}
		onDoomedThread(func() {
			if b, _ := SignalBlocked(sig); b {
				t.Errorf("BlockSignal blocked the signal in another thread too")
			}
		})
		if err := UnblockSignal(sig); err != nil {
			t.Errorf("UnblockSignal: %v", err)
			return
		}
		if b, _ := SignalBlocked(sig); b {
			t.Errorf("after UnblockSignal: still blocked")
		}
	})
	if b, _ := SignalBlocked(0); b {
		t.Errorf("signal 0 reported blocked")
	}
}

// TestRaiseSignalPendsOnThread: a signal raised at a thread that blocks it
// stays pending there, once per raise for a real-time signal, and a
// signalfd of that thread reads every one. Raising allocates nothing.
func TestRaiseSignalPendsOnThread(t *testing.T) {
	const sig = SigRTMin + 7
	onDoomedThread(func() {
		if err := BlockSignal(sig); err != nil {
			t.Errorf("BlockSignal: %v", err)
			return
		}
		set := SigsetOf(sig)
		fd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
		if err != nil {
			t.Errorf("signalfd: %v", err)
			return
		}
		defer unix.Close(fd)
		tid := unix.Gettid()
		const raises = 5
		for i := 0; i < raises; i++ {
			if err := RaiseSignal(tid, sig); err != nil {
				t.Errorf("RaiseSignal: %v", err)
				return
			}
		}
		if got := readSignals(t, fd, sig); got != raises {
			t.Errorf("signalfd read %d signals after %d raises, want %d", got, raises, raises)
		}
		allocs := testing.AllocsPerRun(50, func() { RaiseSignal(tid, sig) })
		if allocs != 0 {
			t.Errorf("RaiseSignal allocates %.1f times per call", allocs)
		}
		readSignals(t, fd, sig)
	})
	if err := RaiseSignal(-1, int(unix.SIGUSR1)); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ESRCH) {
		t.Errorf("RaiseSignal to tid -1 = %v, want EINVAL or ESRCH", err)
	}
}

// readSignals reads the signalfd to EAGAIN and counts sig's records.
func readSignals(t *testing.T, fd, sig int) int {
	var buf [8]unix.SignalfdSiginfo
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*int(unsafe.Sizeof(buf[0])))
	n := 0
	for {
		k, err := unix.Read(fd, b)
		if err == unix.EAGAIN {
			return n
		}
		if err != nil {
			t.Errorf("signalfd read: %v", err)
			return n
		}
		for _, si := range buf[:k/int(unsafe.Sizeof(buf[0]))] {
			if int(si.Signo) != sig {
				t.Errorf("signalfd read signal %d, want %d", si.Signo, sig)
			}
			n++
		}
	}
}
