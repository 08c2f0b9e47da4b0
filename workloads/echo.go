package workloads

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/notify"
	"kbench/results"
)

// Echo: the classic real-world comparison. A TCP echo server on loopback
// runs on the consumer CPU over the variant's Notifier (nonblocking sockets,
// the backend's own way of waiting); a client load generator on the producer
// CPU drives C connections and checks every reply byte for byte.
//
// The client is one pinned thread over raw system calls and its own
// level-triggered epoll instance, not Go's net package: net's goroutines
// would run wherever the scheduler puts them, and the producer side must
// stay on the producer CPU. Its epoll is the same for every row, so rows
// differ only in the server's mechanism.
var Echo = Workload{
	Name:  "echo",
	Order: 80,
	Desc: "TCP echo server on loopback per backend (consumer CPU) and a client on the producer CPU: " +
		"requests/s and round-trip percentiles, every reply checked byte for byte",
	Params: []Param{
		{Name: "conns", Default: 8, Quick: 4, Help: "client connections"},
		{Name: "msg", Default: 64, Help: "request (and reply) size in bytes"},
		{Name: "rate", Default: 0, Help: "open loop: requests/s offered over all connections, latency from each request's intended send time; 0: closed loop, one request outstanding per connection"},
	},
}

func init() {
	Echo.Run = runEcho
	register(&Echo)
}

// echoGrace is how long a repetition waits, after the client stops sending,
// for replies that do not come; what is still missing then is lost.
const echoGrace = time.Second

func echoUnits(open bool) []results.Unit {
	u := []results.Unit{{Name: "requests/s", Better: "higher"}}
	if open {
		u = append(u, results.Unit{Name: "offered/s", Better: "higher"})
	}
	u = append(u, percentileUnits("", "")...)
	return append(u,
		results.Unit{Name: "mismatches", Better: "lower"},
		results.Unit{Name: "events/wait", Better: "higher"},
		results.Unit{Name: "syscalls/req", Better: "lower"},
		results.Unit{Name: "io-syscalls/req", Better: "lower"},
		results.Unit{Name: "server-cpu-ns/req", Better: "lower"},
		results.Unit{Name: "client-cpu-ns/req", Better: "lower"},
		results.Unit{Name: "helper-cpu-ns/req", Better: "lower"},
		results.Unit{Name: "total-cpu-ns/req", Better: "lower"},
	)
}

type echoParams struct {
	conns, msg, rate int
}

// echoHooks are test seams; the zero value is the real workload.
type echoHooks struct {
	// tamper sees every chunk the server is about to echo; a test flips a
	// byte in it to prove that the client's check catches it.
	tamper func(b []byte)
}

func runEcho(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	return runEchoWith(ctx, v, cfg, echoHooks{})
}

func runEchoWith(ctx context.Context, v notify.Variant, cfg Config, hooks echoHooks) results.Result {
	p := echoParams{conns: cfg.param(Echo, "conns"), msg: cfg.param(Echo, "msg"), rate: cfg.param(Echo, "rate")}
	res := results.Result{Workload: "echo", Backend: v.Backend, Variant: v.Name, Units: echoUnits(p.rate > 0)}
	res.Params = cfg.baseParams(v)
	// Sockets are fds whatever the variant's own source kind.
	res.Params["sources_kind"] = notify.SourceFD.String()
	res.Params["conns"] = strconv.Itoa(p.conns)
	res.Params["msg"] = strconv.Itoa(p.msg)
	res.Params["rate"] = strconv.Itoa(p.rate)
	res.Params["client"] = "raw syscalls, epoll LT, one pinned thread"
	if p.conns < 1 || p.msg < 1 || p.rate < 0 {
		return fail(res, fmt.Errorf("echo: conns=%d msg=%d rate=%d: %w", p.conns, p.msg, p.rate, notify.ErrInvalid))
	}
	out := make(chan results.Result, 1)
	go func() { out <- echoServe(ctx, v, cfg, p, hooks, res) }()
	return <-out
}

