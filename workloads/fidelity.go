package workloads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	faninc "kbench/csrc/fanin"
	"kbench/impls/all"
	"kbench/internal/ctwin"
	"kbench/notify"
	"kbench/results"
)

// Fidelity runs each kernel backend's fan-in twice in one invocation: the
// Go loop (runFanin over the backend's variant) and its C twin (csrc/fanin:
// the same producer, collector and ledger over raw system calls), and
// reports Go events/s, C events/s and the ratio Go/C. The target is a ratio
// of at least 0.9 for every backend: what Go and the backend's own code cost
// beyond the kernel mechanism itself.
//
// Go and C alternate, one short repetition each per round, over many
// rounds, so that drift on a shared machine reaches both sides alike. This
// machine's state moves on a scale of a few hundred milliseconds (the same
// C loop runs at 1.3M events/s for a while, then at 0.8M): with 100 ms
// rounds one side of a round often ran in the other state, and the median
// of six rounds moved by ±0.1 between invocations; 20 rounds of 30 ms kept
// it within about ±0.03 for the same total time per side. The default is 12
// rounds with 10 ms warm-ups, so that the default suite (with herd and
// mixed) stays in its two minutes; --set rounds=20 for the tighter ratio.
var Fidelity = Workload{
	Name:  "fidelity",
	Order: 90,
	Desc:  "each kernel backend's fan-in in Go and in its C twin (raw system calls), alternating: Go events/s, C events/s, Go/C (target >= 0.9)",
	Params: []Param{
		{Name: "sources", Default: 64, Min: 1, Max: 65536, Help: "eventfds, on both sides"},
		{Name: "batch", Default: 256, Min: 1, Max: 65536, Help: "events per Wait, on both sides"},
		{Name: "rounds", Default: 12, Quick: 1, Min: 1, Max: 1000, Help: "Go and C repetitions, alternating"},
		{Name: "round_ms", Default: 30, Quick: 20, Min: 1, Max: 60_000, Help: "length of each side's repetition in a round (--duration does not apply)"},
		{Name: "round_warmup_ms", Default: 10, Quick: 10, Min: 0, Max: 60_000, Help: "warm-up before each side's repetition"},
		workParams[0], workParams[1],
	},
}

func init() {
	Fidelity.RunAll = func(ctx context.Context, cfg Config, variants []notify.Variant) []results.Result {
		return RunFidelity(ctx, cfg, variants)
	}
	register(&Fidelity)
}

// FidelityTarget is the Go/C ratio every backend's fan-in should reach.
const FidelityTarget = 0.9

// faninTwin pairs a Go variant with the C twin's mode.
type faninTwin struct {
	backend, variant string
	mode, setup      string // the twin's -mode and -setup
}

// faninTwins are the kernel backends' fan-in loops with a C twin. The AIO
// twin stands for both ring rows: in fan-in each collected source is
// resubmitted by the next Wait's io_submit whether it is registered level
// (resubmitted by the backend) or oneshot (re-armed by Modify). SQPOLL has
// no twin: its cost is a kernel thread's, not the loop's.
var faninTwins = []faninTwin{
	{"epoll", "lt", "epoll-lt", "plain"},
	{"epoll", "et", "epoll-et", "plain"},
	{"epoll", "oneshot", "epoll-oneshot", "plain"},
	{"aioring", "ring", "aio", "plain"},
	{"aioring", "ring-oneshot", "aio", "plain"},
	{"iouring", "plain-oneshot", "uring-oneshot", "plain"},
	{"iouring", "plain-multishot", "uring-multishot", "plain"},
	{"iouring", "coop-oneshot", "uring-oneshot", "coop"},
	{"iouring", "coop-multishot", "uring-multishot", "coop"},
}

var fidelityUnits = []results.Unit{
	{Name: "go/c", Better: "higher"},
	{Name: "go/c-cpu", Better: "higher"},
	{Name: "go-events/s", Better: "higher"},
	{Name: "c-events/s", Better: "higher"},
	{Name: "go-syscalls/event", Better: "lower"},
	{Name: "c-syscalls/event", Better: "lower"},
	{Name: "go-events/wait", Better: "higher"},
	{Name: "c-events/wait", Better: "higher"},
	{Name: "go-consumer-cpu-ns/event", Better: "lower"},
	{Name: "c-consumer-cpu-ns/event", Better: "lower"},
	{Name: "go-producer-cpu-ns/event", Better: "lower"},
	{Name: "c-producer-cpu-ns/event", Better: "lower"},
	{Name: "go-kernel-cpu-ns/event", Better: "lower"},
	{Name: "c-kernel-cpu-ns/event", Better: "lower"},
	{Name: "go-preemptions/s", Better: "lower"},
	{Name: "c-preemptions/s", Better: "lower"},
}

