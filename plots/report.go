package plots

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"

	"kbench/results"
	"kbench/results/table"
)

// Report writes report.html into dir: the run's environment, the figures
// (SVG, side by side with the PNG) and every workload's table, as the
// terminal shows them.
func Report(f *results.File, figs []Figure, dir string) error {
	return results.WriteAtomic(filepath.Join(dir, "report.html"), func(out *os.File) error {
		return writeReport(out, f, figs)
	})
}

type htmlTable struct {
	Workload string
	Header   []string
	Lines    [][]string
}

func writeReport(w io.Writer, f *results.File, figs []Figure) error {
	var order []string
	byWorkload := map[string][]results.Result{}
	for _, r := range f.Results {
		if _, ok := byWorkload[r.Workload]; !ok {
			order = append(order, r.Workload)
		}
		byWorkload[r.Workload] = append(byWorkload[r.Workload], r)
	}
	var tables []htmlTable
	for _, wl := range order {
		h, lines := table.Lines(wl, byWorkload[wl])
		tables = append(tables, htmlTable{wl, h, lines})
	}
	var floors []string
	for k, v := range f.Calibration {
		floors = append(floors, fmt.Sprintf("%s = %s", k, table.Num(v)))
	}
	slices.Sort(floors)
	return reportTmpl.Execute(w, map[string]any{
		"F": f, "Figs": figs, "Tables": tables, "Floors": floors,
	})
}

var reportTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kbench report {{.F.Started.Format "2006-01-02 15:04:05"}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
td:first-child, td:last-child, th:first-child { text-align: left; }
figure { margin: 0 0 2em 0; }
figure img { max-width: 100%; }
figcaption { color: #444; max-width: 50em; }
.env td { text-align: left; }
</style></head><body>
<h1>kbench report</h1>
<table class="env">
<tr><td>started</td><td>{{.F.Started.Format "2006-01-02 15:04:05 MST"}}{{if not .F.Complete}} (interrupted: incomplete){{end}}</td></tr>
<tr><td>kernel</td><td>{{.F.Env.Kernel}}</td></tr>
<tr><td>CPU</td><td>{{.F.Env.CPUModel}}</td></tr>
<tr><td>Go</td><td>{{.F.Env.GoVersion}}</td></tr>
{{if .F.Env.Housekeeping}}<tr><td>housekeeping</td><td>{{.F.Env.Housekeeping}}</td></tr>{{end}}
<tr><td>commit</td><td>{{.F.Env.Commit}}</td></tr>
<tr><td>command</td><td>{{range .F.Env.Args}}{{.}} {{end}}</td></tr>
{{if .Floors}}<tr><td>floors</td><td>{{range $i, $f := .Floors}}{{if $i}}; {{end}}{{$f}}{{end}}</td></tr>{{end}}
</table>
{{range .Figs}}<figure id="{{.Name}}"><img src="{{.Name}}.svg" alt="{{.Title}}">
<figcaption><b>{{.Title}}.</b> {{.Caption}} (<a href="{{.Name}}.png">PNG</a>)</figcaption></figure>
{{end}}
{{range .Tables}}<h2>{{.Workload}}</h2>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Lines}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
</body></html>
`))
