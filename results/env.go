package results

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
)

// Commit is set at build time by the Makefile (-ldflags -X); when empty,
// CollectEnv asks git, and records "unknown" if that fails too.
var Commit string

// Env is the machine and build a result was measured on.
type Env struct {
	Kernel    string   `json:"kernel"`
	CPUModel  string   `json:"cpu_model"`
	NumCPU    int      `json:"num_cpu"`
	Allowed   []int    `json:"allowed_cpus"`
	CPUsUsed  []int    `json:"cpus_used"`
	GoVersion string   `json:"go_version"`
	GOARCH    string   `json:"goarch"`
	Commit    string   `json:"commit"`
	Args      []string `json:"args"`
	Hostname  string   `json:"hostname"`
	Race      bool     `json:"race,omitempty"`
	// GOMAXPROCS as set for the run (raised above the CPU count so every
	// pinned thread can hold a P).
	GOMAXPROCS int `json:"gomaxprocs"`
	// How kbench's own threads (the Go runtime's, the harness's) ran while
	// fan-in rows were measured: SCHED_IDLE on the consumer's CPU, or
	// normal (each row's housekeeping parameter says which it got).
	Housekeeping string `json:"housekeeping,omitempty"`
}

// CollectEnv describes this machine.
func CollectEnv(args []string, used []int) Env {
	e := Env{
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		GOARCH:     runtime.GOARCH,
		Args:       args,
		CPUsUsed:   used,
		Commit:     Commit,
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	e.Allowed, _ = cpu.Allowed()
	e.Hostname, _ = os.Hostname()
	e.CPUModel = cpuModel()
	if e.Commit == "" {
		e.Commit = gitCommit()
	}
	return e
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "-dirty"
	}
	return c
}
