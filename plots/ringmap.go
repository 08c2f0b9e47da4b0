package plots

import (
	"fmt"
	"image/color"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kbench/results"
)

// designColours gives each ring design one colour in the map.
var designColours = map[string]color.RGBA{
	"owned":      {R: 200, G: 40, B: 40, A: 255},
	"owned-pow2": {R: 235, G: 140, B: 20, A: 255},
	"shared":     {R: 40, G: 90, B: 200, A: 255},
	"split":      {R: 30, G: 150, B: 70, A: 255},
	"take29":     {R: 130, G: 60, B: 170, A: 255},
	"busy":       {R: 120, G: 90, B: 60, A: 255},
}

var mapPatterns = []string{"stream", "burst", "lockstep"}

// mapCell is one drawn cell of the ring design map.
type mapCell struct {
	pattern     string
	batch, size int
	work        int64
	winner      string
	margin      float64 // median margin, fraction
	significant bool
}

// mapCells reads the design map's rows (ring rows with params map=1) from f.
func mapCells(f *results.File) []mapCell {
	var cells []mapCell
	for _, r := range measured(f, "ring") {
		if r.Params["map"] != "1" {
			continue
		}
		c := mapCell{pattern: r.Params["pattern"], winner: r.Params["winner"], significant: r.Params["significant"] == "true"}
		c.batch, _ = strconv.Atoi(r.Params["batch_asked"])
		c.size, _ = strconv.Atoi(r.Params["slot_size"])
		c.work, _ = strconv.ParseInt(r.Params["work_ns"], 10, 64)
		if st, ok := r.Summary("margin-%"); ok {
			c.margin = st.Median / 100
		}
		cells = append(cells, c)
	}
	return cells
}

// shade is how strongly a winner's colour fills its cell: pale for a
// margin near zero, full from a 100 % margin (twice as fast) up.
func shade(margin float64) float64 { return 0.2 + 0.8*min(max(margin, 0), 1) }

func blend(c color.RGBA, s float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(255 - s*(255-float64(v))) }
	return color.RGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 255}
}

// ringMapTitle and ringMapCaption head the design map's figure.
const (
	ringMapTitle   = "Ring design map: which design wins where"
	ringMapCaption = "Each cell is one access pattern × batch × payload size × application work per event on the consumer; " +
		"its colour is the design with the lowest median ns/event (consumer checks off, designs interleaved round by round), " +
		"its shade and label the margin over the runner-up (median of same-round ratios). " +
		"Grey with ≈: no design beat every other in every round (no significant winner)."
)

// ringMapFigure draws the design map when the file has it (and says
// whether it did): one panel per
// pattern, work per event across, batch × payload size down; each cell in
// its winner's colour, shaded by the margin over the runner-up, and grey
// with "≈" where no design won in every round.
func ringMapFigure(f *results.File, dir string) (bool, error) {
	cells := mapCells(f)
	if len(cells) == 0 {
		return false, nil
	}
	var works []int64
	type rowKey struct{ batch, size int }
	var rows []rowKey
	for _, c := range cells {
		if !slices.Contains(works, c.work) {
			works = append(works, c.work)
		}
		if k := (rowKey{c.batch, c.size}); !slices.Contains(rows, k) {
			rows = append(rows, k)
		}
	}
	slices.Sort(works)
	slices.SortFunc(rows, func(a, b rowKey) int {
		if a.batch != b.batch {
			return b.batch - a.batch // batch 1 at the top
		}
		return b.size - a.size
	})
	var panels []*plot.Plot
	winners := map[string]bool{}
	for _, pat := range mapPatterns {
		p := plot.New()
		p.Title.Text = pat
		p.X.Label.Text = "work per event (ns)"
		var xt, yt []plot.Tick
		for i, w := range works {
			xt = append(xt, plot.Tick{Value: float64(i), Label: strconv.FormatInt(w, 10)})
		}
		for j, k := range rows {
			yt = append(yt, plot.Tick{Value: float64(j), Label: fmt.Sprintf("b%d %dB", k.batch, k.size)})
		}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
		p.X.Min, p.X.Max = -0.5, float64(len(works))-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(len(rows))-0.5
		var labels plotter.XYLabels
		drawn := 0
		for _, c := range cells {
			if c.pattern != pat {
				continue
			}
			x := float64(slices.Index(works, c.work))
			y := float64(slices.Index(rows, rowKey{c.batch, c.size}))
			fill, text := color.RGBA{R: 215, G: 215, B: 215, A: 255}, "≈ "+c.winner
			if c.significant {
				fill, text = blend(designColours[c.winner], shade(c.margin)), fmt.Sprintf("%s\n+%.0f%%", c.winner, 100*c.margin)
				winners[c.winner] = true
			}
			poly, err := plotter.NewPolygon(plotter.XYs{{X: x - 0.5, Y: y - 0.5}, {X: x + 0.5, Y: y - 0.5},
				{X: x + 0.5, Y: y + 0.5}, {X: x - 0.5, Y: y + 0.5}})
			if err != nil {
				return false, err
			}
			poly.Color, poly.LineStyle.Color, poly.LineStyle.Width = fill, color.White, vg.Points(1)
			p.Add(poly)
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: y})
			labels.Labels = append(labels.Labels, text)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return false, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(6)
			lb.TextStyle[i].XAlign, lb.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
		}
		p.Add(lb)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return false, nil
	}
	lg := plot.NewLegend()
	for _, d := range slices.Sorted(maps.Keys(winners)) {
		sw, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			return false, err
		}
		sw.Color, sw.LineStyle.Width = designColours[d], 0
		lg.Add(d, sw)
	}
	return true, saveTiles(panels, lg, dir, "ringmap", 3.2*vg.Inch, vg.Points(float64(90+34*len(rows))))
}

// saveTiles draws panels side by side with lg in a strip on the right.
func saveTiles(panels []*plot.Plot, lg plot.Legend, dir, name string, panelW, h vg.Length) error {
	const legendW = 1.3 * vg.Inch
	w := panelW*vg.Length(len(panels)) + legendW
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w, h, format)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		dc := draw.New(c)
		t := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(4)}
		area := draw.Crop(dc, 0, -legendW, 0, 0)
		for i, p := range panels {
			p.Draw(t.At(area, i, 0))
		}
		lg.Top, lg.Left = true, true
		lg.Draw(draw.Crop(dc, w-legendW+vg.Points(6), 0, 0, -vg.Points(24)))
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
