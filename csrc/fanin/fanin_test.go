package fanin

import (
	"bytes"
	"io/fs"
	"testing"
)

// TestSources checks that every unit is embedded and that the twin knows
// every mode the Go side may ask for.
func TestSources(t *testing.T) {
	src, err := Sources()
	if err != nil {
		t.Fatal(err)
	}
	main, err := fs.ReadFile(src, "fanin.c")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append([]string{"fanin.h", "work.h"}, Units...) {
		if _, err := fs.ReadFile(src, u); err != nil {
			t.Errorf("embedded sources lack %s: %v", u, err)
		}
	}
	for _, m := range Modes {
		if !bytes.Contains(main, []byte(`{"`+m+`", &`)) {
			t.Errorf("fanin.c has no mode %q", m)
		}
	}
}
