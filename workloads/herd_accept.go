package workloads

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/rawsys"
	"kbench/internal/rusage"
)

// Accept is the accept herd: herd's waiters and arrangements (herd.go) on
// a TCP listening socket on loopback, the producer (or each of several,
// Config.Producers()) connecting at a set rate. shared: W threads on one instance watching the listener;
// replicated: W instances each watching it (epoll with and without
// EPOLLEXCLUSIVE, kevent's descriptor source first-waker or WAKEUP_ALL,
// AIO and io_uring polls); reuseport, the sharded baseline: W listeners on
// one port with SO_REUSEPORT, one per waiter. A waiter told the listener
// is ready accepts until EAGAIN; one that accepts nothing was woken for
// nothing. io_uring polls the listener (POLL_ADD) like every other
// backend, and has one arrangement more, maccept: each waiter's own ring
// holds one multishot IORING_OP_ACCEPT on the listener
// (iouring.Acceptor), so the kernel accepts for it and a Wait returns
// connections, not readiness (accept_op says which a row measures; W=1
// too, beside reuseport's one waiter). Every connection is numbered by
// its client port and must be accepted exactly once. The rows' "event" is
// a connection.
var Accept = Workload{
	Name:       "accept",
	Order:      66,
	Suite:      "herd",
	Collectors: true,
	Producers:  true,
	Desc:       "the accept herd: W waiters accepting from one loopback listener (shared instance, replicated instances per wake-up policy, io_uring multishot accept per waiter) or from W SO_REUSEPORT listeners: connections/s, wasted wake-ups per connection, accept latency, fairness, every connection accepted once",
	Params: []Param{
		{Name: "waiters", Default: 4, Quick: 2, Min: 1, Max: herdMaxWaiters,
			Help: "largest W: rows at W=1, 2, 4, … and W itself; waiters take the collector CPUs (--cpus) round-robin"},
		{Name: "batch", Default: 64, Quick: 64, Min: 1, Max: 65536, Help: "events slice length each waiter passes to Wait"},
		{Name: "interval_us", Default: 200, Quick: 200, Min: 1, Max: 1_000_000,
			Help: "µs each producer sleeps after each connection it opens"},
	},
}

func init() {
	Accept.Rows = herdRows(Accept)
	register(&Accept)
	s := Suites["herd"]
	s.Workloads = append(s.Workloads, Accept.Name)
	Suites["herd"] = s
}

// acceptBacklog is each listener's; the kernel caps it at somaxconn.
const acceptBacklog = 4096

// acceptSrc is the listening sockets (herdSrc.fds, so that herd's
// arrangements register them as sources) and the connections in flight,
// by client port: the connection's number (0 once accepted) and when its
// connect began.
type acceptSrc struct {
	herdSrc
	port   int
	resets atomic.Uint64 // connects answered with a reset (still numbered: the ledger judges)
	seqs   []atomic.Uint64
	stamps []atomic.Int64
}

// newAcceptSrc opens n listeners on one loopback port: n == 1 a plain one,
// otherwise with SO_REUSEPORT (the kernel hashes each connection to one).
func newAcceptSrc(n int, reuseport bool) (*acceptSrc, error) {
	if _, err := noFileBudget(n + 2*acceptBacklog); err != nil {
		return nil, fmt.Errorf("%d listeners and their connections: %w", n, err)
	}
	a := &acceptSrc{seqs: make([]atomic.Uint64, 1<<16), stamps: make([]atomic.Int64, 1<<16)}
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("listener socket: %w", err)
		}
		a.fds = append(a.fds, fd)
		if reuseport {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				a.close()
				return nil, fmt.Errorf("SO_REUSEPORT: %w", err)
			}
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: a.port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			a.close()
			return nil, fmt.Errorf("bind 127.0.0.1:%d: %w", a.port, err)
		}
		if err := unix.Listen(fd, acceptBacklog); err != nil {
			a.close()
			return nil, fmt.Errorf("listen: %w", err)
		}
		if i == 0 {
			sa, err := unix.Getsockname(fd)
			if err != nil {
				a.close()
				return nil, fmt.Errorf("getsockname: %w", err)
			}
			a.port = sa.(*unix.SockaddrInet4).Port
		}
	}
	return a, nil
}

// noLinger makes a close send RST and leave no TIME_WAIT behind: a run
// opens tens of thousands of connections, more than the ephemeral ports
// TIME_WAIT would hold for a minute.
var noLinger = unix.Linger{Onoff: 1, Linger: 0}

