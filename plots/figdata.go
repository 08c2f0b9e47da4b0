package plots

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/results"
)

// Fig is one figure's data, everything the renderer draws and nothing it
// computes: the golden tests pin these, not pixels.
type Fig struct {
	Name, Title, Caption string
	// Workload whose findings link here.
	Workload string
	Bars     bool // horizontal bars over categories; else lines
	Panels   []Panel
	// Draw, when set, draws the figure itself into dir (Name.png and
	// .svg) instead of Render's panels: the ring design map, a grid of
	// coloured cells rather than series.
	Draw func(dir string) error `json:"-"`
}

// Panel is one plot of a figure (small multiples share nothing but style).
type Panel struct {
	Title          string
	XLabel, YLabel string
	LogX, LogY     bool
	// Spectrum: x is 1/(1-q), ticked as percentiles.
	Spectrum bool `json:",omitempty"`
	// Bars: categories top-down, and each one's family colour (used when
	// one input is drawn).
	Cats      []string `json:",omitempty"`
	CatColors []string `json:",omitempty"`
	// Ref is a reference value drawn as a dashed line (0: none).
	Ref      float64 `json:",omitempty"`
	RefLabel string  `json:",omitempty"`
	Series   []Series
}

// Series is one input's bars, or one row's line.
type Series struct {
	Label string
	Color string // "" for bars coloured by category
	Dash  int
	Faint bool `json:",omitempty"` // drawn thin and light (raw latency)
	Pts   []Pt
}

// Pt is a point or a bar: for bars X is the category index and Y the value.
// Lo and Hi bound its interval (equal to Y when there is none).
type Pt struct{ X, Y, Lo, Hi float64 }

// logSpan is the ratio of largest to smallest positive value above which an
// axis is drawn logarithmic.
const logSpan = 20

