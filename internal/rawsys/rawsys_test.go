package rawsys

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestResultAndErrno(t *testing.T) {
	r, e := Syscall(unix.SYS_GETPID, 0, 0, 0)
	if e != 0 || int(r) != unix.Getpid() {
		t.Fatalf("getpid = %d, %v; want %d, 0", r, e, unix.Getpid())
	}
	var b [8]byte
	if _, e := Syscall(unix.SYS_READ, ^uintptr(0), uintptr(unsafe.Pointer(&b[0])), 8); e != unix.EBADF {
		t.Fatalf("read(-1) errno = %v, want EBADF", e)
	}
	if _, e := Syscall(1<<20, 0, 0, 0); e != unix.ENOSYS {
		t.Fatalf("unknown call errno = %v, want ENOSYS", e)
	}
}

// TestArguments checks that every argument register reaches the kernel:
// an eventfd round trip uses the first three, pread64's offset the fourth
// (it must be rejected with ESPIPE on an eventfd, which needs a valid fd
// and buffer in the first three), and epoll_pwait2 with a sigset size of
// 8 in the sixth and a zero timeout in the fifth.
func TestArguments(t *testing.T) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	w := [8]byte{42}
	if n, e := Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&w[0])), 8); e != 0 || n != 8 {
		t.Fatalf("write = %d, %v", n, e)
	}
	var r [8]byte
	if n, e := Syscall6(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&r[0])), 8, 0, 0, 0); e != 0 || n != 8 || r[0] != 42 {
		t.Fatalf("read = %d, %v, %v", n, e, r)
	}
	if _, e := Syscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&r[0])), 8, 4096, 0, 0); e != unix.ESPIPE {
		t.Fatalf("pread64 on an eventfd: errno %v, want ESPIPE", e)
	}

	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		t.Fatal(err)
	}
	Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&w[0])), 8)
	evs := make([]unix.EpollEvent, 4)
	var zero unix.Timespec
	var mask uint64
	n, e := Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)),
		uintptr(unsafe.Pointer(&zero)), uintptr(unsafe.Pointer(&mask)), 8)
	if e != 0 || n != 1 || evs[0].Fd != int32(fd) {
		t.Fatalf("epoll_pwait2 = %d, %v, %+v", n, e, evs[0])
	}
	// A wrong sigset size in the sixth argument is refused.
	if _, e := Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)),
		uintptr(unsafe.Pointer(&zero)), uintptr(unsafe.Pointer(&mask)), 7); e != unix.EINVAL {
		t.Fatalf("epoll_pwait2 with sigsetsize 7: errno %v, want EINVAL", e)
	}
}

func TestNoAllocs(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { Syscall(unix.SYS_GETPPID, 0, 0, 0) }); a != 0 {
		t.Fatalf("%v allocs per call", a)
	}
}

// BenchmarkEventfdPair compares one eventfd write and read through this
// package with the same pair through unix.RawSyscall, in one run: the
// ratio between the two sub-benchmarks is the figure, not either alone.
func BenchmarkEventfdPair(b *testing.B) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	w, r := [8]byte{1}, [8]byte{}
	wp, rp := uintptr(unsafe.Pointer(&w[0])), uintptr(unsafe.Pointer(&r[0]))
	b.Run("rawsys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Syscall(unix.SYS_WRITE, uintptr(fd), wp, 8)
			Syscall(unix.SYS_READ, uintptr(fd), rp, 8)
		}
	})
	b.Run("x-sys-unix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), wp, 8)
			unix.RawSyscall(unix.SYS_READ, uintptr(fd), rp, 8)
		}
	})
}
