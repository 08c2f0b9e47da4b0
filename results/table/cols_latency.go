package table

// Latency rows carry one set of figures per sweep point ("@50%" of the
// probed capacity, or "@rate" for an absolute rate=): the table shows the
// corrected p99 at each load next to the uncorrected one, and how much of
// the top load's schedule the producer managed (below 0.99: saturated).
func init() {
	Columns["latency"] = []Column{
		{"capacity/s", "capacity/s", false},
		{"p50 ns@10%", "p50-ns@10%", false},
		{"p99 ns@10%", "p99-ns@10%", false},
		{"p99 ns@50%", "p99-ns@50%", true},
		{"raw p99@50%", "raw-p99-ns@50%", false},
		{"p99 ns@90%", "p99-ns@90%", false},
		{"raw p99@90%", "raw-p99-ns@90%", false},
		{"max ns@90%", "max-ns@90%", false},
		{"achieved@90%", "achieved-ratio@90%", false},
		{"target/s", "target/s@rate", false},
		{"p50 ns", "p50-ns@rate", false},
		{"p99 ns", "p99-ns@rate", true},
		{"raw p99", "raw-p99-ns@rate", false},
		{"p99.9 ns", "p99.9-ns@rate", false},
		{"max ns", "max-ns@rate", false},
		{"achieved", "achieved-ratio@rate", false},
	}
}
