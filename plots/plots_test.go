package plots

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/results"
)

var update = flag.Bool("update", false, "rewrite golden files")

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

var units = map[string][]results.Unit{
	"fanin":    {{Name: "events/s", Better: "higher"}, {Name: "syscalls/event", Better: "lower"}, {Name: "consumer-cpu-ns/event", Better: "lower"}, {Name: "producer-cpu-ns/event", Better: "lower"}},
	"latency":  {{Name: "p99-ns@10%", Better: "lower"}, {Name: "p99-ns@50%", Better: "lower"}},
	"scale":    {{Name: "collect-ns/event@100", Better: "lower"}, {Name: "collect-ns/event@1000", Better: "lower"}},
	"ring":     {{Name: "floor-multiple", Better: "lower"}},
	"fidelity": {{Name: "go/c", Better: "higher"}},
}

func row(workload, backend, variant string, params map[string]string, samples ...map[string]float64) results.Result {
	p := map[string]string{"sources": "64", "sources_kind": "fd", "trigger": "level"}
	for k, v := range params {
		p[k] = v
	}
	r := results.Result{Workload: workload, Backend: backend, Variant: variant, Status: results.StatusOK, Params: p, Units: units[workload]}
	for i, v := range samples {
		r.Samples = append(r.Samples, results.Sample{Rep: i, Values: v})
	}
	return r
}

// fan is three repetitions of a fan-in row around ev events/s.
func fan(backend, variant string, params map[string]string, ev float64) results.Result {
	var s []map[string]float64
	for _, k := range []float64{0.97, 1, 1.02} {
		s = append(s, map[string]float64{"events/s": ev * k, "syscalls/event": 1e5 / ev * k, "consumer-cpu-ns/event": 1e9 / ev * k, "producer-cpu-ns/event": 8e8 / ev})
	}
	return row("fanin", backend, variant, params, s...)
}

// sample is a result file with every workload the figures draw: rows of
// every comparability class, one with the engine's interval, values a log
// axis must not see (zero), a failed, a skipped and a noisy row.
func sample(t *testing.T, scale float64) *results.File {
	f := &results.File{Schema: results.Schema, Complete: true,
		Started:     time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		Env:         results.Env{Kernel: "6.1.0", Hostname: "box", Commit: "abc"},
		Calibration: map[string]float64{"cacheline_rtt_ns": 120, "null_syscall_ns": 95},
		Preflight:   &results.Preflight{CPUs: []int{0, 1}, Share: 0.02, Quiet: true}}
	lt := fan("epoll", "lt", nil, 1e6*scale)
	lt.Trust = &results.Trust{Headline: "events/s", Intervals: map[string]results.Interval{
		"events/s": {Median: 1e6 * scale, Lo: 0.9e6 * scale, Hi: 1.1e6 * scale, Confidence: 0.9, N: 3}}}
	f.Results = append(f.Results, lt,
		fan("epoll", "et", map[string]string{"trigger": "edge"}, 1.05e6),
		fan("iouring", "coop-multishot", map[string]string{"trigger": "multishot"}, 2e6),
		fan("iouring", "plain-multishot", map[string]string{"trigger": "multishot"}, 1.98e6),
		fan("epoll", "oneshot", map[string]string{"trigger": "oneshot"}, 4e5),
		fan("iouring", "coop-oneshot", map[string]string{"trigger": "oneshot"}, 8e5),
		fan("kevent", "take29-user", map[string]string{"sources_kind": "user", "trigger": "edge"}, 3e7),
		fan("kevent", "zach-user", map[string]string{"sources_kind": "user", "trigger": "edge"}, 1e5))
	noisy := fan("aioring", "ring", nil, 9e5)
	noisy.Status, noisy.Reason = results.StatusNoisy, "interference 23% of the pinned CPUs"
	bad := row("fanin", "kevent", "zach-fd", nil)
	bad.Status, bad.Reason = results.StatusFailed, "3 lost"
	skip := row("fanin", "iouring", "sqpoll-multishot", nil)
	skip.Status, skip.Reason = results.StatusSkipped, "io_uring_setup: EPERM"
	f.Results = append(f.Results, noisy, bad, skip)
	for i, v := range []string{"lt", "et"} {
		k := float64(i + 1)
		lat := row("latency", "epoll", v, nil,
			map[string]float64{"p99-ns@10%": 90e3 * k, "p99-ns@50%": 120e3 * k * scale, "p99-ns@90%": 0},
			map[string]float64{"p99-ns@10%": 95e3 * k, "p99-ns@50%": 125e3 * k * scale, "p99-ns@90%": 0})
		lat.Samples[0].Histograms = map[string]string{
			"latency@10%": hist(t, 0, 5e3, 20e3, 80e3), "latency@50%": hist(t, 9e3, 30e3*int64(k), 100e3, 4e6),
			"raw@50%": hist(t, 2e3, 3e3, 9e3)}
		f.Results = append(f.Results, lat)
	}
	f.Results = append(f.Results,
		row("scale", "epoll", "lt", nil, map[string]float64{"collect-ns/event@100": 900, "collect-ns/event@1000": 950, "collect-ns/event@10000": 0}),
		row("scale", "kevent", "take29-fd", nil, map[string]float64{"collect-ns/event@100": 50, "collect-ns/event@1000": 5e3, "collect-ns/event@10000": 4e4}),
		row("ring", "ring", "owned 40B stream b1 cross", nil, map[string]float64{"floor-multiple": 0.25}),
		row("ring", "ring", "owned 16B stream b1 cross", nil, map[string]float64{"floor-multiple": 0.2}),
		row("ring", "ring", "shared 40B stream b1 cross", nil, map[string]float64{"floor-multiple": 0.5}),
		row("fidelity", "epoll", "lt", nil, map[string]float64{"go/c": 0.95}, map[string]float64{"go/c": 0.9}),
		row("fidelity", "epoll", "oneshot", nil, map[string]float64{"go/c": 0.4}, map[string]float64{"go/c": 0.5}))
	return f
}

