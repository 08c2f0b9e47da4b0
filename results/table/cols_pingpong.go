package table

// Pingpong rows carry figures per placement and load ("@within-1",
// "@within-many", "@cross-1", "@cross-many"): round-trip median and p99,
// and the hop rate with many tokens in flight.
func init() {
	Columns["pingpong"] = []Column{
		{"rt p50@within-1", "rt-p50-ns@within-1", false},
		{"rt p99@within-1", "rt-p99-ns@within-1", false},
		{"rt p50@cross-1", "rt-p50-ns@cross-1", true},
		{"rt p99@cross-1", "rt-p99-ns@cross-1", false},
		{"rt p50@within-many", "rt-p50-ns@within-many", false},
		{"rt p50@cross-many", "rt-p50-ns@cross-many", false},
		{"hops/s@within-many", "hops/s@within-many", false},
		{"hops/s@cross-many", "hops/s@cross-many", false},
	}
}
