package bench

import (
	"fmt"
	"io"
	"strings"
)

// MarkdownInfo is what a BENCHMARKS.md page says besides the figures.
type MarkdownInfo struct {
	// Commands are the command lines that produced the figures.
	Commands []string
	// Note is a paragraph about the conditions (for example that the
	// machine was shared), printed under the machine description.
	Note string
	// Plot is the path of the SVG plot, relative to the page, if any.
	Plot string
	// Root, when set, is a folder (the repository) whose path is left out
	// of the command lines shown, so that they read relative to it.
	Root string
}

// WriteMarkdown writes the result as a BENCHMARKS.md page.
func (r *Result) WriteMarkdown(w io.Writer, info MarkdownInfo) error {
	var page strings.Builder
	if err := r.writeMarkdown(&page, info); err != nil {
		return err
	}
	out := page.String()
	if info.Root != "" {
		out = strings.ReplaceAll(out, strings.TrimSuffix(info.Root, "/")+"/", "")
	}
	_, err := io.WriteString(w, out)
	return err
}

func (r *Result) writeMarkdown(w io.Writer, info MarkdownInfo) error {
	var b strings.Builder
	m := r.Machine
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("How fast S3 Inventory rows become Batch Operations manifests, measured by\n" +
		"`s3batchkit bench` on generated reports (realistic keys, 3% tricky keys, log-normal\n" +
		"sizes, every storage class). Regenerate this page with `make bench-report`;\n" +
		"every figure below comes from the run it describes.\n\n")
	fmt.Fprintf(&b, "Generated %s.\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores\n", orUnknown(m.CPU), m.Cores)
	if m.MemoryBytes > 0 {
		fmt.Fprintf(&b, "- Memory: %s\n", Bytes(m.MemoryBytes))
	}
	fmt.Fprintf(&b, "- OS: %s; Go: %s; gzip decoder: %s\n", m.OS, m.Go, m.Gunzip)
	if m.LoadAvg != "" {
		fmt.Fprintf(&b, "- Load average when the run started (1, 5, 15 min): %s\n", m.LoadAvg)
	}
	fmt.Fprintf(&b, "- Each figure: %d run(s), %s, %d worker(s); wall and CPU time are medians, peak memory the largest resident set\n", r.Runs, r.Mode, r.Workers)
	if r.NoVerify {
		b.WriteString("- Data file MD5s not verified (`--no-verify`)\n")
	}
	if info.Note != "" {
		fmt.Fprintf(&b, "\n%s\n", info.Note)
	}
	if len(info.Commands) > 0 {
		b.WriteString("\n## Command lines\n\n```sh\n")
		for _, c := range info.Commands {
			b.WriteString(c + "\n")
		}
		b.WriteString("```\n")
	}
	b.WriteString("\n## Stages\n\n")
	fmt.Fprintf(&b, "Filter in every stage that filters: %s.\n\n"+
		"Stages: `read` decodes the columns a plan needs; `filter` adds the filter;\n"+
		"`write` (no filter) writes every row read to manifest shards in read order, unsorted\n"+
		"and unrouted, as `plan --sort=false --routing none` does; `unsorted` is the plan\n"+
		"without its sort (`plan --sort=false`: filter, routes, shards in read order); `sort` adds the external sort and the shard\n"+
		"cutter (a dry run: nothing written); `plan` writes the shards and plan.json;\n"+
		"`diff` compares the report with a copy in another bucket that differs in 1%%\n"+
		"of its objects (a third missing, a third one byte larger, a third extra): both\n"+
		"read, filtered and sorted, merged, and written as copy and delete shards with\n"+
		"diff.json; every run is checked to find exactly those differences, and its rows\n"+
		"and bytes are those of both reports; `report` merges Batch Operations\n"+
		"completion reports (1%% failed). \"rows/CPU-s\" is input rows per CPU-second\n"+
		"(user+sys): what one core delivers. \"10^9 rows\" projects the wall time linearly\n"+
		"from the measured rate.\n\n", r.Filter)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	b.Reset()
	for _, t := range r.stageTables() {
		if err := t.WriteMarkdown(w); err != nil {
			return err
		}
	}
	if info.Plot != "" {
		fmt.Fprintf(w, "![throughput and peak memory against rows](%s)\n\n", info.Plot)
	}
	if r.Peer == nil {
		return nil
	}
	io.WriteString(w, "## Against DuckDB\n\n")
	fmt.Fprintf(w, "Each side runs as a separate process on the same rows, in the same run,\n"+
		"in an order that rotates from round to round: s3batchkit runs `plan --routing none`\n"+
		"(one stream of shards, checksums verified) and `plan --routing none --sort=false`\n"+
		"on the same report (the sorted / unsorted column), DuckDB runs\n"+
		"`bench/peer/duckdb.mjs` (CSV read with the report's fileSchema as column names\n"+
		"and keys as text, then url-decoded; Parquet read directly) with as many threads\n"+
		"as s3batchkit has workers. The outputs are compared row by row after decoding\n"+
		"our percent-encoded keys. Reports: the generated CSV.gz and Parquet ones; the\n"+
		"generated Parquet rows written again by DuckDB (snappy, 100,000-row groups, files\n"+
		"of about 32 MB), as they are and sorted by bucket and key with one thread, so\n"+
		"that its files follow each other in key order (the presorted case); and ORC,\n"+
		"which DuckDB cannot read here, against DuckDB on the same rows in Parquet.\n"+
		"Peak memory is each process's maximum resident set (from rusage).\n\n")
	if err := r.Peer.Table().WriteMarkdown(w); err != nil {
		return err
	}
	io.WriteString(w, "The commands each side ran:\n\n```sh\n")
	for _, f := range r.Peer.Formats {
		title := f.Report
		if title == "" {
			title = formatTitle(f.Format)
		}
		fmt.Fprintf(w, "# %s\n%s\n", title, f.Ours.Command)
		if f.Unsorted.Command != "" {
			fmt.Fprintf(w, "%s\n", f.Unsorted.Command)
		}
		fmt.Fprintf(w, "%s\n", f.Peer.Command)
	}
	_, err := io.WriteString(w, "```\n")
	return err
}
