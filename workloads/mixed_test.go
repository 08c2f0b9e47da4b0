package workloads

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/all"
	"kbench/notify"
	"kbench/results"
)

// fakeKinds gives any descriptor backend the other source kinds the way
// the contract describes the descriptor route: a timerfd, signalfd or
// eventfd per source, registered with the backend under a token of its
// own and drained in Wait. It lets mixed's accounting be tested on its
// own, whatever the backends' KindSources do; the faults below wrap it or
// a backend's own KindSources alike.
type fakeKinds struct {
	notify.Notifier
	srcs []fakeKindSrc // by id; never reallocated (Post reads it concurrently)
	next int
	deny map[notify.Kind]error // AddX returns this error for a kind
	// Buffers of their own (a local escapes under -race, and allocates):
	// rbuf is Wait's, wbuf Post's (the producer's).
	rbuf [128]byte
	wbuf [8]byte
}

type fakeKindSrc struct {
	fd    int
	kind  notify.Kind
	token uint64
	live  bool
}

const fakeKindTok = 1 << 62

func newFakeKinds(n notify.Notifier) *fakeKinds {
	return &fakeKinds{Notifier: n, srcs: make([]fakeKindSrc, 4096)}
}

func (f *fakeKinds) Caps() notify.Caps {
	c := f.Notifier.Caps()
	c.Kinds = notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindSignal, notify.KindUser)
	c.KindNote = "test: timerfd, signalfd, eventfd"
	return c
}

func (f *fakeKinds) add(kind notify.Kind, fd int, token uint64) (int, error) {
	if err := f.deny[kind]; err != nil {
		unix.Close(fd)
		return -1, err
	}
	id := f.next
	f.next++
	f.srcs[id] = fakeKindSrc{fd: fd, kind: kind, token: token, live: true}
	if err := f.Notifier.Add(fd, fakeKindTok|uint64(id), notify.Readable, notify.Level); err != nil {
		unix.Close(fd)
		f.srcs[id].live = false
		return -1, err
	}
	return id, nil
}

func (f *fakeKinds) AddTimer(spec notify.TimerSpec, token uint64) (int, error) {
	if err := spec.Check(); err != nil {
		return -1, err
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	flags := 0
	if spec.Abs {
		flags = unix.TFD_TIMER_ABSTIME
	}
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(spec.Value)), Interval: unix.NsecToTimespec(int64(spec.Interval))}
	if err := unix.TimerfdSettime(fd, flags, &its, nil); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return f.add(notify.KindTimer, fd, token)
}

func (f *fakeKinds) AddSignal(sig int, token uint64) (int, error) {
	set := notify.SigsetOf(sig)
	fd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	return f.add(notify.KindSignal, fd, token)
}

func (f *fakeKinds) AddEvent(token uint64) (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	return f.add(notify.KindUser, fd, token)
}

func (f *fakeKinds) Post(id int, value uint64) error {
	binary.NativeEndian.PutUint64(f.wbuf[:], value)
	_, err := unix.Write(f.srcs[id].fd, f.wbuf[:])
	return err
}

func (f *fakeKinds) RemoveSource(id int) error {
	s := &f.srcs[id]
	if !s.live {
		return fmt.Errorf("source %d: %w", id, notify.ErrInvalid)
	}
	s.live = false
	f.Notifier.Remove(s.fd)
	return unix.Close(s.fd)
}

// Wait turns the kinds' descriptors' events into their sources' events,
// each with the count its descriptor held.
func (f *fakeKinds) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := f.Notifier.Wait(ev, min, timeout)
	out := 0
	for _, e := range ev[:n] {
		if e.Token&fakeKindTok == 0 {
			e.Kind, e.Data = notify.KindFD, 0 // the slot may hold an old event's
			ev[out] = e
			out++
			continue
		}
		s := &f.srcs[e.Token&^fakeKindTok]
		if !s.live {
			continue
		}
		var count uint64
		switch s.kind {
		case notify.KindSignal:
			for { // struct signalfd_siginfo, 128 bytes each
				if _, err := unix.Read(s.fd, f.rbuf[:]); err != nil {
					break
				}
				count++
			}
		default:
			if _, err := unix.Read(s.fd, f.rbuf[:8]); err == nil {
				count = binary.NativeEndian.Uint64(f.rbuf[:8])
			}
		}
		if count == 0 {
			continue
		}
		ev[out] = notify.Event{Token: s.token, Ready: notify.Readable, Kind: s.kind, Data: count}
		out++
	}
	return out, err
}

