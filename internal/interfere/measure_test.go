package interfere

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"kbench/internal/cpu"
)

// TestMeasureByHand prints what the meter reads over 1 s windows while this
// process spins a pinned goroutine on each CPU for half the window, and a
// 1 s pre-flight look. It asserts nothing about the machine, so it runs
// only on request, to choose and re-check the noisy threshold:
//
//	KBENCH_MEASURE=1 go test -run MeasureByHand -v ./internal/interfere
func TestMeasureByHand(t *testing.T) {
	if os.Getenv("KBENCH_MEASURE") == "" {
		t.Skip("a measurement, not a test: set KBENCH_MEASURE=1")
	}
	cpus, err := cpu.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	const window = time.Second
	for i := 0; i < 5; i++ {
		a, err := Take(cpus)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range cpus {
			wg.Go(func() {
				unpin, err := cpu.Pin(c)
				if err != nil {
					t.Error(err)
					return
				}
				defer unpin()
				for time.Since(start) < window/2 {
				}
			})
		}
		wg.Wait()
		time.Sleep(window - time.Since(start))
		b, err := Take(cpus)
		if err != nil {
			t.Fatal(err)
		}
		in := b.Since(a)
		t.Logf("window %v: share %.3f  busy %v  self %v  steal %v", time.Duration(in.WallNs).Round(time.Millisecond),
			in.Share, time.Duration(in.BusyNs).Round(time.Millisecond), time.Duration(in.SelfNs).Round(time.Millisecond), time.Duration(in.StealNs))
	}
	p, err := Preflight(context.Background(), cpus, window, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(Line(p))
}
