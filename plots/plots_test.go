package plots

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/results"
)

func hist(t *testing.T, vals ...int64) string {
	t.Helper()
	h := hdrhistogram.New(1, 100e9, 3)
	for _, v := range vals {
		h.RecordValue(v)
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func row(workload, backend, variant string, samples ...map[string]float64) results.Result {
	r := results.Result{Workload: workload, Backend: backend, Variant: variant, Status: results.StatusOK,
		Params: map[string]string{"sources": "64"}}
	for i, v := range samples {
		r.Samples = append(r.Samples, results.Sample{Rep: i, Values: v})
	}
	return r
}

// sample is a result file with every workload the figures draw, including
// values a log axis must not see (zero) and a failed row.
func sample(t *testing.T) *results.File {
	f := &results.File{Schema: results.Schema, Complete: true, Calibration: map[string]float64{"cacheline_rtt_ns": 120}}
	for i, v := range []string{"lt", "et"} {
		f.Results = append(f.Results, row("fanin", "epoll", v,
			map[string]float64{"events/s": 1e6 + float64(i), "syscalls/event": 0.016, "consumer-cpu-ns/event": 800, "producer-cpu-ns/event": 850},
			map[string]float64{"events/s": 1.1e6, "syscalls/event": 0.017, "consumer-cpu-ns/event": 820, "producer-cpu-ns/event": 860}))
	}
	bad := row("fanin", "kevent", "zach-fd")
	bad.Status, bad.Reason = results.StatusFailed, "3 lost"
	f.Results = append(f.Results, bad)
	lat := row("latency", "epoll", "lt", map[string]float64{"p99-ns@10%": 90e3, "p99-ns@50%": 120e3, "p99-ns@90%": 0})
	lat.Samples[0].Histograms = map[string]string{"latency@10%": hist(t, 0, 5e3, 20e3, 80e3), "latency@50%": hist(t, 9e3, 30e3, 100e3)}
	f.Results = append(f.Results, lat)
	f.Results = append(f.Results, row("scale", "epoll", "lt", map[string]float64{"collect-ns/event@100": 900, "collect-ns/event@1000": 950, "collect-ns/event@10000": 0}))
	f.Results = append(f.Results, row("ring", "ring", "owned 40B stream b1 cross", map[string]float64{"floor-multiple": 0.25}))
	f.Results = append(f.Results, row("ring", "ring", "owned 16B stream b1 cross", map[string]float64{"floor-multiple": 0.2}))
	f.Results = append(f.Results, row("fidelity", "epoll", "lt", map[string]float64{"go/c": 0.95}, map[string]float64{"go/c": 0.9}))
	return f
}

func TestDrawAndReport(t *testing.T) {
	dir := t.TempDir()
	f := sample(t)
	figs, err := Draw(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fanin-events", "fanin-syscalls", "fanin-cpu", "latency-cdf-10", "latency-cdf-50", "latency-load", "scale", "ring", "fidelity"}
	var got []string
	for _, g := range figs {
		got = append(got, g.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("figures %v, want %v", got, want)
	}
	for _, name := range Names(figs) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(name) {
		case ".png":
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case ".svg":
			if !bytes.Contains(b, []byte("<svg")) {
				t.Errorf("%s is not SVG", name)
			}
		}
	}
	if err := Report(f, figs, dir); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`src="fanin-events.svg"`, `src="ring.svg"`, "<h2>fanin</h2>", "epoll/et", "failed: 3 lost", "cacheline_rtt_ns = 120"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestNothingToDraw(t *testing.T) {
	dir := t.TempDir()
	f := &results.File{Schema: results.Schema}
	figs, err := Draw(f, dir)
	if err != nil || len(figs) != 0 {
		t.Fatalf("empty file: %v, %v", figs, err)
	}
	if err := Report(f, figs, dir); err != nil {
		t.Fatal(err)
	}
}

func TestSILabels(t *testing.T) {
	for v, want := range map[float64]string{2.5e6: "2.5M", 500e3: "500k", 0.25: "0.25", 0: "0", 1e9: "1G", 1500: "1.5k"} {
		if got := si(v); got != want {
			t.Errorf("si(%v) = %q, want %q", v, got, want)
		}
	}
}
