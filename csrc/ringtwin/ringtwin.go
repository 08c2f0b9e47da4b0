// Package ringtwin embeds the C twins of the ring designs 1–3
// (ringtwin.c), so that a kbench binary can build them from any working
// directory; ringlab.CTwin compiles this source.
package ringtwin

import "embed"

// Sources holds ringtwin.c at the root of the file system.
//
//go:embed ringtwin.c
var Sources embed.FS

// Units are the files passed to the compiler.
var Units = []string{"ringtwin.c"}

// Flags are the compiler flags.
var Flags = []string{"-std=c11", "-O2", "-pthread"}
