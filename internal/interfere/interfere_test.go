package interfere

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kbench/results"
)

const statText = `cpu  19277 0 8992 18468 2359 0 65 99 0 0
cpu0 9541 1 4269 9854 926 3 22 48 0 0
cpu1 9735 0 4722 8613 1432 0 42 51 7 0
intr 834807 0 0
ctxt 4233
btime 1764600000
`

func TestParseStat(t *testing.T) {
	got, err := parseStat(statText, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := []cpuTimes{
		{user: 9735, system: 4722, idle: 8613, iowait: 1432, softirq: 42, steal: 51},
		{user: 9541, nice: 1, system: 4269, idle: 9854, iowait: 926, irq: 3, softirq: 22, steal: 48},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A kernel without the steal column.
	old, err := parseStat("cpu0 1 2 3 4\n", []int{0})
	if err != nil || old[0] != (cpuTimes{user: 1, nice: 2, system: 3, idle: 4}) {
		t.Errorf("four-field line: %+v, %v", old, err)
	}
	for _, bad := range []struct{ text, want string }{
		{statText, "no line for cpu2"},
		{"cpu0 1 2 3\n", "fields"},
		{"cpu0 1 x 3 4 5\n", "field 2"},
		{"cpuX 1 2 3 4\n", "bad line"},
	} {
		if _, err := parseStat(bad.text, []int{0, 2}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("parseStat(%q): %v, want an error with %q", bad.text, err, bad.want)
		}
	}
}

func statLine(cpu int, user, system, idle, steal int64) string {
	return fmt.Sprintf("cpu%d %d 0 %d %d 0 0 0 %d 0 0\n", cpu, user, system, idle, steal)
}

// fakeProc serves /proc text that changes after the second read of
// /proc/stat: files[0] before, files[1] after, as a trial or a pre-flight
// window sees them.
type fakeProc struct {
	files [2]map[string]string
	self  [2]int64
	at    [2]time.Time
	reads int // of /proc/stat
	nows  int // calls of now
}

func (f *fakeProc) phase() int { return min(1, max(0, f.reads-1)) }

func (f *fakeProc) source() source {
	return source{
		readFile: func(p string) ([]byte, error) {
			if p == "/proc/stat" {
				f.reads++
			}
			s, ok := f.files[f.phase()][p]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return []byte(s), nil
		},
		selfNs: func() (int64, error) { return f.self[f.phase()], nil },
		now: func() time.Time {
			f.nows++
			return f.at[min(1, f.nows-1)]
		},
		tickNs: func() int64 { return int64(10 * time.Millisecond) },
		listProcs: func() ([]string, error) {
			var names []string
			for p := range f.files[f.phase()] {
				if pid, ok := strings.CutPrefix(p, "/proc/"); ok && strings.HasSuffix(pid, "/stat") {
					names = append(names, strings.TrimSuffix(pid, "/stat"))
				}
			}
			names = append(names, "self", "sys") // not processes
			return names, nil
		},
		pid: func() int { return 42 },
	}
}

func TestSince(t *testing.T) {
	t0 := time.Now()
	for _, c := range []struct {
		name                 string
		idle0, idle1, steal1 int64 // ticks over the 1 s window, cpu0 and cpu1
		user0, user1         int64 // ticks: sampled, not used
		self                 time.Duration
		busy                 time.Duration
		want                 float64
	}{
		// 900 + 200 ms busy, 100 ms ours, 20 ms stolen, over 2 s.
		{"others", 10, 78, 2, 3, 50, 100 * time.Millisecond, 1100 * time.Millisecond, (1.1 - 0.1 + 0.02) / 2},
		// Truncation undercounts us: never a negative share.
		{"undercounted self", 95, 95, 0, 0, 0, 300 * time.Millisecond, 100 * time.Millisecond, 0},
		// More steal than the window (a stall on the host): never above
		// the capacity, never negative busy time.
		{"overcounted", 0, 0, 150, 100, 100, 0, time.Second, 1},
		// Idle stepping back (CPU hotplug) is not negative idle.
		{"idle steps back", -50, 100, 0, 0, 0, 0, time.Second, 0.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeProc{
				files: [2]map[string]string{
					{"/proc/stat": statLine(0, 100, 50, 1000, 3) + statLine(1, 200, 0, 1000, 4)},
					{"/proc/stat": statLine(0, 100+c.user0, 50, 1000+c.idle0, 3) + statLine(1, 200+c.user1, 0, 1000+c.idle1, 4+c.steal1)},
				},
				self: [2]int64{int64(time.Second), int64(time.Second + c.self)},
				at:   [2]time.Time{t0, t0.Add(time.Second)},
			}
			src := f.source()
			a, err := src.take([]int{0, 1})
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.take([]int{0, 1})
			if err != nil {
				t.Fatal(err)
			}
			in := b.Since(a)
			tick := int64(10 * time.Millisecond)
			if in.WallNs != int64(time.Second) || in.BusyNs != int64(c.busy) || in.IdleNs != (max(0, c.idle0)+c.idle1)*tick ||
				in.StealNs != c.steal1*tick || in.SelfNs != int64(c.self) || in.MeasuredNs != 0 ||
				!slices.Equal(in.CPUs, []int{0, 1}) {
				t.Errorf("reading %+v", in)
			}
			if math.Abs(in.Share-c.want) > 1e-12 {
				t.Errorf("share %v, want %v", in.Share, c.want)
			}
		})
	}
	// Snapshots of different CPU sets do not compare.
	f := &fakeProc{files: [2]map[string]string{{"/proc/stat": statText}, {"/proc/stat": statText}}, at: [2]time.Time{t0, t0.Add(time.Second)}}
	src := f.source()
	a, _ := src.take([]int{0})
	b, _ := src.take([]int{1})
	if in := b.Since(a); in.Share != 0 || in.BusyNs != 0 {
		t.Errorf("different CPU sets: %+v", in)
	}
}

func pidStat(pid int, comm string, utime, stime int64) string {
	// Fields 3..13, then utime, stime, cutime, cstime, and more.
	return fmt.Sprintf("%d (%s) R 1 %d %d 0 -1 4194560 100 0 0 0 %d %d 500 600 20 0 1 0 77 1000 10\n", pid, comm, pid, pid, utime, stime)
}

func TestParsePidStat(t *testing.T) {
	comm, ticks, err := parsePidStat(pidStat(7, "a (b) c", 12, 30))
	if err != nil || comm != "a (b) c" || ticks != 42 {
		t.Errorf("got %q %d %v", comm, ticks, err)
	}
	for _, bad := range []string{"", "7 a R 1", "7 (x) R 1 2 3", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u 3 0 0"} {
		if _, _, err := parsePidStat(bad); err == nil {
			t.Errorf("parsePidStat(%q): no error", bad)
		}
	}
}

func TestParseAllowed(t *testing.T) {
	got, err := parseAllowed("Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0,2-3\nMems_allowed_list:\t0\n")
	if err != nil || !slices.Equal(got, []int{0, 2, 3}) {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := parseAllowed("Name:\tx\n"); err == nil {
		t.Error("no list: no error")
	}
}

func status(list string) string { return "Name:\tx\nCpus_allowed_list:\t" + list + "\n" }

func preflightProc() *fakeProc {
	t0 := time.Now()
	before := map[string]string{"/proc/stat": statLine(0, 100, 0, 1000, 0) + statLine(1, 100, 0, 1000, 0)}
	after := map[string]string{"/proc/stat": statLine(0, 198, 0, 1002, 0) + statLine(1, 150, 0, 1050, 2)}
	type proc struct {
		pid             int
		comm, allowed   string
		before, after   int64 // ticks
		onlyAfter, gone bool
	}
	for _, p := range []proc{
		{pid: 1234, comm: "stress", allowed: "0", before: 1000, after: 1095},
		{pid: 99, comm: "kworker/0:1", allowed: "0", before: 5, after: 7},
		{pid: 7, comm: "sshd", allowed: "0-3", before: 10, after: 10},
		{pid: 50, comm: "elsewhere", allowed: "2-3", before: 0, after: 50},
		{pid: 500, comm: "born", allowed: "0-3", after: 30, onlyAfter: true},
		{pid: 501, comm: "ended", allowed: "0", before: 30, gone: true},
		{pid: 42, comm: "kbench", allowed: "0-1", before: 0, after: 60},
		{pid: 60, comm: "one tick", allowed: "1", before: 0, after: 1},
		{pid: 61, comm: "w1", allowed: "1", before: 0, after: 5},
		{pid: 62, comm: "w2", allowed: "1", before: 0, after: 4},
		{pid: 63, comm: "w3", allowed: "1", before: 0, after: 3},
	} {
		stat := "/proc/" + strconv.Itoa(p.pid) + "/stat"
		if !p.onlyAfter {
			before[stat] = pidStat(p.pid, p.comm, p.before, 0)
		}
		if !p.gone {
			after[stat] = pidStat(p.pid, p.comm, p.after/2, p.after-p.after/2)
			after["/proc/"+strconv.Itoa(p.pid)+"/status"] = status(p.allowed)
		}
	}
	return &fakeProc{
		files: [2]map[string]string{before, after},
		self:  [2]int64{0, int64(600 * time.Millisecond)},
		at:    [2]time.Time{t0, t0.Add(time.Second)},
	}
}

func TestPreflight(t *testing.T) {
	p, err := preflightProc().source().preflight(context.Background(), []int{0, 1}, time.Millisecond, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	// 980 + 480 ms busy − 0.6 s ours + 20 ms stolen, over 2 s.
	if math.Abs(p.Share-0.44) > 1e-12 || math.Abs(p.Steal-0.01) > 1e-12 || p.WindowNs != int64(time.Second) {
		t.Errorf("share %v steal %v window %v", p.Share, p.Steal, p.WindowNs)
	}
	var got []string
	for _, u := range p.Procs {
		got = append(got, fmt.Sprintf("%d %s %.2f", u.PID, u.Command, u.Share))
	}
	// Busiest first, at most five, over 1 %, allowed on 0 or 1, not us.
	want := []string{"1234 stress 0.95", "500 born 0.30", "61 w1 0.05", "62 w2 0.04", "63 w3 0.03"}
	if !slices.Equal(got, want) {
		t.Errorf("procs %q, want %q", got, want)
	}
	if p.Quiet {
		t.Error("quiet with 44% used")
	}
	// Under a high threshold the same machine is quiet …
	p, _ = preflightProc().source().preflight(context.Background(), []int{0, 1}, time.Millisecond, 0.96)
	if !p.Quiet {
		t.Errorf("threshold 0.96: not quiet: %s", Line(p))
	}
	// … but not when one process alone is above it.
	p, _ = preflightProc().source().preflight(context.Background(), []int{0, 1}, time.Millisecond, 0.5)
	if p.Quiet {
		t.Errorf("threshold 0.5 with a process at 95%%: quiet")
	}
}

func TestPreflightErrors(t *testing.T) {
	src := preflightProc().source()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.preflight(ctx, []int{0}, time.Hour, 0.1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := src.preflight(context.Background(), nil, time.Second, 0.1); err == nil {
		t.Error("no CPUs: no error")
	}
	if _, err := src.preflight(context.Background(), []int{0}, 0, 0.1); err == nil {
		t.Error("zero window: no error")
	}
	if _, err := src.preflight(context.Background(), []int{5}, time.Millisecond, 0.1); err == nil || !strings.Contains(err.Error(), "cpu5") {
		t.Errorf("absent CPU: %v", err)
	}
}

func TestLine(t *testing.T) {
	p := results.Preflight{CPUs: []int{0, 1}, Share: 0.97, Procs: []results.ProcUse{
		{PID: 1234, Command: "stress", Share: 0.95}, {PID: 99, Command: "kworker/0:1", Share: 0.02}}}
	if got, want := Line(p), "CPUs 0,1 are busy: 97% used by other processes (pid 1234 stress 95%, pid 99 kworker/0:1 2%)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	p = results.Preflight{CPUs: []int{3}, Share: 0.004, Steal: 0.03, Quiet: true}
	if got, want := Line(p), "CPU 3 is quiet: 0% used by other processes, 3% of it stolen by the hypervisor"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestLive reads the real /proc. It asserts only what holds on any
// machine, busy or not.
func TestLive(t *testing.T) {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		hz, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err == nil && tickNs()*hz != int64(time.Second) {
			t.Errorf("tick %d ns, getconf CLK_TCK %d", tickNs(), hz)
		}
	}
	cpus := []int{0}
	a, err := Take(cpus)
	if err != nil {
		t.Skipf("no /proc/stat accounting here: %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	b, err := Take(cpus)
	if err != nil {
		t.Fatal(err)
	}
	in := b.Since(a)
	if in.WallNs < int64(30*time.Millisecond) || in.Share < 0 || in.Share > 1 || in.BusyNs < 0 || in.SelfNs < 0 {
		t.Errorf("reading %+v", in)
	}
	p, err := Preflight(context.Background(), cpus, 30*time.Millisecond, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Share < 0 || p.Share > 1 || len(p.Procs) > maxProcs ||
		!slices.IsSortedFunc(p.Procs, func(x, y results.ProcUse) int { return -cmp.Compare(x.Share, y.Share) }) {
		t.Errorf("preflight %+v", p)
	}
	for _, u := range p.Procs {
		if u.PID == 0 || u.Share <= minProcShare {
			t.Errorf("process %+v", u)
		}
	}
}
