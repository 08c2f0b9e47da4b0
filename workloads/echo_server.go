package workloads

import (
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/internal/rusage"
	"kbench/notify"
)

// echoServer is the server side of an echo row, on the consumer's pinned
// thread: it accepts, reads and echoes through the variant's Notifier.
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
	policy := waitPolicy{wait: s.wait}
	for {
		k, err := s.n.Wait(s.events, 1, policy.timeout())
		s.waits++
		if err != nil {
			s.err = fmt.Errorf("Wait: %w", err)
			return
		}
		policy.observe(k)
		s.notes += uint64(k)
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
	if notify.HasHelper(s.n) {
		sn.hook, sn.hasHook = s.n.(notify.HelperThread).HelperUsage(), true
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
