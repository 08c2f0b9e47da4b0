package workloads

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/all"
	"kbench/impls/epoll"
	"kbench/notify"
	"kbench/results"
)

func echoCfg() Config {
	c := quickCfg()
	c.Params = map[string]int{}
	return c
}

func checkEchoRow(t *testing.T, r results.Result) {
	t.Helper()
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	gen, col, lost, dup := r.Totals()
	if gen == 0 || gen != col || lost != 0 || dup != 0 {
		t.Errorf("sent %d answered %d lost %d dup %d", gen, col, lost, dup)
	}
	for _, s := range r.Samples {
		v := s.Values
		if v["requests/s"] <= 0 || v["p50-ns"] <= 0 || v["p99-ns"] < v["p50-ns"] || v["mismatches"] != 0 {
			t.Errorf("implausible sample %v", v)
		}
		if s.Histograms["rtt-ns"] == "" {
			t.Errorf("rep %d stores no histogram", s.Rep)
		}
	}
}

func TestEchoEpoll(t *testing.T) {
	for _, v := range epoll.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			r := Echo.Run(context.Background(), v, echoCfg())
			checkEchoRow(t, r)
			if r.Params["sources_kind"] != "fd" || r.Params["conns"] != "4" {
				t.Errorf("params %v", r.Params)
			}
		})
	}
}

// Every other registered variant either serves echo correctly or says why
// it cannot (n/a, or skipped by the machine); none fails.
func TestEchoOtherBackends(t *testing.T) {
	for _, v := range all.Variants() {
		if v.Backend == "epoll" {
			continue
		}
		t.Run(v.Backend+"-"+v.Name, func(t *testing.T) {
			cfg := echoCfg()
			cfg.Reps = 1
			r := Echo.Run(context.Background(), v, cfg)
			switch r.Status {
			case results.StatusSkipped, results.StatusNA:
				t.Skipf("%s: %s", r.Status, r.Reason)
			}
			checkEchoRow(t, r)
		})
	}
}

// Large messages in the open loop: replies outgrow the socket buffers, so
// both sides go through their partial-write paths.
func TestEchoOpenLoopLargeMessages(t *testing.T) {
	cfg := echoCfg()
	cfg.Params = map[string]int{"rate": 4000, "msg": 256 << 10, "conns": 2}
	cfg.Reps = 1
	for _, name := range []string{"lt", "et", "oneshot"} {
		t.Run(name, func(t *testing.T) {
			r := Echo.Run(context.Background(), epollVariant(name), cfg)
			checkEchoRow(t, r)
			if r.Samples[0].Values["offered/s"] != 4000 {
				t.Errorf("open-loop row does not record its offered rate: %v", r.Samples[0].Values)
			}
		})
	}
}

// A server that alters one byte of one reply fails the row, and the client
// counts exactly that reply.
func TestEchoDetectsCorruptReply(t *testing.T) {
	cfg := echoCfg()
	cfg.Warmup, cfg.Reps = 0, 2
	var flipped atomic.Bool
	hooks := echoHooks{tamper: func(b []byte) {
		if len(b) > 3 && flipped.CompareAndSwap(false, true) {
			b[3] ^= 0x20
		}
	}}
	r := runEchoWith(context.Background(), epollVariant("lt"), cfg, hooks)
	var bad float64
	for _, s := range r.Samples {
		bad += s.Values["mismatches"]
	}
	if !flipped.Load() {
		t.Fatal("the tamper hook never ran")
	}
	if r.Status != results.StatusFailed || bad != 1 || !strings.Contains(r.Reason, "1 replies differ") {
		t.Errorf("a flipped byte gave status %s (%s), %v mismatches; want failed with 1", r.Status, r.Reason, bad)
	}
}

func TestEchoPattern(t *testing.T) {
	// Neighbouring requests, and the same request on two connections,
	// differ in every 8-byte word.
	for _, pair := range [][2]uint64{{echoMix(0, 1), echoMix(0, 2)}, {echoMix(0, 7), echoMix(1, 7)}} {
		for j := 0; j < 8; j++ {
			if echoPattern(pair[0], j) == echoPattern(pair[1], j) && echoPattern(pair[0], j+8) == echoPattern(pair[1], j+8) {
				t.Errorf("patterns agree at byte %d and %d", j, j+8)
			}
		}
	}
}

// The server's per-request path (Wait, read, echo) and the client's
// (request, receive) allocate nothing.
func TestEchoLoopsAllocateNothing(t *testing.T) {
	n, err := epoll.New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	lfd, port, err := echoListen(16)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	s := &echoServer{n: n, trig: notify.Level, wait: WaitBlock, lfd: lfd, buf: make([]byte, 64<<10), events: make([]notify.Event, 8)}
	defer s.closeConns()
	if err := n.Add(lfd, 0, notify.Readable, notify.Level); err != nil {
		t.Fatal(err)
	}
	c, err := newEchoClient(port, echoParams{conns: 1, msg: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.sending, c.deadline = true, 1<<62
	c.rate = 1 // no automatic follow-up requests: the test drives each one
	step := func() {
		if err := c.request(&c.conns[0], 0); err != nil {
			t.Fatal(err)
		}
		for c.done < c.sent {
			k, err := n.Wait(s.events, 1, time.Second)
			if err != nil || k == 0 {
				t.Fatalf("server Wait = %d, %v", k, err)
			}
			for _, e := range s.events[:k] {
				if err := s.handle(e); err != nil {
					t.Fatal(err)
				}
			}
			if k, err := c.wait(int64(10 * time.Millisecond)); err != nil {
				t.Fatal(err)
			} else if k > 0 {
				if err := c.receive(&c.conns[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	step() // accepts the connection and grows the buffers
	step()
	if allocs := testing.AllocsPerRun(200, step); allocs != 0 {
		t.Errorf("one echo round trip allocates %.1f times", allocs)
	}
	if c.bad != 0 || c.extra != 0 {
		t.Errorf("%d mismatched replies, %d extra bytes", c.bad, c.extra)
	}
}
