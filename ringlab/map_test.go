package ringlab

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func mapRow(design string, size int, net ...float64) Row {
	return Row{Design: design, Pattern: Stream, SlotSize: size, WorkNs: 100, Batch: 1,
		NetNsPerEvent: net, NsPerEvent: net, Generated: 10, Received: 10}
}

// TestCellsRanking: the winner is the lowest median, the margin is the
// same-round ratio to the runner-up, and a design that matches the winner
// in any round takes the significance away.
func TestCellsRanking(t *testing.T) {
	rows := []Row{
		mapRow(Owned, 16, 10, 10, 10, 10, 10),
		mapRow(Split, 16, 12, 15, 11, 12, 12),
		mapRow(Shared, 16, 30, 30, 30, 30, 30),
		mapRow(Owned, 64, 20, 20, 20, 20, 20),
		mapRow(Split, 64, 21, 19, 22, 21, 21), // beats owned in round 2: 4 of 5 fails the test
	}
	cells := Cells(rows, []int{16, 16, 16, 16, 16})
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2", len(cells))
	}
	c := cells[0]
	if c.Label() != "stream b16 16B w100" || c.Winner != Owned || c.RunnerUp != Split || !c.Significant {
		t.Fatalf("cell 0: %+v", c)
	}
	// Ratios split/owned per round: 1.2, 1.5, 1.1, 1.2, 1.2.
	if math.Abs(c.Margin-0.2) > 1e-9 || math.Abs(c.MarginLo-0.1) > 1e-9 || math.Abs(c.MarginHi-0.5) > 1e-9 {
		t.Fatalf("margin %v [%v, %v], want 0.2 [0.1, 0.5]", c.Margin, c.MarginLo, c.MarginHi)
	}
	if c.Generated != 30 || c.Lost != 0 || !strings.HasPrefix(c.Verdict(), "owned by 20% [10–50%] over split") {
		t.Fatalf("accounting %d, verdict %q", c.Generated, c.Verdict())
	}
	c = cells[1]
	if c.Winner != Owned || c.Significant || !slices.Equal(c.Ties, []string{Split}) ||
		!strings.HasPrefix(c.Verdict(), "no significant winner: owned ≈ split") {
		t.Fatalf("cell 1: %+v %q", c, c.Verdict())
	}
	// The two layouts of the ownership ring are one family: a near tie
	// between them leaves the win to the family.
	fam := Cells([]Row{
		mapRow(OwnedPow2, 16, 9, 11, 9, 11, 9),
		mapRow(Owned, 16, 10, 10, 10, 10, 10),
		mapRow(Split, 16, 20, 20, 20, 20, 20),
	}, []int{1, 1, 1})[0]
	if fam.Winner != OwnedPow2 || fam.RunnerUp != Split || !fam.Significant {
		t.Fatalf("family: %+v", fam)
	}
	rows[2].Failed, rows[2].Reason = true, "3 lost"
	if c := Cells(rows, []int{1, 1, 1, 1, 1})[0]; c.Winner != Owned || !strings.HasPrefix(c.Verdict(), "failed: shared: 3 lost; among the rest: owned by 20%") {
		t.Fatalf("failed design: %+v", c)
	}
}

func TestSignP(t *testing.T) {
	for _, c := range []struct {
		wins, n int
		want    float64
	}{{5, 5, 1.0 / 32}, {0, 5, 1}, {8, 9, 10.0 / 512}, {6, 7, 8.0 / 128}, {3, 3, 1.0 / 8}} {
		if got := signP(c.wins, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("signP(%d, %d) = %v, want %v", c.wins, c.n, got, c.want)
		}
	}
}

func TestMapSpec(t *testing.T) {
	for _, m := range []MapSpec{FullMap(), QuickMap()} {
		ps := m.Params(0, 1, 256)
		if want := len(m.Patterns) * len(m.Batches) * len(m.Works); len(ps) != want {
			t.Fatalf("%d params, want %d", len(ps), want)
		}
		for _, p := range ps {
			if _, err := p.withDefaults(); err != nil {
				t.Errorf("%+v: %v", p, err)
			}
			if !p.Net || p.Events < 256 || p.Events > 200000 {
				t.Errorf("net %v, events %d", p.Net, p.Events)
			}
		}
	}
	full := FullMap()
	if len(full.Works)*len(full.Batches)*len(full.Sizes)*len(full.Patterns) != 108 {
		t.Fatal("the full map is not 6 × 2 × 3 × 3 cells")
	}
}

// TestMapQuickRun runs a tiny map slice end to end: every cell gets a
// winner or says it has none, and exactly-once holds on the checked runs.
func TestMapQuickRun(t *testing.T) {
	a, b := twoCPUs(t)
	m := QuickMap()
	m.Works, m.Sizes, m.Patterns, m.Batches, m.Reps = []int64{0, 50}, []int{16}, []string{Stream}, []int{4}, 2
	m.Budget = 200_000
	if raceEnabled {
		m.Designs = []string{Owned, Split} // the detector slows every access
	}
	var rows []Row
	var asked []int
	for _, p := range m.Params(a, b, 64) {
		rs, err := Run(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		for range rs {
			asked = append(asked, p.Batch)
		}
		rows = append(rows, rs...)
	}
	cells := Cells(rows, asked)
	if len(cells) != 2 {
		t.Fatalf("%d cells", len(cells))
	}
	for _, c := range cells {
		if c.Failed != "" || c.Winner == "" || c.Lost != 0 || c.Received != c.Generated || len(c.Net) != len(m.Designs) {
			t.Errorf("%s: %s (%d of %d)", c.Label(), c.Verdict(), c.Received, c.Generated)
		}
		if c.WorkNs > 0 && len(c.WorkMeasured[Owned]) != m.Reps {
			t.Errorf("%s: no measured work", c.Label())
		}
		t.Logf("%s: %s", c.Label(), c.Verdict())
	}
}