// echoServe runs on the consumer's pinned thread: it opens the backend there
// (io_uring's SINGLE_ISSUER binds the ring to its creator), listens, starts
// the client and serves until the client is done.
func echoServe(ctx context.Context, v notify.Variant, cfg Config, p echoParams, hooks echoHooks, res results.Result) results.Result {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		return skip(res, fmt.Errorf("pin server: %w", err))
	}
	defer unpin()
	n, err := v.Open(cfg.options(v, p.conns+1))
	if err != nil {
		return skipOrFail(res, fmt.Errorf("open %s: %w", v.ID(), err))
	}
	defer n.Close()
	caps := n.Caps()
	if !caps.Triggers.Has(v.Trigger) {
		res.Status, res.Reason = results.StatusNA, fmt.Sprintf("backend does not support trigger %v", v.Trigger)
		return res
	}
	if caps.Interests&notify.Writable == 0 {
		// A reply that does not fit the socket buffer must wait for it.
		res.Status, res.Reason = results.StatusNA, "backend cannot wait for writable sockets"
		return res
	}
	// A user-source variant serves sockets through its backend's fd path,
	// which for the one backend with user sources (kevent) is the emulated
	// hook, although the variant's own Caps do not say so.
	if caps.Emulated || v.Sources == notify.SourceUser && caps.UserSources {
		res.Params["emulated"] = "true"
	}
	lfd, port, err := echoListen(max(p.conns, 128))
	if err != nil {
		return fail(res, err)
	}
	s := &echoServer{n: n, trig: v.Trigger, wait: cfg.Wait, lfd: lfd, tamper: hooks.tamper,
		buf: make([]byte, 64<<10), events: make([]notify.Event, 64)}
	defer s.closeConns()
	defer unix.Close(lfd)
	if err := n.Add(lfd, 0, notify.Readable, v.Trigger); err != nil {
		if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, notify.ErrInvalid) {
			res.Status, res.Reason = results.StatusNA, "backend does not take socket fds: "+err.Error()
			return res
		}
		return skipOrFail(res, fmt.Errorf("register listener: %w", err))
	}
	defer n.Remove(lfd)

	ctl := &echoCtl{n: n, acks: make(chan echoSnap, 1), dead: make(chan struct{})}
	done := make(chan echoOutcome, 1)
	go func() { done <- echoClientMain(ctx, cfg, p, port, ctl) }()
	s.serve(ctl)
	// A server that failed closes its connections now, so that a client
	// waiting for replies learns it at once.
	s.closeConns()
	close(ctl.dead)
	o := <-done

	res.Samples = o.samples
	switch {
	case s.err != nil:
		return fail(res, fmt.Errorf("server: %w", s.err))
	case o.err != nil:
		return fail(res, o.err)
	}
	res.Reason = o.reason
	var bad float64
	for _, smp := range res.Samples {
		bad += smp.Values["mismatches"]
	}
	if bad > 0 {
		return fail(res, fmt.Errorf("%.0f replies differ from their request", bad))
	}
	return finish(res)
}

// echoListen opens a nonblocking listening socket on 127.0.0.1, on a port
// the kernel picks.
func echoListen(backlog int) (fd, port int, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("socket: %w", err)
	}
	if err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err == nil {
		err = unix.Listen(fd, backlog)
	}
	var sa unix.Sockaddr
	if err == nil {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port, nil
}

// echoCtl is how the client, between repetitions, asks the server for its
// counters: it bumps mark and wakes the server, which answers on acks.
type echoCtl struct {
	n    notify.Notifier // Wake only: the one method the client may call
	mark atomic.Uint64
	stop atomic.Bool
	acks chan echoSnap
	dead chan struct{} // closed when the server loop has ended
}

// snapshot returns the server's counters at this moment.
func (c *echoCtl) snapshot() (echoSnap, error) {
	c.mark.Add(1) // pairs with the server's Load after its Wait returns
	if err := c.n.Wake(); err != nil {
		return echoSnap{}, fmt.Errorf("wake server: %w", err)
	}
	select {
	case s := <-c.acks:
		return s, nil
	case <-c.dead:
		return echoSnap{}, errors.New("server stopped")
	}
}

