package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tagged is a set whose three files each say who wrote them.
func tagged(who string) []SetFile {
	var fs []SetFile
	for _, ext := range []string{".json", ".bench", ".csv"} {
		fs = append(fs, SetFile{ext, func(w io.Writer) error { _, err := io.WriteString(w, who); return err }})
	}
	return fs
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// A set never lands over an existing file: any of its three names taken
// moves the whole set to the next suffix, and what was there is untouched.
func TestWriteSetNeverOverwrites(t *testing.T) {
	bothTempKinds(t, testWriteSetNeverOverwrites)
}

func testWriteSetNeverOverwrites(t *testing.T) {
	for _, taken := range [][]string{
		nil,
		{"r.json"},
		{"r.bench"},
		{"r.csv"},
		{"r.bench", "r-2.csv"},
	} {
		t.Run(strings.Join(taken, "+"), func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range taken {
				os.WriteFile(filepath.Join(dir, n), []byte("theirs"), 0o644)
			}
			paths, err := WriteSet(dir, "r", tagged("ours"))
			if err != nil {
				t.Fatal(err)
			}
			want := "r"
			switch len(taken) {
			case 1:
				want = "r-2"
			case 2:
				want = "r-3"
			}
			for i, ext := range []string{".json", ".bench", ".csv"} {
				if filepath.Base(paths[i]) != want+ext {
					t.Errorf("path %d = %s, want %s%s", i, paths[i], want, ext)
				}
				if b, _ := os.ReadFile(paths[i]); string(b) != "ours" {
					t.Errorf("%s holds %q", paths[i], b)
				}
			}
			for _, n := range taken {
				if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != "theirs" {
					t.Errorf("existing %s overwritten: %q", n, b)
				}
			}
			if got := len(names(t, dir)); got != len(taken)+3 {
				t.Errorf("directory holds %v: temporaries left?", names(t, dir))
			}
		})
	}
}

// A write or link error leaves nothing of the set behind: no temporary, no
// member placed before the failure.
func TestWriteSetFailureLeavesNoPartialSet(t *testing.T) {
	bothTempKinds(t, testWriteSetFailure)
}

func testWriteSetFailure(t *testing.T) {
	enospc := func(io.Writer) error { return fmt.Errorf("write: %w", syscall.ENOSPC) }
	for _, tc := range []struct {
		name     string
		files    func() []SetFile
		failLink string // extension whose link fails with EIO
	}{
		{"third write: disk full", func() []SetFile { fs := tagged("x"); fs[2].Write = enospc; return fs }, ""},
		{"first write: disk full", func() []SetFile { fs := tagged("x"); fs[0].Write = enospc; return fs }, ""},
		{"third link: I/O error", func() []SetFile { return tagged("x") }, ".csv"},
		{"second link: I/O error", func() []SetFile { return tagged("x") }, ".bench"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.failLink != "" {
				link = func(old, new string) error {
					if strings.HasSuffix(new, tc.failLink) {
						return &os.LinkError{Op: "link", Old: old, New: new, Err: syscall.EIO}
					}
					return linkTemp(old, new)
				}
				defer func() { link = linkTemp }()
			}
			paths, err := WriteSet(dir, "r", tc.files())
			if err == nil {
				t.Fatalf("no error, wrote %v", paths)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if left := names(t, dir); len(left) != 0 {
				t.Errorf("left behind: %v (error %v)", left, err)
			}
		})
	}
}

// Twenty writers starting at once with one stem each get a set of their
// own: no name shared, none overwritten, every set whole.
func TestWriteSetConcurrentClaims(t *testing.T) {
	bothTempKinds(t, testWriteSetConcurrentClaims)
}

func testWriteSetConcurrentClaims(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	var wg sync.WaitGroup
	got := make([][]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = WriteSet(dir, "kbench-same-second", tagged(fmt.Sprint("writer ", i)))
		}()
	}
	close(start)
	wg.Wait()
	stems := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		stem := strings.TrimSuffix(filepath.Base(got[i][0]), ".json")
		if j, dup := stems[stem]; dup {
			t.Errorf("writers %d and %d both got %s", j, i, stem)
		}
		stems[stem] = i
		for _, p := range got[i] {
			if b, _ := os.ReadFile(p); string(b) != fmt.Sprint("writer ", i) {
				t.Errorf("%s holds %q, want writer %d's", p, b, i)
			}
		}
	}
	if left := names(t, dir); len(left) != 3*n {
		t.Errorf("%d files, want %d: %v", len(left), 3*n, left)
	}
}

// bothTempKinds runs test with unnamed temporaries (O_TMPFILE, where this
// machine has them) and with named ones.
func bothTempKinds(t *testing.T, test func(*testing.T)) {
	t.Run("unnamed", func(t *testing.T) {
		if f, err := openTemp(t.TempDir(), "probe"); err != nil || f.path != "" {
			t.Skipf("no unnamed temporaries here (%v)", err)
		} else {
			f.discard()
		}
		test(t)
	})
	t.Run("named", func(t *testing.T) {
		saved := unnamedTemps
		unnamedTemps = func() bool { return false }
		defer func() { unnamedTemps = saved }()
		test(t)
	})
}

// Abort removes a set's temporaries and refuses to place more.
func TestAbortStopsAWrite(t *testing.T) {
	bothTempKinds(t, testAbortStopsAWrite)
}

func testAbortStopsAWrite(t *testing.T) {
	dir := t.TempDir()
	defer func() {
		inflight.mu.Lock()
		inflight.aborted = false
		inflight.mu.Unlock()
	}()
	fs := tagged("x")
	fs[1].Write = func(w io.Writer) error { Abort(); return nil }
	if _, err := WriteSet(dir, "r", fs); !errors.Is(err, errAborted) {
		t.Errorf("WriteSet after Abort: %v", err)
	}
	if left := names(t, dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// FreeName ends: it returns errors other than "exists" at once, and gives
// up after MaxNames names.
func TestFreeNameEnds(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "r.json"), nil, 0o644)
	for i := 2; i <= MaxNames; i++ {
		os.WriteFile(filepath.Join(full, fmt.Sprintf("r-%d.json", i)), nil, 0o644)
	}
	for _, tc := range []struct{ dir, want string }{
		{file, "not a directory"},
		{filepath.Join(dir, "missing"), "no such file"},
		{full, "all exist"},
	} {
		done := make(chan error, 1)
		go func() { _, err := FreeName(tc.dir, "r", ".json"); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("FreeName(%s) = %v, want an error saying %q", tc.dir, err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("FreeName(%s) did not return", tc.dir)
		}
	}
}

// CheckDir refuses, in one line, what cannot take result files, and makes
// a missing directory.
func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		dir  string
		want string // "" : accepted
	}{
		{filepath.Join(dir, "new", "deeper"), ""},
		{file, "not a directory"},
		{filepath.Join(file, "sub"), "not a directory"},
		{"/dev/null", "not a directory"},
		{"/dev/full", "not a directory"},
		{"", "empty"},
	} {
		err := CheckDir(tc.dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckDir(%q): %v", tc.dir, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckDir(%q) = %v, want %q", tc.dir, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("CheckDir(%q): not one line: %q", tc.dir, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "new", "deeper")); err != nil || !st.IsDir() {
		t.Errorf("missing directory not made: %v", err)
	}
	if left := names(t, filepath.Join(dir, "new", "deeper")); len(left) != 0 {
		t.Errorf("probe left behind: %v", left)
	}
}
