package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/bench"
)

func newBenchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure manifest generation on generated reports: throughput, CPU and memory per stage and format",
		UsageText: "s3batchkit bench [--rows N] [--formats csv,parquet,orc] [--stages read,filter,write,sort,plan,diff,report] [--workers N] [--runs K] [--dir CACHE] [--json]",
		Description: `Generates S3-Inventory-shaped reports (as gen does; kept in --dir, so the
next run starts at once), then runs each stage --runs times, each run in a
child process so that its CPU time and peak memory come from the operating
system, and prints per format and stage: input rows/s, input rows per
CPU-second (what one core delivers), input MB/s (bytes of data files), wall
time, CPU time (user+sys), peak memory (maximum resident set) and the wall
time 10^9 rows would take at the measured rate.

Stages: read (decode the columns a plan needs), filter (+ size >= 1 KiB and
storage class STANDARD, STANDARD_IA or INTELLIGENT_TIERING), write (read,
then every row encoded, hashed and written to manifest shards in read order:
no filter, sort or routes, as plan --sort=false --routing none), unsorted (the
plan with --sort=false: filter, routes, shards in read order), sort (+ external
sort and shard cutting, writing nothing), plan (the whole plan, shards
written to a temporary folder), diff (the report against a copy in another
bucket that differs in 1% of its objects, generated and kept beside it: both
filtered and sorted, then merged into copy and delete shards; each run must
find exactly those differences; rows and bytes count both reports), report
(merge of synthetic completion reports, 1% failed).

Examples:
   # the default: 1M rows, every format and stage, 3 runs each
   s3batchkit bench

   # CSV.gz only, 10M rows, plan stage, as JSON
   s3batchkit bench --rows 1e7 --formats csv --stages plan --json > bench.json

   # what the MD5 checks of the data files cost: the read stage with and without
   s3batchkit bench --stages read && s3batchkit bench --stages read --no-verify

   # the diff stage alone, 1M rows against 1M rows, one run per format
   s3batchkit bench --stages diff --runs 1

   # does time grow linearly and memory stay flat? (plan stage by default)
   s3batchkit bench --scale 1e6,1e7,1e8 --formats csv,parquet --runs 1 --plot scale.svg

   # what make bench-report runs: every stage at --rows, plan at each size, DuckDB
   s3batchkit bench --rows 1e6 --stages read,filter,write,sort,plan,diff,report --scale 1e6,1e7 \
       --peer duckdb --duckdb-dir .cache/duckdb --plot BENCHMARKS-scale.svg --markdown BENCHMARKS.md

   # against DuckDB (npm install --prefix .cache/duckdb @duckdb/node-api first)
   s3batchkit bench --stages none --peer duckdb --duckdb-dir .cache/duckdb`,
		Flags: []cli.Flag{
			countFlag("", "rows", 1_000_000, "rows `N` of each generated report (1000000, 1e6, 1,000,000)"),
			&cli.StringFlag{Name: "scale", Usage: "also measure --scale-stages at each of the sizes `N,N,...` (e.g. 1e6,1e7,1e8); --stages then defaults to none"},
			&cli.StringFlag{Name: "scale-stages", Value: bench.StagePlan, Usage: "`STAGES` measured at each --scale size"},
			&cli.StringFlag{Name: "formats", Value: strings.Join(bench.Formats, ","), Usage: "inventory `FORMATS` to measure"},
			&cli.StringFlag{Name: "stages", Value: strings.Join(bench.Stages, ","), Usage: "`STAGES` to measure, or none (with --peer)"},
			workersFlag("", "data files decoded at once", "number of CPUs"),
			&cli.BoolFlag{Name: "no-verify", Usage: "skip the MD5 checks of manifest.checksum and the data files, as plan --no-verify does (measures decoding without hashing)"},
			countFlag("", "runs", 3, "measure each stage `K` times (median wall and CPU, largest peak)"),
			&cli.GenericFlag{Name: "files", Value: &countValue{}, Usage: "`K` data files per generated report", DefaultText: "one per 500,000 rows"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random `SEED` of the generated reports"},
			&cli.StringFlag{Name: "dir", Usage: "`CACHE` folder of generated reports (default: " + bench.DefaultCacheDir() + ")"},
			&cli.StringFlag{Name: "tmp-dir", Usage: "`DIR` for plan outputs and sort spills (default: $TMPDIR)"},
			&cli.BoolFlag{Name: "in-process", Usage: "measure in this process (peak memory then sampled from the Go runtime) instead of a child process per run"},
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON on stdout"},
			&cli.StringFlag{Name: "plot", Usage: "draw throughput and peak memory against rows into `FILE.svg`"},
			&cli.StringFlag{Name: "peer", Usage: "also run the same task with `PEER` (duckdb) on the same files and compare"},
			&cli.StringFlag{Name: "duckdb-dir", Value: filepath.Join(".cache", "duckdb"), Usage: "`DIR` npm installed @duckdb/node-api into"},
			&cli.StringFlag{Name: "node", Value: "node", Usage: "node `PROGRAM` for the DuckDB peer"},
			&cli.StringFlag{Name: "markdown", Usage: "write the results as a BENCHMARKS.md page to `FILE`"},
			&cli.StringFlag{Name: "note", Usage: "`TEXT` for the --markdown page, under the machine (e.g. that the machine was shared)"},
			&cli.BoolFlag{Name: "measure", Hidden: true, Usage: "run the command after -- and write its rusage to fd 3 (used by bench itself)"},
			&cli.StringFlag{Name: "child", Hidden: true, Usage: "run one measured run given as `SPEC` (used by bench itself)"},
		},
		Before: func(c *cli.Context) error {
			if c.IsSet("child") || c.Bool("measure") {
				return nil
			}
			_, err := benchOptionsFromFlags(c)
			return err
		},
		Action: func(c *cli.Context) error {
			if c.IsSet("child") {
				return bench.ChildMain(c.Context, c.String("child"), c.App.Writer)
			}
			if c.Bool("measure") {
				fd3 := os.NewFile(3, "measure-report")
				defer fd3.Close()
				return bench.MeasureMain(c.Context, c.Args().Slice(), fd3)
			}
			o, err := benchOptionsFromFlags(c)
			if err != nil {
				return err
			}
			if !c.Bool("in-process") {
				o.Exec = []string{benchExe(), "bench", "--child"}
			}
			o.Via = []string{benchExe(), "bench", "--measure", "--"}
			stderr := c.App.ErrWriter
			stop := func() {}
			if isTerminal(stderr) {
				o.Progress, stop = benchProgress(stderr)
			}
			res, err := bench.Run(c.Context, o)
			if err == nil && c.String("peer") != "" {
				res.Peer, err = bench.RunPeer(c.Context, o, bench.PeerOptions{DuckDBDir: c.String("duckdb-dir"), Node: c.String("node")})
			}
			stop()
			if err != nil {
				if errors.Is(err, bench.ErrOptions) {
					return usagef("%v", err)
				}
				return fmt.Errorf("bench: %w", err)
			}
			if p := c.String("plot"); p != "" {
				if err := writeBenchFile(p, res.WritePlot); err != nil {
					return err
				}
			}
			if p := c.String("markdown"); p != "" {
				info := bench.MarkdownInfo{Commands: []string{"s3batchkit " + bench.ShellJoin(os.Args[1:])}, Note: c.String("note")}
				if wd, err := os.Getwd(); err == nil {
					info.Root = wd
				}
				if pl := c.String("plot"); pl != "" {
					if rel, err := filepath.Rel(filepath.Dir(p), pl); err == nil {
						info.Plot = filepath.ToSlash(rel)
					}
				}
				if err := writeBenchFile(p, func(w io.Writer) error { return res.WriteMarkdown(w, info) }); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				return res.WriteJSON(c.App.Writer)
			}
			return res.WriteText(c.App.Writer)
		},
	}
}

