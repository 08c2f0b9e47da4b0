package table

func init() {
	Columns["overflow"] = []Column{
		{"events/s", "events/s", true},
		{"burst ms", "burst-ms", true},
		{"fire ns/ev", "fire-ns/event", false},
		{"ev/wait", "events/wait", false},
		{"sys/ev", "syscalls/event", false},
		{"cons ns/ev", "consumer-cpu-ns/event", false},
	}
}
