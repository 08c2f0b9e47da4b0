package table

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"kbench/results"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestFaninGolden(t *testing.T) {
	rows := []results.Result{
		{Backend: "epoll", Variant: "lt", Status: results.StatusOK, Samples: []results.Sample{
			{Generated: 10, Collected: 10, Values: map[string]float64{"events/s": 1.25e6, "events/wait": 12.5, "syscalls/event": 0.08, "consumer-cpu-ns/event": 812, "producer-cpu-ns/event": 950}},
			{Generated: 10, Collected: 10, Values: map[string]float64{"events/s": 1.5e6, "events/wait": 14, "syscalls/event": 0.07, "consumer-cpu-ns/event": 790, "producer-cpu-ns/event": 900}},
			{Generated: 10, Collected: 10, Values: map[string]float64{"events/s": 9.9e5, "events/wait": 13, "syscalls/event": 0.09, "consumer-cpu-ns/event": 801, "producer-cpu-ns/event": 930}},
		}},
		{Backend: "kevent", Variant: "zach-fd", Status: results.StatusFailed, Reason: "exactly-once violated: 1 lost, 0 duplicated", Samples: []results.Sample{
			{Generated: 10, Collected: 9, Lost: 1, Values: map[string]float64{"events/s": 2e6, "events/wait": 40, "syscalls/event": 0.004, "consumer-cpu-ns/event": 300, "producer-cpu-ns/event": 700, "helper-cpu-ns/event": 400}},
		}},
		{Backend: "iouring", Variant: "sqpoll-multishot", Status: results.StatusSkipped, Reason: "io_uring_setup: EPERM"},
	}
	var b bytes.Buffer
	if err := Render(&b, "fanin", rows); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/fanin.golden"
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("table differs from %s:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1.25e6: "1.25M", 812: "812", 0.0168: "0.0168", 12.5: "12.5", 45000: "45.0k", 3e9: "3.00G", 1e-5: "1.0e-05"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%g) = %q, want %q", v, got, want)
		}
	}
}
