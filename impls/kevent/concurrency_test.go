package kevent

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func scaled(n int) int {
	if raceEnabled || testing.Short() {
		return n / 10
	}
	return n
}

// TestProducersExactlyOnce: several producer goroutines fire user sources
// (their own, plus one all of them share) concurrently with the collector,
// through every path. Each firing is counted before Fire; the collector
// takes a source's count when it reports it; at the end every firing has
// been taken exactly once and nothing is left to report.
func TestProducersExactlyOnce(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		for _, tr := range []notify.Trigger{notify.Edge, notify.Level} {
			t.Run(p.String()+"-"+tr.String(), func(t *testing.T) {
				exactlyOnce(t, p, tr)
			})
		}
	}
}

func exactlyOnce(t *testing.T, p Path, tr notify.Trigger) {
	const producers, own = 3, 8
	fires := scaled(30000)
	n, err := New(p, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 64, ParamZachN: 16}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	srcs := producers*own + 1 // the last is shared
	ids := make([]int, srcs)
	count := make([]atomic.Int64, srcs)
	for i := range ids {
		if ids[i], err = n.AddUser(uint64(i), tr); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for pr := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range fires {
				s := pr*own + i%own
				if i%5 == 0 {
					s = srcs - 1
				}
				count[s].Add(1)
				if err := n.Fire(ids[s]); err != nil {
					t.Errorf("Fire: %v", err)
					return
				}
				if i%256 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	var done atomic.Bool
	go func() { wg.Wait(); done.Store(true); n.Wake() }()
	ev := make([]notify.Event, 16)
	var taken int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		k, err := n.Wait(ev, 1, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev[:k] {
			if e.Token >= uint64(srcs) {
				t.Fatalf("unknown token %d", e.Token)
			}
			taken += count[e.Token].Swap(0)
		}
		if k == 0 && done.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("took %d of %d firings before the deadline", taken, producers*fires)
		}
	}
	if want := int64(producers * fires); taken != want {
		t.Fatalf("took %d firings, want %d", taken, want)
	}
	for i := range count {
		if c := count[i].Load(); c != 0 {
			t.Errorf("source %d has %d firings never reported", i, c)
		}
	}
}

// TestRemoveRacesReadiness: producers keep firing while the collector
// removes, re-adds (new token) and modifies sources. After Remove or a token
// change returns, no event may carry the old token, even one whose record
// was already in a ring.
func TestRemoveRacesReadiness(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		t.Run(p.String(), func(t *testing.T) { removeRace(t, p) })
	}
}

func removeRace(t *testing.T, p Path) {
	const srcs = 8
	n, err := New(p, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var ids [srcs]atomic.Int64
	tokens := [srcs]uint64{}
	dead := map[uint64]bool{}
	serial := uint64(0)
	for i := range srcs {
		serial++
		id, err := n.AddUser(serial, notify.Edge)
		if err != nil {
			t.Fatal(err)
		}
		ids[i].Store(int64(id))
		tokens[i] = serial
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for pr := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n.Fire(int(ids[(i+pr)%srcs].Load())) // may hit a removed id: ErrNotExist
			}
		}()
	}
	ev := make([]notify.Event, 8)
	check := func() {
		k, err := n.Wait(ev, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev[:k] {
			if dead[e.Token] {
				t.Fatalf("event for token %d after its source was removed or re-tokened", e.Token)
			}
		}
	}
	for round := range scaled(3000) {
		i := round % srcs
		check()
		switch round % 3 {
		case 0, 1: // remove and add again under a new token
			if err := n.RemoveUser(int(ids[i].Load())); err != nil {
				t.Fatal(err)
			}
			dead[tokens[i]] = true
			check()
			serial++
			id, err := n.AddUser(serial, notify.Edge)
			if err != nil {
				t.Fatal(err)
			}
			ids[i].Store(int64(id))
			tokens[i] = serial
		case 2: // new token, same kevent
			dead[tokens[i]] = true
			serial++
			if err := n.ModifyUser(int(ids[i].Load()), serial, notify.Edge); err != nil {
				t.Fatal(err)
			}
			tokens[i] = serial
		}
		check()
	}
	close(stop)
	wg.Wait()
}