// finish ends the server loop.
func (c *echoCtl) finish() {
	c.stop.Store(true) // read by the server after it sees the new mark
	c.mark.Add(1)
	c.n.Wake()
}

// echoSnap is the server thread's counters.
type echoSnap struct {
	usage, hook  rusage.Usage
	hasHook      bool
	sys          notify.SyscallCounts
	io           uint64 // accept, read and write calls on sockets
	waits, notes uint64
}

type echoServer struct {
	n      notify.Notifier
	trig   notify.Trigger
	wait   string
	lfd    int
	conns  []echoSrvConn // token = index+1; token 0 is the listener
	free   []int
	buf    []byte
	events []notify.Event
	tamper func([]byte)

	io, waits, notes uint64
	err              error
}

type echoSrvConn struct {
	fd   int
	live bool
	in   notify.Interest // registered interest
	out  []byte          // reply bytes the socket did not take yet
	off  int
}

// serve is the server's hot loop: one Wait, then each ready socket served
// as its trigger asks. It allocates nothing once connections are set up.
func (s *echoServer) serve(ctl *echoCtl) {
	var seen uint64
	spins := 0
	for {
		timeout := notify.Forever
		switch {
		case s.wait == WaitSpin:
			timeout = 0
		case s.wait == WaitHybrid && spins < 200:
			timeout = 0
		}
		k, err := s.n.Wait(s.events, 1, timeout)
		s.waits++
		if err != nil {
			s.err = fmt.Errorf("Wait: %w", err)
			return
		}
		if k == 0 {
			spins++
		} else {
			spins = 0
			s.notes += uint64(k)
		}
		for _, e := range s.events[:k] {
			if err := s.handle(e); err != nil {
				s.err = err
				return
			}
		}
		// Pairs with the client's Add before its Wake: a Wait that
		// returns after the Wake sees the new mark.
		if m := ctl.mark.Load(); m != seen {
			seen = m
			if ctl.stop.Load() {
				return
			}
			ctl.acks <- s.snap()
		}
	}
}

func (s *echoServer) snap() echoSnap {
	u, _ := rusage.Thread()
	sn := echoSnap{usage: u, sys: s.n.Syscalls(), io: s.io, waits: s.waits, notes: s.notes}
	if h, ok := s.n.(hookUser); ok && hasHook(s.n) {
		sn.hook, sn.hasHook = h.HookUsage(), true
	}
	return sn
}

func (s *echoServer) handle(e notify.Event) error {
	if e.Token == 0 {
		return s.accept()
	}
	i := int(e.Token - 1)
	if i >= len(s.conns) || !s.conns[i].live {
		return nil // a connection closed earlier in this batch
	}
	return s.serveConn(i)
}

// drains reports whether the trigger wants each ready socket drained to
// EAGAIN: edge reports a transition once, and multishot one kernel wakeup
// per report, so bytes left behind would never be reported again. Level
// reports again while bytes remain, and oneshot's re-arm re-checks
// readiness, so those read once per event.
func (s *echoServer) drains() bool { return s.trig == notify.Edge || s.trig == notify.Multishot }

func (s *echoServer) accept() error {
	for {
		// accept4 without an address: x/sys's Accept4 allocates one.
		r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s.lfd), 0, 0,
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		s.io++
		switch errno {
		case 0:
		case unix.EAGAIN:
			return s.rearm(s.lfd, 0, notify.Readable)
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			return fmt.Errorf("accept4: %w", errno)
		}
		fd := int(r)
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TCP_NODELAY: %w", err)
		}
		i := s.newConn(fd)
		if err := s.n.Add(fd, uint64(i)+1, notify.Readable, s.trig); err != nil {
			s.conns[i].live = false
			s.free = append(s.free, i)
			unix.Close(fd)
			return fmt.Errorf("register connection: %w", err)
		}
		if !s.drains() {
			return s.rearm(s.lfd, 0, notify.Readable)
		}
	}
}

func (s *echoServer) newConn(fd int) int {
	c := echoSrvConn{fd: fd, live: true, in: notify.Readable}
	if k := len(s.free); k > 0 {
		i := s.free[k-1]
		s.free = s.free[:k-1]
		c.out = s.conns[i].out[:0]
		s.conns[i] = c
		return i
	}
	s.conns = append(s.conns, c)
	return len(s.conns) - 1
}

