// Package plots turns kbench result files into what a design review reads:
// figures (gonum/plot, each as PNG and SVG) and one self-contained
// report.html that opens with findings derived from the data, compares
// several inputs (kernels, builds, hosts) side by side, and inlines every
// figure. Everything comes from the result files alone, so a report can be
// drawn again on any machine, long after the run.
//
// The layers are separate so each can be tested alone: Load pools inputs;
// Figures computes each figure's data (the golden tests pin it); Render
// draws one; Compare and Findings derive the report's text; Report writes
// the page.
//
// Figures, each drawn when an input holds its workload's rows:
//   - fanin-events, fanin-syscalls: bars per variant, one panel per class of
//     comparable rows (descriptor sources, one-shot, kevent user sources);
//   - fanin-cpu: CPU per event, one panel per side;
//   - latency-spectrum-<load>: HdrHistogram's percentile spectrum per
//     family, corrected and raw;
//   - latency-load: p99 against offered load; scale: collection cost
//     against registered sources N; one panel per family;
//   - ring: the ring designs as multiples of the cache-line round trip;
//   - fidelity: Go/C events/s per kernel backend, with the 0.9 target.
//
// One colour per backend family (per input, when comparing) and one dash
// per variant, the same in every figure; a whisker on every bar and point;
// a log axis wherever the values span more than 20×, drawn only over
// positive values (gonum's log scale panics on the others).
package plots

// Draw computes every figure the inputs have data for and renders each
// into dir (which must exist), in report order.
func Draw(ins []*Input, dir string) ([]*Fig, error) {
	figs, err := Figures(ins)
	if err != nil {
		return nil, err
	}
	for _, f := range figs {
		if err := Render(f, dir); err != nil {
			return nil, err
		}
	}
	return figs, nil
}
