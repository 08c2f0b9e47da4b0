package table

// The ring table serves two kinds of rows, and present() drops the columns
// a run has no values for: the suite's rows (one design at one size,
// pattern and batch: measured, net of the harness's checks, against the
// floor and the C twin) and, with lab_map=1, the design map's rows (one
// cell each: its winner's margin over the runner-up with the min–max over
// rounds, and every design's net ns/event; the verdict is in the status).
func init() {
	Columns["ring"] = []Column{
		{"ns/ev", "ns/event", true},
		{"net ns/ev", "net-ns/event", false},
		{"harness", "harness-ns/event", false},
		{"× floor", "floor-multiple", false},
		{"C ns/ev", "c-ns/event", false},
		{"Go/C", "go/c", false},
		{"net Go/C", "net-go/c", false},
		{"work ns", "work-measured-ns", false},
		{"preempt/rep", "preempted", false},
		{"margin %", "margin-%", true},
		{"owned", "owned net-ns/event", false},
		{"owned-pow2", "owned-pow2 net-ns/event", false},
		{"shared", "shared net-ns/event", false},
		{"split", "split net-ns/event", false},
		{"take29", "take29 net-ns/event", false},
		{"busy", "busy net-ns/event", false},
	}
}
