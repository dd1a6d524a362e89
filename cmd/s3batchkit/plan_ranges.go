package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
	"github.com/s3batchkit/s3batchkit/scaleout"
)

// A distributed plan (docs/scale-out.md): 'plan split' writes
// ranges.json, N workers run 'plan --ranges' (each its range, by index),
// 'plan merge' writes plan.json. Exit codes tell an engine what to retry:
// 1 (I/O, S3: retry), 2 (usage, or a ranges.json, part or inventory that
// does not match: do not), 3 (bad input data: do not).

// codedError gives err an exit code.
type codedError struct {
	err  error
	code int
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
func (e *codedError) ExitCode() int { return e.code }

// splitFlags are the flags of 'plan split' and 'diff split': the
// command's own (base) but where and whether it writes, then --out (whose
// usage ends with beside), --ranges and extra, and the --emit flags.
func splitFlags(base []cli.Flag, beside string) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Category: catRanges, Name: "out", Aliases: []string{"o"}, Usage: "where to write ranges.json: `LOC`/ranges.json (a file or s3:// key); " + beside, Required: true},
		countFlag(catRanges, "ranges", 0, "split into `N` ranges (1 to 10000), one per worker (required)"),
		&cli.StringFlag{Category: catRanges, Name: "mode", Value: scaleout.ModeAuto, Usage: "`MODE` of reading: direct (each range reads the files, row groups and stripes its keys can be in), shuffle ('plan scatter' reads each file once and writes each range's rows apart), auto (shuffle the inventories whose files' keys overlap the ranges)"},
		countFlag(catRanges, "slices", 0, "shuffle: `S` scatter slices, each a job of 'plan scatter' (default: N, at most one per data file)"),
	}
	for _, f := range base {
		switch f.Names()[0] {
		case "out", "ranges", "range", "dry-run", "force":
			continue
		}
		flags = append(flags, f)
	}
	return append(flags, planEmitFlags()...)
}

// splitMode returns --mode and --slices of plan split and diff split.
func splitMode(c *cli.Context) (string, int, error) {
	mode := c.String("mode")
	if !slices.Contains([]string{scaleout.ModeAuto, scaleout.ModeDirect, scaleout.ModeShuffle}, mode) {
		return "", 0, usagef("--mode must be auto, direct or shuffle")
	}
	n := c.Generic("slices").(*countValue).n
	if n > scaleout.MaxRanges {
		return "", 0, usagef("--slices must be at most %d", scaleout.MaxRanges)
	}
	return mode, int(n), nil
}

// rangesError makes the mismatches of distributed plans exit 2.
func rangesError(err error) error {
	if errors.Is(err, manifest.ErrRanges) || errors.Is(err, manifest.ErrPartMismatch) || errors.Is(err, manifest.ErrPartMissing) {
		return &codedError{err: err, code: exitUsage}
	}
	return err
}