// rearm re-enables a oneshot registration after its event was handled.
func (s *echoServer) rearm(fd int, token uint64, in notify.Interest) error {
	if s.trig != notify.Oneshot {
		return nil
	}
	if err := s.n.Modify(fd, token, in, notify.Oneshot); err != nil {
		return fmt.Errorf("re-arm fd %d: %w", fd, err)
	}
	return nil
}

// serveConn echoes what connection i has for us. While the socket refuses
// part of a reply, the connection waits for Writable only (reading more
// would only queue more), and reads resume once the reply is out.
func (s *echoServer) serveConn(i int) error {
	c := &s.conns[i]
	if err := s.flush(c); err != nil {
		return s.drop(i, err)
	}
	for len(c.out) == 0 {
		k, err := unix.Read(c.fd, s.buf)
		s.io++
		if err == unix.EAGAIN {
			break
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil || k == 0 {
			return s.drop(i, err) // the client closed or reset the connection
		}
		chunk := s.buf[:k]
		if s.tamper != nil {
			s.tamper(chunk)
		}
		if err := s.send(c, chunk); err != nil {
			return s.drop(i, err)
		}
		if !s.drains() {
			break
		}
	}
	want := notify.Readable
	if len(c.out) > 0 {
		want = notify.Writable
	}
	if want != c.in || s.trig == notify.Oneshot {
		c.in = want
		if err := s.n.Modify(c.fd, uint64(i)+1, want, s.trig); err != nil {
			return fmt.Errorf("modify connection: %w", err)
		}
	}
	return nil
}

// send writes b, keeping what the socket does not take for flush.
func (s *echoServer) send(c *echoSrvConn, b []byte) error {
	for len(b) > 0 {
		k, err := unix.Write(c.fd, b)
		s.io++
		switch err {
		case nil:
			b = b[k:]
		case unix.EINTR:
		case unix.EAGAIN:
			c.out, c.off = append(c.out[:0], b...), 0
			return nil
		default:
			return err
		}
	}
	return nil
}

func (s *echoServer) flush(c *echoSrvConn) error {
	for c.off < len(c.out) {
		k, err := unix.Write(c.fd, c.out[c.off:])
		s.io++
		switch err {
		case nil:
			c.off += k
		case unix.EINTR:
		case unix.EAGAIN:
			return nil
		default:
			return err
		}
	}
	c.out, c.off = c.out[:0], 0
	return nil
}

// drop closes connection i. A peer that closed or reset is not the
// server's error; anything else is.
func (s *echoServer) drop(i int, err error) error {
	c := &s.conns[i]
	s.n.Remove(c.fd)
	unix.Close(c.fd)
	c.live = false
	s.free = append(s.free, i)
	if err == nil || err == unix.ECONNRESET || err == unix.EPIPE {
		return nil
	}
	return fmt.Errorf("connection: %w", err)
}

func (s *echoServer) closeConns() {
	for i := range s.conns {
		if s.conns[i].live {
			s.drop(i, nil)
		}
	}
}

// echoOutcome is what the client hands back.
type echoOutcome struct {
	samples []results.Sample
	reason  string
	err     error
}

// echoClientMain runs on the producer's pinned thread: it connects, runs
// the warm-up and the repetitions, and asks the server for its counters at
// each repetition's edges.
func echoClientMain(ctx context.Context, cfg Config, p echoParams, port int, ctl *echoCtl) (o echoOutcome) {
	defer ctl.finish()
	unpin, err := cpu.Pin(cfg.ProducerCPU)
	if err != nil {
		return echoOutcome{err: fmt.Errorf("pin client: %w", err)}
	}
	defer unpin()
	c, err := newEchoClient(port, p)
	if err != nil {
		return echoOutcome{err: err}
	}
	defer c.close()
	if cfg.Warmup > 0 {
		st, err := c.rep(cfg.Warmup)
		if err != nil {
			return echoOutcome{err: fmt.Errorf("warm-up: %w", err)}
		}
		if st.lost != 0 || st.dupReplies() != 0 || st.mismatches != 0 {
			return echoOutcome{err: fmt.Errorf("warm-up: %d lost, %d extra, %d mismatched replies",
				st.lost, st.dupReplies(), st.mismatches)}
		}
	}
	s0, err := ctl.snapshot()
	if err != nil {
		return echoOutcome{err: err}
	}
	for r := 0; r < cfg.Reps; r++ {
		if ctx.Err() != nil {
			o.reason = "interrupted"
			break
		}
		st, err := c.rep(cfg.Duration)
		if err != nil {
			o.err = err
			return o
		}
		s1, err := ctl.snapshot()
		if err != nil {
			o.err = err
			return o
		}
		o.samples = append(o.samples, st.sample(r, s0, s1, c.rate))
		s0 = s1
		if st.lost != 0 {
			// Replies still in flight would be taken for the next
			// repetition's: stop here, the row fails on the loss.
			break
		}
	}
	return o
}

type echoClient struct {
	ep    int
	conns []echoCliConn
	msg   int
	rate  int
	evs   []unix.EpollEvent
	rbuf  []byte
	hist  *hdrhistogram.Histogram
	pwait bool // epoll_pwait2 available
	ts    unix.Timespec

	// The repetition under way.
	deadline  int64
	sending   bool
	sent      uint64
	done      uint64
	bad       uint64 // replies that differ from their request
	extra     uint64 // bytes received beyond every request sent
	lastReply int64
}

type echoCliConn struct {
	fd      int
	id      uint64
	seq     uint64 // next request number to send
	rseq    uint64 // request number the incoming bytes belong to
	roff    int    // bytes of request rseq's reply received
	bad     bool   // request rseq's reply differs so far
	out     []byte // request bytes the socket did not take yet
	off     int
	pollOut bool    // EPOLLOUT registered
	stamps  []int64 // send times (open loop: intended) of requests in flight, oldest at head
	head    int
}

func newEchoClient(port int, p echoParams) (*echoClient, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("client epoll_create1: %w", err)
	}
	c := &echoClient{ep: ep, msg: p.msg, rate: p.rate, pwait: true,
		evs: make([]unix.EpollEvent, p.conns), rbuf: make([]byte, 64<<10), hist: newHist()}
	for i := 0; i < p.conns; i++ {
		fd, err := echoDial(port)
		if err != nil {
			c.close()
			return nil, err
		}
		c.conns = append(c.conns, echoCliConn{fd: fd, id: uint64(i), out: make([]byte, 0, p.msg), stamps: make([]int64, 0, 16)})
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			c.close()
			return nil, fmt.Errorf("client epoll_ctl: %w", err)
		}
	}
	return c, nil
}

