// Command kbench-intervals reads several kbench result files of the same
// rows (independent invocations) and reports how often one invocation's
// headline interval holds another's median, per row and over all rows:
// the calibration check of kbench's intervals. scripts/intervals.sh runs
// the invocations and then this.
package main

import (
	"fmt"
	"io"
	"os"

	"kbench/results"
	"kbench/results/coverage"
)

const usage = "usage: kbench-intervals RESULT.json RESULT.json [RESULT.json…]"

func main() {
	os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
}

func run(stdout, stderr io.Writer, args []string) int {
	if len(args) < 2 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	files := make([]*results.File, 0, len(args))
	for _, p := range args {
		f, err := results.ReadJSON(p)
		if err != nil {
			fmt.Fprintln(stderr, "kbench-intervals:", err)
			return 2
		}
		files = append(files, f)
	}
	rep, err := coverage.Measure(files)
	if err != nil {
		fmt.Fprintln(stderr, "kbench-intervals:", err)
		return 2
	}
	if err := rep.Write(stdout); err != nil {
		fmt.Fprintln(stderr, "kbench-intervals:", err)
		return 1
	}
	return 0
}
