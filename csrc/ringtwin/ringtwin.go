// Package ringtwin embeds the C twins of the ring designs owned,
// owned-pow2, minimal, shared and split (ringtwin.c), so that a kbench
// binary can build them from any working directory; ringlab.CTwin compiles
// this source together with the shared csrc/work.h (Sources). minimal.c
// beside it is not part of the twin: it is the gap study's control, an
// ownership ring written from the description alone, built and run
// by hand (see its header).
package ringtwin

import (
	"embed"
	"io/fs"

	"kbench/csrc"
)

//go:embed ringtwin.c
var own embed.FS

// Sources returns ringtwin.c and work.h at the root of one file system.
func Sources() (fs.FS, error) { return csrc.WithWork(own) }

// Units are the files passed to the compiler.
var Units = []string{"ringtwin.c"}

// Flags are the compiler flags.
var Flags = []string{"-std=c11", "-O2", "-pthread"}