// echoDial connects to 127.0.0.1:port. The connect blocks: on loopback it
// completes in the kernel, without the server accepting.
func echoDial(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("client socket: %w", err)
	}
	if err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err == nil {
		if err = unix.SetNonblock(fd, true); err == nil {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("client connect 127.0.0.1:%d: %w", port, err)
	}
	return fd, nil
}

func (c *echoClient) close() {
	for _, k := range c.conns {
		unix.Close(k.fd)
	}
	c.conns = nil
	unix.Close(c.ep)
}

// echoMix spreads a request's identity over 64 bits; echoPattern derives
// its bytes from that, so every request's content differs from its
// neighbours' and a misrouted, stale or altered reply cannot pass.
func echoMix(conn, seq uint64) uint64 {
	x := conn<<48 ^ seq
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func echoPattern(base uint64, j int) byte { return byte(base>>(uint(j&7)*8)) + byte(j>>3) }

// request queues the next request on connection k, stamped with its send
// time (closed loop) or its intended send time (open loop).
func (c *echoClient) request(k *echoCliConn, stamp int64) error {
	base := echoMix(k.id, k.seq)
	k.seq++
	for j := 0; j < c.msg; j++ {
		k.out = append(k.out, echoPattern(base, j))
	}
	k.stamps = append(k.stamps, stamp)
	c.sent++
	return c.flush(k)
}

func (c *echoClient) flush(k *echoCliConn) error {
	for k.off < len(k.out) {
		n, err := unix.Write(k.fd, k.out[k.off:])
		switch err {
		case nil:
			k.off += n
		case unix.EINTR:
		case unix.EAGAIN:
			if !k.pollOut {
				k.pollOut = true
				return c.watch(k, unix.EPOLLIN|unix.EPOLLOUT)
			}
			return nil
		default:
			return fmt.Errorf("client write: %w", err)
		}
	}
	k.out, k.off = k.out[:0], 0
	if k.pollOut {
		k.pollOut = false
		return c.watch(k, unix.EPOLLIN)
	}
	return nil
}

func (c *echoClient) watch(k *echoCliConn, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(k.id)}
	if err := unix.EpollCtl(c.ep, unix.EPOLL_CTL_MOD, k.fd, &ev); err != nil {
		return fmt.Errorf("client epoll_ctl: %w", err)
	}
	return nil
}

