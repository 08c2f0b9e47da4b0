package ringtwin

import (
	"bytes"
	"testing"
)

// TestSource checks that the embedded file is the twin, with the three
// designs' loops and the output line ringlab parses.
func TestSource(t *testing.T) {
	Source, err := Sources.ReadFile(Units[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LOOPS(owned)", "LOOPS(shared)", "LOOPS(split)", "ns_per_event=%.3f"} {
		if !bytes.Contains(Source, []byte(want)) {
			t.Errorf("embedded ringtwin.c lacks %q", want)
		}
	}
}