// TestRemoveRacesHook is the same race for fd sources: a writer keeps the
// eventfds busy while the collector removes and re-adds them.
func TestRemoveRacesHook(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathZach} {
		t.Run(p.String(), func(t *testing.T) {
			n, err := New(p, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			const srcs = 4
			var fds [srcs]int
			token := [srcs]uint64{}
			dead := map[uint64]bool{}
			serial := uint64(0)
			for i := range fds {
				if fds[i], err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fds[i])
				serial++
				token[i] = serial
				if err := n.Add(fds[i], serial, notify.Readable, notify.Edge); err != nil {
					t.Fatal(err)
				}
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				one := [8]byte{1}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					unix.Write(fds[i%srcs], one[:])
				}
			}()
			ev := make([]notify.Event, 8)
			var b [8]byte
			for round := range scaled(2000) {
				k, err := n.Wait(ev, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ev[:k] {
					if dead[e.Token] {
						t.Fatalf("event for token %d after Remove", e.Token)
					}
				}
				i := round % srcs
				unix.Read(fds[i], b[:])
				if err := n.Remove(fds[i]); err != nil {
					t.Fatal(err)
				}
				dead[token[i]] = true
				serial++
				token[i] = serial
				if err := n.Add(fds[i], serial, notify.Readable, notify.Edge); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
		})
	}
}

// TestInFlightConcurrency drives the core directly: producers call
// storage_ready and KEVENT_CTL_READY on poll kevents with LAST_CHECK (whose
// check the collector runs with the queue unlocked, the kevents in flight)
// and on unotify kevents, while the collector dequeues. Every readying is
// counted before it is made and taken when its kevent is delivered; in the
// end all are taken and the queue is consistent.
func TestInFlightConcurrency(t *testing.T) {
	for _, m := range []mode{modeSyscall, modeZach} {
		t.Run(m.String(), func(t *testing.T) {
			var calls notify.Counters
			// Every poll origin always reports ready, so no check drops.
			sim := &simPoller{state: []uint32{pollIn, pollIn, pollIn, pollIn}, delay: 2000}
			u, err := newKuser(m, &calls, sim, 8)
			if err != nil {
				t.Fatal(err)
			}
			const kevs = 4
			var sts [kevs]*storage
			var count [kevs]atomic.Int64
			for i := range kevs {
				// ALWAYS_QUEUE: the poll origins are ready at ADD.
				typ, event, req := uint32(typePoll), uint32(pollIn), uint32(reqET|reqLastCheck|reqAlwaysQueue)
				if i%2 == 1 {
					typ, event, req = typeUnotify, 1, reqET
				}
				sts[i] = &storage{origin: i, typ: typ}
				uk := ukevent{ID: uint64(i), Type: typ, Event: event, ReqFlags: req}
				if imm, err := u.add(&uk, sts[i]); err != nil || imm {
					t.Fatal(imm, err)
				}
			}
			fires := scaled(20000)
			var wg sync.WaitGroup
			for pr := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range fires {
						k := (i + pr) % kevs
						count[k].Add(1)
						if i%3 == 0 {
							u.markReady(uint64(k), 0, notify.CallCtl)
						} else {
							u.storageReady(sts[k], pollIn|1)
						}
					}
				}()
			}
			var done atomic.Bool
			go func() { wg.Wait(); done.Store(true) }()
			buf := make([]ukevent, 4)
			var taken int64
			take := func(evs []ukevent) {
				for _, e := range evs {
					taken += count[e.ID].Swap(0)
				}
			}
			for {
				finished := done.Load()
				n, _ := u.getEvents(buf, 0, 0)
				take(buf[:n])
				if m == modeZach {
					var uk ukevent
					for u.zachNext(&uk) {
						take([]ukevent{uk})
					}
				}
				// A delivered kevent's LAST_CHECK is spent (only a drop sets
				// it again); set it anew so that collections keep dropping
				// the lock for the check.
				for i := 0; i < kevs && !finished; i += 2 {
					u.modify(uint64(i), pollIn, reqET|reqLastCheck)
				}
				if finished && n == 0 && u.readyNum == 0 && (m != modeZach || u.zring.Drained()) {
					break
				}
			}
			if want := int64(2 * fires); taken != want {
				t.Fatalf("took %d readyings, want %d", taken, want)
			}
			for i := range u.lists {
				if u.lists[i].n != 0 {
					t.Errorf("list %d holds %d kevents", i, u.lists[i].n)
				}
			}
			for id, k := range u.index {
				if k.flags&(kInFlight|kRequeue|kReady) != 0 {
					t.Errorf("kevent %d left with flags %#x", id, k.flags)
				}
			}
		})
	}
}
