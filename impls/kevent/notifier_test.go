package kevent

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/rusage"
	"kbench/notify"
)

func TestVariants(t *testing.T) {
	vs := Variants()
	if len(vs) != 7 {
		t.Fatalf("%d variants, want 7", len(vs))
	}
	names := map[string]bool{}
	for _, v := range vs {
		if v.Backend != "kevent" || names[v.Name] || v.Trigger != notify.Edge && v.Name != "syscall-fd-oneshot" || v.Note == "" || v.Params == nil {
			t.Errorf("variant %+v", v)
		}
		names[v.Name] = true
		// Results mark a row emulated by its note's first word; user rows
		// record how they fire; zach rows say whose ring it is.
		if fd := v.Sources == notify.SourceFD; fd != strings.HasPrefix(v.Note, "emulated") {
			t.Errorf("%s: note %q", v.Name, v.Note)
		}
		if f, ok := v.Params[ParamFireDirect]; (v.Sources == notify.SourceUser) != (ok && f == 0) {
			t.Errorf("%s: params %v, want fire_direct=0 on user rows only", v.Name, v.Params)
		}
		if strings.HasPrefix(v.Name, "zach") != strings.Contains(v.Note, "Zach Brown's July 2006") {
			t.Errorf("%s: note %q", v.Name, v.Note)
		}
		n, err := v.Open(testOptions)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got := n.Caps().Emulated; got != (v.Sources == notify.SourceFD) {
			t.Errorf("%s: Caps.Emulated %v", v.Name, got)
		}
		n.Close()
	}
	for _, name := range []string{"syscall-user", "syscall-fd", "take29-user", "take29-fd", "zach-user", "zach-fd", "syscall-fd-oneshot"} {
		if !names[name] {
			t.Errorf("missing variant %s", name)
		}
	}
}

func TestParams(t *testing.T) {
	n, err := New(PathZach, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 8, ParamZachN: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if n.u.zring.Slots() != 8 || n.zachN != 3 {
		t.Errorf("ring %d slots, zach_n %d; want 8, 3", n.u.zring.Slots(), n.zachN)
	}
	n.Close()
	for _, p := range []map[string]int{{ParamRingSlots: 1}, {ParamZachN: 0}, {ParamCommitBatch: 0}} {
		if _, err := New(PathTake29, notify.Options{HelperCPU: -1, Params: p}); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("New with %v = %v, want ErrInvalid", p, err)
		}
		if _, err := New(PathZach, notify.Options{HelperCPU: -1, Params: p}); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("New with %v = %v, want ErrInvalid", p, err)
		}
	}
}

// TestHelperCPURefused: a CPU the process may not use is a kernel refusal,
// reported when the hook thread starts (the first fd Add).
func TestHelperCPURefused(t *testing.T) {
	n, err := New(PathSyscall, notify.Options{HelperCPU: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := n.Add(fd, 1, notify.Readable, notify.Edge); !notify.IsUnavailable(err) {
		t.Fatalf("Add with HelperCPU 1000 = %v, want ErrUnavailable", err)
	}
	if _, err := n.AddUser(1, notify.Edge); err != nil {
		t.Fatalf("user sources need no hook thread: %v", err)
	}
}

func TestHelperUsage(t *testing.T) {
	n, err := New(PathZach, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if u := n.HelperUsage(); u != (rusage.Usage{}) {
		t.Errorf("usage %+v without a hook thread", u)
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := n.Add(fd, 1, notify.Readable, notify.Edge); err != nil {
		t.Fatal(err)
	}
	ev := make([]notify.Event, 4)
	var b [8]byte
	for range 200 {
		b[0] = 1
		unix.Write(fd, b[:])
		if k, err := n.Wait(ev, 1, time.Second); k != 1 || err != nil {
			t.Fatalf("Wait = %d, %v", k, err)
		}
		unix.Read(fd, b[:])
	}
	mid := n.HelperUsage()
	// The thread waited in epoll_wait for the 200 writes: it was switched
	// out around most of them, asleep (voluntary) or, on a loaded machine,
	// preempted first (98 voluntary and 140 involuntary seen under load).
	if mid.Nvcsw+mid.Nivcsw < 100 {
		t.Errorf("hook thread usage %+v: fewer context switches than writes it waited for", mid)
	}
	if c := n.Syscalls()[notify.CallHook]; c < 200 {
		t.Errorf("%d hook calls for 200 reports", c)
	}
	n.Close()
	end := n.HelperUsage()
	if end.Nvcsw < mid.Nvcsw || end.CPUNs() < mid.CPUNs() {
		t.Errorf("final usage %+v below an earlier sample %+v", end, mid)
	}
}

func TestUserSourceErrors(t *testing.T) {
	n, err := New(PathSyscall, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddUser(1, notify.Multishot); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("AddUser multishot = %v, want ErrUnsupported", err)
	}
	for _, err := range []error{n.ModifyUser(7, 1, notify.Edge), n.RemoveUser(7), n.Fire(7), n.Fire(-1)} {
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unknown user source: %v, want ErrNotExist", err)
		}
	}
	id, err := n.AddUser(1, notify.Edge)
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := n.Fire(id); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("Fire after Close = %v", err)
	}
	if _, err := n.AddUser(1, notify.Edge); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("AddUser after Close = %v", err)
	}
}

// TestUserTriggers: Oneshot is re-armed by ModifyUser, a token change needs
// no kernel call, and Level (take29's default mode) reports once per Fire.
func TestUserTriggers(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		n, err := New(p, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		ev := make([]notify.Event, 4)
		collect := func(what string, want ...uint64) {
			t.Helper()
			k, err := n.Wait(ev, 0, 0)
			if err != nil || k != len(want) {
				t.Fatalf("%v %s: Wait = %d %v, want %v", p, what, k, err, want)
			}
			for i, w := range want {
				if ev[i].Token != w {
					t.Fatalf("%v %s: token %d, want %d", p, what, ev[i].Token, w)
				}
			}
		}
		one, _ := n.AddUser(1, notify.Oneshot)
		lvl, _ := n.AddUser(2, notify.Level)
		n.Fire(one)
		n.Fire(one)
		collect("oneshot", 1)
		n.Fire(one)
		collect("oneshot before re-arm")
		if err := n.ModifyUser(one, 3, notify.Oneshot); err != nil {
			t.Fatal(err)
		}
		n.Fire(one)
		collect("re-armed", 3)
		before := n.Syscalls()[notify.CallCtl]
		if err := n.ModifyUser(lvl, 4, notify.Level); err != nil {
			t.Fatal(err)
		}
		if n.Syscalls()[notify.CallCtl] != before {
			t.Errorf("%v: a token change made a kevent_ctl", p)
		}
		n.Fire(lvl)
		collect("level", 4)
		collect("level after delivery")
		n.Close()
	}
}