func newPlanSplitCommand() *cli.Command {
	flags := splitFlags(planFlags(), "the workers' parts and plan.json go beside it")
	return &cli.Command{
		Name:      "split",
		Usage:     "split a plan into N key ranges for N workers (writes ranges.json)",
		UsageText: "s3batchkit plan split --inventory MANIFEST [filters] [bounds] --ranges N --out LOC/ranges.json",
		Description: `Reads the footers of the inventory's data files (Parquet row group and
ORC stripe key statistics; for CSV, or when the statistics do not place the
keys, a deterministic sample of keys), picks N-1 split keys by rows, and
writes ranges.json: the inventories and their MD5s, a hash of the filters,
bounds and routing, the split keys, the data files (and row groups or
stripes) each range reads, and which range checks each data file's MD5.
Every version of a key falls in one range. An inventory whose files' keys
overlap the ranges (each range would read most files) is shuffled instead:
S 'plan scatter' jobs read its files once, each a slice of them, and write
each range's rows apart, for the workers to read.

Then, if an inventory is shuffled, run S scatter jobs:
   s3batchkit plan scatter --ranges LOC/ranges.json
(the slice index from --slice, $JOB_COMPLETION_INDEX or
$AWS_BATCH_JOB_ARRAY_INDEX); then N workers, each with the same
inventories and flags:
   s3batchkit plan --inventory MANIFEST [filters] [bounds] --ranges LOC/ranges.json
(the range index from --range, $JOB_COMPLETION_INDEX or
$AWS_BATCH_JOB_ARRAY_INDEX; the part goes to LOC/parts/<iiii>/), and
then 's3batchkit plan merge --ranges LOC/ranges.json', which writes
LOC/plan.json. Its shards, concatenated per route, hold the rows of the
plan made on one machine in the same order.

Examples:
   # 8 ranges of the newest delivery, current versions only
   s3batchkit plan split --inventory s3://inventory-bucket/inv/src-bucket/cfg/ --latest-only \
       --ranges 8 --out s3://plans/run-1/ranges.json`,
		Flags:  flags,
		Before: checkEmitFlags,
		Action: func(c *cli.Context) error {
			o, err := planOptionsFromFlags(c, true)
			if err != nil {
				return err
			}
			n := c.Generic("ranges").(*countValue).n
			if n < 1 || n > scaleout.MaxRanges {
				return usagef("--ranges must be 1 to %d", scaleout.MaxRanges)
			}
			if !o.Sort {
				return usagef("--sort=false: a distributed plan is sorted")
			}
			mode, slices, err := splitMode(c)
			if err != nil {
				return err
			}
			locs := make([]*string, len(o.Inventories))
			for i := range o.Inventories {
				locs[i] = &o.Inventories[i]
			}
			if err := findDeliveries(c, c.Bool("quiet"), locs...); err != nil {
				return err
			}
			res, err := scaleout.Split(c.Context, scaleout.SplitOptions{Plan: o, N: int(n), Mode: mode, Slices: slices, Out: c.String("out")})
			if err != nil {
				return rangesError(fmt.Errorf("plan split: %w", err))
			}
			for _, note := range res.Notes {
				fmt.Fprintf(c.App.ErrWriter, "note: %s\n", note)
			}
			if c.String("emit") != "" { // the definitions alone on stdout
				return emitPlanJobs(c, splitRun{RangesFile: c.String("out"), Ranges: int(n),
					Slices: res.Ranges.Slices, Inventories: o.Inventories})
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, map[string]any{"ranges": c.String("out"), "sha256": res.SHA256, "sampled_keys": res.Sampled,
					"inputs": res.Ranges.Inputs, "splits": res.Ranges.Splits, "estimated_rows": estimatedRows(res.Ranges), "s3": o.IO.Stats()})
			}
			if !c.Bool("quiet") {
				printSplitSummary(c.App.Writer, c.String("out"), res)
			}
			return nil
		},
	}
}

func estimatedRows(r *manifest.Ranges) []int64 {
	out := make([]int64, len(r.Ranges))
	for i, rg := range r.Ranges {
		out[i] = rg.Rows
	}
	return out
}

func printSplitSummary(w io.Writer, loc string, res *scaleout.SplitResult) {
	r := res.Ranges
	fmt.Fprintf(w, "ranges written to %s (SHA-256 %s)\n", loc, res.SHA256)
	for _, in := range r.Inputs {
		rows := "unknown"
		if in.Rows >= 0 {
			rows = humanCount(in.Rows)
		}
		fmt.Fprintf(w, "  %s: %s, %d data files, %s rows, mode %s, each row read %.2f times\n", in.Manifest, in.Format, len(in.Files), rows, in.Mode, in.ReadAmplification)
	}
	if res.Sampled > 0 {
		fmt.Fprintf(w, "  split keys from %s sampled keys\n", humanCount(int64(res.Sampled)))
	} else {
		fmt.Fprintf(w, "  split keys from the footers' key statistics\n")
	}
	fmt.Fprintf(w, "  %-6s %15s %8s\n", "range", "est. rows", "files")
	for _, rg := range r.Ranges {
		fmt.Fprintf(w, "  %-6d %15s %8d\n", rg.Index, humanCount(rg.Rows), len(rg.Reads))
	}
}

