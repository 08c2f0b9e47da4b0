package workloads

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rawsys"
	"kbench/notify"
	"kbench/results"
	"kbench/ringlab"
)

// Calibrate measures this machine's floors, so that every other figure can
// be read as a multiple of what the hardware and kernel cost at the least:
// a cache line bounced between the two pinned CPUs, a null system call, a
// futex wake until the woken thread runs, and an eventfd+epoll round trip.
//
// Every floor is measured from Go, through the same x/sys calls the
// backends make (unix.Syscall, so the runtime's entersyscall/exitsyscall
// are in the figure, as they are in every backend's), except the raw null
// system call, which is the kevent emulation's kernel boundary.
var Calibrate = Workload{
	Name:  "calibrate",
	Order: 1,
	Desc:  "this machine's floors: cache-line round trip between the CPUs, null system call, futex wake-to-run, eventfd+epoll round trip (ns)",
	Params: []Param{
		{Name: "cacheline_iters", Default: 50_000, Quick: 5_000, Min: 5, Max: 10_000_000, Help: "cache-line round trips per measurement"},
		{Name: "syscall_iters", Default: 40_000, Quick: 5_000, Min: calibrateBatches, Max: 10_000_000, Help: "null system calls per measurement (median of 20 batches)"},
		{Name: "futex_samples", Default: 500, Quick: 200, Min: 1, Max: 100_000, Help: "futex wakes per measurement"},
		{Name: "eventfd_rtts", Default: 1_000, Quick: 300, Min: eventfdBatches, Max: 10_000_000, Help: "eventfd+epoll round trips per measurement (median of 10 batches)"},
	},
}

func init() {
	Calibrate.RunAll = func(ctx context.Context, cfg Config, _ []notify.Variant) []results.Result {
		return runCalibrate(ctx, cfg)
	}
	register(&Calibrate)
}

// Floor keys, in Floors' map and as results.File.Calibration keys.
const (
	FloorCacheLine     = "cacheline_rtt_ns"
	FloorNullSyscall   = "null_syscall_ns"
	FloorNullRaw       = "null_rawsyscall_ns"
	FloorFutexWake     = "futex_wake_ns"
	FloorFutexWakeP99  = "futex_wake_p99_ns"
	FloorEventfdEpoll  = "eventfd_epoll_rtt_ns"
	futexWakeGapNs     = 20_000 // how long the waker leaves the sleeper to fall asleep
	calibrateBatches   = 20
	eventfdBatches     = 10
	calibratePeerLimit = 2 * time.Second // a peer that does not answer in this long has failed
)

// calFloor is one floor: its row name and how it is measured.
type calFloor struct {
	row     string
	measure func(c *calibrator) (map[string]float64, error)
}

var calFloors = []calFloor{
	{"cacheline-rtt", (*calibrator).cacheLine},
	{"null-syscall", (*calibrator).nullSyscall},
	{"futex-wake", (*calibrator).futexWake},
	{"eventfd-epoll-rtt", (*calibrator).eventfdEpoll},
}

// calibrator holds the CPUs and sizes of one calibration.
type calibrator struct {
	cpuA, cpuB  int // the producer's and the consumer's; may be equal
	lineB       int // cpuB for the cache line, another CPU when cpuA == cpuB; -1: none
	lineIters   int
	sysIters    int
	futexN      int
	eventfdRTTs int
}

