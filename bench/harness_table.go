package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Table is a titled grid of cells; the first column is a label and is
// left-aligned, the others are numbers and right-aligned.
type Table struct {
	Title string
	Head  []string
	Rows  [][]string
	Notes []string // lines printed under the table
}

// WriteText renders t as aligned plain text.
func (t *Table) WriteText(w io.Writer) error {
	width := make([]int, len(t.Head))
	for i, h := range t.Head {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	line := func(cells []string) {
		b.WriteString(" ")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			b.WriteString(" ")
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(t.Head)
	for _, r := range t.Rows {
		line(r)
	}
	for _, n := range t.Notes {
		b.WriteString("  " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown renders t as a GitHub-flavoured Markdown table.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", t.Title)
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("|")
	for _, h := range t.Head {
		b.WriteString(" " + esc(h) + " |")
	}
	b.WriteString("\n|")
	for i := range t.Head {
		if i == 0 {
			b.WriteString(" :--- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("|")
		for i := range t.Head {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
	for _, n := range t.Notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Tables arranges a result for reading: with one size, a table per format
// with a row per stage; with several (Options.Scale), a table per format
// and stage with a row per size. The peer comparison, if any, comes last.
func (r *Result) Tables() []*Table {
	out := r.stageTables()
	if r.Peer != nil {
		out = append(out, r.Peer.Table())
	}
	return out
}

func (r *Result) stageTables() []*Table {
	out := groupTables(r.Stages, true, r.Machine.Gunzip)
	return append(out, groupTables(r.Scale, false, r.Machine.Gunzip)...)
}

// groupTables makes a table per format (byFormat: a row per stage) or per
// format and stage (a row per size).
// build (the gzip decoder of the build measured) goes in each title.
func groupTables(results []StageResult, byFormat bool, build string) []*Table {
	var out []*Table
	type key struct{ format, stage string }
	var order []key
	groups := map[key][]StageResult{}
	for _, s := range results {
		k := key{s.Format, s.Stage}
		if byFormat {
			k.stage = ""
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	for _, k := range order {
		rows := groups[k]
		t := &Table{}
		if byFormat {
			// The report's size, not the two reports of a diff.
			first := rows[0]
			for _, s := range rows {
				if s.Stage != StageDiff {
					first = s
					break
				}
			}
			if first.TargetRows > 0 { // a diff alone: its files are of both reports
				t.Title = fmt.Sprintf("%s, %s rows", formatTitle(k.format), count(first.Rows-first.TargetRows))
			} else {
				t.Title = fmt.Sprintf("%s, %s rows, %d file(s)", formatTitle(k.format), count(first.Rows), first.Files)
			}
			t.Title += fmt.Sprintf(" (build: %s gunzip)", build)
			t.Head = []string{"stage", "rows/s", "rows/CPU-s", "input MB/s", "wall", "CPU", "peak mem", "10^9 rows"}
		} else {
			t.Title = fmt.Sprintf("%s, stage %s, by size (build: %s gunzip)", formatTitle(k.format), k.stage, build)
			t.Head = []string{"rows", "rows/s", "rows/CPU-s", "input MB/s", "wall", "CPU", "peak mem", "10^9 rows"}
		}
		diffNote := false
		var plan, unsorted *StageResult
		for i, s := range rows {
			switch {
			case s.Skipped != "":
			case s.Stage == StagePlan:
				plan = &rows[i]
			case s.Stage == StageUnsorted:
				unsorted = &rows[i]
			}
			label := s.Stage
			if !byFormat {
				label = count(s.Rows - s.TargetRows)
			}
			if s.Skipped != "" {
				t.Rows = append(t.Rows, []string{label, "skipped", "", "", "", "", "", ""})
				t.Notes = append(t.Notes, fmt.Sprintf("%s skipped: %s", label, s.Skipped))
				continue
			}
			t.Rows = append(t.Rows, []string{label, Rate(s.RowsPerSec), Rate(s.RowsPerCPUSec), fmt.Sprintf("%.1f", s.MBPerSec),
				Seconds(s.WallSeconds), Seconds(s.CPUSeconds), Bytes(s.PeakBytes), Duration(s.Projected1e9)})
			diffNote = diffNote || s.Stage == StageDiff && s.TargetRows > 0
		}
		if diffNote {
			t.Notes = append(t.Notes, "diff: rows/s, input MB/s and 10^9 rows count the rows and bytes of both reports (the report and a target 1% different)")
		}
		if byFormat && plan != nil && unsorted != nil && unsorted.WallSeconds > 0 && unsorted.CPUSeconds > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("sorted / unsorted plan: %.2f× the wall time, %.2f× the CPU time",
				plan.WallSeconds/unsorted.WallSeconds, plan.CPUSeconds/unsorted.CPUSeconds))
		}
		out = append(out, t)
	}
	return out
}

func formatTitle(f string) string {
	switch f {
	case "csv":
		return "CSV.gz"
	case "parquet":
		return "Parquet"
	case "orc":
		return "ORC"
	case "completion-csv":
		return "completion reports (CSV)"
	}
	return f
}

// WriteText prints the result's tables.
func (r *Result) WriteText(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "%s, %d cores, %s, %s, gzip: %s; %d run(s) each, %s, %d workers; filter: %s\n",
		orUnknown(m.CPU), m.Cores, Bytes(m.MemoryBytes), m.Go, m.Gunzip, r.Runs, r.Mode, r.Workers, r.Filter)
	if r.NoVerify {
		fmt.Fprintln(w, "data file MD5s not verified (--no-verify)")
	}
	fmt.Fprintln(w)
	for _, t := range r.Tables() {
		if err := t.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(r.Stages)+len(r.Scale) > 0 {
		fmt.Fprintln(w, "wall and CPU: median of the runs; peak mem: largest; 10^9 rows: wall time projected linearly from the measured rate")
	}
	return nil
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// Rate formats rows per second: "850 k", "5.21 M".
func Rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Seconds formats a short duration in seconds: "0.183 s", "12.4 s".
func Seconds(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.3f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

// Duration formats a long duration given in seconds: "45 s", "3 min 12 s",
// "2 h 05 min".
func Duration(s float64) string {
	if s <= 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return "-"
	}
	t := int64(math.Round(s))
	switch {
	case t < 60:
		return fmt.Sprintf("%d s", t)
	case t < 3600:
		return fmt.Sprintf("%d min %02d s", t/60, t%60)
	}
	m := (t + 30) / 60
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

// Bytes formats a byte count in binary units: "812 KiB", "1.4 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v >= 100 {
		return fmt.Sprintf("%.0f %ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}