// receive reads what connection k has and checks it, byte for byte,
// against the requests in flight, oldest first.
func (c *echoClient) receive(k *echoCliConn) error {
	for {
		n, err := unix.Read(k.fd, c.rbuf)
		switch {
		case err == unix.EAGAIN:
			return nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("client read: %w", err)
		case n == 0:
			return errors.New("client read: the server closed the connection")
		}
		now := clock.Now()
		b := c.rbuf[:n]
		for len(b) > 0 {
			if k.head == len(k.stamps) {
				c.extra += uint64(len(b)) // bytes no request asked for
				break
			}
			take := min(len(b), c.msg-k.roff)
			base := echoMix(k.id, k.rseq)
			for j := 0; j < take && !k.bad; j++ {
				k.bad = b[j] != echoPattern(base, k.roff+j)
			}
			k.roff += take
			b = b[take:]
			if k.roff < c.msg {
				break
			}
			record(c.hist, now-k.stamps[k.head])
			k.head++
			if k.head == len(k.stamps) {
				k.stamps, k.head = k.stamps[:0], 0
			}
			if k.bad {
				c.bad++
			}
			k.rseq, k.roff, k.bad = k.rseq+1, 0, false
			c.done++
			c.lastReply = now
			if c.rate == 0 && c.sending && now < c.deadline {
				if err := c.request(k, clock.Now()); err != nil {
					return err
				}
			}
		}
		if n < len(c.rbuf) {
			return nil // drained, most likely; level-triggered epoll says if not
		}
	}
}

// wait is one epoll wait of at most timeout ns (< 0: no limit), with
// nanosecond resolution through epoll_pwait2 where the kernel has it.
func (c *echoClient) wait(timeout int64) (int, error) {
	for {
		var k int
		var err error
		switch {
		case timeout < 0:
			k, err = unix.EpollWait(c.ep, c.evs, -1)
		case c.pwait:
			c.ts = unix.NsecToTimespec(timeout)
			r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(c.ep), uintptr(unsafe.Pointer(&c.evs[0])),
				uintptr(len(c.evs)), uintptr(unsafe.Pointer(&c.ts)), 0, 0)
			if e == unix.ENOSYS {
				c.pwait = false // before Linux 5.11: milliseconds from now on
				continue
			}
			k = int(r)
			if e != 0 {
				err = e
			}
		default:
			k, err = unix.EpollWait(c.ep, c.evs, int((timeout+999_999)/1_000_000))
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("client epoll_wait: %w", err)
		}
		return k, nil
	}
}

// echoRep is one repetition seen from the client.
type echoRep struct {
	sent, done, lost, mismatches, extra uint64
	msg                                 int
	elapsed                             time.Duration
	client                              rusage.Usage
	hist                                string
	vals                                map[string]float64
}

func (r echoRep) dupReplies() uint64 { return (r.extra + uint64(r.msg) - 1) / uint64(r.msg) }

