// Package plots draws a kbench result file's figures for design review
// (gonum/plot, each as PNG and SVG) and bundles them with the tables in an
// HTML report. Everything comes from the result file alone, so figures can
// be drawn again on any machine, long after the run.
//
// Figures, each drawn when the file holds its workload's rows:
//   - fanin-events: events/s per variant, median with min–max whiskers;
//   - fanin-cpu: CPU per event by side (collector, producer, helper thread);
//   - fanin-syscalls: the backend's system calls per event;
//   - latency-cdf-<load>: the latency CDF per variant at one offered load,
//     from the intended fire time (coordinated-omission corrected), log x;
//   - latency-load: p99 latency against offered load, per variant;
//   - scale: collection ns/event against registered sources N, per variant;
//   - ring: the ring designs' ns/event as multiples of the cache-line round
//     trip measured in the same run (40-byte events, one publication each);
//   - fidelity: Go/C events/s per kernel backend, with the 0.9 target.
//
// Log axes are drawn only over positive values: a zero or negative figure
// is left out of that plot rather than handed to gonum's log scale.
package plots

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kbench/results"
)

// Figure is one drawn figure: Name.png and Name.svg in the output directory.
type Figure struct {
	Name, Title, Caption string
}

// Draw writes every figure the file has data for into dir (which must
// exist) and returns them in drawing order. Each file is written to a
// temporary name and renamed into place.
func Draw(f *results.File, dir string) ([]Figure, error) {
	var figs []Figure
	for _, d := range drawers {
		got, err := d(f, dir)
		if err != nil {
			return figs, err
		}
		figs = append(figs, got...)
	}
	return figs, nil
}

var drawers = []func(*results.File, string) ([]Figure, error){
	faninFigures, latencyFigures, scaleFigure, ringFigure, fidelityFigure, ringMapFigure,
}

// ok returns the rows of a workload that ran and have samples.
func ok(f *results.File, workload string) []results.Result {
	var out []results.Result
	for _, r := range f.Results {
		if r.Workload == workload && r.Status == results.StatusOK && len(r.Samples) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func label(r *results.Result) string { return r.Backend + "/" + r.Variant }

// save writes p as name.png and name.svg.
func save(p *plot.Plot, dir, name string, w, h vg.Length) error {
	for _, format := range []string{"png", "svg"} {
		wt, err := p.WriterTo(w, h, format)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		path := filepath.Join(dir, name+"."+format)
		if err := results.WriteAtomic(path, func(f *os.File) error {
			_, err := wt.WriteTo(f)
			return err
		}); err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
	}
	return nil
}

// legendWidth is the strip right of a line plot that holds its legend, so
// that a legend of many variants never covers a curve.
const legendWidth = 2.4 * vg.Inch

// saveSide writes p as name.png and name.svg with lg drawn in a strip to
// the right of the plot area.
func saveSide(p *plot.Plot, lg plot.Legend, dir, name string, w, h vg.Length) error {
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w+legendWidth, h, format)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		dc := draw.New(c)
		p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
		lg.Top, lg.Left = true, true
		lg.Draw(draw.Crop(dc, w+vg.Points(6), 0, 0, -vg.Points(24)))
		path := filepath.Join(dir, name+"."+format)
		if err := results.WriteAtomic(path, func(f *os.File) error {
			_, err := c.WriteTo(f)
			return err
		}); err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
	}
	return nil
}

// hbars is a horizontal bar chart of one value per row, drawn top-down in
// the given order, with min–max whiskers when lo and hi are given.
func hbars(title, xlabel string, names []string, vals, lo, hi []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	n := len(names)
	// gonum draws category 0 at the bottom; reverse so the first row is on top.
	rev := func(v []float64) plotter.Values {
		out := make(plotter.Values, n)
		for i := range v {
			out[n-1-i] = v[i]
		}
		return out
	}
	bars, err := plotter.NewBarChart(rev(vals), vg.Points(9))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	p.Add(bars)
	if lo != nil && hi != nil {
		xys := make(plotter.XYs, n)
		errs := make(plotter.XErrors, n)
		for i := range vals {
			j := n - 1 - i
			xys[j] = plotter.XY{X: vals[i], Y: float64(j)}
			errs[j] = struct{ Low, High float64 }{vals[i] - lo[i], hi[i] - vals[i]}
		}
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{xys, errs})
		if err != nil {
			return nil, err
		}
		p.Add(eb)
	}
	// The bar chart's own range does not always reach the longest bar
	// or whisker when horizontal: set it.
	hiX := 0.0
	for i, v := range vals {
		hiX = max(hiX, v)
		if hi != nil {
			hiX = max(hiX, hi[i])
		}
	}
	p.X.Min, p.X.Max = 0, hiX*1.05
	p.X.Tick.Marker = siTicks{}
	rn := make([]string, n)
	for i, s := range names {
		rn[n-1-i] = s
	}
	p.NominalY(rn...)
	p.Add(plotter.NewGrid())
	return p, nil
}