func newCalibrator(cfg Config) (*calibrator, error) {
	c := &calibrator{
		cpuA: cfg.ProducerCPU, cpuB: cfg.ConsumerCPU, lineB: -1,
		lineIters:   cfg.param(Calibrate, "cacheline_iters"),
		sysIters:    cfg.param(Calibrate, "syscall_iters"),
		futexN:      cfg.param(Calibrate, "futex_samples"),
		eventfdRTTs: cfg.param(Calibrate, "eventfd_rtts"),
	}
	if c.lineIters < 5 || c.sysIters < calibrateBatches || c.futexN < 1 || c.eventfdRTTs < eventfdBatches {
		return nil, fmt.Errorf("calibrate: cacheline_iters >= 5, syscall_iters >= %d, futex_samples >= 1, eventfd_rtts >= %d: %w",
			calibrateBatches, eventfdBatches, errors.ErrUnsupported)
	}
	allowed, err := cpu.Allowed()
	if err != nil {
		return nil, err
	}
	// Unpinned configurations still measure between two real CPUs.
	if c.cpuA < 0 && len(allowed) > 0 {
		c.cpuA = allowed[0]
	}
	if c.cpuB < 0 && len(allowed) > 1 {
		c.cpuB = allowed[1]
	} else if c.cpuB < 0 {
		c.cpuB = c.cpuA
	}
	// A line does not move between a CPU and itself: for placement=same the
	// floor is the trip to the nearest other CPU, as ringlab's rows use.
	c.lineB = c.cpuB
	if c.lineB == c.cpuA {
		c.lineB = -1
		for _, x := range allowed {
			if x != c.cpuA {
				c.lineB = x
				break
			}
		}
	}
	return c, nil
}

// Floors measures each floor once (each itself a median over many trials)
// and returns them in ns, keyed as results.File.Calibration stores them.
// The cache-line floor is absent on a machine with one usable CPU.
func Floors(ctx context.Context, cfg Config) (map[string]float64, error) {
	c, err := newCalibrator(cfg)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, f := range calFloors {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		vals, err := f.measure(c)
		if errors.Is(err, errors.ErrUnsupported) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("calibrate %s: %w", f.row, err)
		}
		for k, v := range vals {
			if strings.HasSuffix(k, "_ns") {
				out[k] = v
			}
		}
	}
	return out, nil
}

var calUnits = map[string][]results.Unit{
	"cacheline-rtt":     {{Name: "ns", Better: "lower"}},
	"null-syscall":      {{Name: "ns", Better: "lower"}, {Name: "raw-ns", Better: "lower"}},
	"futex-wake":        {{Name: "ns", Better: "lower"}, {Name: "p99-ns", Better: "lower"}, {Name: "missed", Better: "lower"}},
	"eventfd-epoll-rtt": {{Name: "ns", Better: "lower"}},
}

// runCalibrate gives one row per floor, one sample per repetition.
func runCalibrate(ctx context.Context, cfg Config) []results.Result {
	c, err := newCalibrator(cfg)
	var rows []results.Result
	for _, f := range calFloors {
		r := results.Result{Workload: "calibrate", Backend: "floor", Variant: f.row, Units: calUnits[f.row]}
		r.Params = map[string]string{
			"placement":    cfg.Placement(),
			"producer_cpu": strconv.Itoa(cfg.ProducerCPU),
			"consumer_cpu": strconv.Itoa(cfg.ConsumerCPU),
			"reps":         strconv.Itoa(cfg.Reps),
		}
		for _, p := range Calibrate.Params {
			r.Params[p.Name] = strconv.Itoa(cfg.param(Calibrate, p.Name))
		}
		if err != nil {
			rows = append(rows, fail(r, err))
			continue
		}
		r.Params["cpu_a"], r.Params["cpu_b"] = strconv.Itoa(c.cpuA), strconv.Itoa(c.cpuB)
		if f.row == "cacheline-rtt" {
			r.Params["cpu_b"] = strconv.Itoa(c.lineB)
		}
		rows = append(rows, calRow(ctx, c, f, cfg.Reps, r))
	}
	return rows
}

func calRow(ctx context.Context, c *calibrator, f calFloor, reps int, r results.Result) results.Result {
	for rep := 0; rep < reps; rep++ {
		if ctx.Err() != nil {
			r.Reason = "interrupted"
			break
		}
		vals, err := f.measure(c)
		if errors.Is(err, errors.ErrUnsupported) {
			r = notApplicable(r, err.Error())
			return r
		}
		if err != nil {
			return fail(r, err)
		}
		s := results.Sample{Rep: rep, Values: map[string]float64{}}
		switch f.row {
		case "cacheline-rtt":
			s.Values["ns"] = vals[FloorCacheLine]
		case "null-syscall":
			s.Values["ns"], s.Values["raw-ns"] = vals[FloorNullSyscall], vals[FloorNullRaw]
		case "futex-wake":
			s.Values["ns"], s.Values["p99-ns"] = vals[FloorFutexWake], vals[FloorFutexWakeP99]
			s.Values["missed"] = vals["futex_missed"]
		case "eventfd-epoll-rtt":
			s.Values["ns"] = vals[FloorEventfdEpoll]
		}
		r.Samples = append(r.Samples, s)
	}
	return finish(r)
}

