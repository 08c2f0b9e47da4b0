package workloads

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestAcceptClientKeepsItsPort: a client's port stays its own until the
// producer closes the client, even once the waiter's close has reset the
// connection. The waiter resets before it swaps the number out of seqs;
// a port given up at the reset could be bound by the producer's next
// connection, whose number would overwrite this one's: one connection
// lost and one duplicated.
func TestAcceptClientKeepsItsPort(t *testing.T) {
	acc, err := newAcceptSrc(1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.close()
	server := &unix.SockaddrInet4{Port: acc.port, Addr: [4]byte{127, 0, 0, 1}}
	c, err := acceptDial(acc, server, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c.fd)
	if got := acc.seqs[c.port].Load(); got != 7 {
		t.Fatalf("seqs[%d] = %d, want 7", c.port, got)
	}

	h := &herdState{src: &acc.herdSrc, acc: acc}
	w := &herdWaiter{hist: newHist()}
	w.led.reset(8)
	deadline := time.Now().Add(5 * time.Second)
	for took := uint64(0); took == 0; {
		took = w.accepts(h, acc.fds[0])
		if w.err != nil {
			t.Fatal(w.err)
		}
		if took == 0 && time.Now().After(deadline) {
			t.Fatal("the connection was never queued")
		}
		time.Sleep(time.Millisecond)
	}
	if w.led.distinct != 1 || w.led.dup != 0 || w.led.seen[0]&(1<<7) == 0 {
		t.Fatalf("ledger: distinct %d dup %d, want number 7 once", w.led.distinct, w.led.dup)
	}
	if got := acc.seqs[c.port].Load(); got != 0 {
		t.Fatalf("seqs[%d] = %d after the accept, want 0", c.port, got)
	}

	// The waiter's close sent a reset: wait until the client has it.
	const tcpClose = 7 // TCP_CLOSE
	for {
		info, err := unix.GetsockoptTCPInfo(c.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if info.State == tcpClose {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client still in TCP state %d, want the reset's CLOSE", info.State)
		}
		time.Sleep(time.Millisecond)
	}
	b, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(b)
	err = unix.Bind(b, &unix.SockaddrInet4{Port: c.port, Addr: [4]byte{127, 0, 0, 1}})
	if err == nil {
		t.Fatalf("port %d of an open client bound again once its connection was reset", c.port)
	}
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("bind port %d: %v, want EADDRINUSE", c.port, err)
	}
}

// TestAcceptBindGoesRound: each client gets a port of the ephemeral range
// none of the open clients has, the next free one after the last.
func TestAcceptBindGoesRound(t *testing.T) {
	r, err := acceptPorts()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for range 64 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		port, err := acceptBind(fd)
		if err != nil {
			t.Fatal(err)
		}
		if port < r.lo || port >= r.lo+r.n {
			t.Fatalf("port %d outside %d–%d", port, r.lo, r.lo+r.n-1)
		}
		if seen[port] {
			t.Fatalf("port %d given twice", port)
		}
		seen[port] = true
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		if got := sa.(*unix.SockaddrInet4).Port; got != port {
			t.Fatalf("bound %d, acceptBind says %d", got, port)
		}
	}
}

// drainSetup opens an epoll oneshot instance as a replicated waiter's own
// with src's sources registered.
func drainSetup(t *testing.T, src *herdSrc) *herdWaiter {
	t.Helper()
	v := herdVariants(t, "epoll/oneshot")[0]
	n, err := v.Open(notify.Options{MaxSources: len(src.fds), Params: map[string]int{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	for i, fd := range src.fds {
		if err := n.Add(fd, uint64(i), notify.Readable, notify.Oneshot); err != nil {
			t.Fatal(err)
		}
	}
	return &herdWaiter{n: n, w: n, own: true, events: make([]notify.Event, 4), hist: newHist()}
}

// TestHerdDrainRearmsOneshot: a oneshot source whose report a repetition
// left behind is emptied and re-armed before the next one starts; a
// report discarded as it was would leave the source disarmed on the
// waiter's instance for the rest of the trial.
func TestHerdDrainRearmsOneshot(t *testing.T) {
	src, err := newHerdSrc(1)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	w := drainSetup(t, src)
	h := &herdState{src: src, trig: notify.Oneshot}
	fire := func(seq uint64) {
		var b [8]byte
		binary.NativeEndian.PutUint64(b[:], seq)
		if _, err := unix.Write(src.fds[0], b[:]); err != nil {
			t.Fatal(err)
		}
	}
	src.busy[0].v.Store(1)
	fire(5) // lost by the last repetition: still in the eventfd
	w.drain(h)
	if w.err != nil {
		t.Fatal(w.err)
	}
	if src.busy[0].v.Load() != 0 {
		t.Error("the drained firing's source is still busy: the producer would never fire it again")
	}
	fire(6)
	k, err := w.w.Wait(w.events, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if k != 1 {
		t.Fatalf("a firing after the drain: %d events, want 1 (the source stayed disarmed)", k)
	}
	if seq := w.take(src.fds[0]); seq != 6 {
		t.Fatalf("took %d, want 6 (the drained firing still in the eventfd)", seq)
	}
}

// TestAcceptDrainRearmsListener: a oneshot listener whose report a
// repetition left behind has its queued connections accepted, their
// numbers cleared, and is re-armed: the next repetition's connections
// are reported.
func TestAcceptDrainRearmsListener(t *testing.T) {
	acc, err := newAcceptSrc(1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.close()
	w := drainSetup(t, &acc.herdSrc)
	h := &herdState{src: &acc.herdSrc, acc: acc, trig: notify.Oneshot}
	w.led.reset(8)
	server := &unix.SockaddrInet4{Port: acc.port, Addr: [4]byte{127, 0, 0, 1}}
	left, err := acceptDial(acc, server, 3) // lost by the last repetition
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(left.fd)
	// The connection is queued once its handshake's last ACK is in.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		info, err := unix.GetsockoptTCPInfo(left.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if info.State == 1 { // TCP_ESTABLISHED
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client in TCP state %d", info.State)
		}
	}
	w.drain(h)
	if w.err != nil {
		t.Fatal(w.err)
	}
	if got := acc.seqs[left.port].Load(); got != 0 {
		t.Errorf("the drained connection's number %d is still in seqs: its client is never closed", got)
	}
	c, err := acceptDial(acc, server, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c.fd)
	k, err := w.w.Wait(w.events, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if k != 1 {
		t.Fatalf("a connection after the drain: %d events, want 1 (the listener stayed disarmed)", k)
	}
	w.led.reset(8)
	if n := w.accepts(h, acc.fds[0]); n != 1 || w.led.dup != 0 || w.led.seen[0]&(1<<1) == 0 {
		t.Fatalf("accepted %d (dup %d), want connection 1 once", n, w.led.dup)
	}
}