func (f *fakeKinds) Close() error {
	for id := range f.next {
		if f.srcs[id].live {
			f.RemoveSource(id)
		}
	}
	return f.Notifier.Close()
}

// kindsVariant is epoll/et, with fakeKinds around it when fake is set or
// the backend does not take the kinds itself; wrap, if given, goes around
// that.
func kindsVariant(t *testing.T, fake bool, wrap func(notify.Notifier) notify.Notifier) notify.Variant {
	t.Helper()
	v := epollVariant("et")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		if err != nil {
			return nil, err
		}
		if _, ok := n.(notify.KindSources); fake || !ok {
			n = newFakeKinds(n)
		}
		if wrap != nil {
			n = wrap(n)
		}
		return n, nil
	}
	return v
}

func mixedCfg() Config {
	cfg := quickCfg()
	// Repetitions of 20 ms: every quick timer (up to 10 ms) expires.
	cfg.Duration, cfg.Warmup, cfg.Reps = 60*time.Millisecond, 15*time.Millisecond, 2
	return cfg
}

func runMixedT(t *testing.T, v notify.Variant, cfg Config) results.Result {
	t.Helper()
	return Mixed.Run(context.Background(), v, cfg)
}

// Every kind is collected exactly once and measured, through the test's
// own descriptor route and through epoll's KindSources.
func TestMixedExactlyOnce(t *testing.T) {
	for _, fake := range []bool{true, false} {
		t.Run(map[bool]string{true: "fake", false: "epoll"}[fake], func(t *testing.T) { testMixedExactlyOnce(t, fake) })
	}
}

func testMixedExactlyOnce(t *testing.T, fake bool) {
	r := runMixedT(t, kindsVariant(t, fake, nil), mixedCfg())
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	gen, col, lost, dup := r.Totals()
	if gen == 0 || gen != col || lost != 0 || dup != 0 {
		t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
	}
	if len(r.Samples) != 2 {
		t.Errorf("%d samples, want 2", len(r.Samples))
	}
	for _, s := range r.Samples {
		for _, k := range []string{"fd", "timer", "signal", "user"} {
			for _, m := range []string{"-events/s", "-p50-ns", "-p99-ns", "-max-ns", "-starve-ns"} {
				if _, ok := s.Values[k+m]; !ok {
					t.Errorf("rep %d: no %s", s.Rep, k+m)
				}
			}
			if s.Histograms[k+"-latency-ns"] == "" {
				t.Errorf("rep %d: no %s histogram", s.Rep, k)
			}
		}
		if s.Values["events/s"] <= 0 || s.Values["worst-p99-ns"] <= 0 || s.Values["timer-per-event"] < 1 {
			t.Errorf("implausible values %v", s.Values)
		}
		// Per delivery, at least one unit of each kind (coalescing only
		// adds).
		for _, k := range []string{"timer", "signal", "user"} {
			if s.Values[k+"-events/s"] <= 0 || s.Values[k+"-per-event"] < 1 {
				t.Errorf("rep %d: %s events/s %v, per event %v", s.Rep, k, s.Values[k+"-events/s"], s.Values[k+"-per-event"])
			}
		}
	}
	if r.Params["timer_periods_us"] != "50:292.4:1710:1e+04" {
		t.Errorf("timer periods %q", r.Params["timer_periods_us"])
	}
}

