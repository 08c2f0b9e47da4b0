package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"kbench/ringlab"
)

func main() {
	pattern := flag.String("pattern", "stream", "")
	batch := flag.Int("batch", 1, "")
	designs := flag.String("designs", "", "")
	events := flag.Int("events", 200000, "")
	twin := flag.Bool("twin", false, "")
	pcpu := flag.Int("pcpu", 0, "")
	ccpu := flag.Int("ccpu", 1, "")
	suite := flag.Bool("suite", false, "")
	flag.Parse()
	var ps []ringlab.Params
	if *suite {
		ps = ringlab.Suite(false, 0, 1)
	} else {
		p := ringlab.Default()
		p.Pattern, p.Batch, p.Events, p.Warmup = *pattern, *batch, *events, *events/4
		p.ProducerCPU, p.ConsumerCPU = *pcpu, *ccpu
		if *designs != "" {
			p.Designs = strings.Split(*designs, ",")
		}
		ps = []ringlab.Params{p}
	}
	var bin string
	if *twin {
		var err error
		bin, err = ringlab.BuildCTwin(os.TempDir() + "/ringtwin-build")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	t0 := time.Now()
	for _, p := range ps {
		p.Twin = bin
		rows, err := ringlab.Run(context.Background(), p)
		if err != nil {
			fmt.Println("error:", err)
		}
		for _, r := range rows {
			if os.Getenv("SAMPLES") != "" {
				fmt.Printf("%s %s/%d/b%d", os.Getenv("SAMPLES"), r.Design, r.SlotSize, r.Batch)
				for _, x := range r.NsPerEvent {
					fmt.Printf(" %.1f", x)
				}
				fmt.Printf("  floor %.0f\n", r.FloorNs)
				continue
			}
			fmt.Printf("%-7s slot=%2d %-8s batch=%-2d cpus=%d,%d  go=%7.1f ns  x%.2f floor(%.0f)  C=%6.1f  go/c=%.2f  pre=%d fail=%v %s\n",
				r.Design, r.SlotSize, r.Pattern, r.Batch, r.ProducerCPU, r.ConsumerCPU, r.MedianNs(), r.FloorMultiple(), r.FloorNs,
				median(r.CNsPerEvent), r.GoOverC, r.Preempted, r.Failed, r.Reason)
		}
	}
	fmt.Println("elapsed", time.Since(t0))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	r := ringlab.Row{NsPerEvent: xs}
	return r.MedianNs()
}