// accepts takes every connection queued on listener lfd and returns how
// many; each is numbered by its client port, timed, and closed. Raw calls:
// accept4 on a nonblocking listener never sleeps.
func (w *herdWaiter) accepts(h *herdState, lfd int) uint64 {
	var took uint64
	for {
		w.salen = unix.SizeofSockaddrInet4
		nfd, e := rawsys.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&w.sa)),
			uintptr(unsafe.Pointer(&w.salen)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e == unix.ECONNABORTED {
			continue
		}
		if e != 0 {
			if e != unix.EAGAIN {
				w.err = fmt.Errorf("waiter %d: accept4: %w", w.id, e)
			}
			return took
		}
		took += w.numbered(h, int(nfd))
	}
}

// accepted accounts for a connection an accept ring (iouring.Acceptor)
// took, its peer read with getpeername, and returns 1 if it was one of
// the producer's, numbered and not yet accepted (0: counted a duplicate).
func (w *herdWaiter) accepted(h *herdState, nfd int) uint64 {
	w.salen = unix.SizeofSockaddrInet4
	if _, e := rawsys.Syscall(unix.SYS_GETPEERNAME, uintptr(nfd), uintptr(unsafe.Pointer(&w.sa)),
		uintptr(unsafe.Pointer(&w.salen))); e != 0 {
		// Reset before it was looked at: its number stays with the
		// producer, and the ledger says whether it was lost.
		rawsys.Syscall(unix.SYS_CLOSE, uintptr(nfd), 0, 0)
		return 0
	}
	return w.numbered(h, nfd)
}

// numbered closes accepted connection nfd, whose peer is in w.sa, and
// marks its number in the ledger: 1 if it was one of the producer's and
// not yet accepted, else 0 (counted a duplicate).
func (w *herdWaiter) numbered(h *herdState, nfd int) uint64 {
	p := (*[2]byte)(unsafe.Pointer(&w.sa.Port)) // network byte order
	port := int(p[0])<<8 | int(p[1])
	// The server's end is closed and the stamp read before the number
	// is swapped out: from then on the producer may close the client
	// and the port be bound again, and a new connection from it must
	// not meet this one's socket. Not before: the client's port is its
	// own until the producer closes it, though the close here resets
	// its connection (acceptBind).
	rawsys.Syscall6(unix.SYS_SETSOCKOPT, uintptr(nfd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&noLinger)), unsafe.Sizeof(noLinger), 0)
	rawsys.Syscall(unix.SYS_CLOSE, uintptr(nfd), 0, 0)
	stamp := h.acc.stamps[port].Load()
	seq := h.acc.seqs[port].Swap(0) // pairs with the producer's Store before connect
	if seq == 0 {
		w.led.dup++ // a connection nobody numbered, or accepted twice
		return 0
	}
	now := clock.Now()
	record(w.hist, now-stamp)
	w.led.mark(seq)
	w.last = now
	return 1
}

// acceptClient is a connection the producer opened and has not closed.
type acceptClient struct {
	fd, port int
	opened   int64 // clock.Now at connect
}

// acceptHold is how long the producer keeps a client open at least, so
// that its port is not bound again while a packet of the old connection
// may be in flight: the server's reset, sent when the waiter closed its
// end, may wait for a busy CPU's softirq, and met a new connection from
// the same port (the same four-tuple, an ISN close to the last one) as a
// reset of its handshake.
const acceptHold = 50 * time.Millisecond

