// Package csrc holds what the C twins share: work.h, the calibrated
// per-event work (the C side of internal/work). A twin's package adds it to
// its own sources with WithWork so that ctwin builds them together.
package csrc

import (
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
)

//go:embed work.h
var shared embed.FS

// WithWork returns the files of src's root plus work.h, as one file system
// for ctwin.Build (embed cannot reach a parent directory, so each twin
// embeds its own files and this adds the shared header). fstest.MapFS is
// used only as a ready-made in-memory fs.FS.
func WithWork(src fs.FS) (fs.FS, error) {
	out := fstest.MapFS{}
	for _, from := range []fs.FS{src, shared} {
		ents, err := fs.ReadDir(from, ".")
		if err != nil {
			return nil, fmt.Errorf("csrc: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, err := fs.ReadFile(from, e.Name())
			if err != nil {
				return nil, fmt.Errorf("csrc: %w", err)
			}
			out[e.Name()] = &fstest.MapFile{Data: b, Mode: 0o644}
		}
	}
	return out, nil
}