// TestMixedBackendKinds runs the row on every variant whose backend takes
// the kinds itself: each must account for every kind exactly once (or say
// why it cannot run the row).
func TestMixedBackendKinds(t *testing.T) {
	cfg := mixedCfg()
	cfg.Reps = 1
	ran := 0
	for _, v := range all.Variants() {
		n, err := v.Open(notify.Options{MaxSources: 16, HelperCPU: -1, Params: v.Params})
		if err != nil {
			continue
		}
		_, ok := n.(notify.KindSources)
		n.Close()
		if !ok {
			continue
		}
		ran++
		t.Run(v.Backend+"/"+v.Name, func(t *testing.T) {
			r := Mixed.Run(context.Background(), v, cfg)
			switch r.Status {
			case results.StatusOK, results.StatusNoisy, results.StatusUnstable:
			case results.StatusNA, results.StatusSkipped:
				t.Skipf("%s: %s", r.Status, r.Reason)
			default:
				t.Fatalf("status %s: %s", r.Status, r.Reason)
			}
			if gen, col, lost, dup := r.Totals(); gen == 0 || gen != col || lost != 0 || dup != 0 {
				t.Errorf("generated %d collected %d lost %d dup %d", gen, col, lost, dup)
			}
		})
	}
	if ran == 0 {
		t.Skip("no backend implements notify.KindSources yet")
	}
}

// kindFault rewrites the events of one kind that a Wait returns, once:
// the faults a row must fail on.
type kindFault struct {
	notify.Notifier
	kind notify.Kind
	// edit changes ev[i] and says how many events it now stands for: 0
	// drops it, 2 repeats it.
	edit func(e *notify.Event) int
	mu   sync.Mutex
	done bool
}

func (f *kindFault) AddTimer(s notify.TimerSpec, tok uint64) (int, error) {
	return f.Notifier.(notify.KindSources).AddTimer(s, tok)
}
func (f *kindFault) AddSignal(sig int, tok uint64) (int, error) {
	return f.Notifier.(notify.KindSources).AddSignal(sig, tok)
}
func (f *kindFault) AddEvent(tok uint64) (int, error) {
	return f.Notifier.(notify.KindSources).AddEvent(tok)
}
func (f *kindFault) Post(id int, v uint64) error {
	return f.Notifier.(notify.KindSources).Post(id, v)
}
func (f *kindFault) RemoveSource(id int) error {
	return f.Notifier.(notify.KindSources).RemoveSource(id)
}

func (f *kindFault) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := f.Notifier.Wait(ev, min, timeout)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return n, err
	}
	for i := 0; i < n; i++ {
		if ev[i].Kind != f.kind {
			continue
		}
		f.done = true
		switch f.edit(&ev[i]) {
		case 0:
			copy(ev[i:], ev[i+1:n])
			n--
		case 2:
			if n < len(ev) {
				ev[n] = ev[i]
				n++
			} else {
				f.done = false // no room this time: the next Wait
			}
		}
		break
	}
	return n, err
}

// Every kind's loss and duplicate fails the row, naming the kind.
func TestMixedDetectsKindFaults(t *testing.T) {
	drop := func(e *notify.Event) int { return 0 }
	twice := func(e *notify.Event) int { return 2 }
	for _, tc := range []struct {
		name      string
		kind      notify.Kind
		edit      func(e *notify.Event) int
		lost, dup bool
	}{
		{"timer-lost", notify.KindTimer, func(e *notify.Event) int {
			if e.Data--; e.Data == 0 {
				return 0
			}
			return 1
		}, true, false},
		{"timer-extra", notify.KindTimer, func(e *notify.Event) int { e.Data++; return 1 }, false, true},
		{"timer-twice", notify.KindTimer, twice, false, true},
		{"signal-lost", notify.KindSignal, drop, true, false},
		{"signal-twice", notify.KindSignal, twice, false, true},
		{"user-lost", notify.KindUser, drop, true, false},
		{"user-twice", notify.KindUser, twice, false, true},
		// A repeated fd event finds its eventfd empty: a spurious
		// wake-up, not a duplicate (the firing's number is taken once).
		{"fd-lost", notify.KindFD, drop, true, false},
		// An fd event carrying another kind (a stale Event.Kind) is a
		// stray, and its firing is never taken.
		{"fd-wrong-kind", notify.KindFD, func(e *notify.Event) int { e.Kind = notify.KindTimer; return 1 }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := kindsVariant(t, false, func(n notify.Notifier) notify.Notifier {
				return &kindFault{Notifier: n, kind: tc.kind, edit: tc.edit}
			})
			cfg := mixedCfg()
			cfg.Warmup, cfg.Reps = 0, 1
			r := runMixedT(t, v, cfg)
			_, _, lost, dup := r.Totals()
			// The reason names the kind, with what it lost and duplicated.
			want := fmt.Sprintf("%v: ", tc.kind)
			if !tc.lost {
				want += "0 lost, "
			}
			if r.Status != results.StatusFailed || (lost != 0) != tc.lost || (dup != 0) != tc.dup ||
				!strings.Contains(r.Reason, want) || !tc.dup && !strings.Contains(r.Reason, " 0 duplicated") {
				t.Errorf("status %s (%s), lost %d dup %d; want failed naming %q, lost %v, duplicated %v", r.Status, r.Reason, lost, dup, want, tc.lost, tc.dup)
			}
		})
	}
}

