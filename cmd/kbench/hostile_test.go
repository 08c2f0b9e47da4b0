package main

// Each line of the hostile-input table (bad parameters, bad --out, a full
// disk, clashing names, signals, a low fd limit) as a test: in process
// where nothing runs, with the built binary where a hang, a panic, an exit
// status or a signal is what is checked.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kbench/impls/all"
	"kbench/notify"
	"kbench/results"
)

// quickRun is the cheapest real run: one fan-in row.
var quickRun = []string{"run", "--impl=epoll/lt", "--workload=fanin", "--quick", "--reps=1", "--duration=1ms", "--warmup=0s"}

// Out-of-range parameters and senseless durations and counts: one line
// naming the flag or parameter, its value and its range; exit 2 (a usage
// error); no files, not even the --out directory.
func TestHostileArgsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the one line
	}{
		{[]string{"--set=sources=-1"}, "sources=-1 is outside its range 1..65536"},
		{[]string{"--set=batch=-5"}, "batch=-5 is outside its range 1..65536"},
		{[]string{"--set=sources=0"}, "sources=0 is outside its range 1..65536"},
		{[]string{"--set=sources=1000000"}, "sources=1000000 is outside its range 1..65536"},
		{[]string{"--set=batch=0"}, "batch=0 is outside its range"},
		{[]string{"--workload=overflow", "--set=burst=0"}, "burst=0 is outside its range"},
		{[]string{"--workload=overflow", "--set=ring_entries=0"}, "ring_entries=0 is outside its range"},
		{[]string{"--workload=scale", "--set=n_max=0"}, "n_max=0 is outside its range"},
		{[]string{"--workload=latency", "--set=rate=-5"}, "rate=-5 is outside its range"},
		{[]string{"--workload=pingpong", "--set=chain=0"}, "chain=0 is outside its range"},
		{[]string{"--workload=echo", "--set=conns=0"}, "conns=0 is outside its range"},
		{[]string{"--workload=churn", "--set=ctl_every=0"}, "ctl_every=0 is outside its range"},
		{[]string{"--workload=levelstorm", "--set=level=0"}, "level=0 is outside its range"},
		{[]string{"--workload=fidelity", "--set=rounds=0"}, "rounds=0 is outside its range"},
		{[]string{"--impl=kevent/zach-user", "--set=zach_n=0"}, "zach_n=0 is outside its range"},
		{[]string{"--impl=iouring/plain-oneshot", "--set=sq_entries=0"}, "sq_entries=0 is outside its range"},
		{[]string{"--impl=kevent/zach-user", "--set=fire_direct=2"}, "fire_direct=2 is outside its range 0..1"},
		{[]string{"--warmup=-1s"}, "--warmup=-1s is outside its range"},
		{[]string{"--reps=0"}, "--reps=0 is outside its range 1..10000"},
		{[]string{"--reps=-3"}, "--reps=-3 is outside its range"},
		{[]string{"--duration=0"}, "--duration=0s is outside its range 1ms..1h0m0s"},
		{[]string{"--duration=1ns"}, "--duration=1ns is outside its range"},
		{[]string{"--duration=-1s"}, "--duration=-1s is outside its range"},
		{[]string{"--duration=2h"}, "--duration=2h0m0s is outside its range"},
		{[]string{"--set=sources=1,sources=2"}, "sources given twice"},
		{[]string{"--set=sources=99999999999999999999"}, "not an integer"},
	} {
		// Later flags win: the case's --impl and --workload replace the defaults.
		checkRefusedRun(t, []string{"--impl=epoll/lt", "--workload=fanin"}, tc.args, tc.want)
	}
}

// checkRefusedRun runs "kbench run --quick" with base, then args, into a
// fresh --out directory, and checks what bad input must give: a usage
// error (exit 2) on one line saying want, nothing run, no directory made.
func checkRefusedRun(t *testing.T, base, args []string, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	all := append(append([]string{"run", "--quick", "--out=" + out}, base...), args...)
	var stdout, stderr bytes.Buffer
	err := run(&stdout, &stderr, all)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("%q: %v, want a usage error (exit 2)", args, err)
		return
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Errorf("%q: %q, want one line with %q", args, msg, want)
	}
	if stdout.Len() > 0 {
		t.Errorf("%q: something ran: %s", args, stdout.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%q: --out directory made before the arguments were checked", args)
	}
}

