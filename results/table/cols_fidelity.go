package table

func init() {
	Columns["fidelity"] = []Column{
		{"go/c", "go/c", true},
		{"go/c cpu", "go/c-cpu", true},
		{"go ev/s", "go-events/s", true},
		{"c ev/s", "c-events/s", true},
		{"go sys/ev", "go-syscalls/event", false},
		{"c sys/ev", "c-syscalls/event", false},
		{"go ev/wait", "go-events/wait", false},
		{"c ev/wait", "c-events/wait", false},
		{"go cons ns/ev", "go-consumer-cpu-ns/event", false},
		{"c cons ns/ev", "c-consumer-cpu-ns/event", false},
		{"go prod ns/ev", "go-producer-cpu-ns/event", false},
		{"c prod ns/ev", "c-producer-cpu-ns/event", false},
		{"go preempt/s", "go-preemptions/s", false},
		{"c preempt/s", "c-preemptions/s", false},
	}
}
