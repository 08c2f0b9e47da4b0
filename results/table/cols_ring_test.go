package table

import (
	"bytes"
	"os"
	"testing"

	"kbench/results"
)

// TestRingMapGolden: a design-map run's table shows each cell's margin with
// its min–max over rounds, every design's net ns/event, and the verdict
// (winner or "no significant winner") in the status column; the suite's
// columns it has no values for are left out.
func TestRingMapGolden(t *testing.T) {
	cell := func(variant, verdict string, margins []float64, owned, split []float64) results.Result {
		r := results.Result{Workload: "ring", Backend: "map", Variant: variant, Status: results.StatusOK, Reason: verdict}
		for i := range margins {
			r.Samples = append(r.Samples, results.Sample{Generated: 10, Collected: 10, Values: map[string]float64{
				"margin-%": margins[i], "owned net-ns/event": owned[i], "split net-ns/event": split[i], "work-measured-ns": 103}})
		}
		return r
	}
	rows := []results.Result{
		cell("stream b1 16B w100", "owned by 20% [10–50%] over split", []float64{20, 10, 50}, []float64{110, 120, 100}, []float64{132, 132, 150}),
		cell("lockstep b16 64B w100", "no significant winner: split ≈ owned", []float64{5, -3, 8}, []float64{210, 190, 220}, []float64{200, 196, 204}),
	}
	var b bytes.Buffer
	if err := Render(&b, "ring", rows); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/ringmap.golden"
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("table differs from %s:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}
