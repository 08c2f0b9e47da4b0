package workloads

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

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
		{Name: "conns", Default: 8, Quick: 4, Min: 1, Max: 4096, Help: "client connections"},
		{Name: "msg", Default: 64, Min: 1, Max: 65536, Help: "request (and reply) size in bytes"},
		{Name: "rate", Default: 0, Min: 0, Max: 10_000_000, Help: "open loop: requests/s offered over all connections, latency from each request's intended send time; 0: closed loop, one request outstanding per connection"},
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
		res = notApplicable(res, fmt.Sprintf("backend does not support trigger %v", v.Trigger))
		return res
	}
	if caps.Interests&notify.Writable == 0 {
		// A reply that does not fit the socket buffer must wait for it.
		res = notApplicable(res, "backend cannot wait for writable sockets")
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
			res = notApplicable(res, "backend does not take socket fds: "+err.Error())
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
