package plots

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kbench/results"
	"kbench/results/table"
)

// Report writes dir/report.html: one file a review or a CI artifact page
// can hold alone. What changed comes first (when inputs are compared),
// then the findings, then every figure inlined as SVG (the PNG and SVG
// files stay beside it), the comparison tables, every workload's table and
// the environments. It fetches nothing and prints as it reads.
func Report(ins []*Input, figs []*Fig, comps []Comparison, dir string) error {
	svgs := map[string]template.HTML{}
	for _, f := range figs {
		b, err := os.ReadFile(filepath.Join(dir, f.Name+".svg"))
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		svg, err := inlineSVG(b)
		if err != nil {
			return fmt.Errorf("report: %s: %w", f.Name, err)
		}
		svgs[f.Name] = svg
	}
	return results.WriteAtomic(filepath.Join(dir, "report.html"), func(out *os.File) error {
		return writeReport(out, ins, figs, comps, svgs)
	})
}

// inlineSVG keeps an SVG document's <svg> element (dropping the XML
// prologue, which is not valid inside HTML).
func inlineSVG(b []byte) (template.HTML, error) {
	i := bytes.Index(b, []byte("<svg"))
	if i < 0 {
		return "", fmt.Errorf("no <svg> element")
	}
	// gonum's SVG has no ids, so several inline figures cannot collide.
	return template.HTML(b[i:]), nil // #nosec: our own renderer's output
}

type htmlTable struct {
	Workload, Input string
	Header          []string
	Lines           [][]string
}

type inputView struct {
	Label    string
	Paths    string
	F        *results.File
	Runs     int
	Findings []Finding
	Floors   []string
}

