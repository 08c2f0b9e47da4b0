package results

import (
	"encoding/csv"
	"io"
	"os"
	"sort"
	"strconv"
)

// WriteCSV writes one line per repetition: identity, status, accounting and
// every metric of every row (empty where a row lacks it).
func WriteCSV(w io.Writer, f *File) error {
	unitSet := map[string]bool{}
	paramSet := map[string]bool{}
	for _, r := range f.Results {
		for _, u := range r.Units {
			unitSet[u.Name] = true
		}
		for k := range r.Params {
			paramSet[k] = true
		}
	}
	units := sortedKeys(unitSet)
	params := sortedKeys(paramSet)
	cw := csv.NewWriter(w)
	head := []string{"workload", "backend", "variant", "status", "reason", "rep", "generated", "collected", "lost", "dup"}
	head = append(head, params...)
	head = append(head, units...)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range f.Results {
		base := []string{r.Workload, r.Backend, r.Variant, string(r.Status), r.Reason}
		samples := r.Samples
		if len(samples) == 0 {
			samples = []Sample{{Rep: -1}}
		}
		for _, s := range samples {
			row := append([]string{}, base...)
			row = append(row, strconv.Itoa(s.Rep),
				strconv.FormatUint(s.Generated, 10), strconv.FormatUint(s.Collected, 10),
				strconv.FormatUint(s.Lost, 10), strconv.FormatUint(s.Dup, 10))
			for _, p := range params {
				row = append(row, r.Params[p])
			}
			for _, u := range units {
				if v, ok := s.Values[u]; ok {
					row = append(row, strconv.FormatFloat(v, 'g', 8, 64))
				} else {
					row = append(row, "")
				}
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSVFile writes the CSV file atomically.
func WriteCSVFile(path string, f *File) error {
	return WriteAtomic(path, func(w *os.File) error { return WriteCSV(w, f) })
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
