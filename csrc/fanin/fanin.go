// Package fanin embeds the C twins of the fan-in loop (fanin.c, the
// collector and producer of workloads/fanin.go; epoll.c, aio.c and uring.c,
// one kernel backend each), so that a kbench binary can build them from any
// working directory; workloads.BuildFaninTwin compiles them with
// `cc -O2 -pthread -o fanin fanin.c epoll.c aio.c uring.c`.
package fanin

import (
	"embed"
	"io/fs"

	"kbench/csrc"
)

//go:embed fanin.h fanin.c epoll.c aio.c uring.c
var own embed.FS

// Sources returns the C files and the shared work.h at the root of one
// file system.
func Sources() (fs.FS, error) { return csrc.WithWork(own) }

// Units are the files passed to the compiler, in order.
var Units = []string{"fanin.c", "epoll.c", "aio.c", "uring.c"}

// Modes are the twin's -mode values, one per kernel backend mode.
var Modes = []string{"epoll-lt", "epoll-et", "epoll-oneshot", "aio", "uring-oneshot", "uring-multishot"}
