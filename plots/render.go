package plots

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kbench/results"
)

const (
	plotWidth   = 6.6 * vg.Inch
	legendWidth = 2.5 * vg.Inch
	lineHeight  = 3.2 * vg.Inch
	// panelGap separates a panel's title from the axis label above it.
	panelGap = 10
)

// Render draws fig as dir/Name.png and dir/Name.svg: its panels stacked,
// each with its legend in a strip to its right, never over a curve.
func Render(fig *Fig, dir string) error {
	if fig.Draw != nil {
		return fig.Draw(dir)
	}
	heights := make([]vg.Length, len(fig.Panels))
	var total vg.Length
	for i := range fig.Panels {
		heights[i] = panelHeight(&fig.Panels[i])
		total += heights[i]
	}
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(plotWidth+legendWidth, total, format)
		if err != nil {
			return fmt.Errorf("plot %s: %w", fig.Name, err)
		}
		dc := draw.New(c)
		top := vg.Length(0)
		for i := range fig.Panels {
			bottom := total - top - heights[i]
			p, lg, err := panelPlot(&fig.Panels[i])
			if err != nil {
				return fmt.Errorf("plot %s: %w", fig.Name, err)
			}
			p.Draw(draw.Crop(dc, vg.Points(6), -legendWidth, bottom, -top-panelGap))
			lg.Top, lg.Left = true, true
			lg.Draw(draw.Crop(dc, plotWidth+vg.Points(4), 0, bottom, -top-vg.Points(20)))
			top += heights[i]
		}
		path := filepath.Join(dir, fig.Name+"."+format)
		if err := results.WriteAtomic(path, func(f *os.File) error {
			_, err := c.WriteTo(f)
			return err
		}); err != nil {
			return fmt.Errorf("plot %s: %w", fig.Name, err)
		}
	}
	return nil
}

func panelHeight(p *Panel) vg.Length {
	if len(p.Cats) == 0 {
		return lineHeight
	}
	per := 11 * max(1, 0.8*float64(len(p.Series)))
	return vg.Points(80 + per*float64(len(p.Cats)))
}

func rgba(hex string, alpha uint8) color.Color {
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil || len(hex) != 7 {
		return color.Black
	}
	// Premultiplied, as color.RGBA wants.
	a := uint32(alpha)
	return color.RGBA{R: uint8(uint32(v>>16&0xff) * a / 255), G: uint8(uint32(v>>8&0xff) * a / 255), B: uint8(uint32(v&0xff) * a / 255), A: alpha}
}

func dashes(i int) []vg.Length {
	var out []vg.Length
	for _, d := range dashPatterns[i%len(dashPatterns)] {
		out = append(out, vg.Points(d))
	}
	return out
}

func newLegend() plot.Legend {
	lg := plot.NewLegend()
	lg.TextStyle.Font.Size = vg.Points(8)
	lg.ThumbnailWidth = vg.Points(22)
	return lg
}

func panelPlot(pn *Panel) (*plot.Plot, plot.Legend, error) {
	p := plot.New()
	p.Title.Text = pn.Title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text, p.Y.Label.Text = pn.XLabel, pn.YLabel
	if pn.Cats != nil {
		lg, err := barPanel(p, pn)
		return p, lg, err
	}
	lg, err := linesPanel(p, pn)
	return p, lg, err
}

// box is a legend thumbnail of a filled colour.
type box struct{ c color.Color }

func (b box) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.c, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	})
}

func barPanel(p *plot.Plot, pn *Panel) (plot.Legend, error) {
	lg := newLegend()
	b := &barsPlotter{pn: pn}
	p.Add(plotter.NewGrid())
	p.Add(b)
	lo, hi := math.Inf(1), 0.0
	for _, s := range pn.Series {
		for _, q := range s.Pts {
			for _, v := range []float64{q.Y, q.Lo, q.Hi} {
				if v > 0 {
					lo = min(lo, v)
				}
				hi = max(hi, v)
			}
		}
	}
	hi = max(hi, pn.Ref)
	if hi <= 0 {
		hi = 1
	}
	if pn.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = siLogTicks{}
		p.X.Min, p.X.Max = lo/2, hi*1.5
	} else {
		p.X.Tick.Marker = siTicks{}
		p.X.Min, p.X.Max = 0, hi*1.05
	}
	names := make([]string, len(pn.Cats))
	for i, s := range pn.Cats {
		names[len(pn.Cats)-1-i] = s
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.5, float64(len(pn.Cats))-0.5
	if len(pn.Series) > 1 {
		for i, s := range pn.Series {
			if len(s.Pts) > 0 {
				lg.Add(pn.Series[i].Label, box{rgba(s.Color, 255)})
			}
		}
	} else {
		seen := map[string]bool{}
		for i, c := range pn.CatColors {
			if !seen[c] {
				seen[c] = true
				lg.Add(familyOf(pn.Cats[i]), box{rgba(c, 255)})
			}
		}
	}
	if pn.Ref > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: pn.Ref, Y: -0.5}, {X: pn.Ref, Y: float64(len(pn.Cats)) - 0.5}})
		if err != nil {
			return lg, err
		}
		l.Color = color.RGBA{R: 200, A: 255}
		l.Dashes = dashes(1)
		p.Add(l)
		lg.Add(pn.RefLabel, l)
	}
	return lg, nil
}

