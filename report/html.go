package report

import (
	"bytes"
	"fmt"
	"html/template"
)

// HTML renders s as one self-contained page: no scripts, fonts or links
// to fetch, charts as inline SVG, so it opens offline and can be mailed.
func HTML(s *Summary) ([]byte, error) {
	d := htmlData{S: s}
	top := 20
	for i, c := range s.ByErrorCode {
		if i == top {
			break
		}
		code := c.Code
		if code == "" {
			code = "(none)"
		}
		d.codes = append(d.codes, bar{Label: fmt.Sprintf("%s %d (%s)", code, c.HTTPStatus, c.Class), Value: c.Tasks, Class: c.Class.String()})
	}
	for _, p := range s.ByPrefix.Prefixes {
		if len(d.prefixes) == top || p.Failed == 0 {
			break
		}
		d.prefixes = append(d.prefixes, bar{Label: keyPrefixDisplay(p.Prefix), Value: p.Failed, Class: "failed"})
	}
	for _, j := range s.ByJob {
		d.jobs = append(d.jobs, bar{Label: j.JobID, Value: j.Failed, Class: "failed"})
	}
	d.Codes = chart(d.codes)
	d.Prefixes = chart(d.prefixes)
	d.Jobs = columns(d.jobs)
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, &d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type bar struct {
	Label string
	Value int64
	Class string
}

type htmlData struct {
	S                     *Summary
	codes, prefixes, jobs []bar
	Codes, Prefixes, Jobs template.HTML
}

var barColor = map[string]string{"retryable": "#e0a000", "permanent": "#c0392b", "unknown": "#7f8c8d", "success": "#27ae60", "failed": "#c0392b"}

// chart draws horizontal bars with labels on the left.
func chart(bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML("<p>none</p>")
	}
	const labelW, barW, rowH = 340, 420, 22
	var max int64 = 1
	for _, b := range bars {
		if b.Value > max {
			max = b.Value
		}
	}
	var w bytes.Buffer
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, labelW+barW+90, len(bars)*rowH+4)
	for i, b := range bars {
		y := i * rowH
		bw := int(float64(barW) * float64(b.Value) / float64(max))
		if bw < 1 && b.Value > 0 {
			bw = 1
		}
		fmt.Fprintf(&w, `<text x="%d" y="%d" text-anchor="end" font-size="12">%s</text>`, labelW-6, y+15, template.HTMLEscapeString(trunc(b.Label, 52)))
		fmt.Fprintf(&w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d</title></rect>`, labelW, y+3, bw, rowH-6, barColor[b.Class], template.HTMLEscapeString(b.Label), b.Value)
		fmt.Fprintf(&w, `<text x="%d" y="%d" font-size="12">%s</text>`, labelW+bw+6, y+15, count(b.Value))
	}
	w.WriteString(`</svg>`)
	return template.HTML(w.String())
}

// columns draws one vertical bar per job, in job order (oldest first).
func columns(bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML("<p>none</p>")
	}
	const h, width = 200, 760
	var max int64 = 1
	for _, b := range bars {
		if b.Value > max {
			max = b.Value
		}
	}
	step := float64(width) / float64(len(bars))
	var w bytes.Buffer
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, width+60, h+20)
	fmt.Fprintf(&w, `<text x="0" y="12" font-size="11">%s</text>`, count(max))
	fmt.Fprintf(&w, `<line x1="50" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, h, width+50, h)
	for i, b := range bars {
		bh := int(float64(h-10) * float64(b.Value) / float64(max))
		x := 50 + float64(i)*step
		bw := step * 0.8
		if bw < 1 {
			bw = 1
		}
		fmt.Fprintf(&w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>job %s: %d failed</title></rect>`, x, h-bh, bw, bh, barColor[b.Class], template.HTMLEscapeString(b.Label), b.Value)
	}
	fmt.Fprintf(&w, `<text x="50" y="%d" font-size="11">oldest job</text><text x="%d" y="%d" font-size="11" text-anchor="end">newest job</text>`, h+15, width+50, h+15)
	w.WriteString(`</svg>`)
	return template.HTML(w.String())
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{"count": count}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>s3batchkit report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.warn{color:#a04000}
code{font-size:90%}
</style></head><body>
<h1>Completion report</h1>
{{with .S}}
<p><b>{{count .Tasks.Total}}</b> tasks in {{.Files.Jobs}} jobs ({{.Files.Files}} result files):
{{count .Tasks.Succeeded}} succeeded, <b>{{count .Tasks.Failed}}</b> failed{{if .Tasks.TreatedAsSuccess}}, {{count .Tasks.TreatedAsSuccess}} treated as success{{end}}.</p>
<table><tr><th>class</th><th>failed tasks</th><th>objects to re-run</th></tr>
{{range .Rerun}}<tr><td>{{.Class}}</td><td class="n">{{index $.S.ByClass .Class | count}}</td><td class="n">{{count .Objects}}</td></tr>{{end}}
</table>
<p>Objects: {{count .Objects.Distinct}} distinct; {{count .Objects.FailedObjects}} failed at least once,
{{count .Objects.LatestFailed}} still failing, {{count .Objects.LaterSucceeded}} succeeded later.</p>
{{if .Warnings}}<h2>Warnings</h2><ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}
{{end}}
<h2>Failures by error code</h2>{{.Codes}}
<h2>Failures by prefix (depth {{.S.ByPrefix.Depth}})</h2>{{.Prefixes}}
<h2>Failures over jobs</h2>{{.Jobs}}
<h2>Most common failure messages</h2>
{{with .S.Messages}}{{if .Approximate}}<p>Approximate: rare messages were pruned; counts are lower bounds.</p>{{end}}
<table><tr><th>tasks</th><th>code</th><th>message (normalised)</th></tr>
{{range $i, $m := .Messages}}{{if lt $i 30}}<tr><td class="n">{{count $m.Tasks}}</td><td>{{$m.Code}}</td><td><code>{{$m.Message}}</code></td></tr>{{end}}{{end}}
</table>{{end}}
<h2>Jobs</h2>
<table><tr><th>job</th><th>route</th><th>tasks</th><th>succeeded</th><th>failed</th></tr>
{{range .S.ByJob}}<tr><td>{{.JobID}}</td><td>{{.Route}}</td><td class="n">{{count .Tasks}}</td><td class="n">{{count .Succeeded}}</td><td class="n">{{count .Failed}}</td></tr>{{end}}
</table>
</body></html>
`))