// Every variant parameter has a declared range holding its default.
func TestVariantParamsHaveRanges(t *testing.T) {
	for _, v := range all.Variants() {
		for name, def := range v.Params {
			r, ok := notify.ParamRange(name)
			if !ok {
				t.Errorf("%s: parameter %s has no range", v.ID(), name)
				continue
			}
			if err := r.Check(name, def); err != nil {
				t.Errorf("%s: default %v", v.ID(), err)
			}
		}
	}
}

func TestListShowsRanges(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, &out, []string{"list"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sources=64 (quick 16), 1..65536:", "rate=0, 0..10000000:", "zach_n=256 (1..1048576)", "sq_entries=256 (1..32768)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

func TestParseSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]int
		err  bool
	}{
		{"", map[string]int{}, false},
		{"sources=64", map[string]int{"sources": 64}, false},
		{"sources=64, batch = -5", map[string]int{"sources": 64, "batch": -5}, false},
		{"sources", nil, true},
		{"=3", nil, true},
		{"sources=", nil, true},
		{"sources=1,", nil, true},
		{"Sources=1", nil, true},
		{"a=1,a=2", nil, true},
		{"a=0x10", nil, true},
		{"a=1e3", nil, true},
	} {
		got, err := parseSet(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseSet(%q): %v", tc.in, err)
			continue
		}
		if !tc.err && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseSet(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseSet: --set never panics, its errors are one line, and what it
// accepts reads back the same.
func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"", "sources=64", "sources=64,batch=256", "a=-1", "a=1,a=2", "x=\n", "é=1", "a=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseSet(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("parseSet(%q): error not one line: %q", s, err)
			}
			return
		}
		var parts []string
		for k, v := range m {
			if !validName(k) {
				t.Fatalf("parseSet(%q) accepted name %q", s, k)
			}
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		back, err := parseSet(strings.Join(parts, ","))
		if err != nil || fmt.Sprint(back) != fmt.Sprint(m) {
			t.Fatalf("parseSet(%q) = %v, which reads back as %v, %v", s, m, back, err)
		}
	})
}

var binary struct {
	once sync.Once
	path string
	err  error
}

// kbenchBinary builds kbench once per test binary, into a directory every
// user may read (the unwritable --out case runs it as nobody).
// KBENCH_BINARY=path tests another build instead (an older one, to see
// these tests fail on it).
func kbenchBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the kbench binary")
	}
	if p := os.Getenv("KBENCH_BINARY"); p != "" {
		return p
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "kbench-hostile-bin")
		if err != nil {
			binary.err = err
			return
		}
		os.Chmod(dir, 0o755)
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		binary.path = filepath.Join(dir, "kbench")
		out, err := exec.Command(goTool, "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

type outcome struct {
	code           int
	signal         syscall.Signal // the process died of it
	stdout, stderr string
	timedOut       bool
}

// runBinary runs kbench with args, killing it after limit (a hang is an
// outcome, not a stuck test).
func runBinary(t *testing.T, limit time.Duration, setup func(*exec.Cmd), args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, kbenchBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if setup != nil {
		setup(cmd)
	}
	if err := cmd.Run(); cmd.ProcessState == nil {
		t.Fatalf("start %v: %v", args, err)
	}
	o := outcome{stdout: stdout.String(), stderr: stderr.String(), timedOut: ctx.Err() != nil}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		o.code = ws.ExitStatus()
		if ws.Signaled() {
			o.signal = ws.Signal()
		}
	}
	return o
}

