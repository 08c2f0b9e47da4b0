package table

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"kbench/results"
)

// worstRows are rows of a workload at their widest: a long variant name,
// every column's metric with six repetitions (so the headline gets its
// ±interval), a noisy status with a long reason, a skipped row.
func worstRows(workload string) []results.Result {
	var samples []results.Sample
	for rep := 0; rep < 6; rep++ {
		v := map[string]float64{}
		for _, c := range Columns[workload] {
			// A latency row has either the sweep's points or one
			// absolute rate= point, never both.
			if workload == "latency" && strings.HasSuffix(c.Metric, "@rate") {
				continue
			}
			// Ring rows are the suite's or the design map's cells (with
			// margin and each design's figure), never both.
			if workload == "ring" && (c.Metric == "margin-%" || strings.Contains(c.Metric, " ")) {
				continue
			}
			v[c.Metric] = 1234567.0 * (1 + 0.03*float64(rep))
		}
		samples = append(samples, results.Sample{Rep: rep, Generated: 1e6, Collected: 1e6, Values: v})
	}
	ivs := map[string]results.Interval{}
	for _, c := range Columns[workload] {
		ivs[c.Metric] = results.Interval{Median: 1.3e6, Lo: 1.23e6, Hi: 1.43e6, Confidence: 0.969, N: 6}
	}
	long := "interference 48% of the pinned CPUs (threshold 10%); ±23% wide (threshold 10%); two clusters: 4 reps near 2.6M, 2 near 7.8M"
	return []results.Result{
		{Workload: workload, Backend: "iouring", Variant: "sqpoll-multishot", Status: results.StatusNoisy, Reason: long,
			Samples: samples, Trust: &results.Trust{Intervals: ivs}},
		{Workload: workload, Backend: "kevent", Variant: "take29-user", Status: results.StatusOK, Samples: samples,
			Trust: &results.Trust{Intervals: ivs}},
		{Workload: workload, Backend: "aioring", Variant: "ring-oneshot", Status: results.StatusSkipped,
			Reason: "io_setup: resource temporarily unavailable (aio-max-nr exhausted)"},
	}
}

func workloadsWithColumns() []string {
	var names []string
	for w := range Columns {
		names = append(names, w)
	}
	slices.Sort(names)
	return names
}

// Every default table fits 120 columns, whatever its rows say.
func TestDefaultTablesFit(t *testing.T) {
	for _, w := range workloadsWithColumns() {
		var b bytes.Buffer
		if err := Render(&b, w, worstRows(w)); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(line); n > 120 {
				t.Errorf("%s: a line of %d columns:\n%s", w, n, line)
				break
			}
		}
	}
}

// Every table, default and wide, against its golden file.
func TestTablesGolden(t *testing.T) {
	for _, w := range workloadsWithColumns() {
		for _, wide := range []bool{false, true} {
			var b bytes.Buffer
			if err := Write(&b, w, worstRows(w), Options{Wide: wide}); err != nil {
				t.Fatal(err)
			}
			name := w
			if wide {
				name += "-wide"
			}
			golden := filepath.Join("testdata", "worst-"+name+".golden")
			if *update {
				os.WriteFile(golden, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s table differs from %s:\n%s\nwant:\n%s", name, golden, b.String(), want)
			}
		}
	}
}

func TestMarkdownAndCSV(t *testing.T) {
	rows := worstRows("fanin")
	var md, cs bytes.Buffer
	if err := Write(&md, "fanin", rows, Options{Format: "markdown"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| variant |") || !strings.Contains(md.String(), "| iouring/sqpoll-multishot |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if err := Write(&cs, "fanin", rows, Options{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(cs.String(), "\n"); got != 1+len(rows) {
		t.Errorf("csv has %d lines, want %d:\n%s", got, 1+len(rows), cs.String())
	}
	if err := Write(&cs, "fanin", rows, Options{Format: "xml"}); err == nil {
		t.Errorf("format xml accepted")
	}
}

// A Narrow entry names only metrics its workload's columns have: a typo
// would silently drop a headline column.
func TestNarrowNamesColumns(t *testing.T) {
	for w, metrics := range Narrow {
		for _, m := range metrics {
			if !slices.ContainsFunc(Columns[w], func(c Column) bool { return c.Metric == m }) {
				t.Errorf("Narrow[%s] names %q, which is no column of %s", w, m, w)
			}
		}
	}
	_ = fmt.Sprint()
}
