package cpu

import (
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0,1": {0, 1}, "2-4": {2, 3, 4}, "0, 2-3": {0, 2, 3}} {
		got, err := ParseList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "3-1", "1-", "1,,2", "0-1000000000", "8192", "0-8191,0"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
}

// A huge range is refused before it is built: no allocation in proportion
// to it.
func TestParseListHugeRange(t *testing.T) {
	if a := testing.AllocsPerRun(1, func() { ParseList("0-2000000000") }); a > 10 {
		t.Errorf("ParseList of a huge range made %v allocations", a)
	}
	if got, err := ParseList("0-8191"); err != nil || len(got) != MaxCPUs {
		t.Errorf("0-8191: %d CPUs, %v", len(got), err)
	}
}

func TestPinAndRestore(t *testing.T) {
	cpus, err := Allowed()
	if err != nil || len(cpus) == 0 {
		t.Fatalf("Allowed = %v, %v", cpus, err)
	}
	unpin, err := Pin(cpus[len(cpus)-1])
	if err != nil {
		t.Skipf("affinity refused here: %v", err)
	}
	now, _ := Allowed()
	if !slices.Equal(now, cpus[len(cpus)-1:]) {
		t.Errorf("pinned thread may run on %v", now)
	}
	unpin()
}
