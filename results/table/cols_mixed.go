package table

// Mixed rows: one Wait serving descriptors, timers, a signal and user
// events. The default table shows the rate of all deliveries, each kind's
// p99 latency from its intended time (a timer's from its programmed
// expiry: lateness) and the longest a kind waited while others were
// served; the wide table adds medians, maxima, each kind's starvation and
// coalescing, and the collector's cost.
func init() {
	Columns["mixed"] = []Column{
		{"events/s", "events/s", true},
		{"fd p99", "fd-p99-ns", false},
		{"timer p99", "timer-p99-ns", false},
		{"signal p99", "signal-p99-ns", false},
		{"user p99", "user-p99-ns", false},
		{"starve ns", "worst-starve-ns", false},
		{"fd p50", "fd-p50-ns", false},
		{"timer p50", "timer-p50-ns", false},
		{"signal p50", "signal-p50-ns", false},
		{"user p50", "user-p50-ns", false},
		{"fd max", "fd-max-ns", false},
		{"timer max", "timer-max-ns", false},
		{"signal max", "signal-max-ns", false},
		{"user max", "user-max-ns", false},
		{"fd starve", "fd-starve-ns", false},
		{"timer starve", "timer-starve-ns", false},
		{"signal starve", "signal-starve-ns", false},
		{"user starve", "user-starve-ns", false},
		{"exp/ev", "timer-per-event", false},
		{"sig/ev", "signal-per-event", false},
		{"posts/ev", "user-per-event", false},
		{"ev/wait", "events/wait", false},
		{"sys/ev", "syscalls/event", false},
		{"drain/ev", "drain-syscalls/event", false},
		{"cons ns/ev", "consumer-cpu-ns/event", false},
	}
	Narrow["mixed"] = []string{"events/s", "fd-p99-ns", "timer-p99-ns", "signal-p99-ns", "user-p99-ns", "worst-starve-ns"}
}