// siTicks are gonum's default ticks labelled compactly (2.5M, 500k, 0.25)
// instead of with fixed decimals (2500000.00).
type siTicks struct{}

func (siTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
}

func si(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// height gives a bar chart room for its rows.
func height(rows int) vg.Length { return vg.Points(float64(80 + 16*rows)) }

const width = 7 * vg.Inch

func faninFigures(f *results.File, dir string) ([]Figure, error) {
	rows := ok(f, "fanin")
	if len(rows) == 0 {
		return nil, nil
	}
	var names []string
	var ev, lo, hi, sys []float64
	var cons, prod, help []float64
	for i := range rows {
		r := &rows[i]
		st, ok := r.Summary("events/s")
		if !ok {
			continue
		}
		names = append(names, label(r))
		ev, lo, hi = append(ev, st.Median), append(lo, st.Min), append(hi, st.Max)
		sys = append(sys, median(r, "syscalls/event"))
		cons = append(cons, median(r, "consumer-cpu-ns/event"))
		prod = append(prod, median(r, "producer-cpu-ns/event"))
		help = append(help, median(r, "helper-cpu-ns/event"))
	}
	if len(names) == 0 {
		return nil, nil
	}
	var figs []Figure
	p, err := hbars("Fan-in throughput", "events/s (median, min–max over repetitions)", names, ev, lo, hi)
	if err != nil {
		return nil, err
	}
	if err := save(p, dir, "fanin-events", width, height(len(names))); err != nil {
		return nil, err
	}
	figs = append(figs, Figure{"fanin-events", "Fan-in throughput",
		"Events collected per second, " + sourcesNote(rows) + ". User-source kevent rows fire without a kernel entry and are not comparable with fd rows."})

	p, err = hbars("Fan-in: backend system calls per event", "system calls per event (collecting side, median)", names, sys, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := save(p, dir, "fanin-syscalls", width, height(len(names))); err != nil {
		return nil, err
	}
	figs = append(figs, Figure{"fanin-syscalls", "Fan-in system calls per event",
		"The backend's own calls per collected event (wait, submit, ctl, commit…), not the eventfd reads and writes of the workload."})

	p, err = stacked("Fan-in: CPU per event by side", "CPU ns per event (median)", names,
		[]string{"collector", "producer", "helper thread"}, [][]float64{cons, prod, help})
	if err != nil {
		return nil, err
	}
	if err := save(p, dir, "fanin-cpu", width, height(len(names))); err != nil {
		return nil, err
	}
	figs = append(figs, Figure{"fanin-cpu", "Fan-in CPU per event by side",
		"User plus system time of each pinned thread (RUSAGE_THREAD) per event; helper = kevent's hook thread or io_uring's SQPOLL thread."})
	return figs, nil
}

func sourcesNote(rows []results.Result) string {
	if s := rows[0].Params["sources"]; s != "" {
		return s + " sources"
	}
	return "all sources"
}

// median of a metric's repetitions, 0 when the row has none.
func median(r *results.Result, metric string) float64 {
	if st, ok := r.Summary(metric); ok {
		return st.Median
	}
	return 0
}

// stacked draws horizontal bars of several parts per row.
func stacked(title, xlabel string, names, parts []string, vals [][]float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	n := len(names)
	var below *plotter.BarChart
	for k, part := range parts {
		v := make(plotter.Values, n)
		any := false
		for i := range names {
			v[n-1-i] = max(vals[k][i], 0)
			any = any || vals[k][i] > 0
		}
		if !any {
			continue
		}
		b, err := plotter.NewBarChart(v, vg.Points(9))
		if err != nil {
			return nil, err
		}
		b.Horizontal = true
		b.Color = plotutil.Color(k)
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(part, b)
	}
	total := 0.0
	for i := range names {
		t := 0.0
		for k := range parts {
			t += max(vals[k][i], 0)
		}
		total = max(total, t)
	}
	p.X.Min, p.X.Max = 0, total*1.05
	p.X.Tick.Marker = siTicks{}
	rn := make([]string, n)
	for i, s := range names {
		rn[n-1-i] = s
	}
	p.NominalY(rn...)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p, nil
}

// points is the suffix after '@' of a row's metric names with a prefix,
// e.g. "p99-ns@" → 10%, 50%, 90%, in the order of their numeric value.
func points(r *results.Result, prefix string) []string {
	seen := map[string]bool{}
	for _, s := range r.Samples {
		for k := range s.Values {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				seen[rest] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return numOf(out[i]) < numOf(out[j]) })
	return out
}

func numOf(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return math.Inf(1)
	}
	return v
}

func latencyFigures(f *results.File, dir string) ([]Figure, error) {
	rows := ok(f, "latency")
	if len(rows) == 0 {
		return nil, nil
	}
	var figs []Figure
	// One CDF per offered load, every variant a line.
	loads := points(&rows[0], "p99-ns@")
	for _, load := range loads {
		p := plot.New()
		p.Title.Text = "Latency CDF at " + load + " of capacity (from intended fire time)"
		p.X.Label.Text = "latency (µs, log)"
		p.Y.Label.Text = "fraction of events"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		drawn, lg := 0, plot.NewLegend()
		for i := range rows {
			xys, err := cdf(&rows[i], "latency@"+load)
			if err != nil {
				return nil, fmt.Errorf("latency %s: %w", label(&rows[i]), err)
			}
			if len(xys) < 2 {
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i / 7)
			p.Add(l)
			lg.Add(label(&rows[i]), l)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		p.Add(plotter.NewGrid())
		name := "latency-cdf-" + strings.TrimSuffix(load, "%")
		if err := saveSide(p, lg, dir, name, width, 5*vg.Inch); err != nil {
			return nil, err
		}
		figs = append(figs, Figure{name, "Latency CDF at " + load + " load",
			"Open-loop firing at " + load + " of each variant's own fan-in capacity; latency from the intended fire time, all repetitions merged."})
	}
	// p99 against offered load.
	p := plot.New()
	p.Title.Text = "p99 latency against offered load"
	p.X.Label.Text = "offered load (% of the variant's fan-in capacity)"
	p.Y.Label.Text = "p99 latency (µs, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	drawn, lg, err := series(p, rows, "p99-ns@", 1e3)
	if err != nil {
		return nil, err
	}
	if drawn > 0 {
		p.Add(plotter.NewGrid())
		if err := saveSide(p, lg, dir, "latency-load", width, 5*vg.Inch); err != nil {
			return nil, err
		}
		figs = append(figs, Figure{"latency-load", "p99 latency against offered load",
			"Median over repetitions of each repetition's p99, from the intended fire time."})
	}
	return figs, nil
}

// series adds one line per row of metric prefix+point against the
// point's number (a load in percent, a source count N), the median divided
// by div; it returns how many rows had two points or more, and their
// legend. Only positive points are drawn, so either axis may be log.
func series(p *plot.Plot, rows []results.Result, prefix string, div float64) (int, plot.Legend, error) {
	drawn, lg := 0, plot.NewLegend()
	for i := range rows {
		r := &rows[i]
		var xys plotter.XYs
		for _, pt := range points(r, prefix) {
			x, y := numOf(pt), median(r, prefix+pt)/div
			if x <= 0 || math.IsInf(x, 0) || y <= 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
		if len(xys) < 2 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return 0, lg, err
		}
		l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		lg.Add(label(r), l, s)
		drawn++
	}
	return drawn, lg, nil
}

// cdf merges a row's histograms of one name and returns (µs, fraction)
// points, only at positive latencies.
func cdf(r *results.Result, name string) (plotter.XYs, error) {
	var h *hdrhistogram.Histogram
	for _, s := range r.Samples {
		enc, ok := s.Histograms[name]
		if !ok {
			continue
		}
		one, err := hdrhistogram.Decode([]byte(enc))
		if err != nil {
			return nil, fmt.Errorf("histogram %s: %w", name, err)
		}
		if h == nil {
			h = one
		} else if dropped := h.Merge(one); dropped != 0 {
			return nil, fmt.Errorf("histogram %s: merge dropped %d values", name, dropped)
		}
	}
	if h == nil || h.TotalCount() == 0 {
		return nil, nil
	}
	total := float64(h.TotalCount())
	var xys plotter.XYs
	var acc int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		acc += b.Count
		if x := float64(b.To) / 1e3; x > 0 {
			xys = append(xys, plotter.XY{X: x, Y: float64(acc) / total})
		}
	}
	return xys, nil
}

func scaleFigure(f *results.File, dir string) ([]Figure, error) {
	rows := ok(f, "scale")
	if len(rows) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Collection cost against registered sources"
	p.X.Label.Text = "registered sources N (log)"
	p.Y.Label.Text = "collection ns per event (median)"
	p.Y.Tick.Marker = siTicks{}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	drawn, lg, err := series(p, rows, "collect-ns/event@", 1)
	if err != nil {
		return nil, err
	}
	if drawn == 0 {
		return nil, nil
	}
	p.Add(plotter.NewGrid())
	if err := saveSide(p, lg, dir, "scale", width, 5*vg.Inch); err != nil {
		return nil, err
	}
	return []Figure{{"scale", "Collection cost against N",
		"A fixed set of active sources among N registered ones: what the rest cost the collector."}}, nil
}

func ringFigure(f *results.File, dir string) ([]Figure, error) {
	var names []string
	var vals []float64
	for _, r := range ok(f, "ring") {
		// The designs side by side on kevent's 40-byte ukevent, one
		// publication per event, across CPUs; each pattern a group.
		if !strings.Contains(r.Variant, " 40B ") || !strings.Contains(r.Variant, " b1 ") || !strings.HasSuffix(r.Variant, " cross") {
			continue
		}
		v := median(&r, "floor-multiple")
		if v <= 0 {
			continue
		}
		names = append(names, r.Variant)
		vals = append(vals, v)
	}
	if len(names) == 0 {
		return nil, nil
	}
	p, err := hbars("Ring designs, 40-byte events, cross-CPU", "ns per event ÷ cache-line round trip (median)", names, vals, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := save(p, dir, "ring", width, height(len(names))); err != nil {
		return nil, err
	}
	return []Figure{{"ring", "Ring designs as multiples of the cache-line floor",
		"owned = Zach Brown's ownership word per slot; shared = AIO-style head and tail on one line; split = io_uring/SPSC indices on separate lines; take29 = the kevent ring with kidx/over/commit; busy = BPF-ringbuf busy bit. 1.0 is one cache-line round trip between the two CPUs, measured in the same run."}}, nil
}

func fidelityFigure(f *results.File, dir string) ([]Figure, error) {
	var names []string
	var vals, lo, hi []float64
	for _, r := range ok(f, "fidelity") {
		st, ok := r.Summary("go/c")
		if !ok {
			continue
		}
		names = append(names, label(&r))
		vals, lo, hi = append(vals, st.Median), append(lo, st.Min), append(hi, st.Max)
	}
	if len(names) == 0 {
		return nil, nil
	}
	p, err := hbars("Go fan-in against its C twin", "Go events/s ÷ C events/s (median, min–max over rounds)", names, vals, lo, hi)
	if err != nil {
		return nil, err
	}
	target, err := plotter.NewLine(plotter.XYs{{X: 0.9, Y: -0.5}, {X: 0.9, Y: float64(len(names)) - 0.5}})
	if err != nil {
		return nil, err
	}
	target.Color = color.RGBA{R: 200, A: 255}
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(target)
	p.Legend.Add("target 0.9", target)
	if err := save(p, dir, "fidelity", width, height(len(names))); err != nil {
		return nil, err
	}
	return []Figure{{"fidelity", "Go against C",
		"Each kernel backend's Go fan-in and its C twin (the same loop over raw system calls), alternating round by round."}}, nil
}

// Names lists the files a figure set occupies, for callers that check them.
func Names(figs []Figure) []string {
	var out []string
	for _, f := range figs {
		out = append(out, f.Name+".png", f.Name+".svg")
	}
	slices.Sort(out)
	return out
}
