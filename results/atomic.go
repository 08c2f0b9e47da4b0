package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to path through a temporary file in the same
// directory, synced and renamed into place, so a reader never sees half a
// file and an interrupted write leaves no debris.
func WriteAtomic(path string, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// FreeName claims base+ext in dir, or base-2+ext, base-3+ext…, by creating
// it empty with O_EXCL, and returns its path: the name is the caller's, and
// an existing file is never replaced. It gives up after MaxNames names, and
// returns at once any error but "exists" (a directory it may not write, a
// path that is not one). A set of files with one stem is WriteSet's.
func FreeName(dir, base, ext string) (string, error) {
	for i := 1; i <= MaxNames; i++ {
		p := filepath.Join(dir, base+ext)
		if i > 1 {
			p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, i, ext))
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return p, f.Close()
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("claim a name in %s: %w", dir, err)
		}
	}
	return "", fmt.Errorf("no free name for %s%s in %s: %s%s to %s-%d%s all exist", base, ext, dir, base, ext, base, MaxNames, ext)
}
