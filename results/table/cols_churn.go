package table

func init() {
	Columns["churn"] = []Column{
		{"ctl/s", "ctl/s", true},
		{"ctl ns/op", "ctl-ns/op", false},
		{"ctl sys/op", "ctl-syscalls/op", false},
		{"events/s", "events/s", false},
		{"sys/ev", "syscalls/event", false},
		{"cons ns/ev", "consumer-cpu-ns/event", false},
		{"stale", "stale", false},
	}
}
