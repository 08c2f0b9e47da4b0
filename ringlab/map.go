package ringlab

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// MapSpec is the design map's sweep: every cell is one pattern × batch ×
// payload size × work per event, and in every cell every design runs,
// interleaved with the others (one Run per pattern × batch × work, so the
// designs and sizes of a cell share each round).
type MapSpec struct {
	Works    []int64 // work per event on the consumer, ns
	Batches  []int
	Sizes    []int // payload bytes
	Patterns []string
	Designs  []string
	Reps     int
	// Budget is the time one repetition of one design is sized for: the
	// events per repetition follow from it and an estimate of a cell's
	// cost per event, so that a 1 µs-per-event cell does not take 100
	// times as long as a 10 ns one.
	Budget time.Duration
}

// FullMap is the map the issue asks for: work 0–1000 ns × batch 1, 16 ×
// payload 16, 40, 64 × stream, burst, lockstep, all designs, nine
// repetitions (so that a winner may lose one round and still pass the
// sign test). Its length depends on how busy the machine is: spinning
// sides lose whole time slices when other work shares their CPUs (13
// minutes at a load average of 12 on 2 CPUs with five repetitions of a
// 3 ms budget, 2 minutes at 8 with five of 1.5 ms).
func FullMap() MapSpec {
	return MapSpec{
		Works:    []int64{0, 10, 30, 100, 300, 1000},
		Batches:  []int{1, 16},
		Sizes:    []int{16, 40, 64},
		Patterns: []string{Stream, Burst, Lockstep},
		Designs:  mapDesigns(),
		Reps:     9,
		Budget:   time.Millisecond,
	}
}

// mapDesigns is every design but the minimal control, which is the gap
// study's measuring stick rather than a design a kernel would ship.
func mapDesigns() []string {
	return slices.DeleteFunc(Designs(), func(d string) bool { return d == Minimal })
}

// QuickMap is the smoke-test map (CI): fewer cells, five short
// repetitions (a winner must then win all five); a few seconds.
func QuickMap() MapSpec {
	m := FullMap()
	m.Works = []int64{0, 100, 1000}
	m.Sizes = []int{16, 64}
	m.Reps = 5
	m.Budget = 400 * time.Microsecond
	return m
}

