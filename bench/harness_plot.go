package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// plotSeries is one line of the plot: a format and stage across sizes.
type plotSeries struct {
	name string
	x    []float64 // rows
	rate []float64 // M rows/s
	mem  []float64 // MiB
}

func (r *Result) series() []plotSeries {
	var out []plotSeries
	idx := map[string]int{}
	for _, s := range r.Scale {
		if s.Skipped != "" || s.WallSeconds <= 0 {
			continue
		}
		name := formatTitle(s.Format) + " " + s.Stage
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, plotSeries{name: name})
		}
		p := &out[i]
		p.x = append(p.x, float64(s.Rows))
		p.rate = append(p.rate, s.RowsPerSec/1e6)
		p.mem = append(p.mem, float64(s.PeakBytes)/(1<<20))
	}
	return out
}

var plotColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

// WritePlot draws throughput (M rows/s) and peak memory (MiB) against rows
// (log scale) as an SVG of two panels, a line per format and stage. Flat
// lines mean linear time and bounded memory.
func (r *Result) WritePlot(w io.Writer) error {
	series := r.series()
	const (
		width, height = 960, 400
		panelW        = 400
		top, bottom   = 50, 60
		left1, left2  = 70, 550
	)
	plotH := float64(height - top - bottom)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height+20*len(series), width, height+20*len(series))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	m := r.Machine
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">s3batchkit bench: %s, %d cores, gzip %s, %s</text>`+"\n", left1, html.EscapeString(orUnknown(m.CPU)), m.Cores, m.Gunzip, r.Started.Format("2006-01-02"))

	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, x := range s.x {
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
	}
	if len(series) == 0 {
		xmin, xmax = 1e6, 1e7
	}
	lx0, lx1 := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
	if lx1 <= lx0 {
		lx1 = lx0 + 1
	}
	panel := func(left int, title string, val func(plotSeries) []float64) {
		ymax := 0.0
		for _, s := range series {
			for _, v := range val(s) {
				ymax = math.Max(ymax, v)
			}
		}
		ymax = niceCeil(ymax)
		px := func(x float64) float64 { return float64(left) + (math.Log10(x)-lx0)/(lx1-lx0)*panelW }
		py := func(y float64) float64 { return float64(top) + plotH - y/ymax*plotH }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, top-10, html.EscapeString(title))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%.0f" fill="none" stroke="#444"/>`+"\n", left, top, panelW, plotH)
		for i := 0; i <= 4; i++ {
			y := ymax * float64(i) / 4
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, left, py(y), left+panelW, py(y))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, py(y)+4, trimFloat(y))
		}
		for e := lx0; e <= lx1; e++ {
			x := px(math.Pow(10, e))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#ddd"/>`, x, top, x, float64(top)+plotH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">10^%.0f</text>`+"\n", x, float64(top)+plotH+16, e)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="middle">rows</text>`+"\n", left+panelW/2, float64(top)+plotH+34)
		for i, s := range series {
			c := plotColors[i%len(plotColors)]
			var pts []string
			for j, v := range val(s) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.x[j]), py(v)))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, px(s.x[j]), py(v), c)
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), c)
		}
	}
	panel(left1, "throughput, million input rows/s", func(s plotSeries) []float64 { return s.rate })
	panel(left2, "peak memory, MiB", func(s plotSeries) []float64 { return s.mem })
	for i, s := range series {
		y := height + 20*i
		c := plotColors[i%len(plotColors)]
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`, left1, y-4, left1+24, y-4, c)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left1+32, y, html.EscapeString(s.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for v <= 0).
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
