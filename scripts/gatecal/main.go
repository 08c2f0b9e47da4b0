// Command gatecal prints the injected per-event cost scripts/gate-trials.sh
// builds into epoll's Wait: a fraction (default 10 %) of the collector's
// CPU per event in the given result files' epoll rows, as those runs
// measured it: per row, the median of its runs' medians; then the median
// over the rows. gate-trials.sh gives it every run of its A/A trials, so
// the cost is what an event cost the collector over the same stretch of
// time the injected trials then run in, busy or quiet.
//
//	go run ./scripts/gatecal [-backend epoll] [-metric consumer-cpu-ns/event] [-fraction 0.1] RESULT...
//
// Each RESULT is a JSON result file or a directory of them. It prints
// whole nanoseconds (at least 1) and, on stderr, what it measured.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"

	"kbench/results"
	"kbench/results/gate"
)

func main() {
	backend := flag.String("backend", "epoll", "rows of this backend")
	metric := flag.String("metric", "consumer-cpu-ns/event", "the per-event cost to take a fraction of")
	fraction := flag.Float64("fraction", 0.1, "the share of that cost to inject")
	flag.Parse()
	if flag.NArg() == 0 || *fraction <= 0 || math.IsNaN(*fraction) {
		fmt.Fprintln(os.Stderr, "usage: gatecal [-backend epoll] [-metric consumer-cpu-ns/event] [-fraction 0.1] RESULT...")
		os.Exit(2)
	}
	files, err := gate.Load(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatecal:", err)
		os.Exit(2)
	}
	runs := map[string][]float64{} // per row: its runs' medians
	for _, f := range files {
		for i := range f.Results {
			r := &f.Results[i]
			if r.Backend != *backend || !r.Status.Measured() {
				continue
			}
			if s, ok := r.Summary(*metric); ok {
				key := results.BenchName(r)
				runs[key] = append(runs[key], s.Median)
			}
		}
	}
	var meds []float64
	for _, v := range runs {
		meds = append(meds, results.Median(v))
	}
	if len(meds) == 0 {
		fmt.Fprintf(os.Stderr, "gatecal: no measured %s row has %s\n", *backend, *metric)
		os.Exit(2)
	}
	cost := results.Median(meds)
	ns := max(1, int64(math.Round(*fraction*cost)))
	fmt.Fprintf(os.Stderr, "gatecal: %s of %d %s rows over %d runs: median %.0f ns; %.0f%% of it: %d ns\n",
		*metric, len(meds), *backend, len(files), cost, *fraction*100, ns)
	fmt.Println(ns)
}
