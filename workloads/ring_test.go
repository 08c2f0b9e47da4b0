package workloads

import (
	"strings"
	"testing"

	"kbench/results"
	"kbench/ringlab"
)

// TestRingRows: a suite row carries the unchecked samples, the harness
// cost of the same round and the measured work; a map cell becomes one row
// with its winner in the parameters, the margin per round and the verdict.
func TestRingRows(t *testing.T) {
	r := ringlab.Row{Design: ringlab.Owned, SlotSize: 16, Pattern: ringlab.Stream, Batch: 1, ConsumerCPU: 1,
		NsPerEvent: []float64{10, 12}, EventsPerSec: []float64{1e8, 1e8 / 1.2}, NetNsPerEvent: []float64{8, 9},
		WorkNs: 100, WorkMeasuredNs: []float64{101, 99}, Generated: 4, Received: 4}
	res := ringResult(r, 1, nil)
	if res.Status != results.StatusOK || res.Params["work_ns"] != "100" {
		t.Fatalf("row %+v", res)
	}
	if v := res.Samples[1].Values; v["net-ns/event"] != 9 || v["harness-ns/event"] != 3 || v["work-measured-ns"] != 99 {
		t.Fatalf("sample 1: %v", v)
	}
	c := ringlab.Cells([]ringlab.Row{
		{Design: ringlab.Owned, Pattern: ringlab.Stream, SlotSize: 16, WorkNs: 0, NetNsPerEvent: []float64{10, 10, 10, 10, 10}, Generated: 5, Received: 5},
		{Design: ringlab.Split, Pattern: ringlab.Stream, SlotSize: 16, WorkNs: 0, NetNsPerEvent: []float64{15, 15, 15, 15, 15}, Generated: 5, Received: 5},
	}, []int{16, 16})[0]
	m := ringMapResult(c, 256, 0, 1)
	if m.Variant != "stream b16 16B w0" || m.Params["winner"] != ringlab.Owned || m.Params["significant"] != "true" ||
		m.Status != results.StatusOK || !strings.HasPrefix(m.Reason, "owned by 50%") {
		t.Fatalf("map row %+v", m)
	}
	if st, ok := m.Summary("margin-%"); !ok || st.Median != 50 || st.N != 5 {
		t.Fatalf("margin %+v", st)
	}
	if g, _, _, _ := m.Totals(); g != 10 {
		t.Fatalf("generated %d", g)
	}
}
