// Command ringtable runs the ring workload on its own and prints its table:
// a developer's tool for ringlab until `kbench run --workload=ring` shows
// the same rows. With -suite it runs ringlab.Suite; otherwise one Params
// built from the flags.
//
//	go run ./ringlab/cmd/ringtable -suite -twin
//	go run ./ringlab/cmd/ringtable -pattern lockstep -events 50000 -twin
//	go run ./ringlab/cmd/ringtable -slots 4096 -sizes 8,16,40 -net -twin -events 20000 -reps 41
//
// The last is the ownership-ring gap study: every design measured checked
// and unchecked (-net: the harness's own cost), beside its C twin, rows
// interleaved round by round; -json gives every repetition.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"

	"kbench/ringlab"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ringtable:", err)
		os.Exit(2)
	}
}

func run(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("ringtable", flag.ContinueOnError)
	suite := fs.Bool("suite", false, "run ringlab.Suite (the workload's default set)")
	quick := fs.Bool("quick", false, "quick preset (with -suite: the quick suite)")
	twin := fs.Bool("twin", false, "build and run the C twins of designs 1-3")
	asJSON := fs.Bool("json", false, "print rows as JSON lines")
	d := ringlab.Default()
	pattern := fs.String("pattern", d.Pattern, "stream, lockstep or burst")
	batch := fs.Int("batch", d.Batch, "publish/release every N events")
	designs := fs.String("designs", "", "comma-separated designs (default all)")
	events := fs.Int("events", d.Events, "events per repetition")
	reps := fs.Int("reps", d.Reps, "timed repetitions")
	sizes := fs.String("sizes", "", "comma-separated payload sizes (default 16,40,64)")
	slots := fs.Int("slots", d.RingSlots, "slots per ring")
	net := fs.Bool("net", false, "also run each repetition with the consumer's checks off (harness cost)")
	workNs := fs.Int64("work-ns", 0, "application work per event on the consumer, ns")
	workBytes := fs.Int64("work-bytes", 0, "bytes of private buffer the work walks per event")
	pcpu := fs.Int("pcpu", d.ProducerCPU, "producer CPU")
	ccpu := fs.Int("ccpu", d.ConsumerCPU, "consumer CPU")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ps []ringlab.Params
	if *suite {
		ps = ringlab.Suite(*quick, *pcpu, *ccpu)
	} else {
		p := d
		if *quick {
			p = ringlab.Quick()
		} else {
			p.Events, p.Warmup, p.Reps = *events, *events/4, *reps
		}
		p.Pattern, p.Batch, p.ProducerCPU, p.ConsumerCPU = *pattern, *batch, *pcpu, *ccpu
		if *designs != "" {
			p.Designs = strings.Split(*designs, ",")
		}
		if *sizes != "" {
			p.SlotSizes = nil
			for _, f := range strings.Split(*sizes, ",") {
				n, err := strconv.Atoi(f)
				if err != nil {
					return fmt.Errorf("-sizes: %w", err)
				}
				p.SlotSizes = append(p.SlotSizes, n)
			}
		}
		p.RingSlots, p.Net, p.WorkNs, p.WorkBytes = *slots, *net, *workNs, *workBytes
		ps = []ringlab.Params{p}
	}
	if *twin {
		dir, err := os.MkdirTemp("", "ringtwin")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin, err := ringlab.BuildCTwin(dir)
		if err != nil {
			return err
		}
		for i := range ps {
			ps[i].Twin = bin
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows, err := ringlab.RunSuite(ctx, ps)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "design\tpayload\tpattern\tbatch\tcpus\tns/event\tnet ns\tharness\tx floor\tfloor ns\tC ns\tC net\tGo/C\tnet Go/C\twork ns\tpreempt\tstatus\t")
	for _, r := range rows {
		c, ratio, cnet, netRatio, netNs, harness, wk := "-", "-", "-", "-", "-", "-", "-"
		if len(r.CNsPerEvent) > 0 {
			c = fmt.Sprintf("%.1f", median(r.CNsPerEvent))
			ratio = fmt.Sprintf("%.2f", r.GoOverC)
		}
		if len(r.CNetNsPerEvent) > 0 {
			cnet = fmt.Sprintf("%.1f", median(r.CNetNsPerEvent))
			netRatio = fmt.Sprintf("%.2f", r.NetGoOverC)
		}
		if len(r.NetNsPerEvent) > 0 {
			netNs, harness = fmt.Sprintf("%.1f", r.NetMedianNs()), fmt.Sprintf("%.1f", r.HarnessNs)
		}
		if len(r.WorkMeasuredNs) > 0 {
			wk = fmt.Sprintf("%.0f", median(r.WorkMeasuredNs))
		}
		status := "ok"
		if r.Failed {
			status = "FAILED: " + r.Reason
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d,%d\t%.1f\t%s\t%s\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n",
			r.Design, r.SlotSize, r.Pattern, r.Batch, r.ProducerCPU, r.ConsumerCPU,
			r.MedianNs(), netNs, harness, r.FloorMultiple(), r.FloorNs, c, cnet, ratio, netRatio, wk, r.Preempted, status)
	}
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func median(xs []float64) float64 { return ringlab.Row{NsPerEvent: xs}.MedianNs() }
