package ringtwin

import (
	"bytes"
	"io/fs"
	"testing"
)

// TestSource checks that the sources are the twin, with the four designs'
// loops, the shared work header and the output line ringlab parses.
func TestSource(t *testing.T) {
	src, err := Sources()
	if err != nil {
		t.Fatal(err)
	}
	c, err := fs.ReadFile(src, Units[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LOOPS(owned)", "LOOPS(shared)", "LOOPS(split)", "LOOPS(owned_pow2)", "consume_minimal",
		`#include "work.h"`, "ns_per_event=%.3f", "work_measured_ns=%.3f"} {
		if !bytes.Contains(c, []byte(want)) {
			t.Errorf("embedded ringtwin.c lacks %q", want)
		}
	}
	if h, err := fs.ReadFile(src, "work.h"); err != nil || !bytes.Contains(h, []byte("work_calibrate")) {
		t.Errorf("work.h missing from the sources: %v", err)
	}
}