// RunFidelity measures every backend mode with a C twin. With variants nil
// it looks the Go side up in impls/all and reports a mode whose variant is
// not registered as not available; otherwise it runs only the modes whose
// variant is in variants (a `kbench fidelity --impl=…` selection).
func RunFidelity(ctx context.Context, cfg Config, variants []notify.Variant) []results.Result {
	explicit := variants != nil
	if !explicit {
		variants = all.Variants()
	}
	var rows []results.Result
	for _, tw := range faninTwins {
		v, ok := findVariant(variants, tw.backend, tw.variant)
		if !ok && explicit {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if !ok {
			rows = append(rows, results.Result{Workload: "fidelity", Backend: tw.backend, Variant: tw.variant,
				Units: fidelityUnits, Status: results.StatusNA,
				Reason: "not available: no " + tw.backend + "/" + tw.variant + " variant in this build"})
			continue
		}
		rows = append(rows, fidelityRow(ctx, cfg, v, tw))
	}
	// A selected variant with no C twin has nothing to be compared with.
	for _, v := range variants {
		if !explicit || ctx.Err() != nil || hasTwin(v) {
			continue
		}
		rows = append(rows, results.Result{Workload: "fidelity", Backend: v.Backend, Variant: v.Name,
			Units: fidelityUnits, Status: results.StatusNA, Params: cfg.baseParams(v),
			Reason: "no C twin for this variant"})
	}
	return rows
}

func hasTwin(v notify.Variant) bool {
	for _, tw := range faninTwins {
		if tw.backend == v.Backend && tw.variant == v.Name {
			return true
		}
	}
	return false
}

func findVariant(vs []notify.Variant, backend, name string) (notify.Variant, bool) {
	for _, v := range vs {
		if v.Backend == backend && v.Name == name {
			return v, true
		}
	}
	return notify.Variant{}, false
}

func fidelityRow(ctx context.Context, cfg Config, v notify.Variant, tw faninTwin) results.Result {
	S, batch := cfg.param(Fidelity, "sources"), cfg.param(Fidelity, "batch")
	rounds := cfg.param(Fidelity, "rounds")
	d := time.Duration(cfg.param(Fidelity, "round_ms")) * time.Millisecond
	warm := time.Duration(cfg.param(Fidelity, "round_warmup_ms")) * time.Millisecond
	res := results.Result{Workload: "fidelity", Backend: v.Backend, Variant: v.Name, Units: fidelityUnits}
	res.Params = cfg.baseParams(v)
	res.Params["reps"] = strconv.Itoa(rounds) // one sample per round
	res.Params["warmup"] = warm.String()
	res.Params["duration"] = d.String()
	for k, x := range map[string]int{"sources": S, "batch": batch, "rounds": rounds,
		"round_ms": int(d / time.Millisecond), "round_warmup_ms": int(warm / time.Millisecond)} {
		res.Params[k] = strconv.Itoa(x)
	}
	res.Params["twin_mode"], res.Params["twin_setup"] = tw.mode, tw.setup
	res.Params["work_ns"], res.Params["work_bytes"] = strconv.Itoa(cfg.param(Fidelity, "work_ns")), strconv.Itoa(cfg.param(Fidelity, "work_bytes"))
	res.Params["twin_cc"] = ctwin.CC() + " " + strings.Join(faninTwinFlags, " ")
	if S < 1 || batch < 1 || rounds < 1 || d <= 0 {
		return fail(res, fmt.Errorf("fidelity: sources=%d batch=%d rounds=%d round_ms=%d: %w",
			S, batch, rounds, d/time.Millisecond, notify.ErrInvalid))
	}
	bin, err := FaninTwin()
	if errors.Is(err, errors.ErrUnsupported) {
		return skip(res, err)
	}
	if err != nil {
		return fail(res, err)
	}

	goCfg := cfg
	goCfg.Reps, goCfg.Duration, goCfg.Warmup = 1, d, warm
	goCfg.Params = map[string]int{}
	for k, x := range cfg.Params {
		goCfg.Params[k] = x
	}
	goCfg.Params["sources"], goCfg.Params["batch"] = S, batch
	goCfg.Params["work_ns"], goCfg.Params["work_bytes"] = cfg.param(Fidelity, "work_ns"), cfg.param(Fidelity, "work_bytes")
	twin := twinArgs{mode: tw.mode, setup: tw.setup, sources: S, batch: batch, d: d, warmup: warm,
		pcpu: cfg.ProducerCPU, ccpu: cfg.ConsumerCPU, wait: cfg.Wait,
		work: cfg.param(Fidelity, "work_ns"), bytes: cfg.param(Fidelity, "work_bytes")}

	for round := 0; round < rounds; round++ {
		if ctx.Err() != nil {
			res.Reason = "interrupted"
			break
		}
		// As testing.B does before each benchmark: a collection that fell
		// due inside the round would stop the world, preempting both
		// pinned threads (the twin's output parsing allocates a little
		// every round; the loops allocate nothing).
		runtime.GC()
		g := runFanin(ctx, v, goCfg)
		if g.Status != results.StatusOK || len(g.Samples) != 1 {
			res.Status, res.Reason = g.Status, "Go fan-in: "+g.Reason
			if g.Status == results.StatusOK || g.Status == "" {
				res.Status = results.StatusFailed
			}
			return res
		}
		c, err := runTwin(ctx, bin, twin)
		if err != nil {
			return skipOrFail(res, err)
		}
		gs := g.Samples[0]
		res.Params["housekeeping"] = g.Params["housekeeping"] // the Go side's, as its fan-in row got
		s := results.Sample{
			Rep:       round,
			Generated: gs.Generated + c.generated,
			Collected: gs.Collected + c.collected,
			Lost:      gs.Lost + c.lost,
			Dup:       gs.Dup + c.dup,
			Producer:  gs.Producer,
			Consumer:  gs.Consumer,
			Helper:    gs.Helper,
			Syscalls:  gs.Syscalls,
			Values: map[string]float64{
				"go-events/s":              gs.Values["events/s"],
				"c-events/s":               c.eventsPerSec,
				"go-syscalls/event":        gs.Values["syscalls/event"],
				"c-syscalls/event":         c.syscallsPerEvent,
				"go-events/wait":           gs.Values["events/wait"],
				"c-events/wait":            c.eventsPerWait,
				"go-consumer-cpu-ns/event": gs.Values["consumer-cpu-ns/event"],
				"c-consumer-cpu-ns/event":  c.consumerCPUNs / float64(max(c.collected, 1)),
				"go-producer-cpu-ns/event": gs.Values["producer-cpu-ns/event"],
				"c-producer-cpu-ns/event":  c.producerCPUNs / float64(max(c.collected, 1)),
				// System time of both threads: whether a gap is the
				// kernel's work or the code around the system calls.
				"go-kernel-cpu-ns/event": float64(gs.Consumer.SysNs+gs.Producer.SysNs) / float64(max(gs.Collected, 1)),
				"c-kernel-cpu-ns/event":  (c.consumerSysNs + c.producerSysNs) / float64(max(c.collected, 1)),
			},
		}
		if c.eventsPerSec > 0 {
			s.Values["go/c"] = gs.Values["events/s"] / c.eventsPerSec
		}
		// How often the producer and collector threads lost their CPU
		// while runnable: in Go, sysmon's wakeups and the preemption of a
		// goroutine that ran 10 ms, which for a locked thread means a
		// hand-off through another thread; in C, other processes only.
		if r := gs.Values["events/s"]; r > 0 && gs.Collected > 0 {
			s.Values["go-preemptions/s"] = float64(gs.Consumer.Nivcsw+gs.Producer.Nivcsw) / (float64(gs.Collected) / r)
		}
		if c.elapsedNs > 0 {
			s.Values["c-preemptions/s"] = c.nivcsw / (c.elapsedNs / 1e9)
		}
		// The same comparison in CPU per event (producer and collector
		// threads together), inverted so that higher is better as for
		// events/s. It moves less than events/s when other processes take
		// turns on the CPUs, which stretches wall time, not CPU time.
		goCPU := gs.Values["consumer-cpu-ns/event"] + gs.Values["producer-cpu-ns/event"]
		if cCPU := (c.consumerCPUNs + c.producerCPUNs) / float64(max(c.collected, 1)); goCPU > 0 && cCPU > 0 {
			s.Values["go/c-cpu"] = cCPU / goCPU
		}
		res.Samples = append(res.Samples, s)
		if c.lost != 0 || c.dup != 0 {
			return fail(res, fmt.Errorf("C twin: %d lost, %d duplicated", c.lost, c.dup))
		}
	}
	res = finish(res)
	if st, ok := res.Summary("go/c"); ok && res.Status == results.StatusOK && st.Median < FidelityTarget {
		res.Reason = fmt.Sprintf("Go/C %.2f, below the %.1f target", st.Median, FidelityTarget)
	}
	return res
}

// FaninTwin returns the C twin's binary, built on first use into the
// user's cache directory. Without a C compiler the error wraps
// errors.ErrUnsupported.
func FaninTwin() (string, error) {
	src, err := faninc.Sources()
	if err != nil {
		return "", err
	}
	return ctwin.Build("fanin", src, faninc.Units, faninTwinFlags...)
}

// BuildFaninTwin compiles the C twin into dir/fanin (the Makefile's twins
// target does the same).
func BuildFaninTwin(dir string) error {
	src, err := faninc.Sources()
	if err != nil {
		return err
	}
	_, err = ctwin.BuildIn(dir, "fanin", src, faninc.Units, faninTwinFlags...)
	return err
}

var faninTwinFlags = []string{"-O2", "-pthread"}

type twinArgs struct {
	mode, setup    string
	sources, batch int
	d, warmup      time.Duration
	pcpu, ccpu     int
	wait           string
	work, bytes    int // the application's work per event (internal/work, csrc/work.h)
}

// twinRep is one repetition of the C twin.
type twinRep struct {
	rep                             int
	generated, collected, lost, dup uint64
	eventsPerSec, eventsPerWait     float64
	syscallsPerEvent, consumerCPUNs float64
	producerCPUNs                   float64
	consumerSysNs, producerSysNs    float64
	nivcsw, elapsedNs               float64 // both threads' involuntary switches; the repetition's length
	policy                          int     // the collector thread's scheduling policy
}

// twinUnavailable is the twin's exit status for a mechanism the kernel
// refuses (its reason on stderr).
const twinUnavailable = 3

// runTwin runs one measured repetition of the twin (after its warm-up) and
// returns it; the warm-up must not lose anything either.
func runTwin(ctx context.Context, bin string, a twinArgs) (twinRep, error) {
	args := []string{"-mode", a.mode, "-setup", a.setup,
		"-sources", strconv.Itoa(a.sources), "-batch", strconv.Itoa(a.batch),
		"-duration-ns", strconv.FormatInt(int64(a.d), 10), "-warmup-ns", strconv.FormatInt(int64(a.warmup), 10),
		"-reps", "1", "-pcpu", strconv.Itoa(a.pcpu), "-ccpu", strconv.Itoa(a.ccpu), "-wait", a.wait,
		"-work-ns", strconv.Itoa(a.work), "-work-bytes", strconv.Itoa(a.bytes)}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := ctwin.Output(cmd)
	if err != nil {
		why := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == twinUnavailable {
			return twinRep{}, fmt.Errorf("C twin %s: %s: %w", a.mode, why, notify.ErrUnavailable)
		}
		return twinRep{}, fmt.Errorf("C twin %s: %w: %s", a.mode, err, why)
	}
	reps, err := parseTwinOutput(out)
	if err != nil {
		return twinRep{}, err
	}
	var last twinRep
	found := false
	for _, r := range reps {
		if r.lost != 0 || r.dup != 0 {
			return r, fmt.Errorf("C twin %s rep %d: %d lost, %d duplicated", a.mode, r.rep, r.lost, r.dup)
		}
		if r.policy != unix.SCHED_NORMAL {
			// It would be measured behind every normal thread.
			return r, fmt.Errorf("C twin %s ran under scheduling policy %d, not SCHED_OTHER", a.mode, r.policy)
		}
		if r.rep >= 0 {
			last, found = r, true
		}
	}
	if !found {
		return twinRep{}, fmt.Errorf("C twin %s: no measured repetition in its output %q", a.mode, out)
	}
	return last, nil
}

// parseTwinOutput reads the twin's key=value lines.
func parseTwinOutput(out []byte) ([]twinRep, error) {
	lines, err := ctwin.ParseKV(out)
	if err != nil {
		return nil, err
	}
	var reps []twinRep
	for _, kv := range lines {
		var errs []error
		u := func(k string) uint64 {
			x, err := strconv.ParseUint(kv[k], 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
			return x
		}
		f := func(k string) float64 {
			x, err := strconv.ParseFloat(kv[k], 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
			return x
		}
		rep, err := strconv.Atoi(kv["rep"])
		errs = append(errs, err)
		policy, err := strconv.Atoi(kv["policy"])
		errs = append(errs, err)
		r := twinRep{rep: rep, generated: u("generated"), collected: u("collected"), lost: u("lost"), dup: u("dup"),
			eventsPerSec: f("events_per_s"), eventsPerWait: f("events_per_wait"),
			syscallsPerEvent: f("syscalls_per_event"), consumerCPUNs: f("consumer_cpu_ns"),
			producerCPUNs: f("producer_cpu_ns"), consumerSysNs: f("consumer_sys_ns"), producerSysNs: f("producer_sys_ns"),
			nivcsw: f("consumer_nivcsw") + f("producer_nivcsw"), elapsedNs: f("elapsed_ns"), policy: policy}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("C twin output %v: %w", kv, err)
		}
		reps = append(reps, r)
	}
	return reps, nil
}