// spansLog reports whether the positive values span more than logSpan.
func spansLog(vals []float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, v := range vals {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return hi > 0 && hi/lo > logSpan
}

// measured returns the rows of a workload that hold figures.
func measured(f *results.File, workload string) []*results.Result {
	var out []*results.Result
	for i := range f.Results {
		r := &f.Results[i]
		if r.Workload == workload && r.Status.Measured() && len(r.Samples) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// value is a metric's median and interval: the row's 95 % interval of the
// median when the engine computed one, else the range of its repetitions.
func value(r *results.Result, metric string) (Pt, bool) {
	if r.Trust != nil {
		if iv, ok := r.Trust.Intervals[metric]; ok && iv.N > 0 {
			return Pt{Y: iv.Median, Lo: iv.Lo, Hi: iv.Hi}, true
		}
	}
	st, ok := r.Summary(metric)
	if !ok || math.IsNaN(st.Median) || math.IsInf(st.Median, 0) {
		return Pt{}, false
	}
	return Pt{Y: st.Median, Lo: st.Min, Hi: st.Max}, true
}

// intervalNote says what the whiskers are.
const intervalNote = "Whiskers: 95 % interval of the median where the run computed one, else min–max over repetitions."

// class separates rows whose figures are not comparable: kevent's user
// sources fire through kevent_ctl or, directly, without entering the
// kernel at all, and one-shot rows re-arm each source per event.
func class(r *results.Result) string {
	switch {
	case r.Workload == "ring":
		// A ring lab row is a design at one size, pattern, batch and
		// placement: only designs under the same rest compare.
		if _, rest, ok := strings.Cut(r.Variant, " "); ok {
			return rest
		}
		return r.Variant
	case r.Params["sources_kind"] == "user" && r.Params["fire_direct"] == "0":
		// take30's unotify: one kevent_ctl(KEVENT_CTL_READY) per firing.
		return "user sources, fired by KEVENT_CTL_READY"
	case r.Params["sources_kind"] == "user":
		// fire_direct=1 (and files from before it existed).
		return "user sources, no kernel entry"
	case r.Params["trigger"] == "oneshot":
		return "descriptor sources, one-shot"
	}
	return "descriptor sources"
}

// barSpec describes a bar figure of one metric.
type barSpec struct {
	name, title, caption, xlabel, workload, metric string
	keep                                           func(*results.Result) bool
	panel                                          func(*results.Result) string
	ref                                            float64
	refLabel                                       string
}

func barFigure(ins []*Input, st *Style, s barSpec) *Fig {
	type panelAcc struct {
		p     Panel
		index map[string]int
		vals  []float64
	}
	var order []string
	acc := map[string]*panelAcc{}
	for ii, in := range ins {
		for _, r := range measured(in.File, s.workload) {
			if s.keep != nil && !s.keep(r) {
				continue
			}
			v, ok := value(r, s.metric)
			if !ok {
				continue
			}
			key := ""
			if s.panel != nil {
				key = s.panel(r)
			}
			a := acc[key]
			if a == nil {
				a = &panelAcc{index: map[string]int{}}
				a.p.Title = s.title
				if key != "" {
					a.p.Title += ": " + key
				}
				a.p.XLabel = s.xlabel
				a.p.Ref, a.p.RefLabel = s.ref, s.refLabel
				a.p.Series = make([]Series, len(ins))
				for j, in := range ins {
					a.p.Series[j].Label = in.Label
					if len(ins) > 1 {
						a.p.Series[j].Color = st.input(j)
					}
				}
				acc[key] = a
				order = append(order, key)
			}
			// The ring lab's rows are designs, not backends: their
			// variant alone names them.
			name := label(r)
			if r.Backend == "ring" {
				name = r.Variant
			}
			c, ok := a.index[name]
			if !ok {
				c = len(a.p.Cats)
				a.index[name] = c
				a.p.Cats = append(a.p.Cats, name)
				a.p.CatColors = append(a.p.CatColors, st.family(r.Backend))
			}
			v.X = float64(c)
			a.p.Series[ii].Pts = append(a.p.Series[ii].Pts, v)
			a.vals = append(a.vals, v.Y, v.Lo, v.Hi)
		}
	}
	if len(order) == 0 {
		return nil
	}
	fig := &Fig{Name: s.name, Title: s.title, Caption: s.caption + " " + intervalNote, Workload: s.workload, Bars: true}
	for _, k := range order {
		a := acc[k]
		a.p.LogX = spansLog(a.vals)
		if a.p.LogX {
			a.p.XLabel += " (log)"
		}
		fig.Panels = append(fig.Panels, a.p)
	}
	return fig
}

// lineSpec describes a figure of one line per row: metric prefix+point
// against the point's number (a load in percent, a source count).
type lineSpec struct {
	name, title, caption, xlabel, ylabel, workload, prefix string
	div                                                    float64
	logX                                                   bool // whatever the span
}

// maxSeries is the most lines a panel holds before it is split by family.
const maxSeries = 8

// line is one series on its way into a panel.
type line struct {
	class, family string
	ser           Series
}

// linePanels groups lines into small multiples: one panel per class of
// comparable rows, split by backend family when a class has more lines
// than can be read in one (faint companion lines do not count). base
// titles and labels each panel; the axes go logarithmic where the values
// they show span more than logSpan.
func linePanels(lines []line, base Panel) []Panel {
	var classes []string
	byClass := map[string][]line{}
	for _, l := range lines {
		if byClass[l.class] == nil {
			classes = append(classes, l.class)
		}
		byClass[l.class] = append(byClass[l.class], l)
	}
	var out []Panel
	add := func(title string, ls []line) {
		p := base
		p.Title = title
		var xs, ys []float64
		for _, l := range ls {
			p.Series = append(p.Series, l.ser)
			for _, q := range l.ser.Pts {
				xs = append(xs, q.X)
				ys = append(ys, q.Y, q.Lo, q.Hi)
			}
		}
		p.LogX = p.LogX || spansLog(xs)
		p.LogY = p.LogY || spansLog(ys)
		if p.LogX && !p.Spectrum {
			p.XLabel += " (log)"
		}
		if p.LogY {
			p.YLabel += " (log)"
		}
		out = append(out, p)
	}
	for _, c := range classes {
		ls := byClass[c]
		title := base.Title
		if len(classes) > 1 {
			title += ": " + c
		}
		solid := 0
		for _, l := range ls {
			if !l.ser.Faint {
				solid++
			}
		}
		if solid <= maxSeries {
			add(title, ls)
			continue
		}
		var fams []string
		byFam := map[string][]line{}
		for _, l := range ls {
			if byFam[l.family] == nil {
				fams = append(fams, l.family)
			}
			byFam[l.family] = append(byFam[l.family], l)
		}
		sep := ": "
		if len(classes) > 1 {
			sep = ", "
		}
		for _, f := range fams {
			add(title+sep+f, byFam[f])
		}
	}
	return out
}

// lineFigure draws one line per row, in small multiples (linePanels).
func lineFigure(ins []*Input, st *Style, s lineSpec) *Fig {
	var lines []line
	for ii, in := range ins {
		for _, r := range measured(in.File, s.workload) {
			var ser Series
			ser.Label = label(r)
			if len(ins) > 1 {
				ser.Label = in.Label + ": " + ser.Label
			}
			ser.Color, ser.Dash = st.line(r, ii)
			for _, pt := range points(r, s.prefix) {
				x := numOf(pt)
				v, ok := value(r, s.prefix+pt)
				if !ok || math.IsInf(x, 0) {
					continue
				}
				v.X, v.Y, v.Lo, v.Hi = x, v.Y/s.div, v.Lo/s.div, v.Hi/s.div
				ser.Pts = append(ser.Pts, v)
			}
			if len(ser.Pts) >= 2 {
				lines = append(lines, line{class(r), r.Backend, ser})
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return &Fig{Name: s.name, Title: s.title, Caption: s.caption + " " + intervalNote, Workload: s.workload,
		Panels: linePanels(lines, Panel{Title: s.title, XLabel: s.xlabel, YLabel: s.ylabel, LogX: s.logX})}
}

// points is the suffix after the prefix of a row's metric names, e.g.
// "p99-ns@" → 10%, 50%, 90%, in the order of their numeric value.
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

// spectrumPerDecade bounds a latency curve's size: 40 points per decade of
// 1/(1-q) is smooth to the eye and keeps a five-decade curve at 200 points,
// where the histogram's every bucket would be thousands.
const spectrumPerDecade = 40

// spectrum merges a row's histograms of one name and returns its
// percentile spectrum: x = 1/(1-q) (1 at the median's left, 10 at p90, 100
// at p99…), y = latency in µs, at positive latencies only.
func spectrum(r *results.Result, name string) ([]Pt, error) {
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
	// Past x = N the quantile is the largest value: nothing left to draw.
	xmax := min(float64(h.TotalCount()), 1e6)
	steps := int(math.Ceil(math.Log10(xmax) * spectrumPerDecade))
	var pts []Pt
	for i := 0; i <= steps; i++ {
		x := min(math.Pow(10, float64(i)/spectrumPerDecade), xmax)
		v := float64(h.ValueAtQuantile((1-1/x)*100)) / 1e3
		if v <= 0 {
			continue
		}
		pts = append(pts, Pt{X: x, Y: v, Lo: v, Hi: v})
	}
	return pts, nil
}

// spectrumFigures: per offered load, each family's variants as percentile
// spectra, corrected (from the intended fire time) solid and raw (from the
// actual fire) faint.
func spectrumFigures(ins []*Input, st *Style) ([]*Fig, error) {
	loadSet := map[string]bool{}
	for _, in := range ins {
		for _, r := range measured(in.File, "latency") {
			for _, l := range points(r, "p99-ns@") {
				loadSet[l] = true
			}
		}
	}
	var loads []string
	for l := range loadSet {
		loads = append(loads, l)
	}
	sort.Slice(loads, func(i, j int) bool { return numOf(loads[i]) < numOf(loads[j]) })
	var figs []*Fig
	for _, load := range loads {
		var lines []line
		for ii, in := range ins {
			for _, r := range measured(in.File, "latency") {
				for _, kind := range []string{"latency@", "raw@"} {
					pts, err := spectrum(r, kind+load)
					if err != nil {
						return nil, fmt.Errorf("latency %s: %w", label(r), err)
					}
					if len(pts) < 2 {
						continue
					}
					ser := Series{Label: label(r), Pts: pts, Faint: kind == "raw@"}
					if len(ins) > 1 {
						ser.Label = in.Label + ": " + ser.Label
					}
					if ser.Faint {
						ser.Label += " (raw)"
					}
					ser.Color, ser.Dash = st.line(r, ii)
					lines = append(lines, line{class(r), r.Backend, ser})
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		title := "Latency at " + load + " load"
		figs = append(figs, &Fig{Name: "latency-spectrum-" + strings.TrimSuffix(load, "%"), Title: "Latency percentile spectrum at " + load + " load",
			Workload: "latency",
			Caption: "Open-loop firing at " + load + " of each variant's own fan-in capacity, all repetitions merged. " +
				"Solid: latency from the intended fire time (coordinated omission corrected); faint: from the actual fire (raw). " +
				"The x axis stretches the tail: 99 % sits a decade right of 90 %. " +
				"A curve merges every repetition's histogram, so it carries no interval: p99 against offered load shows the spread over repetitions.",
			Panels: linePanels(lines, Panel{Title: title, Spectrum: true, LogX: true,
				XLabel: "percentile (x = 1/(1-q), log)", YLabel: "latency (µs)"})})
	}
	return figs, nil
}

// Figures computes every figure the inputs have data for, in report order.
func Figures(ins []*Input) ([]*Fig, error) {
	st := newStyle(ins)
	var figs []*Fig
	add := func(f *Fig) {
		if f != nil {
			figs = append(figs, f)
		}
	}
	add(barFigure(ins, st, barSpec{name: "fanin-events", title: "Fan-in throughput", workload: "fanin", metric: "events/s",
		xlabel: "events/s (median)", panel: class,
		caption: "Events collected per second. Panels keep apart what is not comparable: kevent's user sources fire without entering the kernel; one-shot rows re-arm every source per event."}))
	add(barFigure(ins, st, barSpec{name: "fanin-syscalls", title: "Fan-in system calls per event", workload: "fanin", metric: "syscalls/event",
		xlabel: "backend system calls per event (median)", panel: class,
		caption: "The backend's own calls per collected event (wait, submit, ctl, commit…), not the eventfd reads and writes of the workload."}))
	for _, side := range []struct{ metric, name string }{
		{"consumer-cpu-ns/event", "collector"}, {"producer-cpu-ns/event", "producer"}, {"helper-cpu-ns/event", "helper thread"},
	} {
		f := barFigure(ins, st, barSpec{name: "fanin-cpu", title: "Fan-in CPU per event, " + side.name, workload: "fanin",
			metric: side.metric, xlabel: "CPU ns per event (median)"})
		if f == nil {
			continue
		}
		if n := len(figs); n > 0 && figs[n-1].Name == "fanin-cpu" {
			figs[n-1].Panels = append(figs[n-1].Panels, f.Panels...)
			continue
		}
		f.Title = "Fan-in CPU per event by side"
		f.Caption = "CPU time of each pinned thread (its thread CPU clock) per event, one panel per side; the helper is kevent's hook thread or io_uring's SQPOLL thread. " + intervalNote
		add(f)
	}
	sp, err := spectrumFigures(ins, st)
	if err != nil {
		return nil, err
	}
	figs = append(figs, sp...)
	add(lineFigure(ins, st, lineSpec{name: "latency-load", title: "p99 latency against offered load", workload: "latency",
		prefix: "p99-ns@", div: 1e3, xlabel: "offered load (% of the variant's fan-in capacity)", ylabel: "p99 latency (µs)",
		caption: "Median over repetitions of each repetition's p99, from the intended fire time."}))
	add(lineFigure(ins, st, lineSpec{name: "scale", title: "Collection cost against registered sources", workload: "scale",
		prefix: "collect-ns/event@", div: 1, xlabel: "registered sources N", ylabel: "collection ns per event",
		caption: "A fixed set of active sources among N registered ones: what the rest cost the collector."}))
	add(lineFigure(ins, st, lineSpec{name: "breakeven", title: "Collector overhead against application work per event", workload: "breakeven",
		prefix: "overhead-share@w=", div: 0.01, logX: true, xlabel: "application work per event (ns)", ylabel: "overhead, % of collector CPU",
		caption: "The break-even suite (kbench run --suite=breakeven): the share of the collector's CPU that is not the application's work, one line per variant. Where a line falls below 10 % (or 1 %) the collection mechanism stops mattering for a program doing that much work per event; the no-work point (100 %) is off the log axis."}))
	add(barFigure(ins, st, barSpec{name: "ring", title: "Ring designs, 40-byte events, cross-CPU", workload: "ring", metric: "floor-multiple",
		xlabel:  "ns per event ÷ cache-line round trip (median)",
		keep:    ringShown,
		caption: "owned = Zach Brown's ownership word per slot; shared = AIO-style head and tail on one line; split = io_uring/SPSC indices on separate lines; take29 = the kevent ring with kidx/over/commit; busy = BPF-ringbuf busy bit. 1.0 is one cache-line round trip between the two CPUs, measured in the same run."}))
	if len(ins) > 0 && len(mapCells(ins[0].File)) > 0 {
		f := ins[0].File
		add(&Fig{Name: "ringmap", Title: ringMapTitle, Caption: ringMapCaption + " (" + ins[0].Label + ")", Workload: "ring",
			Draw: func(dir string) error { _, err := ringMapFigure(f, dir); return err }})
	}
	add(barFigure(ins, st, barSpec{name: "fidelity", title: "Go fan-in against its C twin", workload: "fidelity", metric: "go/c",
		xlabel: "Go events/s ÷ C events/s (median)", ref: fidelityTarget, refLabel: "target 0.9",
		caption: "Each kernel backend's Go fan-in and its C twin (the same loop over raw system calls), alternating round by round."}))
	return figs, nil
}

// ringShown selects the ring lab rows the figure and the findings compare:
// the designs side by side on kevent's 40-byte ukevent, one publication per
// event, across CPUs.
func ringShown(r *results.Result) bool {
	return strings.Contains(r.Variant, " 40B ") && strings.Contains(r.Variant, " b1 ") && strings.HasSuffix(r.Variant, " cross")
}

// fidelityTarget is the Go/C ratio the fidelity workload holds Go to.
const fidelityTarget = 0.9
