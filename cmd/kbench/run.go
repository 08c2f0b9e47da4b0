package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"kbench/impls/all"
	"kbench/internal/cpu"
	"kbench/internal/interfere"
	"kbench/notify"
	"kbench/results"
	"kbench/results/table"
	"kbench/workloads"
)

// usageError: bad input; one line on stderr and exit 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries a chosen exit code (a failed row makes `run` exit 1).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const usage = `usage: kbench <command> [flags]

commands:
  run       run workloads over backends and write results (kbench run -h)
  list      show backends, their variants and capabilities, and workloads
  fidelity  each kernel backend's Go fan-in beside its C twin: Go/C events/s
  gate      compare two result sets; exit 1 on a significant regression
  plot      draw a result file's figures and HTML report
`

func run(stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "run":
		return runCmd(stdout, stderr, args[1:])
	case "list":
		return listCmd(stdout, args[1:])
	case "fidelity":
		return fidelityCmd(stdout, stderr, args[1:])
	case "gate":
		return gateCmd(stdout, args[1:])
	case "plot":
		return plotCmd(stdout, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (commands: run, list, fidelity, gate, plot)", args[0])
}

type runFlags struct {
	impl, workload, cpus, placement, wait, out, set, helper string
	housekeeping                                            string
	seed                                                    int64
	requireQuiet, wide                                      bool
	format, suite                                           string
	duration, warmup                                        time.Duration
	reps, producers                                         int
	quick, noFiles                                          bool
	// given holds the flags set on the command line: a zero or negative
	// --duration, --warmup or --reps is refused, not read as "default".
	given map[string]bool
}

// parseRun parses the flags shared by run and fidelity.
func parseRun(name string, stdout io.Writer, args []string) (f runFlags, cfg workloads.Config, variants []notify.Variant, help bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print the whole usage on a bad value; kbench
	// prints one line (main) and keeps the usage for -h.
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.impl, "impl", "all", "backends: all, a backend name (epoll) or a variant (epoll/lt), comma-separated")
	fs.StringVar(&f.workload, "workload", "all", "workloads, comma-separated, or all (see kbench list)")
	fs.DurationVar(&f.duration, "duration", 0, "length of one repetition (one trial's metered part), 1ms to 1h (default 60ms; --quick 20ms)")
	fs.DurationVar(&f.warmup, "warmup", 0, "length of each trial's discarded warm-up, 0 (none) to 1h (default 30ms; --quick 10ms)")
	fs.IntVar(&f.reps, "reps", 0, "repetitions per row, 1 to 10000 (default 6; --quick 3)")
	fs.StringVar(&f.cpus, "cpus", "", "CPU list (0,1 or 0,1-7): the producer's, then the collectors' (the first is every single-collector workload's consumer; herd gives them to its waiters round-robin); or PRODUCERS/COLLECTORS, two lists (0,2/1,3: producers on 0 and 2, collectors 1 and 3; 0/1 is 0,1): herd and accept run a producer thread on each producer CPU, every other workload one on the first (default: the first CPU this process may use for the producer, the others for the collectors)")
	fs.IntVar(&f.producers, "producers", 0, fmt.Sprintf("producer threads of the workloads that run several (herd, accept), taking the producer CPUs of --cpus round-robin: from one per producer CPU to %d (default: one per producer CPU, so one unless --cpus names several)", workloads.MaxProducers))
	fs.StringVar(&f.placement, "placement", "cross", "cross: producer and consumer on different CPUs; same: both on the producer's")
	fs.StringVar(&f.helper, "helper-cpu", "consumer", "CPU of a backend's own kernel-side thread (kevent's fd hook, io_uring SQPOLL): consumer, producer, none (unpinned) or a CPU number")
	fs.StringVar(&f.wait, "wait", workloads.WaitBlock, "collector wait strategy: block, spin or hybrid")
	fs.StringVar(&f.housekeeping, "housekeeping", "idle", "kbench's own threads (Go runtime, harness) during fan-in rows whose collector blocks: idle (SCHED_IDLE on the consumer's CPU, when the kernel allows it) or normal")
	fs.StringVar(&f.set, "set", "", "workload and variant parameters, name=value,… (sources=64,zach_n=256)")
	fs.StringVar(&f.out, "out", "out", "directory for the result files (JSON, .bench, CSV)")
	fs.BoolVar(&f.noFiles, "no-files", false, "print the tables only, write no result files")
	fs.BoolVar(&f.quick, "quick", false, "short runs for tests and CI smoke runs")
	fs.Int64Var(&f.seed, "seed", 0, "seed of the shuffled row order within each round of trials (default: from the clock; recorded in the result)")
	fs.StringVar(&f.suite, "suite", "default", "default, or a named suite (breakeven, map; see kbench list): the workloads --workload=all means")
	fs.BoolVar(&f.wide, "wide", false, "tables with every column (the default shows each workload's headline columns in 120 columns)")
	fs.StringVar(&f.format, "format", "table", "stdout: table, markdown, csv, or json (the result file's JSON)")
	fs.BoolVar(&f.requireQuiet, "require-quiet", false, "refuse to measure (exit 3) when other processes use the chosen CPUs")
	if err = fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "usage: kbench %s [flags]\n", name)
			fs.PrintDefaults()
			return f, cfg, nil, true, nil
		}
		return f, cfg, nil, false, usageError{err}
	}
	if fs.NArg() > 0 {
		return f, cfg, nil, false, usagef("unexpected argument %q", fs.Arg(0))
	}
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	if cfg, err = f.config(); err != nil {
		return
	}
	if !slices.Contains(append(slices.Clone(table.Formats), "json"), f.format) {
		err = usagef("--format %q: want table, markdown, csv or json", f.format)
		return
	}
	if f.housekeeping != "idle" && f.housekeeping != "normal" {
		err = usagef("--housekeeping %q: want idle or normal", f.housekeeping)
		return
	}
	if variants, err = all.Select(f.impl); err != nil {
		err = usageError{err}
		return
	}
	// Every --set value against the range of each workload and variant
	// that will get it, before anything runs.
	wls := []workloads.Workload{workloads.Fidelity}
	if name == "run" {
		if wls, err = selectWorkloads(f.workload, f.suite); err != nil {
			return
		}
		// A named suite's own parameters, unless --set gives them.
		for k, v := range workloads.Suites[f.suite].Params {
			if _, set := cfg.Params[k]; !set {
				cfg.Params[k] = v
			}
		}
	}
	// Several producers are for the workloads that run them; any other
	// would run one and the command line would not say what ran.
	if n := len(cfg.Producers()); n > 1 && !slices.ContainsFunc(wls, func(w workloads.Workload) bool { return w.Producers }) {
		err = usagef("%d producers (--cpus, --producers): none of the selected workloads runs several (herd and accept do)", n)
		return
	}
	if perr := workloads.CheckParams(cfg.Params, wls, variants); perr != nil {
		err = usagef("--set %v", perr)
		return
	}
	err = checkOut(f)
	return
}

func runCmd(stdout, stderr io.Writer, args []string) error {
	f, cfg, variants, help, err := parseRun("run", stdout, args)
	if err != nil || help {
		return err
	}
	wls, err := selectWorkloads(f.workload, f.suite)
	if err != nil {
		return err
	}

	return measure(stdout, stderr, append([]string{"run"}, args...), f, cfg, wls, variants)
}

// measure runs the selected workloads through the engine (run and fidelity
// alike): the pre-flight look at the CPUs, the calibration floors, the
// rounds of independent trials, then the tables and files.
func measure(stdout, stderr io.Writer, args []string, f runFlags, cfg workloads.Config, wls []workloads.Workload, variants []notify.Variant) error {
	ctx, stop := interruptContext()
	defer stop()

	suite := &workloads.Suite{Cfg: cfg, Workloads: wls, Variants: variants, Narrowed: f.impl != "all",
		Seed: f.seed, Trust: results.DefaultTrust}
	if suite.Seed == 0 {
		suite.Seed = time.Now().UnixNano()
	}
	pre, err := preflight(ctx, stderr, f, cfg)
	if err != nil {
		return err
	}
	file := &results.File{
		Schema:    results.Schema,
		Started:   time.Now().UTC(),
		Env:       results.CollectEnv(append([]string{"kbench", args[0]}, args[1:]...), usedCPUs(cfg)),
		Preflight: pre,
	}
	var quiet func()
	file.Env.Housekeeping, quiet = housekeeping(stderr, f, cfg)
	defer quiet()
	prog := newProgress(stderr, suite.Steps()+1)
	suite.Step = prog.step
	prog.step("calibrate floors")
	floors, err := workloads.Floors(ctx, cfg)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "kbench: calibration incomplete: %v\n", err)
	}
	file.Calibration = floors
	file.Results, file.Engine = suite.Run(ctx)
	prog.done()
	var names []string
	for _, w := range wls {
		names = append(names, w.Name)
	}
	return report(stdout, stderr, f, file, names, ctx.Err() == nil)
}

// usedCPUs are the producer's and the consumer's CPUs, then every other
// producer's.
func usedCPUs(cfg workloads.Config) []int {
	used := []int{cfg.ProducerCPU, cfg.ConsumerCPU}
	for _, c := range cfg.Producers() {
		if !contains(used, c) {
			used = append(used, c)
		}
	}
	return used
}

// preflight looks at the CPUs the run will measure on before anything runs:
// other processes using them are named on stderr, and --require-quiet
// refuses to measure (exit 3).
func preflight(ctx context.Context, stderr io.Writer, f runFlags, cfg workloads.Config) (*results.Preflight, error) {
	window := 300 * time.Millisecond
	if f.quick {
		window = 100 * time.Millisecond
	}
	var cpus []int
	for _, c := range append(slices.Clone(cfg.Producers()), cfg.ConsumerCPU) {
		if !contains(cpus, c) {
			cpus = append(cpus, c)
		}
	}
	pre, err := interfere.Preflight(ctx, cpus, window, results.DefaultTrust.NoisyShare)
	if err != nil {
		if f.requireQuiet {
			return nil, exitError{code: 3, msg: "pre-flight: cannot tell whether the CPUs are quiet: " + err.Error()}
		}
		fmt.Fprintf(stderr, "kbench: pre-flight: %v\n", err)
		return nil, nil
	}
	if !pre.Quiet {
		line := interfere.Line(pre)
		if f.requireQuiet {
			return nil, exitError{code: 3, msg: line + "; not measuring (--require-quiet)"}
		}
		fmt.Fprintln(stderr, "kbench: warning: "+line+"; rows may be marked noisy")
	}
	return &pre, nil
}

// housekeeping allows fan-in rows to quiet kbench's own threads
// (cpu.EnableQuiet, cpu.Quiet) when asked to and when the kernel allows it,
// and says so for the result file's environment. The returned function
// undoes it.
func housekeeping(stderr io.Writer, f runFlags, cfg workloads.Config) (string, func()) {
	if f.housekeeping == "normal" {
		return "normal", func() {}
	}
	if err := cpu.EnableQuiet([]int{cfg.ConsumerCPU}); err != nil {
		fmt.Fprintf(stderr, "kbench: housekeeping threads stay at normal priority: %v\n", err)
		return "normal (SCHED_IDLE refused: " + err.Error() + ")", func() {}
	}
	return fmt.Sprintf("SCHED_IDLE on CPU %d in fan-in rows that block (row parameter housekeeping)", cfg.ConsumerCPU),
		func() {
			if err := cpu.QuietErr(); err != nil {
				fmt.Fprintf(stderr, "kbench: quiet housekeeping: %v\n", err)
			}
			cpu.DisableQuiet()
		}
}

// report prints one table per workload, writes the files and decides the
// exit status: 130 if interrupted, 1 if a row failed.
func report(stdout, stderr io.Writer, f runFlags, file *results.File, workloadNames []string, complete bool) error {
	file.Finished = time.Now().UTC()
	file.Complete = complete
	if f.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		if err := enc.Encode(file); err != nil {
			return err
		}
	}
	for _, name := range workloadNames {
		if f.format == "json" {
			break
		}
		var rows []results.Result
		for _, r := range file.Results {
			if r.Workload == name {
				rows = append(rows, r)
			}
		}
		if len(rows) > 0 {
			if err := table.Write(stdout, name, rows, table.Options{Wide: f.wide, Format: f.format}); err != nil {
				return err
			}
		}
	}
	if !f.noFiles {
		paths, err := writeFiles(f.out, file)
		if err != nil {
			return err
		}
		w := stdout
		if f.format != "table" {
			w = stderr // stdout holds only the asked-for format
		}
		fmt.Fprintf(w, "\nresults: %s\n", strings.Join(paths, " "))
	}
	if !file.Complete {
		return exitError{code: 130, msg: "interrupted: the rows that finished were saved, marked incomplete"}
	}
	var failed []string
	for _, r := range file.Results {
		if r.Status == results.StatusFailed {
			failed = append(failed, r.ID())
		}
	}
	if len(failed) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d row(s) failed: %s", len(failed), strings.Join(failed, "; "))}
	}
	return nil
}

func (f runFlags) config() (workloads.Config, error) {
	cfg := workloads.Config{Duration: 60 * time.Millisecond, Warmup: 30 * time.Millisecond, Reps: 6, Quick: f.quick, Params: map[string]int{}}
	if f.quick {
		cfg.Duration, cfg.Warmup, cfg.Reps = 20*time.Millisecond, 10*time.Millisecond, 3
	}
	if f.given["duration"] {
		if f.duration < minDuration || f.duration > maxDuration {
			return cfg, usagef("--duration=%v is outside its range %v..%v", f.duration, minDuration, maxDuration)
		}
		cfg.Duration = f.duration
	}
	if f.given["warmup"] {
		if f.warmup < 0 || f.warmup > maxDuration {
			return cfg, usagef("--warmup=%v is outside its range 0s..%v (0s: no warm-up)", f.warmup, maxDuration)
		}
		cfg.Warmup = f.warmup
	}
	if f.given["reps"] {
		if f.reps < 1 || f.reps > maxReps {
			return cfg, usagef("--reps=%d is outside its range 1..%d", f.reps, maxReps)
		}
		cfg.Reps = f.reps
	}
	switch f.wait {
	case workloads.WaitBlock, workloads.WaitSpin, workloads.WaitHybrid:
		cfg.Wait = f.wait
	default:
		return cfg, usagef("--wait %q: want block, spin or hybrid", f.wait)
	}
	allowed, err := cpu.Allowed()
	if err != nil {
		return cfg, err
	}
	// The producer and every other CPU this process may use: the first
	// two are every single-collector workload's, and herd's waiters
	// spread over all but the producer's.
	prods, colls := allowed[:1], allowed[1:]
	if f.cpus != "" {
		if prods, colls, err = parseCPUs(f.cpus); err != nil {
			return cfg, usagef("--cpus=%s: %v", f.cpus, err)
		}
		for _, c := range append(slices.Clone(prods), colls...) {
			if !contains(allowed, c) {
				return cfg, usagef("--cpus: CPU %d is not available to this process (allowed: %v)", c, allowed)
			}
		}
	}
	cfg.ProducerCPU, cfg.ConsumerCPU = prods[0], prods[0]
	if len(colls) > 0 {
		cfg.ConsumerCPU = colls[0]
		cfg.CollectorCPUs = colls
	}
	// One producer thread per producer CPU, or --producers of them taking
	// those CPUs round-robin.
	n := len(prods)
	if f.given["producers"] {
		if f.producers < len(prods) || f.producers > workloads.MaxProducers {
			return cfg, usagef("--producers=%d is outside its range %d..%d (one thread per producer CPU --cpus names, at least)", f.producers, len(prods), workloads.MaxProducers)
		}
		n = f.producers
	}
	if n > workloads.MaxProducers {
		return cfg, usagef("--cpus=%s names %d producer CPUs, more than the %d producers a workload may run", f.cpus, n, workloads.MaxProducers)
	}
	cfg.ProducerCPUs = make([]int, n)
	for i := range cfg.ProducerCPUs {
		cfg.ProducerCPUs[i] = prods[i%len(prods)]
	}
	switch f.placement {
	case "cross":
		if cfg.ProducerCPU == cfg.ConsumerCPU {
			return cfg, usagef("--placement=cross needs two CPUs, have %v", append(slices.Clone(prods), colls...))
		}
	case "same":
		cfg.ConsumerCPU = cfg.ProducerCPU
		cfg.CollectorCPUs = nil
	default:
		return cfg, usagef("--placement %q: want cross or same", f.placement)
	}
	switch f.helper {
	case "consumer":
		cfg.HelperCPU = cfg.ConsumerCPU
	case "producer":
		cfg.HelperCPU = cfg.ProducerCPU
	case "none":
		cfg.HelperCPU = -1
	default:
		c, err := strconv.Atoi(f.helper)
		if err != nil || !contains(allowed, c) {
			return cfg, usagef("--helper-cpu %q: want consumer, producer, none or a CPU this process may use (%v)", f.helper, allowed)
		}
		cfg.HelperCPU = c
	}
	if cfg.Params, err = parseSet(f.set); err != nil {
		return cfg, usagef("--set %v", err)
	}
	return cfg, nil
}

// parseCPUs reads --cpus: a CPU list whose first CPU is the producer's
// and the rest the collectors' (none: the producer's CPU collects too),
// or PRODUCERS/COLLECTORS, two CPU lists, neither empty.
func parseCPUs(spec string) (prods, colls []int, err error) {
	p, c, split := strings.Cut(spec, "/")
	if !split {
		cpus, err := cpu.ParseList(spec)
		if err != nil {
			return nil, nil, err
		}
		return cpus[:1], cpus[1:], nil
	}
	if strings.Contains(c, "/") {
		return nil, nil, fmt.Errorf("more than one '/' (want PRODUCERS/COLLECTORS)")
	}
	if prods, err = cpu.ParseList(p); err != nil {
		return nil, nil, fmt.Errorf("producer CPUs: %w", err)
	}
	if colls, err = cpu.ParseList(c); err != nil {
		return nil, nil, fmt.Errorf("collector CPUs: %w", err)
	}
	return prods, colls, nil
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func selectWorkloads(spec, suite string) ([]workloads.Workload, error) {
	in, err := workloads.InSuite(suite)
	if err != nil {
		var names []string
		for n := range workloads.Suites {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, usagef("--suite: %v (known: default, %s)", err, strings.Join(names, ", "))
	}
	if spec == "all" || spec == "" {
		return in, nil
	}
	var out []workloads.Workload
	for _, name := range strings.Split(spec, ",") {
		w, err := workloads.Find(strings.TrimSpace(name))
		if err != nil {
			var names []string
			for _, w := range workloads.All() {
				names = append(names, w.Name)
			}
			return nil, usagef("%v (known: %s)", err, strings.Join(names, ", "))
		}
		out = append(out, w)
	}
	return out, nil
}

// writeFiles writes the result set (JSON, .bench, CSV) under one claimed
// stem, kbench-<start time>[-N]: all three or none (results.WriteSet).
func writeFiles(dir string, f *results.File) ([]string, error) {
	base := "kbench-" + f.Started.Format("20060102-150405")
	paths, err := results.WriteSet(dir, base, results.Set(f))
	if err != nil {
		return nil, fmt.Errorf("result files not written: %w", err)
	}
	return paths, nil
}