// acceptProducer opens a connection to the listeners' port, then sleeps
// interval, for each order's duration; each connection takes the next
// number from seqs, which every producer of the trial shares. Each
// connection's client port is bound first (acceptBind: the client's
// until it is closed), so its number and time are in place before the
// connect; a client is closed once its connection has been accepted (its
// number is 0 again) and acceptHold has passed, the rest when the trial
// ends. A producer closes only its own clients.
func acceptProducer(p *herdProd, acc *acceptSrc, seqs *atomic.Uint64, interval time.Duration, stop *atomic.Bool) {
	unpin, ok := pinProducer(p.cpu, fmt.Sprintf("producer %d", p.id), p.orders, p.reports, func(err error) repReport { return repReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	var pending []acceptClient
	defer func() {
		for _, c := range pending {
			unix.Close(c.fd)
		}
	}()
	ts := unix.NsecToTimespec(int64(interval))
	server := &unix.SockaddrInet4{Port: acc.port, Addr: [4]byte{127, 0, 0, 1}}
	for d := range p.orders {
		before, _ := rusage.Thread()
		var n uint64 // connections this producer opened
		var ferr error
		deadline := clock.Now() + int64(d)
		for clock.Now() < deadline && !stop.Load() {
			for len(pending) > 0 && acc.seqs[pending[0].port].Load() == 0 && clock.Now()-pending[0].opened > int64(acceptHold) {
				unix.Close(pending[0].fd)
				pending = pending[1:]
			}
			// Pairs with the other producers' Adds: each number once.
			c, err := acceptDial(acc, server, seqs.Add(1))
			if errors.Is(err, unix.ECONNRESET) {
				// The connection may still have been queued: it stays
				// numbered, and the ledger says whether it was accepted.
				acc.resets.Add(1)
				err = nil
			}
			if err != nil {
				ferr = fmt.Errorf("producer %d: %w", p.id, err)
				break
			}
			n++
			pending = append(pending, c)
			unix.Nanosleep(&ts, nil)
		}
		after, _ := rusage.Thread()
		p.reports <- repReport{generated: n, usage: after.Sub(before), err: ferr}
	}
}

// acceptDial opens connection seq: a socket bound to a port of its own
// (acceptBind), numbered and stamped, then connected (on loopback the
// connect completes in the kernel, before any accept).
func acceptDial(acc *acceptSrc, server *unix.SockaddrInet4, seq uint64) (acceptClient, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return acceptClient{}, fmt.Errorf("client socket: %w", err)
	}
	fail := func(op string, err error) (acceptClient, error) {
		unix.Close(fd)
		return acceptClient{}, fmt.Errorf("client %s: %w", op, err)
	}
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &noLinger); err != nil {
		return fail("SO_LINGER", err)
	}
	port, err := acceptBind(fd)
	if err != nil {
		return fail("bind", err)
	}
	acc.stamps[port].Store(clock.Now())
	acc.seqs[port].Store(seq) // pairs with the acceptor's Swap
	c := acceptClient{fd: fd, port: port, opened: clock.Now()}
	if err := unix.Connect(fd, server); err != nil {
		if errors.Is(err, unix.ECONNRESET) {
			return c, fmt.Errorf("client connect: %w", err)
		}
		acc.seqs[port].Store(0)
		return fail("connect", err)
	}
	return c, nil
}

// acceptPorts is the range of client ports the producers bind, the
// kernel's ephemeral range (net.ipv4.ip_local_port_range) less its
// reserved ports (ip_local_reserved_ports), read once.
var acceptPorts = sync.OnceValues(func() (*acceptPortRange, error) {
	r := &acceptPortRange{lo: 32768, n: 60999 - 32768 + 1} // the kernel's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, e1 := strconv.Atoi(f[0])
			hi, e2 := strconv.Atoi(f[1])
			if e1 == nil && e2 == nil && 0 < lo && lo <= hi && hi < 1<<16 {
				r.lo, r.n = lo, hi-lo+1
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_reserved_ports"); err == nil {
		for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
			if part == "" {
				continue
			}
			a, z, _ := strings.Cut(part, "-")
			lo, err := strconv.Atoi(a)
			if err != nil {
				return nil, fmt.Errorf("ip_local_reserved_ports %q: %w", b, err)
			}
			hi := lo
			if z != "" {
				if hi, err = strconv.Atoi(z); err != nil {
					return nil, fmt.Errorf("ip_local_reserved_ports %q: %w", b, err)
				}
			}
			for p := max(lo, 0); p <= hi && p < 1<<16; p++ {
				r.reserved[p/64] |= 1 << (p % 64)
			}
		}
	}
	// Where this process starts in the range: two runs at once do not
	// try the same ports in step.
	acceptNextPort.Store(uint32(clock.Now()))
	return r, nil
})

type acceptPortRange struct {
	lo, n    int
	reserved [1 << 16 / 64]uint64 // bitmap by port
}

// acceptNextPort is where the producers' next search for a free client
// port starts: each Add takes a port (pairs with the other producers'
// Adds), so the ports go round the range and one is bound again only
// after every other free one has been.
var acceptNextPort atomic.Uint32

// acceptBind binds client socket fd to 127.0.0.1 and a port it names,
// the next free one of acceptPorts, and returns the port. A port bound
// by its number stays the socket's until it is closed, even once a reset
// has closed its connection; one the kernel picks (bind to port 0) is let
// go as the connection closes (tcp_set_state's inet_put_port, without
// SOCK_BINDPORT_LOCK). The waiter's close of its end sends that reset
// before it swaps the connection's number out of seqs (numbered), and a
// reset can meet a connect (connect-resets) while the connection is
// still queued: the kernel could then give the port to the producer's
// next connection, whose number would overwrite the first's, and the
// ledger would count the first lost and the second duplicated.
func acceptBind(fd int) (int, error) {
	r, err := acceptPorts()
	if err != nil {
		return 0, err
	}
	for range r.n {
		port := r.lo + int(acceptNextPort.Add(1)%uint32(r.n))
		if r.reserved[port/64]&(1<<(port%64)) != 0 {
			continue
		}
		err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
		if err == nil {
			return port, nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			return 0, fmt.Errorf("127.0.0.1:%d: %w", port, err)
		}
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1 in %d–%d: %w", r.lo, r.lo+r.n-1, unix.EADDRINUSE)
}
