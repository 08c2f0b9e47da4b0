package workloads

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/results"
)

// Latency histograms hold nanoseconds from 1 ns to histMax at three
// significant digits (0.1% resolution). A value above the range is clamped
// to it rather than dropped, so a pathological stall still counts in the
// percentiles, as its true worst case would. Each recording thread owns its
// histograms; they are merged, if at all, after the threads have reported.
const (
	histMax    = int64(100e9) // 100 s: above any repetition
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, histDigits) }

// record adds one latency. It cannot fail and allocates nothing: the
// library's error path (fmt.Errorf) is only reached out of range, which the
// clamp rules out.
func record(h *hdrhistogram.Histogram, ns int64) {
	ns = min(max(ns, 0), histMax)
	_ = h.RecordValue(ns)
}

// mergeHist adds src (another thread's histogram, after that thread has
// reported) into dst. Histograms from newHist share one range, so nothing
// can be dropped; an error says a histogram of another geometry came in.
func mergeHist(dst, src *hdrhistogram.Histogram) error {
	if dropped := dst.Merge(src); dropped != 0 {
		return fmt.Errorf("histogram merge dropped %d values out of range", dropped)
	}
	return nil
}

// encodeHist is the form Sample.Histograms stores: V2 compressed, base64.
func encodeHist(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// quantiles are the percentiles every latency row reports (hdrhistogram
// takes 0–100), with max as its own entry.
var quantiles = []struct {
	name string
	q    float64
}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}}

// putPercentiles stores h's percentiles in vals as
// <prefix>p50-ns<suffix> … <prefix>max-ns<suffix>. An empty histogram
// stores nothing: a zero would read as an impossibly good latency.
func putPercentiles(vals map[string]float64, h *hdrhistogram.Histogram, prefix, suffix string) {
	if h.TotalCount() == 0 {
		return
	}
	for _, p := range quantiles {
		vals[prefix+p.name+"-ns"+suffix] = float64(h.ValueAtQuantile(p.q))
	}
	vals[prefix+"max-ns"+suffix] = float64(h.Max())
}

// percentileUnits names the metrics putPercentiles writes.
func percentileUnits(prefix, suffix string) []results.Unit {
	var u []results.Unit
	for _, p := range quantiles {
		u = append(u, results.Unit{Name: prefix + p.name + "-ns" + suffix, Better: "lower"})
	}
	return append(u, results.Unit{Name: prefix + "max-ns" + suffix, Better: "lower"})
}
