package plots

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"kbench/results"
)

func mapResult(pattern string, batch, size int, work int64, winner string, sig bool, margins ...float64) results.Result {
	r := results.Result{Workload: "ring", Backend: "map", Status: results.StatusOK,
		Params: map[string]string{"map": "1", "pattern": pattern, "batch_asked": strconv.Itoa(batch),
			"slot_size": strconv.Itoa(size), "work_ns": strconv.FormatInt(work, 10),
			"winner": winner, "significant": strconv.FormatBool(sig)}}
	for i, m := range margins {
		r.Samples = append(r.Samples, results.Sample{Rep: i, Values: map[string]float64{"margin-%": m}})
	}
	return r
}

func TestMapCells(t *testing.T) {
	f := &results.File{Results: []results.Result{
		mapResult("stream", 1, 16, 100, "split", true, 10, 30, 20),
		{Workload: "ring", Backend: "ring", Variant: "owned 40B stream b1 cross", Status: results.StatusOK,
			Params: map[string]string{}, Samples: []results.Sample{{Values: map[string]float64{"ns/event": 5}}}},
	}}
	cells := mapCells(f)
	if len(cells) != 1 {
		t.Fatalf("%d cells, want only the map row", len(cells))
	}
	c := cells[0]
	if c.pattern != "stream" || c.batch != 1 || c.size != 16 || c.work != 100 || c.winner != "split" || !c.significant || c.margin != 0.2 {
		t.Fatalf("cell %+v", c)
	}
	if shade(0) != 0.2 || shade(1) != 1 || shade(5) != 1 || shade(-1) != 0.2 {
		t.Fatal("shade out of its range")
	}
}

// TestRingMapFigure draws a small map and checks both files appear; a file
// without map rows draws nothing.
func TestRingMapFigure(t *testing.T) {
	dir := t.TempDir()
	f := &results.File{}
	if drawn, err := ringMapFigure(f, dir); err != nil || drawn {
		t.Fatalf("no map rows: drawn %v, %v", drawn, err)
	}
	for _, pat := range mapPatterns {
		for _, w := range []int64{0, 100, 1000} {
			f.Results = append(f.Results,
				mapResult(pat, 1, 16, w, "owned", true, 50),
				mapResult(pat, 16, 16, w, "split", false, 2))
		}
	}
	// Through the report's path: Figures finds the map, Render draws it.
	figs, err := Figures([]*Input{{File: f, Label: "run"}})
	if err != nil {
		t.Fatal(err)
	}
	var fig *Fig
	for _, x := range figs {
		if x.Name == "ringmap" {
			fig = x
		}
	}
	if fig == nil {
		t.Fatalf("no ringmap figure among %d", len(figs))
	}
	if err := Render(fig, dir); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ringmap.png", "ringmap.svg"} {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", n, err)
		}
	}
}
