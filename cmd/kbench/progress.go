package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a bar on a terminal and nothing otherwise (CI logs and
// redirected output stay clean).
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, total int) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progress) step(what string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%-32s", what))
	p.bar.Add(1)
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
