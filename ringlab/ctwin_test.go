package ringlab

import (
	"context"
	"errors"
	"testing"
)

func TestParseTwin(t *testing.T) {
	out := []byte("design=owned slot=40 ring=256 pattern=stream batch=1 pcpu=0 ccpu=1 events=200 rep=1 " +
		"ns_per_event=12.500 lost=0 dup=3 reordered=0 corrupt=1\n\n")
	s, err := parseTwin(out)
	if err != nil {
		t.Fatal(err)
	}
	want := TwinSample{Design: "owned", SlotSize: 40, Rep: 1, NsPerEvent: 12.5, Dup: 3, Corrupt: 1, Checked: true}
	if len(s) != 1 || s[0] != want {
		t.Fatalf("parseTwin = %+v, want %+v", s, want)
	}
	if _, err := parseTwin([]byte("design=owned slot=x\n")); err == nil {
		t.Fatal("bad line accepted")
	}
}

// TestCTwin builds the embedded C source and runs it beside Go: the rows
// of designs 1–3 get C samples and a Go/C ratio, the others none.
func TestCTwin(t *testing.T) {
	bin, err := BuildCTwin(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no C twin: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := small(t)
	p.Twin = bin
	rows, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rows, p)
	for _, r := range rows {
		twin := contains(TwinDesigns(), r.Design)
		if twin && (len(r.CNsPerEvent) != p.Reps || r.GoOverC <= 0) {
			t.Errorf("%s/%d: C samples %v, Go/C %v", r.Design, r.SlotSize, r.CNsPerEvent, r.GoOverC)
		}
		if !twin && (r.CNsPerEvent != nil || r.GoOverC != 0) {
			t.Errorf("%s has no twin but got C samples", r.Design)
		}
		t.Logf("%s/%d: Go %.1f ns, C %.1f ns, Go/C %.2f", r.Design, r.SlotSize, r.MedianNs(), median(r.CNsPerEvent), r.GoOverC)
	}
}