// Params is one Params per pattern × batch × work, at the given CPUs and
// ring size, with Net on: the map ranks designs on the unchecked runs
// (the design's own cost plus the application's work, not the harness's
// checks), and each checked run beside them proves exactly-once.
func (m MapSpec) Params(producerCPU, consumerCPU, ringSlots int) []Params {
	var ps []Params
	for _, pat := range m.Patterns {
		for _, b := range m.Batches {
			for _, w := range m.Works {
				p := Default()
				p.Designs, p.SlotSizes, p.Pattern, p.Batch = m.Designs, m.Sizes, pat, b
				p.RingSlots, p.ProducerCPU, p.ConsumerCPU = ringSlots, producerCPU, consumerCPU
				p.WorkNs, p.Reps, p.Net = w, m.Reps, true
				p.Events = m.events(p)
				p.Warmup = max(p.Events/4, 1)
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// events sizes a repetition to the budget from a rough cost per event:
// the work, plus a handoff per lockstep batch or an idle gap per burst.
func (m MapSpec) events(p Params) int {
	est := float64(p.WorkNs) + 15
	switch p.Pattern {
	case Lockstep:
		est += 250 / float64(p.Batch)
	case Burst:
		est += float64(p.IdleGap) / float64(p.Burst)
	}
	n := int(float64(m.Budget) / est)
	return min(max(n, 256), 200000)
}

// Cell is one cell of the map: which design was fastest there, by how
// much, and whether that held in every repetition.
type Cell struct {
	Pattern  string
	Batch    int // as asked (owned designs run 1)
	SlotSize int
	WorkNs   int64
	// Net ns/event per design, per repetition (index = round), and the
	// checked ones; the ranking uses Net.
	Net, Checked map[string][]float64
	// WorkMeasured is the measured work per event by design and round.
	WorkMeasured map[string][]float64
	Winner       string // lowest median net ns/event
	RunnerUp     string // second lowest
	// Margin is the median over rounds of runner-up ÷ winner − 1 (both
	// measured in the same round); MarginLo and MarginHi are its min and
	// max over the rounds.
	Margin, MarginLo, MarginHi float64
	// Significant: against every design of another family, the rounds
	// the winner was faster in pass a one-sided sign test at 5 % (with 9
	// rounds, 8 of 9; with 5, all 5). Otherwise Ties lists the designs it
	// did not beat so often, and the cell has no significant winner. The
	// two layouts of the ownership ring are one family: the map asks which
	// protocol wins, and owned against owned-pow2 is a layout question the
	// gap study answers.
	Significant bool
	Ties        []string
	// Accounting of the checked runs, summed over designs.
	Generated, Received, Lost, Dup int64
	// Failed is the first failed design's reason; the cell is then failed,
	// and the ranking is over the designs that did not fail.
	Failed string
	// Preempted counts involuntary context switches of the pinned threads
	// over the cell's timed repetitions, all designs: how disturbed it was.
	Preempted int64
}

// Label is the cell's stable name: "stream b1 16B w100".
func (c Cell) Label() string {
	return fmt.Sprintf("%s b%d %dB w%d", c.Pattern, c.Batch, c.SlotSize, c.WorkNs)
}

// Verdict says the cell's answer in words.
func (c Cell) Verdict() string {
	var v string
	switch {
	case c.Winner == "":
		v = "no samples"
	case c.RunnerUp == "":
		v = c.Winner + " alone"
	case c.Significant:
		v = fmt.Sprintf("%s by %.0f%% [%.0f–%.0f%%] over %s", c.Winner, 100*c.Margin, 100*c.MarginLo, 100*c.MarginHi, c.RunnerUp)
	default:
		v = fmt.Sprintf("no significant winner: %s ≈ %s", c.Winner, strings.Join(c.Ties, ", "))
	}
	if c.Failed != "" {
		return "failed: " + c.Failed + "; among the rest: " + v
	}
	return v
}

// Cells groups rows of map runs into cells (rows of one Run are one
// pattern × batch × work; their sizes are separate cells), keyed by the
// batch each Params asked for (asked[i] for rows[i]).
func Cells(rows []Row, asked []int) []Cell {
	idx := map[string]int{}
	var cells []Cell
	for i, r := range rows {
		c := Cell{Pattern: r.Pattern, Batch: asked[i], SlotSize: r.SlotSize, WorkNs: r.WorkNs}
		k := c.Label()
		j, ok := idx[k]
		if !ok {
			c.Net, c.Checked, c.WorkMeasured = map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
			j = len(cells)
			idx[k] = j
			cells = append(cells, c)
		}
		cell := &cells[j]
		cell.Net[r.Design] = r.NetNsPerEvent
		cell.Checked[r.Design] = r.NsPerEvent
		cell.WorkMeasured[r.Design] = r.WorkMeasuredNs
		cell.Generated += r.Generated
		cell.Received += r.Received
		cell.Lost += r.Lost
		cell.Dup += r.Dup + r.Reordered + r.Corrupt
		cell.Preempted += r.Preempted
		if r.Failed {
			if cell.Failed == "" {
				cell.Failed = r.Design + ": " + r.Reason
			}
			delete(cell.Net, r.Design) // not ranked
		}
	}
	for i := range cells {
		cells[i].rank()
	}
	return cells
}

// rank fills the winner, margin and significance from the net samples.
func (c *Cell) rank() {
	var ds []string
	for d, xs := range c.Net {
		if len(xs) > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool {
		mi, mj := median(c.Net[ds[i]]), median(c.Net[ds[j]])
		if mi != mj {
			return mi < mj
		}
		return ds[i] < ds[j]
	})
	c.Winner = ds[0]
	for _, d := range ds[1:] {
		if Family(d) != Family(c.Winner) {
			c.RunnerUp = d
			break
		}
	}
	if c.RunnerUp == "" {
		return
	}
	w := c.Net[c.Winner]
	ratios := paired(c.Net[c.RunnerUp], w)
	if len(ratios) == 0 {
		return
	}
	c.Margin = median(ratios) - 1
	c.MarginLo, c.MarginHi = slices.Min(ratios)-1, slices.Max(ratios)-1
	c.Significant = true
	for _, d := range ds[1:] {
		if Family(d) == Family(c.Winner) {
			continue
		}
		r := paired(c.Net[d], w)
		wins := 0
		for _, x := range r {
			if x > 1 {
				wins++
			}
		}
		if len(r) == 0 || signP(wins, len(r)) > 0.05 {
			c.Significant = false
			c.Ties = append(c.Ties, d)
		}
	}
}

// Family is the protocol a design implements: owned-pow2 is owned in
// another layout, minimal owned-pow2 in another loop; every other design
// is its own family.
func Family(design string) string {
	if design == OwnedPow2 || design == Minimal {
		return Owned
	}
	return design
}

// signP is the one-sided sign test's p-value: the chance of at least wins
// successes in n fair coin tosses.
func signP(wins, n int) float64 {
	var p, c float64 = 0, 1 // c = C(n, k), from k = 0
	for k := 0; k <= n; k++ {
		if k >= wins {
			p += c
		}
		c = c * float64(n-k) / float64(k+1)
	}
	return p / math.Pow(2, float64(n))
}

// paired is a[i]/b[i] over the rounds both have (same-round samples).
func paired(a, b []float64) []float64 {
	n := min(len(a), len(b))
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
