package table

import "strconv"

// Scale's metrics are measured at each N and named "metric@N"; the table
// shows the default and --quick points and the 100k point when it was run
// (columns without values are dropped). The JSON and CSV hold every metric
// at every point, system calls per event and per registration included.
func init() {
	var cols []Column
	for _, m := range []struct{ header, metric string }{
		{"ns/ev", "collect-ns/event"},
		{"add/s", "adds/s"},
		{"mod/s", "mods/s"},
		{"del/s", "dels/s"},
	} {
		for _, n := range []struct {
			label string
			n     int
		}{{"100", 100}, {"1k", 1000}, {"10k", 10000}, {"100k", 100000}} {
			cols = append(cols, Column{Header: m.header + " " + n.label, Metric: m.metric + "@" + strconv.Itoa(n.n)})
		}
	}
	Columns["scale"] = cols
}
