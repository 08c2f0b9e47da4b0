package workloads

import (
	"context"
	"testing"
	"time"

	"kbench/internal/cpu"
	"kbench/results"
)

func calibrateCfg(t *testing.T) Config {
	cfg := quickCfg()
	cfg.Reps = 2
	if cpus, _ := cpu.Allowed(); len(cpus) >= 2 {
		cfg.ProducerCPU, cfg.ConsumerCPU = cpus[0], cpus[1]
	} else {
		t.Logf("one CPU: the cache-line floor is not applicable")
	}
	return cfg
}

// plausible bounds: loose enough for a loaded 2-core machine and the race
// detector, tight enough to catch a unit error or a measurement of nothing.
var floorBounds = map[string][2]float64{
	FloorCacheLine:    {1, 100e3},
	FloorNullSyscall:  {10, 100e3},
	FloorNullRaw:      {10, 100e3},
	FloorFutexWake:    {100, 50e6},
	FloorFutexWakeP99: {100, 500e6},
	FloorEventfdEpoll: {200, 50e6},
}

func TestFloorsQuick(t *testing.T) {
	cfg := calibrateCfg(t)
	start := time.Now()
	f, err := Floors(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quick floors in %v: %v", time.Since(start), f)
	for k, b := range floorBounds {
		v, ok := f[k]
		if !ok {
			if k == FloorCacheLine && cfg.ProducerCPU == cfg.ConsumerCPU {
				continue
			}
			t.Errorf("no %s", k)
			continue
		}
		if v < b[0] || v > b[1] {
			t.Errorf("%s = %.1f ns, outside [%g, %g]", k, v, b[0], b[1])
		}
	}
	if f[FloorFutexWakeP99] < f[FloorFutexWake] {
		t.Errorf("futex p99 %.0f below its median %.0f", f[FloorFutexWakeP99], f[FloorFutexWake])
	}
	if len(f) != len(floorBounds) {
		t.Errorf("keys %v, want exactly those of floorBounds", f)
	}
}

func TestCalibrateRows(t *testing.T) {
	cfg := calibrateCfg(t)
	cfg.ConsumerCPU = cfg.ProducerCPU // placement=same: still a line between two CPUs
	rows := Calibrate.RunAll(context.Background(), cfg, nil)
	if len(rows) != len(calFloors) {
		t.Fatalf("%d rows, want %d", len(rows), len(calFloors))
	}
	for _, r := range rows {
		if r.Status == results.StatusNA {
			t.Logf("%s: %s", r.Variant, r.Reason)
			continue
		}
		if r.Status != results.StatusOK || len(r.Samples) != cfg.Reps {
			t.Errorf("%s: status %s (%s), %d samples", r.Variant, r.Status, r.Reason, len(r.Samples))
			continue
		}
		st, _ := r.Summary("ns")
		if st.Median <= 0 {
			t.Errorf("%s: median %v ns", r.Variant, st.Median)
		}
		if r.Params["placement"] != "same" || r.Params["futex_samples"] != "200" {
			t.Errorf("%s: params %v", r.Variant, r.Params)
		}
		t.Logf("%s: %v", r.Variant, r.Samples[0].Values)
	}
}