// A fault in the warm-up fails the row too.
func TestMixedWarmupFault(t *testing.T) {
	v := kindsVariant(t, false, func(n notify.Notifier) notify.Notifier {
		return &kindFault{Notifier: n, kind: notify.KindUser, edit: func(*notify.Event) int { return 2 }}
	})
	r := runMixedT(t, v, mixedCfg())
	if r.Status != results.StatusFailed || !strings.HasPrefix(r.Reason, "warm-up: exactly-once violated: user: 0 lost") {
		t.Errorf("status %s (%s); want failed in the warm-up", r.Status, r.Reason)
	}
}

// A backend that keeps a kind's events back while it returns the others
// starves that kind: its starvation figure shows the hold, the others'
// do not, and nothing is lost.
type holdKind struct {
	kindFault
	hold   time.Duration
	held   notify.Event
	heldAt time.Time
	has    bool
}

func (h *holdKind) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	n, err := h.Notifier.Wait(ev, min, timeout)
	out := 0
	for _, e := range ev[:n] {
		if e.Kind != h.kind {
			ev[out] = e
			out++
			continue
		}
		if !h.has {
			h.held, h.heldAt, h.has = e, time.Now(), true
		} else {
			h.held.Data += e.Data
		}
	}
	if h.has && time.Since(h.heldAt) >= h.hold && out < len(ev) {
		ev[out] = h.held
		out++
		h.has = false
	}
	return out, err
}

func TestMixedStarvation(t *testing.T) {
	const hold = 10 * time.Millisecond
	v := kindsVariant(t, false, func(n notify.Notifier) notify.Notifier {
		return &holdKind{kindFault: kindFault{Notifier: n, kind: notify.KindUser}, hold: hold}
	})
	cfg := mixedCfg()
	// Starvation is measured from the collector's passes: a return with fd
	// events and no user event. The last pass before a release comes one
	// gap between returns before it, and a collector or producer kept off
	// the CPU makes no passes: with the race detector beside two busy
	// loops a 3 ms hold read 161 µs in one repetition and 1.99 ms at most
	// in three. So: a hold of 10 ms in repetitions of 50 ms, and half of it
	// must show in the largest of three.
	cfg.Duration, cfg.Reps = 150*time.Millisecond, 3
	cfg.Params = map[string]int{"timers": 0, "signal_rate": 0}
	r := runMixedT(t, v, cfg)
	if r.Status != results.StatusOK {
		t.Fatalf("status %s: %s", r.Status, r.Reason)
	}
	var userStarve float64
	for _, smp := range r.Samples {
		s := smp.Values
		userStarve = max(userStarve, s["user-starve-ns"])
		// Not the user p99: a released event's latency is from the latest
		// post it covers, which is recent when posts keep coming during the
		// hold; with a handful of deliveries a repetition, the p99 is one
		// event's and says nothing of the hold (it read 1.6 ms once in 40
		// runs, 20 ms otherwise). Starvation is the metric that shows it.
		if fs := s["fd-starve-ns"]; fs >= float64(hold)/2 {
			t.Errorf("rep %d: fd starvation %.0f ns, though fd events were never held", smp.Rep, fs)
		}
		if _, ok := s["timer-p99-ns"]; ok {
			t.Errorf("timers=0 still measured timers")
		}
	}
	if userStarve < float64(hold)/2 {
		t.Errorf("user starvation at most %.0f ns over %d repetitions with events held %v", userStarve, len(r.Samples), hold)
	}
	if r.Params["kinds"] != "fd,user" {
		t.Errorf("kinds %q", r.Params["kinds"])
	}
}