func input(label string, f *results.File) *Input {
	return &Input{Label: label, Paths: []string{label + ".json"}, Files: []*results.File{f}, File: f}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, got)
	}
}

// figText is the figures' data, one line per panel property and series.
func figText(figs []*Fig) []byte {
	var b bytes.Buffer
	for _, f := range figs {
		fmt.Fprintf(&b, "figure %s %q workload=%s bars=%v\n  caption: %s\n", f.Name, f.Title, f.Workload, f.Bars, f.Caption)
		for _, p := range f.Panels {
			fmt.Fprintf(&b, "  panel %q x=%q y=%q logx=%v logy=%v spectrum=%v ref=%g %q\n", p.Title, p.XLabel, p.YLabel, p.LogX, p.LogY, p.Spectrum, p.Ref, p.RefLabel)
			for i, c := range p.Cats {
				fmt.Fprintf(&b, "    cat %d %s %s\n", i, c, p.CatColors[i])
			}
			for _, s := range p.Series {
				fmt.Fprintf(&b, "    series %q color=%q dash=%d faint=%v %d points:", s.Label, s.Color, s.Dash, s.Faint, len(s.Pts))
				for i, q := range s.Pts {
					if i == 6 && len(s.Pts) > 8 {
						fmt.Fprintf(&b, " …")
						q = s.Pts[len(s.Pts)-1]
						fmt.Fprintf(&b, " (%.4g %.4g %.4g %.4g)", q.X, q.Y, q.Lo, q.Hi)
						break
					}
					fmt.Fprintf(&b, " (%.4g %.4g %.4g %.4g)", q.X, q.Y, q.Lo, q.Hi)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.Bytes()
}

func TestFiguresGolden(t *testing.T) {
	figs, err := Figures([]*Input{input("a", sample(t, 1))})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "figures.golden", figText(figs))
}

func TestFiguresCompareGolden(t *testing.T) {
	figs, err := Figures([]*Input{input("a", sample(t, 1)), input("b", sample(t, 1.3))})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "figures-compare.golden", figText(figs))
}

// Every figure draws one variant in the same colour and dash, and keeps the
// classes that are not comparable in separate panels.
func TestFigureConventions(t *testing.T) {
	figs, err := Figures([]*Input{input("a", sample(t, 1))})
	if err != nil {
		t.Fatal(err)
	}
	look := map[string]string{}
	for _, f := range figs {
		for _, p := range f.Panels {
			if p.Cats != nil {
				for i, c := range p.Cats {
					fam := familyOf(c)
					if f.Workload == "ring" {
						fam = "ring" // the ring lab's categories are designs
					}
					if got := p.CatColors[i]; got != familyColours[fam] {
						t.Errorf("%s: %s coloured %s, want its family's %s", f.Name, c, got, familyColours[fam])
					}
				}
				user, fd := false, false
				for _, c := range p.Cats {
					user = user || strings.HasSuffix(c, "-user")
					fd = fd || !strings.HasSuffix(c, "-user")
				}
				if f.Name == "fanin-events" && user && fd {
					t.Errorf("%s: user and descriptor sources share panel %q", f.Name, p.Title)
				}
				continue
			}
			for _, s := range p.Series {
				k := strings.TrimSuffix(s.Label, " (raw)")
				st := fmt.Sprint(s.Color, s.Dash)
				if prev, ok := look[k]; ok && prev != st {
					t.Errorf("%s: %s drawn %s here, %s elsewhere", f.Name, k, st, prev)
				}
				look[k] = st
			}
		}
	}
	if len(look) == 0 {
		t.Fatal("no line series to check")
	}
}

func TestSpansLog(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want bool
	}{
		{[]float64{1, 19}, false}, {[]float64{1, 21}, true}, {[]float64{0, -5, 1, 10}, false},
		{[]float64{0, 0}, false}, {[]float64{math.Inf(1), 1, 2}, false}, {nil, false},
	} {
		if got := spansLog(c.v); got != c.want {
			t.Errorf("spansLog(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

// A spectrum stays a few hundred points however many events, rises
// monotonically, and ends at the largest value.
func TestSpectrumThin(t *testing.T) {
	h := hdrhistogram.New(1, 100e9, 3)
	for i := int64(1); i <= 2_000_000; i++ {
		h.RecordValue(1000 + i%50000*i%977)
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	r := &results.Result{Samples: []results.Sample{{Histograms: map[string]string{"latency@50%": string(enc)}}}}
	pts, err := spectrum(r, "latency@50%")
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) < 100 || len(pts) > 300 {
		t.Fatalf("%d points, want 100..300", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X < pts[i-1].X || pts[i].Y < pts[i-1].Y {
			t.Fatalf("not monotonic at %d: %v after %v", i, pts[i], pts[i-1])
		}
	}
	if last, want := pts[len(pts)-1].Y, float64(h.Max())/1e3; math.Abs(last-want) > want*0.002 {
		t.Errorf("spectrum ends at %v µs, the largest value is %v", last, want)
	}
}

func TestFindingsGolden(t *testing.T) {
	in := input("a", sample(t, 1))
	figs, err := Figures([]*Input{in})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range Findings(in, figs) {
		fmt.Fprintf(&b, "%-8s %s -> %s\n", f.Kind, f.Text, f.Link)
	}
	golden(t, "findings.golden", b.Bytes())
}

func TestCompareGolden(t *testing.T) {
	base, head := sample(t, 1), sample(t, 1.3)
	// The engine's interval describes one run; the gate's U test compares
	// repetitions, which a single run of three cannot make significant at
	// 0.05 for any change: give each side more of them.
	for _, f := range []*results.File{base, head} {
		for i := range f.Results {
			r := &f.Results[i]
			if r.Workload == "fanin" && len(r.Samples) == 3 {
				for k := 0; k < 3; k++ {
					s := r.Samples[k]
					v := map[string]float64{}
					for m, x := range s.Values {
						v[m] = x * (1.01 + 0.005*float64(k))
					}
					s.Values = v
					r.Samples = append(r.Samples, s)
				}
			}
		}
	}
	comps, err := Compare([]*Input{input("a", base), input("b", head)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, c := range comps {
		fmt.Fprintf(&b, "%s against %s: failed=%v %s\n", c.Head, c.Base, c.Failed, c.Summary)
		for _, w := range c.Workloads {
			for _, r := range w.Headline {
				fmt.Fprintf(&b, "%s %s %s %s→%s %s %s p=%s %s %s\n", w.Workload, r.Row, r.Metric, r.Base, r.Head, r.Delta, r.Range, r.P, r.N, r.Verdict)
			}
		}
		for _, r := range c.topChanges(3) {
			fmt.Fprintf(&b, "top: %s %s %s\n", r.Row, r.Metric, r.Delta)
		}
	}
	golden(t, "compare.golden", b.Bytes())
	if !strings.Contains(b.String(), "fanin epoll/lt events/s") || !strings.Contains(b.String(), "better") {
		t.Errorf("the 30 %% throughput gain of epoll/lt is not reported as better:\n%s", b.String())
	}
}

// reportFor draws the inputs into a temporary directory and returns it
// with the report's text.
func reportFor(t *testing.T, ins []*Input) (string, []*Fig, string) {
	t.Helper()
	dir := t.TempDir()
	figs, err := Draw(ins, dir)
	if err != nil {
		t.Fatal(err)
	}
	var comps []Comparison
	if len(ins) > 1 {
		if comps, err = Compare(ins); err != nil {
			t.Fatal(err)
		}
	}
	if err := Report(ins, figs, comps, dir); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, figs, string(html)
}

func TestDrawAndReport(t *testing.T) {
	dir, figs, html := reportFor(t, []*Input{input("a", sample(t, 1))})
	want := []string{"fanin-events", "fanin-syscalls", "fanin-cpu", "latency-spectrum-10", "latency-spectrum-50", "latency-load", "scale", "ring", "fidelity"}
	var got []string
	for _, g := range figs {
		got = append(got, g.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("figures %v, want %v", got, want)
	}
	for _, g := range figs {
		b, err := os.ReadFile(filepath.Join(dir, g.Name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s.png: %v", g.Name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, g.Name+".svg")); err != nil {
			t.Error(err)
		}
	}
	selfContained(t, html, len(figs))
	for _, s := range []string{`id="fig-fanin-events"`, `id="table-fanin"`, "epoll/et", "3 lost", "cacheline_rtt_ns = 120",
		"io_uring_setup: EPERM", "interference 23%", "below it: epoll/oneshot 0.450 [0.400–0.500]"} {
		if !strings.Contains(html, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if strings.Contains(html, "What changed") {
		t.Error("one input: the report has a comparison section")
	}
	if f, g := strings.Index(html, `id="findings"`), strings.Index(html, `id="figures"`); f < 0 || f > g {
		t.Error("findings do not come before the figures")
	}
}

// selfContained checks that the report inlines its n figures and fetches
// nothing: no <img>, <script>, <link> or url(); every anchor it links
// to exists.
func selfContained(t *testing.T, html string, n int) {
	t.Helper()
	if got := strings.Count(html, "<svg"); got != n {
		t.Errorf("%d inline <svg>, want %d", got, n)
	}
	for _, s := range []string{"<img", "<script", "<link", "url(", "<?xml", "<iframe"} {
		if strings.Contains(html, s) {
			t.Errorf("report holds %q: not self-contained", s)
		}
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		ids[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if !ids[m[1]] {
			t.Errorf("link to #%s, which the report does not hold", m[1])
		}
	}
}

func TestCompareReport(t *testing.T) {
	head := sample(t, 1.3)
	head.Env.Kernel = "6.12.0"
	_, figs, html := reportFor(t, []*Input{input("a", sample(t, 1)), input("b", head)})
	selfContained(t, html, len(figs))
	c, f := strings.Index(html, "What changed"), strings.Index(html, `id="findings"`)
	if c < 0 || c > f {
		t.Error("the report does not open with what changed")
	}
	for _, s := range []string{"6.12.0", "b against a", "Gate verdict", `id="comparison"`, "A side holds a single run"} {
		if !strings.Contains(html, s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestNothingToDraw(t *testing.T) {
	_, figs, html := reportFor(t, []*Input{input("empty", &results.File{Schema: results.Schema})})
	if len(figs) != 0 {
		t.Fatalf("empty file: %d figures", len(figs))
	}
	selfContained(t, html, 0)
}

// Values a log axis cannot show (zero, negative) next to a span that asks
// for one must not reach gonum's log scale, which panics on them.
func TestLogAxisGuards(t *testing.T) {
	f := &results.File{Schema: results.Schema}
	f.Results = append(f.Results,
		row("fanin", "epoll", "lt", nil, map[string]float64{"events/s": 0}),
		row("fanin", "epoll", "et", nil, map[string]float64{"events/s": -5}),
		row("fanin", "iouring", "x", nil, map[string]float64{"events/s": 1e7}),
		row("fanin", "iouring", "y", nil, map[string]float64{"events/s": 10}),
		row("scale", "epoll", "lt", nil, map[string]float64{"collect-ns/event@0": 5, "collect-ns/event@100": 0, "collect-ns/event@1000": 9000, "collect-ns/event@10000": 3}))
	dir := t.TempDir()
	figs, err := Draw([]*Input{input("a", f)}, dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := 0
	for _, fg := range figs {
		for _, p := range fg.Panels {
			if p.LogX || p.LogY {
				logs++
			}
		}
	}
	if logs == 0 {
		t.Fatal("no log axis drawn: the guard was not exercised")
	}
}

func TestLoadLabels(t *testing.T) {
	dir := t.TempDir()
	a, b := sample(t, 1), sample(t, 1)
	b.Env.Kernel = "6.12.0"
	pa, pb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for p, f := range map[string]*results.File{pa: a, pb: b} {
		if err := results.WriteJSON(p, f); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := Load([]string{pa, pb}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ins[0].Label != "6.1.0" || ins[1].Label != "6.12.0" {
		t.Errorf("labels %q, %q: want the kernels, which differ", ins[0].Label, ins[1].Label)
	}
	// Same kernel, host and commit: the start time tells them apart.
	b.Env.Kernel = a.Env.Kernel
	b.Started = a.Started.Add(time.Hour)
	if err := results.WriteJSON(pb, b); err != nil {
		t.Fatal(err)
	}
	if ins, err = Load([]string{pa, pb}, nil); err != nil || ins[1].Label != "2026-12-01 13:00:00" {
		t.Errorf("labels by time: %v, %v", ins, err)
	}
	if ins, err = Load([]string{pa, pb}, []string{"old", "new"}); err != nil || ins[0].Label != "old" {
		t.Errorf("--label: %v", err)
	}
	for _, labels := range [][]string{{"one"}, {"x", "x"}} {
		if _, err := Load([]string{pa, pb}, labels); err == nil {
			t.Errorf("labels %q accepted", labels)
		}
	}
	// A directory is one input: its runs pooled, every repetition kept.
	ins, err = Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := ins[0].File.Results[0]
	if len(ins[0].Files) != 2 || len(r.Samples) != 6 || r.Trust != nil {
		t.Errorf("pooled %d files, first row %d samples (trust %v), want 2, 6, nil", len(ins[0].Files), len(r.Samples), r.Trust)
	}
	if _, err := Load([]string{t.TempDir()}, nil); err == nil {
		t.Error("an empty directory was accepted")
	}
}

func TestSILabels(t *testing.T) {
	for v, want := range map[float64]string{2.5e6: "2.5M", 500e3: "500k", 0.25: "0.25", 0: "0", 1e9: "1G", 1500: "1.5k"} {
		if got := si(v); got != want {
			t.Errorf("si(%v) = %q, want %q", v, got, want)
		}
	}
}

// Lines of classes that do not compare get panels of their own; a class
// with more lines than can be read is split by family.
func TestLinePanels(t *testing.T) {
	var ls []line
	for i := range 10 {
		fam := []string{"epoll", "iouring"}[i%2]
		ls = append(ls, line{"descriptor sources", fam, Series{Label: fmt.Sprint(fam, i), Pts: []Pt{{X: 1, Y: 1, Lo: 1, Hi: 1}, {X: 2, Y: 2, Lo: 2, Hi: 2}}}})
	}
	ls = append(ls, line{"user sources, no kernel entry", "kevent", Series{Label: "kevent/u", Pts: []Pt{{X: 1, Y: 1, Lo: 1, Hi: 1}, {X: 2, Y: 100, Lo: 90, Hi: 110}}}})
	var got []string
	for _, p := range linePanels(ls, Panel{Title: "T"}) {
		got = append(got, fmt.Sprintf("%s:%d:%v", p.Title, len(p.Series), p.LogY))
	}
	want := "T: descriptor sources, epoll:5:false T: descriptor sources, iouring:5:false T: user sources, no kernel entry:1:true"
	if strings.Join(got, " ") != want {
		t.Errorf("panels %q,\nwant %q", strings.Join(got, " "), want)
	}
}

func TestLogTicksLabelled(t *testing.T) {
	var got []string
	for _, tk := range (siLogTicks{}).Ticks(400, 3000) {
		if tk.Label != "" && tk.Value >= 400 && tk.Value <= 3000 {
			got = append(got, tk.Label)
		}
	}
	if strings.Join(got, " ") != "500 1k 2k" {
		t.Errorf("labels within a decade: %q, want 500 1k 2k", got)
	}
}

// A comparison the gate could not judge (one repetition a side: no test
// can reject) says so as kbench gate does, never "pass".
func TestCompareReportNoPower(t *testing.T) {
	one := func(v float64) *results.File {
		f := &results.File{Schema: results.Schema, Complete: true}
		f.Results = append(f.Results, row("fanin", "epoll", "lt", nil, map[string]float64{"events/s": v, "consumer-cpu-ns/event": 600}))
		return f
	}
	_, _, html := reportFor(t, []*Input{input("a", one(1e6)), input("b", one(1.1e6))})
	if !strings.Contains(html, "NO POWER") || strings.Contains(html, `class="verdict-pass"`) {
		i := strings.Index(html, "Gate verdict")
		t.Errorf("verdict of a powerless comparison: %.200s", html[max(i, 0):])
	}
}
