package ringlab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"kbench/csrc/ringtwin"
)

// TwinDesigns lists the designs with a C twin.
func TwinDesigns() []string { return []string{Owned, Shared, Split} }

// BuildCTwin writes the embedded C source into outDir and compiles it with
// `cc -std=c11 -O2 -pthread`, returning the binary's path. Without a C
// compiler the error wraps errors.ErrUnsupported and says why; a compiler
// error carries the compiler's output.
func BuildCTwin(outDir string) (path string, err error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		return "", fmt.Errorf("ringlab: building the C twin: no C compiler (%v): %w", err, errors.ErrUnsupported)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("ringlab: building the C twin: %w", err)
	}
	src := filepath.Join(outDir, "ringtwin.c")
	if err := os.WriteFile(src, ringtwin.Source, 0o644); err != nil {
		return "", fmt.Errorf("ringlab: building the C twin: %w", err)
	}
	bin := filepath.Join(outDir, "ringtwin")
	out, err := exec.Command(ccPath, "-std=c11", "-O2", "-pthread", "-o", bin, src).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ringlab: %s -O2 -pthread ringtwin.c: %w\n%s", cc, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// TwinSample is one timed repetition of the C twin.
type TwinSample struct {
	Design     string
	SlotSize   int
	Rep        int
	NsPerEvent float64
	Lost, Dup  int64
	Reordered  int64
	Corrupt    int64
}

// RunCTwin runs the built twin at path with p's parameters, for the designs
// of p that have a twin, and returns its samples.
func RunCTwin(ctx context.Context, path string, p Params) ([]TwinSample, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	var ds []string
	for _, d := range TwinDesigns() {
		if contains(p.Designs, d) {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return nil, nil
	}
	sizes := make([]string, len(p.SlotSizes))
	for i, s := range p.SlotSizes {
		sizes[i] = strconv.Itoa(s)
	}
	args := []string{
		"-designs", strings.Join(ds, ","), "-sizes", strings.Join(sizes, ","),
		"-ring", strconv.Itoa(p.RingSlots), "-pattern", p.Pattern,
		"-burst", strconv.Itoa(p.Burst), "-batch", strconv.Itoa(p.Batch),
		"-idle-ns", strconv.FormatInt(int64(p.IdleGap), 10),
		"-pcpu", strconv.Itoa(p.ProducerCPU), "-ccpu", strconv.Itoa(p.ConsumerCPU),
		"-events", strconv.Itoa(p.Events), "-reps", strconv.Itoa(p.Reps),
		"-warmup", strconv.Itoa(p.Warmup),
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ringlab: C twin %s: %w: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseTwin(out)
}

// parseTwin reads the twin's key=value lines.
func parseTwin(out []byte) ([]TwinSample, error) {
	var samples []TwinSample
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("ringlab: C twin output %q: field %q is not key=value", line, f)
			}
			kv[k] = v
		}
		var s TwinSample
		var errs []error
		atoi := func(k string) int64 {
			n, err := strconv.ParseInt(kv[k], 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
			}
			return n
		}
		s.Design = kv["design"]
		s.SlotSize = int(atoi("slot"))
		s.Rep = int(atoi("rep"))
		s.Lost, s.Dup, s.Reordered, s.Corrupt = atoi("lost"), atoi("dup"), atoi("reordered"), atoi("corrupt")
		ns, err := strconv.ParseFloat(kv["ns_per_event"], 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("ns_per_event: %w", err))
		}
		s.NsPerEvent = ns
		if err := errors.Join(errs...); err != nil || s.Design == "" {
			return nil, fmt.Errorf("ringlab: C twin output %q: %v", line, err)
		}
		samples = append(samples, s)
	}
	return samples, sc.Err()
}

// attachTwin runs the twin for p and fills the matching rows' C samples
// and Go/C ratios. A twin run that finds loss or corruption fails the row:
// the twin is held to the same exactly-once rule as Go.
func attachTwin(ctx context.Context, p Params, rows []Row) error {
	samples, err := RunCTwin(ctx, p.Twin, p)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		for _, s := range samples {
			if s.Design != r.Design || s.SlotSize != r.SlotSize {
				continue
			}
			r.CNsPerEvent = append(r.CNsPerEvent, s.NsPerEvent)
			if bad := s.Lost + s.Dup + s.Reordered + s.Corrupt; bad > 0 && !r.Failed {
				r.Failed = true
				r.Reason = fmt.Sprintf("C twin: %d lost, %d duplicated, %d reordered, %d torn",
					s.Lost, s.Dup, s.Reordered, s.Corrupt)
			}
		}
		if c := median(r.CNsPerEvent); c > 0 {
			r.GoOverC = r.MedianNs() / c
		}
	}
	return nil
}
