package table

func init() {
	Columns["echo"] = []Column{
		{"req/s", "requests/s", true},
		{"offered/s", "offered/s", false},
		{"p50 ns", "p50-ns", false},
		{"p99 ns", "p99-ns", true},
		{"p99.9 ns", "p99.9-ns", false},
		{"sys/req", "syscalls/req", false},
		{"srv ns/req", "server-cpu-ns/req", false},
		{"cli ns/req", "client-cpu-ns/req", false},
		{"helper ns/req", "helper-cpu-ns/req", false},
		{"mismatch", "mismatches", false},
	}
}
