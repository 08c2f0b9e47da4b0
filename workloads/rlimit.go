package workloads

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Scale and overflow register thousands of eventfds, up to 100k when asked.
// The process may only hold RLIMIT_NOFILE of them: fdBudget raises the soft
// limit as far as the hard limit allows and says how many more fit, and
// efdPool keeps the eventfds from one row to the next, so that each of ~20
// variants does not create and close the same ten thousand fds again.

// fdHeadroom is left for everything else: the notifier's own fds (epoll,
// io_uring and wake eventfds, kevent's hook), the runtime, other workloads.
const fdHeadroom = 128

// fdLimit is what noFileBudget found and did.
type fdLimit struct {
	avail      int    // more fds this process may open, at most the number asked for
	open       int    // fds open when asked
	soft, hard uint64 // RLIMIT_NOFILE after any raise
	raisedFrom uint64 // the soft limit before the raise; 0 if it was not raised
}

// noFileBudget makes room for more fds: when the soft limit is too low it
// raises it toward the hard limit (never lowers it), then reports how many
// of them fit. Go raises the soft limit to the hard one at start-up on
// Linux, so the raise matters only when something lowered it since.
func noFileBudget(more int) (fdLimit, error) {
	open, err := countOpenFDs()
	if err != nil {
		return fdLimit{}, err
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fdLimit{}, fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	l := fdLimit{open: open, hard: lim.Max}
	if need := uint64(open + more + fdHeadroom); lim.Cur < need && lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = min(need, lim.Max)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return fdLimit{}, fmt.Errorf("setrlimit(RLIMIT_NOFILE, %d of hard %d): %w", lim.Cur, lim.Max, err)
		}
		l.raisedFrom = old
	}
	l.soft = lim.Cur
	l.avail = max(0, min(more, int(lim.Cur)-open-fdHeadroom))
	return l, nil
}

// capNote says why only held+avail of want eventfds fit, held being those
// the pool had already.
func (l fdLimit) capNote(held, want int) string {
	return fmt.Sprintf("RLIMIT_NOFILE hard limit %d leaves room for %d of %d eventfds (%d other fds open, %d kept free)",
		l.hard, held+l.avail, want, l.open-held, fdHeadroom)
}

func countOpenFDs() (int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("count open fds: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("count open fds: %w", err)
	}
	return len(names) - 1, nil // less the directory being read
}

// eventfdPool lends nonblocking eventfds, with zero counters, to one row at
// a time and keeps them for the next. Between rows it holds at most half the
// soft fd limit, so a later workload (echo's sockets) still finds room, and
// after poolIdle without a borrower it closes them all. Whatever it holds at
// exit (Ctrl-C included) the kernel closes with the process.
type eventfdPool struct {
	mu    sync.Mutex
	fds   []int
	lent  bool
	timer *time.Timer
}

const poolIdle = time.Second

var efdPool eventfdPool

// fdLease is n eventfds lent to one row, or fewer when the fd limit does
// not allow n (note says why). A lease taken while the pool is lent to
// someone else is made of fresh fds and closed on return.
type fdLease struct {
	fds    []int
	pooled bool
	limit  fdLimit
	note   string
}

// get lends n eventfds. Only a system call failure other than running out of
// fds is an error; running out gives a shorter lease with a note.
func (p *eventfdPool) get(n int) (*fdLease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lent {
		l := &fdLease{}
		fds, lim, note, err := growEventfds(nil, n)
		l.fds, l.limit, l.note = fds, lim, note
		if err != nil {
			closeEventfds(fds)
			return nil, err
		}
		return l, nil
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	fds, lim, note, err := growEventfds(p.fds, n)
	p.fds = fds
	if err != nil {
		return nil, err
	}
	p.lent = true
	return &fdLease{fds: p.fds[:min(n, len(p.fds))], pooled: true, limit: lim, note: note}, nil
}

// growEventfds appends eventfds to fds until it holds n, raising the fd
// limit first; it stops short, with a note, where the limit (or the
// system-wide file table) stops it.
func growEventfds(fds []int, n int) ([]int, fdLimit, string, error) {
	if len(fds) >= n {
		return fds, fdLimit{}, "", nil
	}
	lim, err := noFileBudget(n - len(fds))
	if err != nil {
		return fds, lim, "", err
	}
	note := ""
	if lim.avail < n-len(fds) {
		note = lim.capNote(len(fds), n)
	}
	for k := 0; k < lim.avail; k++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
			// Another part of the process (or system) took fds meanwhile.
			note = fmt.Sprintf("eventfd: %v after %d of %d fds", err, len(fds), n)
			break
		}
		if err != nil {
			return fds, lim, "", fmt.Errorf("eventfd: %w", err)
		}
		fds = append(fds, fd)
	}
	return fds, lim, note, nil
}

// put takes a lease back. dirty lists fds that may hold an unread count (a
// source fired and not collected when a row failed or was interrupted): they
// are drained so the next borrower starts from zero.
func (p *eventfdPool) put(l *fdLease, dirty []int) {
	var buf [8]byte
	for _, fd := range dirty {
		unix.Read(fd, buf[:]) // EAGAIN: already zero
	}
	if !l.pooled {
		closeEventfds(l.fds)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lent = false
	var lim unix.Rlimit
	keep := len(p.fds)
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		keep = min(keep, int(lim.Cur/2))
	}
	closeEventfds(p.fds[keep:])
	p.fds = p.fds[:keep]
	if p.timer == nil {
		p.timer = time.AfterFunc(poolIdle, p.closeIdle)
	} else {
		p.timer.Reset(poolIdle)
	}
}

// closeIdle closes every pooled fd unless the pool is lent.
func (p *eventfdPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lent {
		return
	}
	closeEventfds(p.fds)
	p.fds = nil
}

func closeEventfds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// refusal recognises a resource or call the machine refuses, anywhere in
// err's chain: file descriptors (noFileRefusal), or a system call the
// kernel does not have (ENOSYS) or will not let this process make (EPERM:
// a seccomp filter, a missing capability). The row is then skipped with
// the reason: it says nothing about the mechanism measured.
func refusal(err error) (error, bool) {
	if e, ok := noFileRefusal(err); ok {
		return e, true
	}
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("refused by this machine (seccomp, capabilities or kernel): %w", err), true
	}
	return nil, false
}

// noFileRefusal recognises running out of file descriptors (EMFILE: the
// process's RLIMIT_NOFILE; ENFILE: the system's file table) anywhere in
// err's chain and returns it with the limits in force, so that the row is
// skipped with the reason rather than failed: the sources asked for do not
// fit this process, which says nothing about the mechanism.
func noFileRefusal(err error) (error, bool) {
	if !errors.Is(err, unix.EMFILE) && !errors.Is(err, unix.ENFILE) {
		return nil, false
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return fmt.Errorf("out of file descriptors: %w", err), true
	}
	return fmt.Errorf("RLIMIT_NOFILE %d (hard %d) is too low for this row's fds: %w", lim.Cur, lim.Max, err), true
}