// A backend without source kinds, or refusing one, gets the status the
// refusal calls for.
func TestMixedRefusals(t *testing.T) {
	v := epollVariant("et")
	open := v.Open
	v.Open = func(o notify.Options) (notify.Notifier, error) {
		n, err := open(o)
		return struct{ notify.Notifier }{n}, err // the Notifier's methods alone
	}
	if r := runMixedT(t, v, mixedCfg()); r.Status != results.StatusNA || !strings.Contains(r.Reason, "KindSources") {
		t.Errorf("no KindSources: %s (%s), want n/a", r.Status, r.Reason)
	}
	for _, tc := range []struct {
		kind notify.Kind
		err  error
		want results.Status
	}{
		{notify.KindSignal, fmt.Errorf("signals: %w", errors.ErrUnsupported), results.StatusNA},
		{notify.KindTimer, fmt.Errorf("multishot timeouts: %w", notify.ErrUnavailable), results.StatusSkipped},
		{notify.KindUser, errors.New("broken"), results.StatusFailed},
	} {
		v := epollVariant("et")
		open := v.Open
		v.Open = func(o notify.Options) (notify.Notifier, error) {
			n, err := open(o)
			if err != nil {
				return nil, err
			}
			f := newFakeKinds(n)
			f.deny = map[notify.Kind]error{tc.kind: tc.err}
			return f, nil
		}
		r := runMixedT(t, v, mixedCfg())
		if r.Status != tc.want || !strings.Contains(r.Reason, tc.err.Error()) {
			t.Errorf("%v refused with %v: %s (%s), want %s", tc.kind, tc.err, r.Status, r.Reason, tc.want)
		}
	}
}

// The parameters a user may get wrong are refused before anything runs,
// in one line naming the parameter.
func TestMixedBadParams(t *testing.T) {
	for _, c := range []struct {
		name string
		v    int
		want string
	}{
		{"timer_min_us", 0, "outside its range"},
		{"timer_max_us", -5, "outside its range"},
		{"timer_max_us", 86_400_000_001, "outside its range"},
		{"signal", 9, "signal=9"},
		{"signal", 19, "signal=19"},
		{"signal", 65, "outside its range"},
		{"signal", 10, "standard signal"},
		{"timers", 65, "outside its range"},
	} {
		err := CheckParams(map[string]int{c.name: c.v}, []Workload{Mixed}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%d: %v, want one line with %q", c.name, c.v, err, c.want)
		}
	}
	for _, ok := range []map[string]int{{"signal": 34}, {"signal": 64}, {"timer_min_us": 86_400_000_000}} {
		if err := CheckParams(ok, []Workload{Mixed}, nil); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

func TestMixedPeriods(t *testing.T) {
	lo, hi := 50*time.Microsecond, 10*time.Millisecond
	if p := mixedPeriods(1, lo, hi); len(p) != 1 || p[0] != 707*time.Microsecond {
		t.Errorf("one timer: %v, want the geometric mean 707µs", p)
	}
	if p := mixedPeriods(0, lo, hi); len(p) != 0 {
		t.Errorf("no timers: %v", p)
	}
	if p, q := mixedPeriods(8, lo, hi), mixedPeriods(8, hi, lo); !slices.Equal(p, q) {
		t.Errorf("bounds in either order: %v, %v", p, q)
	}
	if p := mixedPeriods(3, time.Millisecond, time.Millisecond); !slices.Equal(p, []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}) {
		t.Errorf("equal bounds: %v", p)
	}
	p := mixedPeriods(8, lo, hi)
	if p[0] != 50*time.Microsecond || p[7] != 10*time.Millisecond {
		t.Errorf("ends %v, %v", p[0], p[7])
	}
	for i := 1; i < len(p); i++ {
		// Log-spaced: a constant ratio, 200^(1/7) ≈ 2.13.
		if r := float64(p[i]) / float64(p[i-1]); r < 2.12 || r > 2.14 {
			t.Errorf("period %d/%d ratio %.3f", i, i-1, r)
		}
	}
}

func TestMixedParamsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    int
	}{{"sources", 0}, {"timers", -1}, {"timers", 65}, {"signal_rate", -1}, {"signal_rate", 100_001}, {"user_rate", -1}, {"batch", 0}} {
		err := CheckParams(map[string]int{tc.name: tc.v}, []Workload{Mixed}, nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%s=%d is outside its range", tc.name, tc.v)) {
			t.Errorf("%s=%d: %v", tc.name, tc.v, err)
		}
	}
	if err := CheckParams(map[string]int{"timers": 0, "signal_rate": 0, "user_rate": 0}, []Workload{Mixed}, nil); err != nil {
		t.Errorf("kinds off refused: %v", err)
	}
}

