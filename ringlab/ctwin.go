package ringlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"kbench/csrc/ringtwin"
	"kbench/internal/ctwin"
)

// TwinDesigns lists the designs with a C twin.
func TwinDesigns() []string { return []string{Owned, OwnedPow2, Minimal, Shared, Split} }

// CTwin returns the C twin of designs 1–3, built on first use into the
// user's cache directory. Without a C compiler the error wraps
// errors.ErrUnsupported and says why.
func CTwin() (string, error) {
	src, err := ringtwin.Sources()
	if err != nil {
		return "", err
	}
	return ctwin.Build("ringtwin", src, ringtwin.Units, ringtwin.Flags...)
}

// BuildCTwin compiles the C twin into outDir and returns the binary's path.
func BuildCTwin(outDir string) (string, error) {
	src, err := ringtwin.Sources()
	if err != nil {
		return "", err
	}
	return ctwin.BuildIn(outDir, "ringtwin", src, ringtwin.Units, ringtwin.Flags...)
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
	Checked    bool    // false: an unchecked (harness-cost) repetition
	WorkNs     float64 // measured work per event (checked repetitions)
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
		"-work-ns", strconv.FormatInt(p.WorkNs, 10), "-work-bytes", strconv.FormatInt(p.WorkBytes, 10),
		"-net", map[bool]string{false: "0", true: "1"}[p.Net],
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := ctwin.Output(cmd)
	if err != nil {
		return nil, fmt.Errorf("ringlab: C twin %s: %w: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseTwin(out)
}

// parseTwin reads the twin's key=value lines.
func parseTwin(out []byte) ([]TwinSample, error) {
	lines, err := ctwin.ParseKV(out)
	if err != nil {
		return nil, fmt.Errorf("ringlab: %w", err)
	}
	var samples []TwinSample
	for _, kv := range lines {
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
		s.Checked = kv["check"] != "0"
		if v, ok := kv["work_measured_ns"]; ok {
			if s.WorkNs, err = strconv.ParseFloat(v, 64); err != nil {
				errs = append(errs, fmt.Errorf("work_measured_ns: %w", err))
			}
		}
		if err := errors.Join(errs...); err != nil || s.Design == "" {
			return nil, fmt.Errorf("ringlab: C twin output %v: %v", kv, err)
		}
		samples = append(samples, s)
	}
	return samples, nil
}

// twinRep runs one repetition of the C twin for row's design and slot size,
// right after the Go repetition it is compared with. Alternating the two
// keeps both under the same conditions: on a shared or virtual machine the
// cost of a line transfer drifts between modes for seconds at a time, and a
// ratio of a Go run in one mode to a C run in another says nothing. A twin
// repetition that loses or corrupts a payload fails the row: the twin is
// held to the same exactly-once rule as Go.
func twinRep(ctx context.Context, p Params, row *Row) error {
	if p.Twin == "" || !contains(TwinDesigns(), row.Design) {
		return nil
	}
	q := p
	q.Designs, q.SlotSizes, q.Reps = []string{row.Design}, []int{row.SlotSize}, 1
	q.Warmup = max(p.Warmup/4, 1)
	samples, err := RunCTwin(ctx, p.Twin, q)
	if err != nil {
		return err
	}
	for _, s := range samples {
		if s.Checked {
			row.CNsPerEvent = append(row.CNsPerEvent, s.NsPerEvent)
			if p.WorkNs > 0 || p.WorkBytes > 0 {
				row.CWorkNs = append(row.CWorkNs, s.WorkNs)
			}
		} else {
			row.CNetNsPerEvent = append(row.CNetNsPerEvent, s.NsPerEvent)
		}
		if bad := s.Lost + s.Dup + s.Reordered + s.Corrupt; bad > 0 && !row.Failed {
			row.Failed = true
			row.Reason = fmt.Sprintf("C twin: %d lost, %d duplicated, %d reordered, %d torn",
				s.Lost, s.Dup, s.Reordered, s.Corrupt)
		}
	}
	return nil
}
