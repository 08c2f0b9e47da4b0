package interfere

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"kbench/internal/cpu"
	"kbench/results"
)

// Preflight reports at most this many processes, and only those that used
// more than minProcShare of one CPU: below that a process is background
// (a shell, a kworker's tick) and naming it would only hide the culprit.
const (
	maxProcs     = 5
	minProcShare = 0.01
)

// Preflight samples cpus for window: the share of their capacity used by
// anything but this process (steal included, and also given apart), and
// the busiest other processes allowed to run on any of them. It is quiet
// when that share is under threshold and no single process used more than
// threshold of one CPU. A process's share is its CPU time over the window,
// all threads, wherever it ran (of one CPU, so a process can exceed 100 %
// on several CPUs); a process born inside the window counts from zero, and
// one that ended inside it is not named (its time is still in the share,
// which is why the named shares can sum to less: a parallel build's
// short-lived compilers). The ticks make a process's share good to 10 ms
// over the window (1 % of 1 s).
func Preflight(ctx context.Context, cpus []int, window time.Duration, threshold float64) (results.Preflight, error) {
	return sys.preflight(ctx, cpus, window, threshold)
}

func (src source) preflight(ctx context.Context, cpus []int, window time.Duration, threshold float64) (results.Preflight, error) {
	if len(cpus) == 0 {
		return results.Preflight{}, errors.New("preflight: no CPUs")
	}
	if window <= 0 {
		return results.Preflight{}, fmt.Errorf("preflight: window %v: must be positive", window)
	}
	before, err := src.take(cpus)
	if err != nil {
		return results.Preflight{}, fmt.Errorf("preflight: %w", err)
	}
	procsBefore := src.procTimes()
	t := time.NewTimer(window)
	select {
	case <-ctx.Done():
		t.Stop()
		return results.Preflight{}, fmt.Errorf("preflight: %w", ctx.Err())
	case <-t.C:
	}
	after, err := src.take(cpus)
	if err != nil {
		return results.Preflight{}, fmt.Errorf("preflight: %w", err)
	}
	procsAfter := src.procTimes()

	in := after.Since(before)
	p := results.Preflight{
		WindowNs: in.WallNs,
		CPUs:     slices.Clone(cpus),
		Share:    in.Share,
		Steal:    share(in.StealNs, in.WallNs, len(cpus)),
	}
	self := src.pid()
	for pid, a := range procsAfter {
		if pid == self || in.WallNs <= 0 {
			continue
		}
		d := a.ticks - procsBefore[pid].ticks // absent before: born in the window
		if d <= 0 {
			continue
		}
		s := float64(d*after.tickNs) / float64(in.WallNs)
		if s <= minProcShare || !src.mayRunOn(pid, cpus) {
			continue
		}
		p.Procs = append(p.Procs, results.ProcUse{PID: pid, Command: a.comm, Share: s})
	}
	slices.SortFunc(p.Procs, func(x, y results.ProcUse) int {
		return cmp.Or(cmp.Compare(y.Share, x.Share), cmp.Compare(x.PID, y.PID))
	})
	p.Quiet = p.Share < threshold && (len(p.Procs) == 0 || p.Procs[0].Share <= threshold)
	if len(p.Procs) > maxProcs {
		p.Procs = p.Procs[:maxProcs]
	}
	return p, nil
}

// Line is the one-line message for a pre-flight look, naming the busiest
// processes: "CPUs 0,1 are busy: 97% used by other processes (pid 1234
// stress 95%, pid 99 kworker/0:1 2%)", and the steal when there is any
// ("…, 3% of it stolen by the hypervisor").
func Line(p results.Preflight) string {
	var b strings.Builder
	state := "busy"
	if p.Quiet {
		state = "quiet"
	}
	cs := make([]string, len(p.CPUs))
	for i, c := range p.CPUs {
		cs[i] = strconv.Itoa(c)
	}
	subject := "CPUs " + strings.Join(cs, ",") + " are"
	if len(p.CPUs) == 1 {
		subject = "CPU " + cs[0] + " is"
	}
	fmt.Fprintf(&b, "%s %s: %s used by other processes", subject, state, pct(p.Share))
	if len(p.Procs) > 0 {
		b.WriteString(" (")
		for i, u := range p.Procs {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "pid %d %s %s", u.PID, u.Command, pct(u.Share))
		}
		b.WriteString(")")
	}
	if p.Steal >= 0.005 {
		fmt.Fprintf(&b, ", %s of it stolen by the hypervisor", pct(p.Steal))
	}
	return b.String()
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// procTime is one process's CPU time so far, all threads, in ticks.
type procTime struct {
	comm  string
	ticks int64
}

// procTimes reads every process's CPU time. Processes that end between the
// listing and the read are left out; so is a /proc that cannot be listed
// (the share over the CPUs still stands, only the names are missing).
func (src source) procTimes() map[int]procTime {
	out := map[int]procTime{}
	names, err := src.listProcs()
	if err != nil {
		return out
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		b, err := src.readFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		comm, ticks, err := parsePidStat(string(b))
		if err != nil {
			continue
		}
		out[pid] = procTime{comm, ticks}
	}
	return out
}

// mayRunOn reports whether pid's allowed CPUs include one of cpus. A
// process whose mask cannot be read (it ended) is not reported.
func (src source) mayRunOn(pid int, cpus []int) bool {
	b, err := src.readFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	allowed, err := parseAllowed(string(b))
	if err != nil {
		return false
	}
	for _, c := range cpus {
		if slices.Contains(allowed, c) {
			return true
		}
	}
	return false
}

// parsePidStat reads the command and utime+stime (ticks, the process's
// threads summed by the kernel) from /proc/PID/stat. The command is
// between the first "(" and the last ")": it may itself hold spaces and
// parentheses. It is the same text as /proc/PID/comm.
func parsePidStat(text string) (comm string, ticks int64, err error) {
	open := strings.IndexByte(text, '(')
	end := strings.LastIndexByte(text, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("no (comm) in %q", text)
	}
	comm = text[open+1 : end]
	// After the command: state (field 3) … utime (14), stime (15).
	f := strings.Fields(text[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(f) <= stime {
		return "", 0, fmt.Errorf("%d fields after the command, want at least %d", len(f), stime+1)
	}
	u, err1 := strconv.ParseInt(f[utime], 10, 64)
	s, err2 := strconv.ParseInt(f[stime], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return "", 0, fmt.Errorf("utime/stime: %w", err)
	}
	return comm, u + s, nil
}

// parseAllowed reads Cpus_allowed_list from /proc/PID/status.
func parseAllowed(text string) ([]int, error) {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return cpu.ParseList(strings.TrimSpace(v))
		}
	}
	return nil, errors.New("no Cpus_allowed_list")
}

func listProcs() ([]string, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
