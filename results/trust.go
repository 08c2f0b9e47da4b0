package results

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// TrustOptions are the thresholds a row is classified with. A field that
// is zero (or out of range) takes DefaultTrust's value.
type TrustOptions struct {
	// NoisyShare: a row whose repetitions' median interference share is
	// above it is noisy.
	NoisyShare float64
	// UnstableWidth: a row whose headline interval's relative half-width is
	// above it is unstable.
	UnstableWidth float64
	// Confidence of the intervals, in (0,1).
	Confidence float64
}

// DefaultTrust: the 95 % intervals and 10 % width; NoisyShare
// chosen by measurement (see the README's trust section).
var DefaultTrust = TrustOptions{NoisyShare: 0.10, UnstableWidth: 0.10, Confidence: 0.95}

func (o TrustOptions) withDefaults() TrustOptions {
	if !(o.NoisyShare > 0 && o.NoisyShare <= 1) {
		o.NoisyShare = DefaultTrust.NoisyShare
	}
	if !(o.UnstableWidth > 0) || math.IsInf(o.UnstableWidth, 0) {
		o.UnstableWidth = DefaultTrust.UnstableWidth
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		o.Confidence = DefaultTrust.Confidence
	}
	return o
}

// Trust flags.
const (
	FlagNoisy    = "noisy"
	FlagUnstable = "unstable"
)

// Headline is the metric a row's stability is judged on: the first of its
// units that has values in the samples (workloads list their headline
// first). It is "" when no unit has a value.
func (r *Result) Headline() string {
	for _, u := range r.Units {
		for _, s := range r.Samples {
			if _, ok := s.Values[u.Name]; ok {
				return u.Name
			}
		}
	}
	return ""
}

// values is metric name's finite values over the samples.
func (r *Result) values(name string) []float64 {
	var v []float64
	for _, s := range r.Samples {
		if x, ok := s.Values[name]; ok && finite(x) {
			v = append(v, x)
		}
	}
	return v
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Assess fills r.Trust from the samples and classifies the row.
//
// Trust gets an interval for every unit with values, the median and the
// largest interference share over the repetitions that were metered (and
// the largest steal share), and a flag with its reason for each condition
// found: noisy when the median interference share exceeds o.NoisyShare;
// unstable when the headline's interval is relatively wider than
// o.UnstableWidth, or its values split into two clusters.
//
// Only a row that measured (ok, or noisy/unstable from an earlier Assess,
// which is undone first, so Assess can be rerun with other thresholds)
// changes status: to noisy when noisy (even if also unstable: both flags
// stay in Trust), else unstable, else ok; the reasons open r.Reason. A
// failed, skipped or n/a row keeps its status and reason; its Trust is
// still filled when it has samples. A row without samples gets no Trust.
func (r *Result) Assess(o TrustOptions) { r.AssessDrift(o, nil) }

// AssessDrift is Assess with each metric's interval widened by drift[name]
// (MachineDrift over the rows of the same rounds).
func (r *Result) AssessDrift(o TrustOptions, drift map[string]float64) {
	o = o.withDefaults()
	note := r.Reason
	if (r.Status == StatusNoisy || r.Status == StatusUnstable) && r.Trust != nil {
		prev := strings.Join(r.Trust.Reasons, "; ")
		note = strings.TrimPrefix(strings.TrimPrefix(note, prev), "; ")
		r.Status = StatusOK
	}
	if len(r.Samples) == 0 {
		r.Trust = nil
		if r.Status == StatusOK {
			r.Reason = note
		}
		return
	}
	t := &Trust{Headline: r.Headline()}
	for _, u := range r.Units {
		if v := r.values(u.Name); len(v) > 0 {
			if t.Intervals == nil {
				t.Intervals = map[string]Interval{}
			}
			t.Intervals[u.Name] = MedianInterval(v, o.Confidence).widen(drift[u.Name])
		}
	}

	var shares []float64
	for _, s := range r.Samples {
		in := s.Interference
		if in == nil || !finite(in.Share) {
			continue
		}
		shares = append(shares, in.Share)
		t.MaxInterference = max(t.MaxInterference, in.Share)
		if in.WallNs > 0 && len(in.CPUs) > 0 && in.StealNs > 0 {
			steal := float64(in.StealNs) / (float64(in.WallNs) * float64(len(in.CPUs)))
			t.MaxSteal = max(t.MaxSteal, min(1, steal))
		}
	}
	if len(shares) > 0 {
		t.Interference = Median(shares)
		if t.Interference > o.NoisyShare {
			t.Flags = append(t.Flags, FlagNoisy)
			t.Reasons = append(t.Reasons, "interference "+percent(t.Interference)+
				" of the pinned CPUs (threshold "+percent(o.NoisyShare)+")")
		}
	}

	if t.Headline != "" {
		var why []string
		iv := t.Intervals[t.Headline]
		switch w := iv.RelHalfWidth(); {
		case iv.Median == 0 && iv.Hi != iv.Lo:
			why = append(why, t.Headline+" median 0, interval "+compact(iv.Lo)+"…"+compact(iv.Hi)+": no relative width")
		case w > o.UnstableWidth:
			why = append(why, t.Headline+" "+iv.PlusMinus()+" wide (threshold "+percent(o.UnstableWidth)+")")
		}
		if split, reason := Clusters(r.values(t.Headline)); split {
			why = append(why, t.Headline+" "+reason)
		}
		if len(why) > 0 {
			t.Flags = append(t.Flags, FlagUnstable)
			t.Reasons = append(t.Reasons, strings.Join(why, "; "))
		}
	}
	r.Trust = t

	if r.Status != StatusOK {
		return
	}
	switch {
	case slices.Contains(t.Flags, FlagNoisy):
		r.Status = StatusNoisy
	case slices.Contains(t.Flags, FlagUnstable):
		r.Status = StatusUnstable
	}
	r.Reason = strings.Join(append(slices.Clone(t.Reasons), note), "; ")
	r.Reason = strings.TrimSuffix(r.Reason, "; ")
}

// RelHalfWidth is the interval's larger half over its median:
// max(hi−median, median−lo)/|median|, so "1.23M ±4%" reads as the median
// and the farther end. A median of 0 has no relative width: the result is
// 0 for a degenerate interval and +Inf otherwise.
func (iv Interval) RelHalfWidth() float64 {
	h := max(iv.Hi-iv.Median, iv.Median-iv.Lo, 0)
	if iv.Median == 0 {
		if h == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return h / math.Abs(iv.Median)
}

// PlusMinus is RelHalfWidth as table text: "±4%", "±0.3%"; "±?" when the
// median is 0 and the interval is not.
func (iv Interval) PlusMinus() string {
	w := iv.RelHalfWidth()
	switch {
	case math.IsInf(w, 0) || math.IsNaN(w):
		return "±?"
	case w < 0.0095:
		return "±" + strconv.FormatFloat(100*w, 'f', 1, 64) + "%"
	}
	return "±" + percent(w)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// compact formats v with about three significant digits and an SI suffix:
// 2.6M, 780k, 12.5.
func compact(v float64) string {
	suffix := ""
	for _, s := range []struct {
		scale float64
		name  string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= s.scale {
			v, suffix = v/s.scale, s.name
			break
		}
	}
	digits := 0
	switch a := math.Abs(v); {
	case a < 10:
		digits = 2
	case a < 100:
		digits = 1
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + suffix
}
