package plots

import "kbench/results"

// Style fixes how a series looks across every figure of one report: a
// colour per backend family (or, comparing inputs, per input) and a line
// style per variant within its family, assigned once from every row of
// every input so that a variant looks the same in each figure.
type Style struct {
	inputs   int
	families map[string]string
	dashes   map[string]int
}

// familyColours are fixed for the known backends so that epoll is the same
// blue in every report; other families take the spare colours in order.
var familyColours = map[string]string{
	"epoll": "#1f77b4", "aioring": "#ff7f0e", "iouring": "#2ca02c", "kevent": "#d62728", "ring": "#9467bd",
}

var spareColours = []string{"#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}

// inputColours tell inputs apart when several are compared: the first
// (the baseline) grey, the others saturated.
var inputColours = []string{"#6b6b6b", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e"}

// dashPatterns in points; index 0 is a solid line.
var dashPatterns = [][]float64{nil, {6, 3}, {2, 2}, {7, 2, 2, 2}, {12, 4}, {1, 3}}

func newStyle(ins []*Input) *Style {
	s := &Style{inputs: len(ins), families: map[string]string{}, dashes: map[string]int{}}
	perFamily := map[string]int{}
	spare := 0
	for _, in := range ins {
		for i := range in.File.Results {
			r := &in.File.Results[i]
			if _, ok := s.families[r.Backend]; !ok {
				c, ok := familyColours[r.Backend]
				if !ok {
					c = spareColours[spare%len(spareColours)]
					spare++
				}
				s.families[r.Backend] = c
			}
			k := label(r)
			if _, ok := s.dashes[k]; !ok {
				s.dashes[k] = perFamily[r.Backend] % len(dashPatterns)
				perFamily[r.Backend]++
			}
		}
	}
	return s
}

func label(r *results.Result) string { return r.Backend + "/" + r.Variant }

// family is the colour of a backend family.
func (s *Style) family(backend string) string { return s.families[backend] }

// input is the colour of the i-th input.
func (s *Style) input(i int) string { return inputColours[i%len(inputColours)] }

// line is the colour and dash of a row's line in input i: the family's
// colour for one input, the input's colour when comparing.
func (s *Style) line(r *results.Result, i int) (string, int) {
	if s.inputs > 1 {
		return s.input(i), s.dashes[label(r)]
	}
	return s.family(r.Backend), s.dashes[label(r)]
}
