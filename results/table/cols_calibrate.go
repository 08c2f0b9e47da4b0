package table

func init() {
	Columns["calibrate"] = []Column{
		{"ns", "ns", true},
		{"p99 ns", "p99-ns", false},
		{"raw ns", "raw-ns", false},
	}
}