// benchOptionsFromFlags turns the flags into bench.Options; errors name
// the flags.
func benchOptionsFromFlags(c *cli.Context) (bench.Options, error) {
	o := bench.Options{
		Workers:  c.Int("workers"),
		NoVerify: c.Bool("no-verify"),
		Runs:     c.Int("runs"),
		Files:    c.Int("files"),
		Seed:     c.Uint64("seed"),
		Dir:      c.String("dir"),
		TmpDir:   c.String("tmp-dir"),
	}
	if o.Rows = c.Int64("rows"); o.Rows < 1 {
		return o, usagef("--rows must be at least 1, got %d", o.Rows)
	}
	if c.IsSet("scale") {
		for _, s := range strings.Split(c.String("scale"), ",") {
			n, err := parseCount(s)
			if err != nil {
				return o, usagef("--scale: %v", err)
			}
			o.Scale = append(o.Scale, n)
		}
	}
	o.Formats = commaList([]string{c.String("formats")})
	if len(o.Formats) == 0 {
		return o, usagef("--formats must name at least one of %s", strings.Join(bench.Formats, ", "))
	}
	for _, f := range o.Formats {
		if !slices.Contains(bench.Formats, f) {
			return o, usagef("--formats: unknown format %q: expected %s", f, strings.Join(bench.Formats, ", "))
		}
	}
	switch {
	case c.String("stages") == "none":
		o.Stages = []string{}
	case !c.IsSet("stages") && c.IsSet("scale"):
		o.Stages = []string{}
	default:
		o.Stages = commaList([]string{c.String("stages")})
		for _, s := range o.Stages {
			if !slices.Contains(bench.Stages, s) {
				return o, usagef("--stages: unknown stage %q: expected %s, or none", s, strings.Join(bench.Stages, ", "))
			}
		}
	}
	o.ScaleStages = commaList([]string{c.String("scale-stages")})
	for _, s := range o.ScaleStages {
		if !slices.Contains(bench.Stages, s) {
			return o, usagef("--scale-stages: unknown stage %q: expected %s", s, strings.Join(bench.Stages, ", "))
		}
	}
	switch {
	case c.IsSet("scale-stages") && !c.IsSet("scale"):
		return o, usagef("--scale-stages needs --scale")
	case c.IsSet("plot") && !c.IsSet("scale"):
		return o, usagef("--plot draws the --scale runs; give --scale too")
	case o.Runs < 1:
		return o, usagef("--runs must be at least 1, got %d", o.Runs)
	case o.Workers < 0:
		return o, usagef("--workers must not be negative")
	case o.Files < 0:
		return o, usagef("--files must not be negative")
	case c.String("peer") != "" && c.String("peer") != "duckdb":
		return o, usagef("--peer: unknown peer %q: expected duckdb", c.String("peer"))
	case len(o.Stages) == 0 && len(o.Scale) == 0 && c.String("peer") == "":
		return o, usagef("--stages none measures nothing without --scale or --peer")
	case c.IsSet("note") && !c.IsSet("markdown"):
		return o, usagef("--note goes into the --markdown page; give --markdown too")
	}
	if p := c.String("plot"); p != "" && !strings.HasSuffix(strings.ToLower(p), ".svg") {
		return o, usagef("--plot writes SVG: give a FILE.svg, got %q", p)
	}
	return o, nil
}

func benchExe() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return os.Args[0]
}

// writeBenchFile writes path through a temporary file renamed into place.
func writeBenchFile(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// benchProgress returns a progress callback that keeps one line on w up
// to date (a bar of runs done, what runs now, its elapsed time), and the
// function that clears it.
func benchProgress(w io.Writer) (func(bench.Step), func()) {
	var mu sync.Mutex
	var cur bench.Step
	since := time.Now()
	draw := func() {
		const width = 24
		done := 0
		if cur.Total > 0 {
			done = width * cur.Done / cur.Total
		}
		fmt.Fprintf(w, "\r\033[K[%s%s] %d/%d %s (%.0f s)", strings.Repeat("=", done), strings.Repeat(" ", width-done),
			cur.Done, cur.Total, cur.What, time.Since(since).Seconds())
	}
	stopCh := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopCh:
				return
			case <-t.C:
				mu.Lock()
				draw()
				mu.Unlock()
			}
		}
	}()
	update := func(s bench.Step) {
		mu.Lock()
		cur, since = s, time.Now()
		draw()
		mu.Unlock()
	}
	stop := func() {
		close(stopCh)
		wg.Wait()
		fmt.Fprint(w, "\r\033[K")
	}
	return update, stop
}