// planRange is plan --ranges: one worker of a distributed plan.
func planRange(c *cli.Context, o partition.Options) error {
	loc := c.String("ranges")
	if c.String("range") == "all" {
		return planAllRanges(c, o)
	}
	i, err := indexFrom(c, "range")
	if err != nil {
		return err
	}
	locs := make([]*string, len(o.Inventories))
	for k := range o.Inventories {
		locs[k] = &o.Inventories[k]
	}
	if err := findDeliveries(c, c.Bool("quiet"), locs...); err != nil {
		return err
	}
	r, sum, err := manifest.ReadRanges(c.Context, o.IO, loc)
	if err != nil {
		return rangesError(err)
	}
	ro, err := scaleout.RangeOptions(c.Context, o, r, sum, loc, i, c.String("out"))
	if err != nil {
		return rangesError(err)
	}
	ro.Reader.Progress = &inventory.Progress{}
	plan, stats, err := partition.Plan(c.Context, ro)
	if err != nil {
		return rangesError(fmt.Errorf("plan range %d: %w", i, err))
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, map[string]any{"part": ro.Out, "range": i, "ranges": r.N(), "counters": plan.Counters,
			"routes": plan.Routes, "shards": len(plan.Shards), "rows_read_by_input": stats.RowsReadByInput,
			"elapsed_seconds": stats.Elapsed.Seconds(), "input_bytes": stats.InputBytes, "s3": o.IO.Stats()})
	}
	if !c.Bool("quiet") {
		w := c.App.Writer
		fmt.Fprintf(w, "range %d of %d written to %s\n", i, r.N(), ro.Out)
		fmt.Fprintf(w, "  rows read     %15s\n", humanCount(plan.Counters.RowsRead))
		fmt.Fprintf(w, "  rows kept     %15s\n", humanCount(plan.Counters.RowsKept))
		fmt.Fprintf(w, "  shards        %15d\n", len(plan.Shards))
		if line := s3StatsLine(o.IO.Stats()); line != "" {
			fmt.Fprintf(w, "  %s\n", line)
		}
		fmt.Fprintf(w, "  %.2f s\n", stats.Elapsed.Seconds())
	}
	return nil
}

func newPlanMergeCommand() *cli.Command {
	return mergeCommand("plan", "merge the parts of a distributed plan into plan.json", `Checks every range's part (LOC/parts/<iiii>/part.json): made from this
ranges.json, for its range, from the same inventories and options, every
data file's MD5 checked by exactly one range, and the rows the ranges read
adding up to the inventories' rows. Then writes LOC/plan.json, last,
listing the parts' shards in route and range order; no shard is copied.
submit, status, report and run take LOC as a plan folder. A missing part,
or one from another ranges.json, is refused (exit 2).

Examples:
   s3batchkit plan merge --ranges s3://plans/run-1/ranges.json`,
		func(c *cli.Context) (*manifest.Plan, error) {
			return scaleout.Merge(c.Context, storage(c), c.String("ranges"), c.String("out"))
		})
}