// rep runs the load for d, then waits for the replies in flight.
func (c *echoClient) rep(d time.Duration) (echoRep, error) {
	c.sent, c.done, c.bad, c.extra = 0, 0, 0, 0
	c.hist.Reset()
	u0, err := rusage.Thread()
	if err != nil {
		return echoRep{}, err
	}
	start := clock.Now()
	c.deadline, c.sending, c.lastReply = start+int64(d), true, start
	if c.rate == 0 {
		for i := range c.conns {
			if err := c.request(&c.conns[i], clock.Now()); err != nil {
				return echoRep{}, err
			}
		}
	}
	interval := 1e9 / float64(max(c.rate, 1))
	next, nreq := start, 0
	lastProgress := start
	for {
		now := clock.Now()
		if now >= c.deadline {
			c.sending = false
		}
		for c.rate > 0 && c.sending && next <= now {
			if err := c.request(&c.conns[nreq%len(c.conns)], next); err != nil {
				return echoRep{}, err
			}
			nreq++
			next = start + int64(float64(nreq)*interval)
		}
		var timeout int64
		switch {
		case c.sending && c.rate > 0:
			timeout = max(min(next, c.deadline)-now, 0)
		case c.sending:
			timeout = max(c.deadline-now, 0)
		case c.done >= c.sent:
			timeout = -2 // everything answered
		default:
			// The grace period runs from the end of sending, or from the
			// last reply after it; what has not come by then is lost.
			timeout = int64(echoGrace) - (now - max(lastProgress, c.deadline))
		}
		if timeout == -2 || !c.sending && timeout <= 0 {
			break
		}
		k, err := c.wait(timeout)
		if err != nil {
			return echoRep{}, err
		}
		done0 := c.done
		for _, ev := range c.evs[:k] {
			conn := &c.conns[ev.Fd]
			if ev.Events&unix.EPOLLOUT != 0 {
				if err := c.flush(conn); err != nil {
					return echoRep{}, err
				}
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				if err := c.receive(conn); err != nil {
					return echoRep{}, err
				}
			}
		}
		if c.done != done0 {
			lastProgress = clock.Now()
		}
	}
	u1, _ := rusage.Thread()
	r := echoRep{sent: c.sent, done: c.done, lost: c.sent - c.done, mismatches: c.bad, extra: c.extra, msg: c.msg,
		elapsed: time.Duration(c.lastReply - start), client: u1.Sub(u0), vals: map[string]float64{}}
	if r.hist, err = encodeHist(c.hist); err != nil {
		return echoRep{}, err
	}
	putPercentiles(r.vals, c.hist, "", "")
	return r, nil
}

// sample combines the client's view of a repetition with the server's
// counters at its edges.
func (r echoRep) sample(rep int, s0, s1 echoSnap, rate int) results.Sample {
	s := results.Sample{
		Rep:        rep,
		Generated:  r.sent,
		Collected:  r.done,
		Lost:       r.lost,
		Dup:        r.dupReplies(),
		Producer:   r.client,
		Consumer:   s1.usage.Sub(s0.usage),
		Syscalls:   s1.sys.Sub(s0.sys).Map(),
		Values:     r.vals,
		Histograms: map[string]string{"rtt-ns": r.hist},
	}
	req := float64(max(r.done, 1))
	v := s.Values
	if r.elapsed > 0 {
		v["requests/s"] = float64(r.done) / r.elapsed.Seconds()
	}
	if rate > 0 {
		v["offered/s"] = float64(rate)
	}
	v["mismatches"] = float64(r.mismatches)
	v["events/wait"] = float64(s1.notes-s0.notes) / float64(max(s1.waits-s0.waits, 1))
	v["syscalls/req"] = float64(s1.sys.Sub(s0.sys).Collector()) / req
	v["io-syscalls/req"] = float64(s1.io-s0.io) / req
	v["server-cpu-ns/req"] = float64(s.Consumer.CPUNs()) / req
	v["client-cpu-ns/req"] = float64(s.Producer.CPUNs()) / req
	total := s.Consumer.CPUNs() + s.Producer.CPUNs()
	if s1.hasHook {
		h := s1.hook.Sub(s0.hook)
		s.Helper = &h
		v["helper-cpu-ns/req"] = float64(h.CPUNs()) / req
		total += h.CPUNs()
	}
	v["total-cpu-ns/req"] = float64(total) / req
	return s
}
