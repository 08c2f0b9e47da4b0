// Package ctwin builds and reads the C twins: C programs with the same loops
// as a Go measurement, compiled on first use so that a kbench binary can run
// them beside its own loops from any working directory.
package ctwin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// CC is the compiler: $CC, or cc.
func CC() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

var built struct {
	sync.Mutex
	paths map[string]string
}

// Build returns the twin called name, compiled from units of src (the C
// files at src's root) with flags, into the user's cache directory under a
// name derived from the compiler, the flags and the sources, so an edit
// rebuilds it and later runs reuse it. Without a C compiler the error wraps
// errors.ErrUnsupported.
func Build(name string, src fs.FS, units []string, flags ...string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, CC(), strings.Join(flags, " "), strings.Join(units, " "))
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, p)
		fmt.Fprintln(h, p)
		h.Write(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%s twin: reading its sources: %w", name, err)
	}
	key := name + "-" + hex.EncodeToString(h.Sum(nil))[:16]
	built.Lock()
	defer built.Unlock()
	if p, ok := built.paths[key]; ok {
		// Remembered, but the cache may have been cleaned since.
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "kbench", key)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err != nil {
		if bin, err = BuildIn(dir, name, src, units, flags...); err != nil {
			return "", err
		}
	}
	if built.paths == nil {
		built.paths = map[string]string{}
	}
	built.paths[key] = bin
	return bin, nil
}

// BuildIn compiles the twin into dir/name from a scratch copy of src. The
// binary appears by rename, so a concurrent builder never runs half a file.
func BuildIn(dir, name string, src fs.FS, units []string, flags ...string) (string, error) {
	cc, err := exec.LookPath(CC())
	if err != nil {
		return "", fmt.Errorf("%s twin: no C compiler (%v): %w", name, err, errors.ErrUnsupported)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s twin: %w", name, err)
	}
	scratch, err := os.MkdirTemp(dir, "src-")
	if err != nil {
		return "", fmt.Errorf("%s twin: %w", name, err)
	}
	defer os.RemoveAll(scratch)
	if err := os.CopyFS(scratch, src); err != nil {
		return "", fmt.Errorf("%s twin: %w", name, err)
	}
	tmp := filepath.Join(scratch, name)
	args := append(append(append([]string{}, flags...), "-o", tmp), units...)
	cmd := exec.Command(cc, args...)
	cmd.Dir = scratch
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s twin: %s %s: %w\n%s", name, CC(), strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	bin := filepath.Join(dir, name)
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("%s twin: %w", name, err)
	}
	return bin, nil
}

// ParseKV reads a twin's output: one result a line, as key=value fields.
func ParseKV(out []byte) ([]map[string]string, error) {
	var lines []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("C twin output %q: field %q is not key=value", line, f)
			}
			kv[k] = v
		}
		lines = append(lines, kv)
	}
	return lines, sc.Err()
}
