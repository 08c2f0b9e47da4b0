package workloads

import (
	"slices"
	"strconv"
	"testing"

	"kbench/results"
	"kbench/results/table"
	"kbench/ringlab"
)

// unitNames is every unit a workload's rows can carry, built from the same
// functions and lists the workloads build their rows from, over every point
// a row can have.
func unitNames() map[string][]string {
	names := map[string][]string{}
	add := func(w string, us ...[]results.Unit) {
		for _, u := range us {
			for _, x := range u {
				names[w] = append(names[w], x.Name)
			}
		}
	}
	work := []results.Unit{{Name: "work-ns/event"}}
	add("fanin", faninUnits)
	for _, u := range calUnits {
		add("calibrate", u)
	}
	add("churn", churnUnits)
	add("echo", echoUnits(false), echoUnits(true))
	add("fidelity", fidelityUnits)
	add("herd", herdUnits)
	add("accept", herdUnits, []results.Unit{{Name: "connect-resets"}})
	add("overflow", overflowUnits)
	add("mixed", mixedUnits())
	var pts []loadPoint
	for _, l := range latencyLoads {
		pts = append(pts, loadPoint{label: strconv.Itoa(l) + "%"})
	}
	add("latency", latencyUnits(pts, true), latencyUnits([]loadPoint{{label: "rate"}}, false), work)
	add("levelstorm", stormUnits(""), work)
	for _, n := range zachSweep {
		add("levelstorm", stormUnits("@n="+strconv.Itoa(n)))
	}
	for _, place := range []string{"within", "cross"} {
		for _, load := range []string{"-1", "-many"} {
			add("pingpong", percentileUnits("rt-", "@"+place+load),
				[]results.Unit{{Name: "hops/s@" + place + load}})
		}
	}
	for _, n := range []int{100, 1000, 10000, 100000} {
		for _, u := range scaleMetrics {
			names["scale"] = append(names["scale"], scaleMetric(u.Name, n))
		}
	}
	add("ring", ringUnits, ringMapUnits)
	for _, d := range []string{ringlab.Owned, ringlab.OwnedPow2, ringlab.Minimal, ringlab.Shared, ringlab.Split, ringlab.Take29, ringlab.Busy} {
		names["ring"] = append(names["ring"], d+" net-ns/event")
	}
	add("breakeven", breakevenUnits(breakevenSweep), breakevenUnits(breakevenQuick))
	return names
}

// Every terminal-table column names a unit its workload's rows carry: a
// column is tied to the workload's own unit list, never a free-standing
// string that a renamed metric would leave showing "-".
func TestTableColumnsNameUnits(t *testing.T) {
	names := unitNames()
	for w, cols := range table.Columns {
		if _, err := Find(w); err != nil {
			t.Errorf("table.Columns has %q, which is no workload", w)
			continue
		}
		for _, c := range cols {
			if !slices.Contains(names[w], c.Metric) {
				t.Errorf("%s column %q shows %q, which is none of the workload's units", w, c.Header, c.Metric)
			}
		}
	}
}