func writeReport(w io.Writer, ins []*Input, figs []*Fig, comps []Comparison, svgs map[string]template.HTML) error {
	var views []inputView
	for _, in := range ins {
		v := inputView{Label: in.Label, Paths: strings.Join(in.Paths, ", "), F: in.File, Runs: len(in.Files), Findings: Findings(in, figs)}
		for _, k := range slices.Sorted(maps.Keys(in.File.Calibration)) {
			v.Floors = append(v.Floors, k+" = "+table.Num(in.File.Calibration[k]))
		}
		views = append(views, v)
	}
	var wls []string
	for _, in := range ins {
		for _, wl := range workloads(in.File) {
			if !slices.Contains(wls, wl) {
				wls = append(wls, wl)
			}
		}
	}
	var tables []htmlTable
	for _, wl := range wls {
		for _, in := range ins {
			var rows []results.Result
			for _, r := range in.File.Results {
				if r.Workload == wl {
					rows = append(rows, r)
				}
			}
			if len(rows) == 0 {
				continue
			}
			h, lines := table.Lines(wl, rows)
			tables = append(tables, htmlTable{wl, in.Label, h, lines})
		}
	}
	var env [][]string
	if len(ins) > 1 {
		env = envDiff(ins)
	}
	return reportTmpl.Execute(w, map[string]any{
		"Inputs": views, "Multi": len(ins) > 1, "Figs": figs, "SVG": svgs, "Comps": comps,
		"Tables": tables, "EnvDiff": env,
	})
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"top": func(c Comparison) []CmpRow { return c.topChanges(12) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kbench report{{range $i, $in := .Inputs}}{{if $i}} vs{{end}} {{$in.Label}}{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 85%; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; vertical-align: top; }
td:first-child, th:first-child, .left td, .left th { text-align: left; }
ul.findings li { margin: 0.25em 0; }
li.status, li.fidelity { color: #7a3b00; }
li.lead::marker { content: "▲ "; } li.tie::marker { content: "≈ "; }
figure { margin: 0 0 2.5em 0; break-inside: avoid; }
figure svg { width: 100%; max-width: 62em; height: auto; display: block; }
figcaption { color: #444; max-width: 60em; font-size: 90%; }
.worse, .REGRESSION, .BROKEN { color: #b00020; font-weight: bold; }
.better { color: #006b2d; font-weight: bold; }
.verdict-fail { color: #b00020; } .verdict-pass { color: #006b2d; }
details { margin-bottom: 1.5em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  details > summary { display: none; }
  h2 { break-before: page; } section:first-of-type h2 { break-before: auto; }
  a { color: inherit; text-decoration: none; }
}
</style></head><body>
<h1>kbench report</h1>
<p>{{if .Multi}}Compares {{len .Inputs}} inputs, the first as the baseline:{{else}}One run:{{end}}
{{range .Inputs}}<br><b>{{.Label}}</b>: {{.Paths}}{{if gt .Runs 1}} ({{.Runs}} runs pooled){{end}}{{end}}</p>
{{if .Comps}}<section id="changes"><h2>What changed</h2>
{{if .EnvDiff}}<table class="left"><tr><th></th>{{range .Inputs}}<th>{{.Label}}</th>{{end}}</tr>
{{range .EnvDiff}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{else}}<p>The inputs' environments do not differ (kernel, host, commit, CPU, Go, start time, command).</p>{{end}}
{{range .Comps}}<h3>{{.Head}} against {{.Base}}</h3>
<p>Gate verdict: {{if .Failed}}<span class="verdict-fail">FAIL</span>{{else if .Powerless}}<span class="verdict-fail">NO POWER</span>: {{.Powerless}}{{else}}<span class="verdict-pass">pass</span>{{end}} ({{.Summary}}).
Mann-Whitney U test per metric, significant at p &lt; 0.05; a regression is significant and worse than 5 % in the metric's own direction.</p>
{{if .Reps}}<p class="status">A side holds a single run: the U test compared that run's repetitions, which share one stretch of the machine's drift and do not sample the variation between runs (on a shared machine two runs of one build differ by 10–40 %). Read its verdicts as hints; for a verdict give each side a directory of interleaved runs (scripts/gate.sh).</p>{{end}}
{{if .AllTooFew}}<p class="status">No metric could be judged: every comparison had too few observations for the U test to reject at 0.05 (three repetitions a side cannot). Compare directories of several runs per input (scripts/gate.sh interleaves them), or run more repetitions.</p>{{end}}
{{with top .}}<p>Largest significant changes of each workload's headline metric:</p>
<table><tr><th>row</th><th>metric (better)</th><th>base</th><th>head</th><th>delta</th><th>range of delta</th><th>p</th><th>n</th><th>verdict</th></tr>
{{range .}}<tr><td>{{.Row}}</td><td>{{.Metric}} ({{.Better}})</td><td>{{.Base}}</td><td>{{.Head}}</td><td>{{.Delta}}</td><td>{{.Range}}</td><td>{{.P}}</td><td>{{.N}}</td><td class="{{.Verdict}}">{{.Verdict}}</td></tr>
{{end}}</table>{{else}}<p>No workload's headline metric changed significantly.</p>{{end}}
{{if .Broken}}<p class="BROKEN">Rows that fail the gate in {{.Head}} (measured in {{.Base}}):</p><ul>{{range .Broken}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if or .BaseOnly .HeadOnly}}<p>{{.BaseOnly}} row(s) only in {{.Base}}, {{.HeadOnly}} only in {{.Head}}: not compared.</p>{{end}}
{{end}}</section>{{end}}
<section id="findings"><h2>Findings</h2>
<p>Derived from the data: leads on each workload's headline metric (its interval in brackets), rows that cannot be told apart, rows that are not plainly ok, fidelity, floors. Each links to its figure or table.</p>
{{range .Inputs}}{{if $.Multi}}<h3>{{.Label}}</h3>{{end}}
<ul class="findings">{{range .Findings}}<li class="{{.Kind}}">{{.Text}} <a href="{{.Link}}">→</a></li>
{{end}}</ul>{{end}}</section>
<section id="figures"><h2>Figures</h2>
{{if .Multi}}<p>Each bar group and each line style holds one input per colour, in the order above.</p>{{end}}
{{range .Figs}}<figure id="fig-{{.Name}}">{{index $.SVG .Name}}
<figcaption><b>{{.Title}}.</b> {{.Caption}} (<a href="{{.Name}}.png">PNG</a>, <a href="{{.Name}}.svg">SVG</a>)</figcaption></figure>
{{end}}</section>
{{if .Comps}}<section id="comparison"><h2>Comparison tables</h2>
{{range .Comps}}{{$c := .}}{{range .Workloads}}<h3 id="cmp-{{$c.Head}}-{{.Workload}}">{{.Workload}}: {{$c.Head}} against {{$c.Base}}</h3>
<table><tr><th>row</th><th>metric (better)</th><th>base</th><th>head</th><th>delta</th><th>range of delta</th><th>p</th><th>n</th><th>verdict</th></tr>
{{range .Headline}}<tr><td>{{.Row}}</td><td>{{.Metric}} ({{.Better}})</td><td>{{.Base}}</td><td>{{.Head}}</td><td>{{.Delta}}</td><td>{{.Range}}</td><td>{{.P}}</td><td>{{.N}}</td><td class="{{.Verdict}}">{{.Verdict}}</td></tr>
{{end}}</table>
{{if .Rest}}<details><summary>{{len .Rest}} other metrics</summary><table><tr><th>row</th><th>metric (better)</th><th>base</th><th>head</th><th>delta</th><th>range of delta</th><th>p</th><th>n</th><th>verdict</th></tr>
{{range .Rest}}<tr><td>{{.Row}}</td><td>{{.Metric}} ({{.Better}})</td><td>{{.Base}}</td><td>{{.Head}}</td><td>{{.Delta}}</td><td>{{.Range}}</td><td>{{.P}}</td><td>{{.N}}</td><td class="{{.Verdict}}">{{.Verdict}}</td></tr>
{{end}}</table></details>{{end}}
{{end}}{{end}}
<p>delta: change of the median, head against base; range of delta: from the two sides' intervals (95 % of the median, or min–max); p: Mann-Whitney U; n: observations per side (runs' medians when both sides have two runs or more).</p>
</section>{{end}}
<section id="tables"><h2>Tables</h2>
{{$prev := ""}}{{range .Tables}}{{if ne .Workload $prev}}<h3 id="table-{{.Workload}}">{{.Workload}}</h3>{{end}}{{$prev = .Workload}}
{{if $.Multi}}<h4>{{.Input}}</h4>{{end}}
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Lines}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}</section>
<section id="env"><h2>Environment</h2>
{{range .Inputs}}{{if $.Multi}}<h3>{{.Label}}</h3>{{end}}
<table class="left">
<tr><td>started</td><td>{{.F.Started.Format "2006-01-02 15:04:05 MST"}}{{if not .F.Complete}} (interrupted: incomplete){{end}}</td></tr>
<tr><td>kernel</td><td>{{.F.Env.Kernel}}</td></tr>
<tr><td>host</td><td>{{.F.Env.Hostname}}</td></tr>
<tr><td>CPU</td><td>{{.F.Env.CPUModel}} ({{.F.Env.NumCPU}} CPUs, used {{.F.Env.CPUsUsed}})</td></tr>
<tr><td>Go</td><td>{{.F.Env.GoVersion}}</td></tr>
{{if .F.Env.Housekeeping}}<tr><td>housekeeping</td><td>{{.F.Env.Housekeeping}}</td></tr>{{end}}
<tr><td>commit</td><td>{{.F.Env.Commit}}</td></tr>
<tr><td>command</td><td>{{range .F.Env.Args}}{{.}} {{end}}</td></tr>
{{if .Floors}}<tr><td>floors (ns)</td><td>{{range $i, $f := .Floors}}{{if $i}}; {{end}}{{$f}}{{end}}</td></tr>{{end}}
{{with .F.Engine}}<tr><td>engine</td><td>seed {{.Seed}}, {{len .Rounds}} rounds; noisy above {{.NoisyShare}} interference, unstable above {{.UnstableWidth}} relative half-width</td></tr>{{end}}
</table>{{end}}</section>
</body></html>
`))
