package results

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A run's result is a set of files with one stem (kbench-<time>.json,
// .bench, .csv): they appear together or not at all, and never over an
// existing file. Each is written and synced as a temporary first: an
// unnamed one (O_TMPFILE) where the filesystem has them, so that a process
// killed while writing leaves nothing behind, else a hidden named one.
// Then the set claims its names with linkat(2), which fails with EEXIST
// rather than replace anything, so a name is claimed, not guessed: a
// concurrent run, or a file left by anyone, makes the whole set move to
// the next suffix. If a later link fails for another reason the links
// already made are removed.

// MaxNames bounds the stems a set tries (base, base-2, … base-MaxNames):
// a directory that refuses every name ends the search with an error
// instead of a loop.
const MaxNames = 1000

// SetFile is one member of a file set: its extension (".json") and what
// writes its contents.
type SetFile struct {
	Ext   string
	Write func(w io.Writer) error
}

// Set is a run's file set: the JSON (everything), the Go benchmark format
// (benchstat) and the CSV (spreadsheets), in that order.
func Set(f *File) []SetFile {
	return []SetFile{
		{".json", func(w io.Writer) error { return EncodeJSON(w, f) }},
		{".bench", func(w io.Writer) error { return WriteBench(w, f) }},
		{".csv", func(w io.Writer) error { return WriteCSV(w, f) }},
	}
}

// link gives the temporary old the name new, never over an existing file.
// It follows a /proc/self/fd link to the unnamed file it stands for. Tests
// replace it to fail a chosen link.
var link = linkTemp

func linkTemp(old, new string) error {
	if err := unix.Linkat(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: old, New: new, Err: err}
	}
	return nil
}

// temp is a written temporary: open, and named (path) only when the
// filesystem has no unnamed files.
type temp struct {
	f    *os.File
	path string
}

// source is what link takes as the temporary's name.
func (t temp) source() string {
	if t.path != "" {
		return t.path
	}
	return "/proc/self/fd/" + strconv.Itoa(int(t.f.Fd()))
}

func (t temp) discard() {
	t.f.Close()
	if t.path != "" {
		os.Remove(t.path)
		untrack(t.path)
	}
}

// inflight are the paths a set in progress has made and would remove on
// failure: temporaries, and names claimed before the whole set is. Abort
// removes them when the process is told to end at once.
var inflight struct {
	mu      sync.Mutex
	paths   map[string]bool
	aborted bool
}

func track(p string) bool {
	inflight.mu.Lock()
	defer inflight.mu.Unlock()
	if inflight.aborted {
		return false
	}
	if inflight.paths == nil {
		inflight.paths = map[string]bool{}
	}
	inflight.paths[p] = true
	return true
}

func untrack(paths ...string) {
	inflight.mu.Lock()
	defer inflight.mu.Unlock()
	for _, p := range paths {
		delete(inflight.paths, p)
	}
}

// errAborted: Abort was called while a set was being written.
var errAborted = errors.New("interrupted while writing the result files")

