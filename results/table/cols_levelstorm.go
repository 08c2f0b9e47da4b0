package table

// Levelstorm rows: the fired sources' latency beside always-ready level
// sources, and the share of collected events that were level ones. kevent
// zach rows add their zach_n sweep points ("@n=1", "@n=16"); the
// unsuffixed figures are each variant's default configuration.
func init() {
	Columns["levelstorm"] = []Column{
		{"edge p50 ns", "edge-p50-ns", false},
		{"edge p99 ns", "edge-p99-ns", true},
		{"raw p99", "edge-raw-p99-ns", false},
		{"edge max ns", "edge-max-ns", false},
		{"level share", "level-share", false},
		{"level/wait", "level/wait", false},
		{"sys/wait", "syscalls/wait", false},
		{"achieved", "achieved-ratio", false},
		{"p99@n=1", "edge-p99-ns@n=1", false},
		{"share@n=1", "level-share@n=1", false},
		{"p99@n=16", "edge-p99-ns@n=16", false},
		{"share@n=16", "level-share@n=16", false},
	}
}
