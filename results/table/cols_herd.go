package table

// Herd's rows are a variant in an arrangement with W waiters ("et repl-excl
// W4"). The default table shows what the wake-up policies cost: wasted
// wake-ups from the waiters' own returns and from their voluntary context
// switches, fairness and tail latency, within 120 columns for the longest
// label of the herd suite (TestHerdTableFits); the wide table adds copies
// of each firing, CPU per event and the rest.
func init() {
	Columns["herd"] = []Column{
		{"events/s", "events/s", true},
		{"wasted/ev", "wasted/event", false},
		{"csw/ev", "csw/event", false},
		{"copies/ev", "copies/event", false},
		{"stale/ev", "stale/event", false},
		{"empty/ev", "empty/event", false},
		{"fair", "fairness", false},
		{"p50 ns", "p50-ns", false},
		{"p99 ns", "p99-ns", false},
		{"sys/ev", "syscalls/event", false},
		{"wait ns/ev", "waiter-cpu-ns/event", false},
		{"cpu ns/ev", "total-cpu-ns/event", false},
	}
	Narrow["herd"] = []string{"events/s", "wasted/event", "csw/event", "fairness", "p99-ns"}
	// The accept herd's rows have the same metrics, a connection for an
	// event, and the connects the loopback answered with a reset.
	Columns["accept"] = append(append([]Column(nil), Columns["herd"]...), Column{"resets", "connect-resets", false})
	Narrow["accept"] = Narrow["herd"]
}
