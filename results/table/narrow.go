package table

// The default terminal tables: each workload's headline metrics, chosen so
// that a table fits 120 columns (TestDefaultTablesFit). Everything else is
// in `--wide`, the files and the report.
func init() {
	Narrow["latency"] = []string{"capacity/s", "p50-ns@10%", "p99-ns@50%", "p99-ns@90%", "raw-p99-ns@90%",
		"achieved-ratio@90%", "target/s@rate", "p50-ns@rate", "p99-ns@rate", "achieved-ratio@rate"}
	Narrow["fidelity"] = []string{"go/c", "go-events/s", "c-events/s", "go-preemptions/s", "c-preemptions/s"}
	Narrow["levelstorm"] = []string{"edge-p50-ns", "edge-p99-ns", "level-share", "syscalls/wait",
		"edge-p99-ns@n=1", "edge-p99-ns@n=16"}
	Narrow["pingpong"] = []string{"rt-p50-ns@within-1", "rt-p50-ns@cross-1", "rt-p99-ns@cross-1",
		"hops/s@within-many", "hops/s@cross-many"}
	Narrow["echo"] = []string{"requests/s", "p50-ns", "p99-ns", "syscalls/req", "server-cpu-ns/req", "mismatches"}
	Narrow["churn"] = []string{"ctl/s", "ctl-ns/op", "events/s", "syscalls/event", "stale"}
	Narrow["scale"] = []string{"collect-ns/event@100", "collect-ns/event@1000", "collect-ns/event@10000",
		"collect-ns/event@100000", "adds/s@1000", "adds/s@10000", "dels/s@10000"}
	Narrow["ring"] = []string{"ns/event", "net-ns/event", "floor-multiple", "c-ns/event", "go/c",
		"margin-%", "owned net-ns/event", "owned-pow2 net-ns/event", "shared net-ns/event", "split net-ns/event",
		"take29 net-ns/event", "busy net-ns/event"}
}
