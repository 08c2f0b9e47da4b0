package table

// Break-even rows: the work per event (ns) at which the collector's own
// cost falls below 10 % and 1 % of its CPU, and the overhead share and
// batching along the sweep (the --quick sweep's points appear when that
// was run; columns without values are dropped).
func init() {
	Columns["breakeven"] = []Column{
		{"10% at ns", "breakeven-10%-work-ns", true},
		{"1% at ns", "breakeven-1%-work-ns", false},
		{"share@100", "overhead-share@w=100", false},
		{"share@300", "overhead-share@w=300", false},
		{"share@1000", "overhead-share@w=1000", false},
		{"share@3000", "overhead-share@w=3000", false},
		{"share@10000", "overhead-share@w=10000", false},
		{"ev/wait@0", "events/wait@w=0", false},
		{"ev/wait@1000", "events/wait@w=1000", false},
		{"ev/wait@10000", "events/wait@w=10000", false},
	}
	Narrow["breakeven"] = []string{"breakeven-10%-work-ns", "breakeven-1%-work-ns", "overhead-share@w=300",
		"overhead-share@w=1000", "overhead-share@w=3000", "events/wait@w=10000"}
}