// Abort removes what sets in progress have written (temporaries and names
// claimed before their whole set was) and stops them from writing more; it
// is for a process about to exit on a second interrupt. It waits at most
// 100 ms for a set's link in progress, so it cannot hold the exit up.
func Abort() {
	deadline := time.Now().Add(100 * time.Millisecond)
	for !inflight.mu.TryLock() {
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	defer inflight.mu.Unlock()
	inflight.aborted = true
	for p := range inflight.paths {
		os.Remove(p)
	}
	inflight.paths = nil
}

// WriteSet writes files into dir as base+ext each, or base-2+ext each, …:
// the first stem none of whose names exists. It returns the paths in the
// order of files. On error nothing of the set is left in dir.
func WriteSet(dir, base string, files []SetFile) (paths []string, err error) {
	tmps := make([]temp, 0, len(files))
	defer func() {
		for _, t := range tmps {
			t.discard()
		}
	}()
	for _, f := range files {
		t, err := writeTemp(dir, base+f.Ext, f.Write)
		if err != nil {
			return nil, err
		}
		tmps = append(tmps, t)
	}
	for i := 1; i <= MaxNames; i++ {
		stem := base
		if i > 1 {
			stem = fmt.Sprintf("%s-%d", base, i)
		}
		var undone int
		paths, undone, err = claim(dir, stem, files, tmps)
		// An unnamed temporary whose link was undone cannot be linked
		// again (its link count went back to 0 after it had been named):
		// write it anew, the same bytes, for the next stem.
		for k := 0; k < undone && errors.Is(err, fs.ErrExist); k++ {
			if tmps[k].path != "" {
				continue
			}
			tmps[k].discard()
			t, werr := writeTemp(dir, base+files[k].Ext, files[k].Write)
			if werr != nil {
				tmps = append(tmps[:k], tmps[k+1:]...) // already discarded
				return nil, werr
			}
			tmps[k] = t
		}
		if err == nil {
			if err = syncDir(dir); err != nil {
				removeAll(paths)
				return nil, err
			}
			untrack(paths...)
			return paths, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free name for %s in %s: %s to %s-%d all exist", base, dir, base, base, MaxNames)
}

// claim links each temporary to stem+ext. A name that exists (EEXIST)
// undoes the links made and returns that error, and how many it undid; so
// does any other failure.
func claim(dir, stem string, files []SetFile, tmps []temp) ([]string, int, error) {
	var placed []string
	for i, f := range files {
		p := filepath.Join(dir, stem+f.Ext)
		inflight.mu.Lock()
		if inflight.aborted {
			inflight.mu.Unlock()
			removeAll(placed)
			return nil, len(placed), errAborted
		}
		// Held across the link so that Abort sees every name placed.
		err := link(tmps[i].source(), p)
		if err == nil {
			if inflight.paths == nil {
				inflight.paths = map[string]bool{}
			}
			inflight.paths[p] = true
		}
		inflight.mu.Unlock()
		if err != nil {
			removeAll(placed)
			if errors.Is(err, fs.ErrExist) {
				return nil, len(placed), err
			}
			return nil, len(placed), fmt.Errorf("place %s: %w", p, err)
		}
		placed = append(placed, p)
	}
	return placed, 0, nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		os.Remove(p)
	}
	untrack(paths...)
}

// writeTemp writes a synced, world-readable temporary file in dir for the
// file to be called name, and returns it open (the unnamed kind exists
// only as long as its descriptor). On error nothing of it is left.
func writeTemp(dir, name string, write func(io.Writer) error) (t temp, err error) {
	if t, err = openTemp(dir, name); err != nil {
		return temp{}, err
	}
	defer func() {
		if err != nil {
			t.discard()
			t = temp{}
		}
	}()
	if err := write(t.f); err != nil {
		return t, fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := t.f.Sync(); err != nil {
		return t, fmt.Errorf("sync %s: %w", filepath.Join(dir, name), err)
	}
	if err := t.f.Chmod(0o644); err != nil {
		return t, fmt.Errorf("chmod %s: %w", filepath.Join(dir, name), err)
	}
	return t, nil
}

// unnamedTemps reports whether temporaries may be unnamed: they can only be
// linked into place through /proc/self/fd. Tests turn it off to exercise
// the named kind.
var unnamedTemps = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
})

// openTemp creates the temporary for the file to be called name in dir:
// unnamed where the kernel and filesystem allow it, else hidden and named
// (and tracked, for Abort).
func openTemp(dir, name string) (temp, error) {
	if unnamedTemps() {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			return temp{f: os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed "+name+")"))}, nil
		}
		// EOPNOTSUPP: a filesystem without them; EISDIR or EINVAL: a
		// kernel without O_TMPFILE. Anything else is the directory's fault.
		if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
			return temp{}, fmt.Errorf("create a temporary file in %s: %w", dir, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return temp{}, fmt.Errorf("create a temporary file in %s: %w", dir, err)
	}
	t := temp{f: f, path: f.Name()}
	if !track(t.path) {
		t.discard()
		return temp{}, errAborted
	}
	return t, nil
}

// syncDir makes the new names durable with the files they name.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// CheckDir makes dir if it is missing and checks, by creating and removing
// a file in it, that result files can be written there: a regular file, a
// device, a path under a file or a directory this process may not write is
// refused now, before a run, in one line.
func CheckDir(dir string) error {
	if dir == "" {
		return errors.New("empty directory name")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == dir {
			err = pe.Err // the path is in the message already
		}
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".kbench-probe*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("%s: remove probe file: %w", dir, err)
	}
	return nil
}
