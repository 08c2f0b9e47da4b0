package notifytest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"kbench/notify"
)

// Wake policies among several waiters (notify.WakePolicy). A firing is one
// write to an eventfd registered edge-triggered (or oneshot), so it is
// reported once per registration however long nobody drains it: which
// waiters return with it is the policy's doing, not the trigger's.

// settle is how long the waiters get to block before the firing, and the
// others get to return after the first one did.
const settle = 150 * time.Millisecond

// waitOutcome is one blocked waiter's return.
type waitOutcome struct {
	who    int
	k      int
	tokens []uint64
	err    error
	at     time.Time
}

// sharedWaiters: on a backend that declares notify.SharedWaiter, three
// goroutines block on one instance through their own Waiters and one
// source fires once. WakeOne: exactly one returns, with the event, and the
// others stay blocked. WakeAll: every one returns, one of them with the
// event. A backend without SharedWaiter skips.
func sharedWaiters(c *C, open Opener) {
	n := openOrSkip(c, open)
	sw, ok := n.(notify.SharedWaiter)
	if !ok {
		c.Skipf("one waiter per instance (no notify.SharedWaiter)")
	}
	policy := sw.WakePolicy()
	tr := anyTrigger(c, n, notify.Edge, notify.Oneshot)
	fd := eventfd(c)
	if err := n.Add(fd, 7, notify.Readable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	const W = 3
	out := make(chan waitOutcome, W)
	for i := 0; i < W; i++ {
		w := sw.NewWaiter()
		go func() {
			ev := make([]notify.Event, 4)
			k, err := w.Wait(ev, 1, 5*time.Second)
			out <- waitOutcome{who: i, k: k, tokens: tokens(ev[:k]), err: err, at: time.Now()}
		}()
	}
	time.Sleep(settle)
	fire(c, fd)
	got := gather(out, W, policy)
	n.Close() // unblocks the waiters still blocked (WakeOne)
	for range W - len(got) {
		<-out
	}
	judge(c, "shared instance", policy, W, got)
}

// gather collects the returns that come within settle of the firing (all
// W for WakeAll, within a second).
func gather(out <-chan waitOutcome, W int, policy notify.WakePolicy) []waitOutcome {
	var got []waitOutcome
	limit := time.After(time.Second)
	for len(got) < W {
		select {
		case o := <-out:
			got = append(got, o)
			if len(got) == 1 && policy != notify.WakeAll {
				limit = time.After(settle)
			}
		case <-limit:
			return got
		}
	}
	return got
}

// judge checks the returns against the policy: WakeOne, exactly one
// waiter returned and it carried the event; WakeAll, every waiter
// returned and, for copies (perCopy), each carried the event, otherwise
// exactly one did.
func judge(c *C, what string, policy notify.WakePolicy, W int, got []waitOutcome) {
	with := 0
	for _, o := range got {
		if o.err != nil {
			c.Errorf("%s: waiter %d: Wait: %v", what, o.who, o.err)
		}
		if o.k > 0 {
			with++
		}
	}
	switch policy {
	case notify.WakeOne:
		if len(got) != 1 || with != 1 {
			c.Errorf("%s, policy %v: one firing returned %d of %d blocked waiters (%d with the event), want exactly 1 with it",
				what, policy, len(got), W, with)
		}
	case notify.WakeAll:
		if len(got) != W {
			c.Errorf("%s, policy %v: one firing returned %d of %d blocked waiters within 1s, want all", what, policy, len(got), W)
		}
	default:
		c.Errorf("%s: policy %v is not a several-waiter policy", what, policy)
	}
}

// Group opens W instances that watch the same sources (a replicated
// arrangement: epoll instances with or without EPOLLEXCLUSIVE, kevent
// queues of one Kernel with or without WAKEUP_ALL) and says which of them
// a firing wakes. closeAll closes them (and whatever holds them).
type Group func(W int) (ns []notify.Notifier, policy notify.WakePolicy, closeAll func(), err error)

// RunGroup checks a replicated arrangement's wake policy as a subtest of t
// (GroupFailures says why it failed).
func RunGroup(t *testing.T, name string, open Group) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		c := runGroup(open)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			t.Error(e)
		}
		if c.skipped != "" && len(c.errs) == 0 {
			t.Skip(c.skipped)
		}
	})
}

