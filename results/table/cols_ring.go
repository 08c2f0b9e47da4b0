package table

func init() {
	Columns["ring"] = []Column{
		{"ns/ev", "ns/event", true},
		{"events/s", "events/s", false},
		{"× floor", "floor-multiple", false},
		{"C ns/ev", "c-ns/event", false},
		{"Go/C", "go/c", false},
		{"preempted/rep", "preempted", false},
	}
}
