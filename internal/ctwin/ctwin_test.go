package ctwin

import (
	"errors"
	"os/exec"
	"testing"
	"testing/fstest"
)

func TestParseKV(t *testing.T) {
	got, err := ParseKV([]byte("a=1 b=x\n\nc=3\n"))
	if err != nil || len(got) != 2 || got[0]["b"] != "x" || got[1]["c"] != "3" {
		t.Errorf("ParseKV = %v, %v", got, err)
	}
	if _, err := ParseKV([]byte("a=1 oops\n")); err == nil {
		t.Error("a field without = was accepted")
	}
}

func TestBuildRunsAndCaches(t *testing.T) {
	src := fstest.MapFS{"t.c": {Data: []byte("#include <stdio.h>\nint main(void){puts(\"k=v\");return 0;}\n")}}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin, err := Build("t", src, []string{"t.c"}, "-O2")
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil || string(out) != "k=v\n" {
		t.Fatalf("twin printed %q, %v", out, err)
	}
	again, err := Build("t", src, []string{"t.c"}, "-O2")
	if err != nil || again != bin {
		t.Errorf("second Build = %q, %v; want the cached %q", again, err, bin)
	}
	t.Setenv("CC", "no-such-compiler-kbench")
	if _, err := BuildIn(t.TempDir(), "t", src, []string{"t.c"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("missing compiler: %v, want ErrUnsupported", err)
	}
}