// The collection loop allocates nothing, whatever the kinds it serves.
func TestMixedCollectAllocatesNothing(t *testing.T) {
	v := kindsVariant(t, true, nil)
	n, err := v.Open(notify.Options{MaxSources: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	src, err := newSourceSet(n, v, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	ks := n.(notify.KindSources)
	sp := mixedSpec{S: 2, batch: 8, periods: []time.Duration{time.Millisecond}, userRate: 1000,
		needKinds: notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindUser)}
	c := &mixedCollector{n: n, ks: ks, src: src, sp: sp, events: make([]notify.Event, 8), fireAt: make([]paddedI64, 2),
		timers: []mixedTimer{{period: int64(time.Millisecond)}}, userSch: newSchedule(1000)}
	for i := range c.kinds {
		c.kinds[i].hist = newHist()
	}
	c.led.reset(1 << 12)
	if c.off, c.eps, err = monoOffset(); err != nil {
		t.Fatal(err)
	}
	c.start = -1e12 // every expiration and post is long due
	uid, err := ks.AddEvent(mixedToken(notify.KindUser, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.RemoveSource(uid)
	seq := uint64(0)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		src.busy[0].v.Store(1)
		src.fire(0, seq)
		c.postAt.n.Store(seq)
		ks.Post(uid, postValue(seq))
		got := 0
		for got < 2 {
			k, err := c.collect(time.Second)
			if k == 0 || err != nil {
				t.Fatalf("collect = %d, %v", k, err)
			}
			got += k
		}
	})
	if allocs != 0 {
		t.Errorf("collection loop allocates %.1f per round", allocs)
	}
	if c.kinds[notify.KindUser].units == 0 || c.strays != 0 {
		t.Errorf("user posts covered %d, strays %d", c.kinds[notify.KindUser].units, c.strays)
	}
}

// failingWait breaks Wait after a while.
type failingWait struct {
	kindFault
	calls int
}

func (f *failingWait) Wait(ev []notify.Event, min int, timeout time.Duration) (int, error) {
	if f.calls++; f.calls > 50 {
		return 0, errors.New("wait broke")
	}
	return f.Notifier.Wait(ev, min, timeout)
}

// A Wait that fails mid-repetition fails the row with its reason; the
// producer is stopped before the sources it fires are closed.
func TestMixedWaitErrorFails(t *testing.T) {
	v := kindsVariant(t, false, func(n notify.Notifier) notify.Notifier {
		return &failingWait{kindFault: kindFault{Notifier: n}}
	})
	r := runMixedT(t, v, mixedCfg())
	if r.Status != results.StatusFailed || !strings.Contains(r.Reason, "wait broke") {
		t.Errorf("status %s (%s), want failed: wait broke", r.Status, r.Reason)
	}
}
