package table

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHerdTableFits: herd's labels are longer than the worst rows' of
// TestDefaultTablesFit; the longest of the herd suite (W up to 8) still
// fits 120 columns.
func TestHerdTableFits(t *testing.T) {
	rows := worstRows("herd")
	for i := range rows {
		rows[i].Backend, rows[i].Variant = "kevent", "syscall-fd-oneshot repl-all W8"
	}
	var b bytes.Buffer
	if err := Render(&b, "herd", rows); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("a line of %d columns:\n%s", n, line)
			break
		}
	}
}