// GroupFailures runs the group check outside the testing package.
func GroupFailures(open Group) []string {
	c := runGroup(open)
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func runGroup(open Group) *C {
	return runCheck(check{name: "GroupWakePolicy", fn: func(c *C, _ Opener) { groupWake(c, open) }}, nil)
}

// groupWake: three instances each register one eventfd (edge, else
// oneshot) and block in Wait, each on its own goroutine; the eventfd fires
// once. WakeOne: exactly one instance returns, with the event, and the
// others stay blocked. WakeAll: every instance returns with its copy.
func groupWake(c *C, open Group) {
	const W = 3
	ns, policy, closeAll, err := open(W)
	if err != nil {
		if notify.IsUnavailable(err) {
			c.Skipf("backend unavailable: %v", err)
		}
		c.Fatalf("open group: %v", err)
	}
	if len(ns) != W {
		closeAll()
		c.Fatalf("group opened %d instances, want %d", len(ns), W)
	}
	fd := eventfd(c)
	for i, n := range ns {
		tr := anyTrigger(c, n, notify.Edge, notify.Oneshot)
		if err := n.Add(fd, uint64(100+i), notify.Readable, tr); err != nil {
			closeAll()
			c.Fatalf("instance %d: Add: %v", i, err)
		}
	}
	out := make(chan waitOutcome, W)
	for i, n := range ns {
		go func() {
			ev := make([]notify.Event, 4)
			k, err := n.Wait(ev, 1, 5*time.Second)
			out <- waitOutcome{who: i, k: k, tokens: tokens(ev[:k]), err: err, at: time.Now()}
		}()
	}
	time.Sleep(settle)
	fire(c, fd)
	got := gather(out, W, policy)
	closeAll()
	for range W - len(got) {
		<-out
	}
	what := fmt.Sprintf("%d instances on one source", W)
	judge(c, what, policy, W, got)
	if policy == notify.WakeAll {
		for _, o := range got {
			if len(o.tokens) != 1 || o.tokens[0] != uint64(100+o.who) {
				c.Errorf("%s, policy all: instance %d reported %v, want its own copy [%d]", what, o.who, o.tokens, 100+o.who)
			}
		}
	}
}

// sharedExactlyOnce: on a backend that declares notify.SharedWaiter and
// takes user events, the owner and four Waiters collect from one instance
// while two goroutines post to 16 user events. Per source, the sum of the
// events' Data is what was posted: no unit lost or reported twice across
// the waiters, whose collections race with each other and with the posts.
// A backend without SharedWaiter or user events skips.
func sharedExactlyOnce(c *C, open Opener) {
	n := openOrSkip(c, open)
	sw, ok := n.(notify.SharedWaiter)
	if !ok {
		c.Skipf("one waiter per instance (no notify.SharedWaiter)")
	}
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindUser)
	const S, W, perPoster = 16, 4, 3000
	ids := make([]int, S)
	for i := range ids {
		var err error
		if ids[i], err = ks.AddEvent(uint64(i)); err != nil {
			c.Fatalf("AddEvent: %v", err)
		}
	}
	waiters := []notify.Waiter{n} // the owner collects too
	for range W {
		waiters = append(waiters, sw.NewWaiter())
	}
	var mu sync.Mutex
	got := make([]uint64, S)
	var collectors sync.WaitGroup
	done := make(chan struct{})
	for _, w := range waiters {
		collectors.Add(1)
		go func() {
			defer collectors.Done()
			ev := make([]notify.Event, 8)
			for {
				k, err := w.Wait(ev, 1, 20*time.Millisecond)
				mu.Lock()
				for _, e := range ev[:k] {
					if e.Kind != notify.KindUser || e.Token >= S {
						c.Errorf("an event no source of this check could give: %+v", e)
						continue
					}
					got[e.Token] += e.Data
				}
				mu.Unlock()
				if err != nil {
					c.Errorf("Wait: %v", err)
					return
				}
				select {
				case <-done:
					if k == 0 {
						return // nothing left once every post was made
					}
				default:
				}
			}
		}()
	}
	var posters sync.WaitGroup
	posted := make([][]uint64, 2)
	for p := range posted {
		posted[p] = make([]uint64, S)
		posters.Add(1)
		go func() {
			defer posters.Done()
			for i := range perPoster {
				src := (i*5 + p) % S
				v := uint64(i%4 + 1)
				if err := ks.Post(ids[src], v); err != nil {
					c.Errorf("Post: %v", err)
					return
				}
				posted[p][src] += v
			}
		}()
	}
	posters.Wait()
	close(done)
	collectors.Wait()
	for i := range S {
		if want := posted[0][i] + posted[1][i]; got[i] != want {
			c.Errorf("user event %d: collected %d across the waiters, posted %d", i, got[i], want)
		}
	}
}