// mergeCommand is 'plan merge' and 'diff merge' (cmd): the same flags,
// checks and summary around the merge of their kind.
func mergeCommand(cmd, usage, description string, merge func(*cli.Context) (*manifest.Plan, error)) *cli.Command {
	return &cli.Command{
		Name:        "merge",
		Usage:       usage,
		UsageText:   "s3batchkit " + cmd + " merge --ranges LOC/ranges.json [--out LOC]",
		Description: description,
		Flags: []cli.Flag{
			&cli.StringFlag{Category: catRanges, Name: "ranges", Usage: "the `LOC`/ranges.json that '" + cmd + " split' wrote", Required: true},
			&cli.StringFlag{Category: catRanges, Name: "out", Aliases: []string{"o"}, Usage: "the plan folder `LOC`: must be the folder of ranges.json (the default)"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the plan summary as JSON on stdout"},
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			root := manifest.RootOf(c.String("ranges"))
			if err := guardPlanDir(c, root); err != nil {
				return err
			}
			plan, err := merge(c)
			if err != nil {
				return rangesError(planDirError(fmt.Errorf("%s merge: %w", cmd, err)))
			}
			return printMerged(c, root, plan)
		},
	}
}

// planAllRanges is plan --ranges R --range all: every range in turn, in
// this process, then the merge, which gives the bytes N workers and a
// merge give.
func planAllRanges(c *cli.Context, o partition.Options) error {
	locs := make([]*string, len(o.Inventories))
	for k := range o.Inventories {
		locs[k] = &o.Inventories[k]
	}
	if err := findDeliveries(c, c.Bool("quiet"), locs...); err != nil {
		return err
	}
	return allRanges(c, "plan", o.IO, o.Reader,
		func(r *manifest.Ranges, sum string, i int) error {
			ro, err := scaleout.RangeOptions(c.Context, o, r, sum, c.String("ranges"), i, "")
			if err != nil {
				return err
			}
			_, _, err = partition.Plan(c.Context, ro)
			return err
		},
		func() (*manifest.Plan, error) { return scaleout.Merge(c.Context, o.IO, c.String("ranges"), "") })
}

// allRanges runs, in this process, what the engines run of the
// distributed plan or diff split into --ranges: every scatter slice (with
// reader's options), range (run) and the merge; then prints the merged
// plan.
func allRanges(c *cli.Context, cmd string, oc *objio.Client, reader inventory.ReaderOptions, run func(r *manifest.Ranges, sum string, i int) error, merge func() (*manifest.Plan, error)) error {
	loc := c.String("ranges")
	if c.String("out") != "" {
		return usagef("--range all writes every part beside ranges.json and plan.json into its folder: no --out")
	}
	root := manifest.RootOf(loc)
	if err := guardPlanDir(c, root); err != nil {
		return err
	}
	r, sum, err := manifest.ReadRanges(c.Context, oc, loc)
	if err != nil {
		return rangesError(err)
	}
	for j := range r.Slices {
		so := scaleout.ScatterOptions{Ranges: loc, Slice: j, Reader: reader, IO: oc}
		if _, err := scaleout.Scatter(c.Context, so); err != nil {
			return rangesError(fmt.Errorf("plan scatter %d: %w", j, err))
		}
	}
	for i := range r.N() {
		if err := run(r, sum, i); err != nil {
			return rangesError(fmt.Errorf("%s range %d: %w", cmd, i, err))
		}
	}
	plan, err := merge()
	if err != nil {
		return rangesError(planDirError(fmt.Errorf("%s merge: %w", cmd, err)))
	}
	return printMerged(c, root, plan)
}

// printMerged prints a merged plan's summary.
func printMerged(c *cli.Context, root string, plan *manifest.Plan) error {
	if c.Bool("json") {
		return writeJSON(c.App.Writer, map[string]any{"plan": root, "counters": plan.Counters, "routes": plan.Routes, "shards": len(plan.Shards), "warnings": plan.Warnings,
			"s3": storage(c).Stats()})
	}
	if c.Bool("quiet") {
		return nil
	}
	w := c.App.Writer
	fmt.Fprintf(w, "plan written to %s\n", root)
	fmt.Fprintf(w, "  rows read     %15s\n", humanCount(plan.Counters.RowsRead))
	fmt.Fprintf(w, "  rows kept     %15s\n", humanCount(plan.Counters.RowsKept))
	fmt.Fprintf(w, "  %-16s %8s %15s %12s\n", "route", "shards", "objects", "bytes")
	for _, rt := range plan.Routes {
		fmt.Fprintf(w, "  %-16s %8d %15s %12s\n", rt.Route, rt.Shards, humanCount(rt.Objects), humanBytes(rt.Bytes))
	}
	return nil
}

func newPlanScatterCommand() *cli.Command {
	return &cli.Command{
		Name:      "scatter",
		Usage:     "read a slice of a shuffled inventory once and write each range's rows apart",
		UsageText: "s3batchkit plan scatter --ranges LOC/ranges.json [--slice J]",
		Description: `For a distributed plan or diff whose ranges.json shuffles an inventory
('plan split' or 'diff split' chose or was told --mode shuffle): reads the
data files ranges.json gives slice J, checking their MD5, and writes each
range's rows (unfiltered; the columns the plan or diff reads) to
LOC/scatter/<jjjj>/, then scatter.json last. A diff's target rows go to
the range of their key mapped (--map) to a source key. Run every slice
before the range workers, which read their rows from every slice. A
re-run writes the same bytes.

Examples:
   s3batchkit plan scatter --ranges s3://plans/run-1/ranges.json --slice 0`,
		Flags: []cli.Flag{
			&cli.StringFlag{Category: catRanges, Name: "ranges", Usage: "the `LOC`/ranges.json that 'plan split' or 'diff split' wrote", Required: true},
			&cli.StringFlag{Category: catRanges, Name: "slice", Usage: "the scatter slice `J` (0 to S-1; default: $JOB_COMPLETION_INDEX, else $AWS_BATCH_JOB_ARRAY_INDEX)"},
			workersFlag(catInput, "data files decoded at once", "number of CPUs"),
			&cli.StringFlag{Category: catInput, Name: "data-root", Usage: "`DIR` that files[].key is relative to (default: search the manifest's ancestor folders)"},
			&cli.BoolFlag{Category: catInput, Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the slice's summary as JSON on stdout"},
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			j, err := indexFrom(c, "slice")
			if err != nil {
				return err
			}
			progress := &inventory.Progress{}
			start := time.Now()
			oc := storage(c)
			s, err := scaleout.Scatter(c.Context, scaleout.ScatterOptions{Ranges: c.String("ranges"), Slice: j, IO: oc,
				Reader: inventory.ReaderOptions{Workers: c.Int("workers"), DataRoot: c.String("data-root"), SkipChecksums: c.Bool("no-verify"), Progress: progress}})
			if err != nil {
				return rangesError(fmt.Errorf("plan scatter: %w", err))
			}
			var rows, bytes int64
			files := 0
			for _, o := range s.Outputs {
				for _, f := range o.Files {
					rows += f.Rows
					bytes += f.Bytes
					files++
				}
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, map[string]any{"slice": j, "slices": s.Slices, "rows": rows, "files": files, "bytes_written": bytes,
					"input_bytes": progress.InputBytes.Load(), "verified_files": len(s.Verified), "elapsed_seconds": time.Since(start).Seconds(), "s3": oc.Stats()})
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.Writer, "scatter slice %d of %d written to %s: %s rows in %d files, %s\n", j, s.Slices,
					manifest.ScatterDir(manifest.RootOf(c.String("ranges")), j), humanCount(rows), files, humanBytes(bytes))
			}
			return nil
		},
	}
}

// indexFrom returns the array index: flag's value, else the job engine's
// variable; neither is a usage error.
func indexFrom(c *cli.Context, flag string) (int, error) {
	if v := c.String(flag); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, usagef("--%s %q is not an index (0 to N-1)", flag, v)
		}
		return n, nil
	}
	n, _, ok, err := scaleout.IndexFromEnv()
	switch {
	case err != nil:
		return 0, usagef("%v", err)
	case !ok:
		return 0, usagef("--ranges needs the %s index: --%s I, or $%s or $%s from the job engine", flag, flag, scaleout.IndexEnv[0], scaleout.IndexEnv[1])
	}
	return n, nil
}