// cacheLine is ringlab's measurement: the one the ring rows are read against.
func (c *calibrator) cacheLine() (map[string]float64, error) {
	if c.lineB < 0 {
		return nil, fmt.Errorf("one usable CPU: no cache line to bounce: %w", errors.ErrUnsupported)
	}
	ns, err := ringlab.CacheLineRoundTrip(c.cpuA, c.lineB, c.lineIters)
	if err != nil {
		return nil, err
	}
	return map[string]float64{FloorCacheLine: ns}, nil
}

// nullSyscall times getppid, which does nothing but enter and leave the
// kernel, through unix.Syscall (as the backends make their blocking calls)
// and rawsys's one-frame stub (as the hot loops make the others, and
// kevent's emulated boundary): the median of batches.
func (c *calibrator) nullSyscall() (map[string]float64, error) {
	unpin, err := cpu.Pin(c.cpuB)
	if err != nil {
		return nil, err
	}
	defer unpin()
	per := c.sysIters / calibrateBatches
	cooked := make([]float64, calibrateBatches)
	raw := make([]float64, calibrateBatches)
	for b := range calibrateBatches {
		t0 := clock.Now()
		for range per {
			unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		t1 := clock.Now()
		for range per {
			rawsys.Syscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		t2 := clock.Now()
		cooked[b] = float64(t1-t0) / float64(per)
		raw[b] = float64(t2-t1) / float64(per)
	}
	return map[string]float64{FloorNullSyscall: results.Median(cooked), FloorNullRaw: results.Median(raw)}, nil
}

// FUTEX_WAIT and FUTEX_WAKE with FUTEX_PRIVATE_FLAG (linux/futex.h; x/sys
// does not name them).
const (
	calFutexWait = 0 | 128
	calFutexWake = 1 | 128
)

// futexWake measures wake-to-run: thread B (consumer CPU) sleeps in
// FUTEX_WAIT; thread A (producer CPU) stamps the time, stores the word and
// calls FUTEX_WAKE; B stamps the time it runs again. A gives B a gap to fall
// asleep first; a wait that returns at once (the word had already changed)
// measured no sleep and is counted as missed, not as a sample.
func (c *calibrator) futexWake() (map[string]float64, error) {
	// The word gets a cache line of its own.
	mem := make([]byte, 192)
	off := int(-uintptr(unsafe.Pointer(&mem[0]))&63) + 64
	word := (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
	var (
		armed   atomic.Uint32 // B is about to sleep on round armed
		stamp   atomic.Int64  // A's time before the wake, for the current round
		ran     atomic.Uint32 // B has measured round ran
		missed  atomic.Int64
		samples = make([]float64, 0, c.futexN)
		stop    atomic.Bool
	)
	errc := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(c.cpuB)
		if err != nil {
			stop.Store(true)
			errc <- err
			return
		}
		defer unpin()
		for round := uint32(1); int(round) <= c.futexN && !stop.Load(); round++ {
			word.Store(0)      // read by FUTEX_WAIT's compare and by A's Store
			armed.Store(round) // pairs with A's Load: the word is reset
			for word.Load() == 0 && !stop.Load() {
				_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), calFutexWait, 0, 0, 0, 0)
				now := clock.Now()
				if word.Load() == 0 {
					continue // EINTR or a spurious wake: sleep again
				}
				if e == unix.EAGAIN {
					missed.Add(1) // the word changed before we slept
				} else {
					samples = append(samples, float64(now-stamp.Load())) // stamp pairs with A's Store before its word.Store
				}
			}
			ran.Store(round) // pairs with A's wait for the round to end
		}
		errc <- nil
	}()

	unpin, err := cpu.Pin(c.cpuA)
	if err != nil {
		stop.Store(true)
		<-errc
		return nil, err
	}
	defer unpin()
	limit := clock.Now() + int64(calibratePeerLimit) + int64(c.futexN)*int64(time.Millisecond)
	spin := func(cond func() bool) bool {
		for !cond() {
			if clock.Now() > limit || stop.Load() {
				return false
			}
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) // B may share this CPU (placement=same)
		}
		return true
	}
	ok := true
	for round := uint32(1); ok && int(round) <= c.futexN; round++ {
		if ok = spin(func() bool { return armed.Load() == round }); !ok {
			break
		}
		gap := clock.Now() + futexWakeGapNs
		spin(func() bool { return clock.Now() >= gap })
		stamp.Store(clock.Now())
		word.Store(1)
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), calFutexWake, 1, 0, 0, 0)
		ok = spin(func() bool { return ran.Load() == round })
	}
	if !ok {
		stop.Store(true)
		word.Store(1)
		unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), calFutexWake, 1, 0, 0, 0)
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("futex: the sleeping thread did not answer")
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("futex: all %d wakes came before the sleeper slept", missed.Load())
	}
	slices.Sort(samples)
	return map[string]float64{
		FloorFutexWake:    results.Median(samples),
		FloorFutexWakeP99: samples[min(len(samples)-1, len(samples)*99/100)],
		"futex_missed":    float64(missed.Load()),
	}, nil
}

