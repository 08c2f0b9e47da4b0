package csrc

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"kbench/internal/ctwin"
	"kbench/internal/work"
)

// TestWorkSameInC compiles work.h with a small main and checks that its
// chain and walk compute what internal/work's do, from the same inputs:
// the C twins' work per event is the Go loop's, not an imitation.
func TestWorkSameInC(t *testing.T) {
	main := `#define _GNU_SOURCE
#include <stdio.h>
#include "work.h"
int main(void) {
	unsigned char buf[3 * WORK_LINE] = {0};
	buf[0] = 1; buf[WORK_LINE] = 2; buf[2 * WORK_LINE] = 3;
	struct work w;
	if (work_init(&w, 0, 0, 0) != 0 || !work_zero(&w) || work_init(&w, -1, 0, 1) == 0)
		return 1;
	printf("%llu %llu\n", (unsigned long long)work_chain(7, 1000),
	       (unsigned long long)work_walk(buf, sizeof buf, 10));
	return 0;
}
`
	src, err := WithWork(fstest.MapFS{"main.c": {Data: []byte(main)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(src, "work.h"); err != nil {
		t.Fatal(err)
	}
	bin, err := ctwin.BuildIn(t.TempDir(), "worktest", src, []string{"main.c"}, "-std=c11", "-O2")
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no C compiler: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*work.Line)
	buf[0], buf[work.Line], buf[2*work.Line] = 1, 2, 3
	want := fmt.Sprintf("%d %d", work.Chain(7, 1000), work.Walk(buf, 10))
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("C work.h gives %q, Go internal/work %q", got, want)
	}
}