func familyOf(cat string) string {
	for i := 0; i < len(cat); i++ {
		if cat[i] == '/' || cat[i] == ' ' {
			return cat[:i]
		}
	}
	return cat
}

// barsPlotter draws grouped horizontal bars from the axis' left edge (so
// that a log axis never sees zero) with their interval whiskers.
type barsPlotter struct{ pn *Panel }

func (b *barsPlotter) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	n, k := len(b.pn.Cats), len(b.pn.Series)
	const band = 0.8
	h := band / float64(k)
	clampX := func(v float64) vg.Length { return trX(max(v, plt.X.Min)) }
	x0 := trX(plt.X.Min)
	for j, s := range b.pn.Series {
		for _, q := range s.Pts {
			if isLog(plt) && q.Y <= 0 {
				continue // not drawable on a log axis
			}
			cat := int(q.X)
			col := s.Color
			if col == "" {
				col = b.pn.CatColors[cat]
			}
			yc := float64(n-1-cat) + band/2 - (float64(j)+0.5)*h
			ya, yb := trY(yc-h/2*0.9), trY(yc+h/2*0.9)
			x1 := clampX(q.Y)
			c.FillPolygon(rgba(col, 255), []vg.Point{{X: x0, Y: ya}, {X: x1, Y: ya}, {X: x1, Y: yb}, {X: x0, Y: yb}})
			if q.Hi > q.Lo {
				ls := draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}
				y := trY(yc)
				cap := min(vg.Points(2.5), (yb-ya)/2)
				l, r := clampX(q.Lo), clampX(q.Hi)
				c.StrokeLine2(ls, l, y, r, y)
				c.StrokeLine2(ls, l, y-cap, l, y+cap)
				c.StrokeLine2(ls, r, y-cap, r, y+cap)
			}
		}
	}
}

func isLog(plt *plot.Plot) bool {
	_, ok := plt.X.Scale.(plot.LogScale)
	return ok
}

// spectrumTicks label 1/(1-q) with the percentile it stands for.
type spectrumTicks struct{}

func (spectrumTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, t := range []struct {
		x float64
		l string
	}{{2, "50%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}, {1e6, "99.9999%"}} {
		if t.x >= min && t.x <= max*1.0001 {
			ts = append(ts, plot.Tick{Value: t.x, Label: t.l})
		}
	}
	return ts
}

func linesPanel(p *plot.Plot, pn *Panel) (plot.Legend, error) {
	lg := newLegend()
	p.Add(plotter.NewGrid())
	if pn.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = siLogTicks{}
	} else {
		p.X.Tick.Marker = siTicks{}
	}
	if pn.Spectrum {
		p.X.Tick.Marker = spectrumTicks{}
	}
	if pn.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = siLogTicks{}
	} else {
		p.Y.Tick.Marker = siTicks{}
	}
	drawable := func(x, y float64) bool {
		return !(pn.LogX && x <= 0) && !(pn.LogY && y <= 0) && !math.IsNaN(x) && !math.IsNaN(y)
	}
	raw := false
	for _, s := range pn.Series {
		var xys plotter.XYs
		var errs plotter.YErrors
		for _, q := range s.Pts {
			if !drawable(q.X, q.Y) {
				continue
			}
			xys = append(xys, plotter.XY{X: q.X, Y: q.Y})
			lo := q.Lo
			if pn.LogY && lo <= 0 {
				lo = q.Y
			}
			errs = append(errs, struct{ Low, High float64 }{q.Y - lo, q.Hi - q.Y})
		}
		if len(xys) < 2 {
			continue
		}
		alpha := uint8(255)
		if s.Faint {
			alpha = 90
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return lg, err
		}
		l.Color, l.Dashes, l.Width = rgba(s.Color, alpha), dashes(s.Dash), vg.Points(1.3)
		if s.Faint {
			l.Width = vg.Points(0.8)
		}
		p.Add(l)
		if pn.Spectrum {
			if s.Faint {
				raw = true
			} else {
				lg.Add(s.Label, l)
			}
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return lg, err
		}
		sc.Color, sc.Radius = rgba(s.Color, 255), vg.Points(2)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xys, errs})
		if err != nil {
			return lg, err
		}
		eb.Color = rgba(s.Color, 255)
		p.Add(sc, eb)
		lg.Add(s.Label, l, sc)
	}
	if raw {
		l, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: 2}})
		if err != nil {
			return lg, err
		}
		l.Color, l.Width = color.Gray{Y: 160}, vg.Points(0.8)
		lg.Add("faint: raw (from actual fire)", l)
	}
	if pn.Spectrum {
		p.X.Min = 1
	}
	return lg, nil
}

// siLogTicks are gonum's log ticks labelled like siTicks.
type siLogTicks struct{}

// Within a decade or two, powers of ten leave an axis with one label or
// none: then 2× and 5× are labelled too.
func (siLogTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.LogTicks{Prec: -1}.Ticks(min, max)
	labelled := 0
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
			if ts[i].Value >= min && ts[i].Value <= max {
				labelled++
			}
		}
	}
	if labelled >= 2 {
		return ts
	}
	for i := range ts {
		m := ts[i].Value / math.Pow(10, math.Floor(math.Log10(ts[i].Value)+1e-9))
		if math.Abs(m-2) < 1e-6 || math.Abs(m-5) < 1e-6 {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
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
