// Package ringtwin embeds the C twins of the ring designs 1–3
// (ringtwin.c), so that a kbench binary can build them from any working
// directory; ringlab.BuildCTwin compiles this source.
package ringtwin

import _ "embed"

// Source is ringtwin.c.
//
//go:embed ringtwin.c
var Source []byte