// oneLine: the error is one line. The pre-flight's warning that the CPUs
// are busy (a loaded test machine) is a line of its own about something
// else, and is left out.
func oneLine(s string) bool {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "kbench: warning: ") {
			keep = append(keep, l)
		}
	}
	return len(keep) == 1 && strings.TrimSpace(keep[0]) != ""
}

// --out that cannot take the result files is refused before the first
// row: one line, exit 2, nothing measured. (It used to run the suite, then
// spin forever in FreeName.)
func TestOutRefusedBeforeFirstRow(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	ro, err := os.MkdirTemp("", "kbench-ro")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(ro)
	os.Chmod(ro, 0o755) // root's: nobody may not write it
	var asOther func(*exec.Cmd)
	if os.Geteuid() == 0 {
		asOther = func(c *exec.Cmd) {
			c.Dir = "/"
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
	} else {
		os.Chmod(ro, 0o555)
	}
	for _, tc := range []struct {
		out   string
		setup func(*exec.Cmd)
		want  string
	}{
		{file, nil, "is not a directory"},
		{"/dev/null", nil, "is not a directory"},
		{"/dev/full", nil, "is not a directory"},
		{filepath.Join(file, "sub"), nil, "not a directory"},
		{ro, asOther, "cannot write in"},
		{filepath.Join(ro, "sub"), asOther, "cannot create"},
	} {
		o := runBinary(t, 60*time.Second, tc.setup, append(quickRun, "--out="+tc.out)...)
		switch {
		case o.timedOut:
			t.Errorf("--out=%s: still running after 60 s (hangs)", tc.out)
		case o.code != 2 || !oneLine(o.stderr) || !strings.Contains(o.stderr, tc.want):
			t.Errorf("--out=%s: exit %d, stderr %q; want exit 2 and one line with %q", tc.out, o.code, o.stderr, tc.want)
		case o.stdout != "":
			t.Errorf("--out=%s: rows ran before the refusal:\n%s", tc.out, o.stdout)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("the regular file given as --out was changed: %q", b)
	}
	if left := entries(t, ro); len(left) != 0 {
		t.Errorf("the unwritable --out holds %v", left)
	}
}

// A disk that fills while the files are written: one line, exit 1, no
// "results:" line and nothing of the set left (a small tmpfs, when this
// process may mount one).
func TestDiskFullLeavesNoPartialSet(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a small tmpfs here: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	// Fill it but for a page: the --out check (an empty file) passes, the
	// JSON does not fit.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	st, _ := os.Stat(filler.Name())
	os.Truncate(filler.Name(), st.Size()-4096)
	o := runBinary(t, 60*time.Second, nil, append(quickRun, "--out="+dir)...)
	if o.code != 1 || !oneLine(o.stderr) || !strings.Contains(o.stderr, "no space left") || strings.Contains(o.stdout, "results:") {
		t.Errorf("exit %d, stderr %q, stdout has results: %v; want exit 1, one line naming ENOSPC", o.code, o.stderr, strings.Contains(o.stdout, "results:"))
	}
	if left := entries(t, dir); len(left) != 1 {
		t.Errorf("left in --out: %v, want only the filler", left)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// Twenty runs started at once into one directory (same second, same stem) each
// get a whole set of their own; a file already there is never replaced.
func TestConcurrentRunsClaimNames(t *testing.T) {
	dir := t.TempDir()
	// Stale .bench files of the stems the runs will want (they start within
	// these seconds): the runs must step over them.
	var stale []string
	for d := range 4 {
		p := filepath.Join(dir, "kbench-"+time.Now().UTC().Add(time.Duration(d)*time.Second).Format("20060102-150405")+".bench")
		os.WriteFile(p, []byte("theirs"), 0o644)
		stale = append(stale, p)
	}
	const n = 20
	outs := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = runBinary(t, 2*time.Minute, nil, append(quickRun, "--out="+dir)...)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, o := range outs {
		_, line, ok := strings.Cut(o.stdout, "results: ")
		if o.code != 0 || !ok {
			t.Errorf("run %d: exit %d, stderr %q", i, o.code, o.stderr)
			continue
		}
		paths := strings.Fields(line)
		if len(paths) != 3 {
			t.Errorf("run %d: results line %q", i, line)
			continue
		}
		for _, p := range paths {
			if seen[p] {
				t.Errorf("run %d: %s also printed by another run", i, p)
			}
			seen[p] = true
		}
		if _, err := results.ReadJSON(paths[0]); err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	for _, p := range stale {
		if b, _ := os.ReadFile(p); string(b) != "theirs" {
			t.Errorf("existing %s was overwritten", p)
		}
	}
	if got := len(entries(t, dir)); got != 3*n+len(stale) {
		t.Errorf("%d files in --out, want %d: %v", got, 3*n+len(stale), entries(t, dir))
	}
}

// A second SIGINT or SIGTERM ends a run at once, while the first is still
// being handled; the status is the signal's, 130 or 143. The first stops an
// hour-long row within milliseconds and saves what finished, so the second
// is sent as soon as the first is acknowledged: the attempt counts when the
// second found the first still being handled (the process then dies of the
// signal, the kernel's default action once the first has been taken).
// Either way the status must be the signal's.
func TestSecondSignalEndsAtOnce(t *testing.T) {
	bin := kbenchBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			hit := false
			for attempt := 0; attempt < 10 && !hit; attempt++ {
				cmd := exec.Command(bin, "run", "--impl=epoll/lt", "--workload=fanin", "--duration=1h", "--no-files")
				var stderr syncBuffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				time.Sleep(500 * time.Millisecond)
				cmd.Process.Signal(sig)
				deadline := time.Now().Add(2 * time.Second)
				for !strings.Contains(stderr.String(), "again to exit at once") && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				cmd.Process.Signal(sig)
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("still running 5 s after the second %v", sig)
				}
				ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
				code := ws.ExitStatus()
				if ws.Signaled() {
					code = 128 + int(ws.Signal())
					hit = true
				}
				if code != 128+int(sig) {
					t.Fatalf("status %v (%d), want %d; stderr %q", ws, code, 128+int(sig), stderr.String())
				}
			}
			if !hit {
				t.Errorf("in 10 attempts the second %v never arrived while the first was handled", sig)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer the child's stderr copier and the test may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An RLIMIT_NOFILE too low for the sources asked for skips the rows, with
// the reason, in every workload that opens fds; no row fails, exit 0.
func TestLowFDLimitSkipsRows(t *testing.T) {
	bin := kbenchBinary(t)
	dir := t.TempDir()
	script := fmt.Sprintf("ulimit -n 20 && exec %s run --impl=epoll --workload=fanin,churn,pingpong,levelstorm,echo,scale,overflow --reps=1 --duration=5ms --warmup=0s --out=%s", bin, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%v; stderr %q", err, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("result files %v", files)
	}
	f, err := results.ReadJSON(files[0])
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, r := range f.Results {
		switch {
		case r.Status == results.StatusFailed:
			t.Errorf("%s failed: %s", r.ID(), r.Reason)
		case r.Status == results.StatusSkipped && strings.Contains(r.Reason, "RLIMIT_NOFILE"):
			skipped[r.Workload] = true
		}
	}
	for _, w := range []string{"fanin", "churn", "pingpong", "levelstorm", "echo", "scale", "overflow"} {
		if !skipped[w] {
			t.Errorf("%s: no row skipped for RLIMIT_NOFILE", w)
		}
	}
}

// kbench fidelity shares run's flags and checks them the same way.
func TestFidelityArgsExit2(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--set=rounds=0", "rounds=0 is outside its range 1..1000"},
		{"--set=round_ms=0", "round_ms=0 is outside its range"},
		{"--set=nosuch=1", "no selected workload or variant has that parameter"},
		{"--out=/dev/null", "/dev/null is not a directory"},
		{"--reps=0", "--reps=0 is outside its range"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(&stdout, &stderr, []string{"fidelity", "--impl=epoll", tc.args})
		var ue usageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fidelity %s: %v, want a one-line usage error with %q", tc.args, err, tc.want)
		}
	}
}
