package workloads

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/results"
)

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
