package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"kbench/internal/rusage"
)

// MaxFileSize bounds what ReadJSON reads: a full suite with histograms is a
// few MiB, so anything near this is not a kbench result file, and reading
// it whole could exhaust memory.
const MaxFileSize = 256 << 20

// WriteJSON writes f to path atomically.
func WriteJSON(path string, f *File) error {
	return WriteAtomic(path, func(w *os.File) error { return EncodeJSON(w, f) })
}

// EncodeJSON writes f as indented JSON; a value JSON cannot carry (NaN,
// Inf) is an error, never a file.
func EncodeJSON(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(f)
}

// ReadJSON reads a result file, refusing other schemas, files too large to
// be one, and contents no kbench run writes (see Validate).
func ReadJSON(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than %d MiB: not a kbench result file", path, st.Size(), MaxFileSize>>20)
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a kbench result file", path, MaxFileSize>>20)
	}
	f, err := DecodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// DecodeJSON parses and validates a result file's contents. Its errors are
// one line.
func DecodeJSON(b []byte) (*File, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB: not a kbench result file", MaxFileSize>>20)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a kbench result file: %w", oneLine(err))
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("schema %q, want %q", f.Schema, Schema)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// oneLine keeps an error's message on one line (a JSON error may quote the
// offending input).
func oneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\n\r") {
		return err
	}
	return errors.New(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(msg))
}

// knownStatus lists the statuses a row may have.
var knownStatus = map[Status]bool{
	StatusOK: true, StatusFailed: true, StatusSkipped: true, StatusNA: true,
	StatusNoisy: true, StatusUnstable: true,
}

// Validate refuses what no kbench run writes and what readers (tables,
// plots, the gate) cannot use: a row without a workload or with an unknown
// status, a value that is not a finite number, a negative time or count. JSON has no NaN or Inf, but a
// number too large for a float64 decodes to neither, and a File built in
// memory may hold them.
func (f *File) Validate() error {
	for k, v := range f.Calibration {
		if err := checkFinite("calibration "+k, v); err != nil {
			return err
		}
	}
	if p := f.Preflight; p != nil {
		if err := nonNegative("preflight", p.Steal, float64(p.WindowNs)); err != nil {
			return err
		}
		if err := checkFinite("preflight share", p.Share); err != nil {
			return err
		}
	}
	if e := f.Engine; e != nil {
		if err := nonNegative("engine", e.NoisyShare, e.UnstableWidth); err != nil {
			return err
		}
		for _, round := range e.Rounds {
			for _, i := range round {
				if i < 0 || i >= len(f.Results) {
					return fmt.Errorf("engine: round names row %d of %d", i, len(f.Results))
				}
			}
		}
	}
	for i := range f.Results {
		if err := f.Results[i].validate(); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return nil
}

func (r *Result) validate() error {
	if r.Workload == "" || r.Backend == "" || r.Variant == "" {
		return fmt.Errorf("workload %q, backend %q, variant %q: all must be named", r.Workload, r.Backend, r.Variant)
	}
	if !knownStatus[r.Status] {
		return fmt.Errorf("%s: unknown status %q", r.ID(), r.Status)
	}
	for _, u := range r.Units {
		if u.Name == "" {
			return fmt.Errorf("%s: a unit without a name", r.ID())
		}
	}
	for _, s := range r.Samples {
		for k, v := range s.Values {
			if err := checkFinite(fmt.Sprintf("%s rep %d %s", r.ID(), s.Rep, k), v); err != nil {
				return err
			}
		}
		for _, u := range append([]rusageRef{{"producer", s.Producer}, {"consumer", s.Consumer}}, helperRef(s)...) {
			if u.u.UserNs < 0 || u.u.SysNs < 0 || u.u.ThreadNs < 0 || u.u.Nvcsw < 0 || u.u.Nivcsw < 0 {
				return fmt.Errorf("%s rep %d: negative %s CPU time or context switches", r.ID(), s.Rep, u.side)
			}
		}
		if in := s.Interference; in != nil {
			if err := nonNegative(fmt.Sprintf("%s rep %d interference", r.ID(), s.Rep),
				float64(in.WallNs), float64(in.BusyNs), float64(in.StealNs), float64(in.SelfNs), float64(in.MeasuredNs)); err != nil {
				return err
			}
			// The share subtracts this process's time from the CPUs' busy
			// time, read at slightly different moments: it may dip below 0.
			if err := checkFinite(fmt.Sprintf("%s rep %d interference share", r.ID(), s.Rep), in.Share); err != nil {
				return err
			}
		}
	}
	if t := r.Trust; t != nil {
		for _, v := range []float64{t.Interference, t.MaxInterference, t.MaxSteal} {
			if err := checkFinite(r.ID()+" trust", v); err != nil {
				return err
			}
		}
		for k, iv := range t.Intervals {
			if iv.N < 0 {
				return fmt.Errorf("%s: interval of %s over %d repetitions", r.ID(), k, iv.N)
			}
			for _, v := range []float64{iv.Median, iv.Lo, iv.Hi, iv.Confidence} {
				if err := checkFinite(r.ID()+" interval "+k, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type rusageRef struct {
	side string
	u    rusage.Usage
}

func helperRef(s Sample) []rusageRef {
	if s.Helper == nil {
		return nil
	}
	return []rusageRef{{"helper", *s.Helper}}
}

func checkFinite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: %v is not a finite number", what, v)
	}
	return nil
}

func nonNegative(what string, vs ...float64) error {
	for _, v := range vs {
		if err := checkFinite(what, v); err != nil {
			return err
		}
		if v < 0 {
			return fmt.Errorf("%s: negative value %v", what, v)
		}
	}
	return nil
}