// eventfdEpoll is a ping-pong between two pinned threads, each blocked in
// epoll_wait on its own instance watching the eventfd the other writes.
// One round trip: A writes e1, B wakes, reads e1, writes e2, A wakes and
// reads e2. The median of batches, in ns per round trip.
func (c *calibrator) eventfdEpoll() (map[string]float64, error) {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	newFD := func(fd int, err error) (int, error) {
		if err == nil {
			fds = append(fds, fd)
		}
		return fd, err
	}
	e1, err1 := newFD(unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC))
	e2, err2 := newFD(unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC))
	ep1, err3 := newFD(unix.EpollCreate1(unix.EPOLL_CLOEXEC))
	ep2, err4 := newFD(unix.EpollCreate1(unix.EPOLL_CLOEXEC))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("eventfd/epoll setup: %w", err)
	}
	for _, p := range [][2]int{{ep1, e1}, {ep2, e2}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN}
		if err := unix.EpollCtl(p[0], unix.EPOLL_CTL_ADD, p[1], &ev); err != nil {
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	total := c.eventfdRTTs - c.eventfdRTTs%eventfdBatches
	// hop waits on ep for its eventfd and consumes it.
	hop := func(ep, efd int, evs []unix.EpollEvent, buf []byte) error {
		for {
			k, err := unix.EpollWait(ep, evs, int(calibratePeerLimit/time.Millisecond))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("epoll_wait: %w", err)
			}
			if k == 0 {
				return errors.New("eventfd: the other thread did not answer")
			}
			if _, err := unix.Read(efd, buf); err != nil {
				return fmt.Errorf("eventfd read: %w", err)
			}
			return nil
		}
	}
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	errc := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(c.cpuB)
		if err != nil {
			errc <- err
			return
		}
		defer unpin()
		evs, buf := make([]unix.EpollEvent, 1), make([]byte, 8)
		for range total {
			if err := hop(ep1, e1, evs, buf); err != nil {
				errc <- err
				return
			}
			if _, err := unix.Write(e2, one); err != nil {
				errc <- fmt.Errorf("eventfd write: %w", err)
				return
			}
		}
		errc <- nil
	}()
	unpin, err := cpu.Pin(c.cpuA)
	if err != nil {
		// B gives up when its epoll_wait times out.
		<-errc
		return nil, err
	}
	defer unpin()
	evs, buf := make([]unix.EpollEvent, 1), make([]byte, 8)
	per := total / eventfdBatches
	batches := make([]float64, 0, eventfdBatches)
	for range eventfdBatches {
		t0 := clock.Now()
		for range per {
			if _, err := unix.Write(e1, one); err != nil {
				<-errc
				return nil, fmt.Errorf("eventfd write: %w", err)
			}
			if err := hop(ep2, e2, evs, buf); err != nil {
				<-errc
				return nil, err
			}
		}
		batches = append(batches, float64(clock.Now()-t0)/float64(per))
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	return map[string]float64{FloorEventfdEpoll: results.Median(batches)}, nil
}
