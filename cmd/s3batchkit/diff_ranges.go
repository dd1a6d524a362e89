package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/scaleout"
)

// A distributed diff: 'diff split' writes ranges.json (source-key
// ranges), N workers run 'diff --ranges' (each its range, by index),
// 'diff merge' writes diff.json and plan.json. Exit codes as for plan's
// (plan_ranges.go): 1 retry, 2 usage or mismatch, 3 bad input.

// diffRangeFlags are diff's flags for one range of a distributed diff.
func diffRangeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Category: catRanges, Name: "ranges", Usage: "compare one range of a distributed diff split into `LOC`/ranges.json by 'diff split' (same reports and flags)"},
		&cli.StringFlag{Category: catRanges, Name: "range", Usage: "the range `I` to compare (0 to N-1; default: $JOB_COMPLETION_INDEX, else $AWS_BATCH_JOB_ARRAY_INDEX); all: every range in this process, then the merge"},
	}
}

func newDiffSplitCommand() *cli.Command {
	flags := splitFlags(diffFlags(), "the workers' parts, diff.json and plan.json go beside it")
	return &cli.Command{
		Before:    checkEmitFlags,
		Name:      "split",
		Usage:     "split a diff into N source-key ranges for N workers (writes ranges.json)",
		UsageText: "s3batchkit diff split --source MANIFEST --target MANIFEST [diff flags] --ranges N --out LOC/ranges.json",
		Description: `Picks N-1 split keys in the source report's key space (from its footers'
key statistics, or a deterministic sample of its keys, as 'plan split'
does) and writes ranges.json: both reports with their MD5s, a hash of the
comparison, mappings, filters, bounds and routing, the split keys, and,
for each report, what each range reads and which range checks each data
file's MD5. Range I holds the source keys from split key I-1 up to split
key I, and the target keys that map (--map) to them: every object is
compared by one range.

Each report is read as 'plan split' decides for an inventory: directly
(each range reads the files, row groups and stripes whose keys, mapped to
source keys for the target, can fall in it) or shuffled (S 'plan scatter'
jobs read its files once and write each range's rows apart; run them
first):
   s3batchkit plan scatter --ranges LOC/ranges.json

Then N workers, each with the same reports and flags:
   s3batchkit diff --source S --target T [flags] --ranges LOC/ranges.json
(the range index from --range, $JOB_COMPLETION_INDEX or
$AWS_BATCH_JOB_ARRAY_INDEX; the part goes to LOC/parts/<iiii>/), and then
's3batchkit diff merge --ranges LOC/ranges.json', which writes LOC/diff.json
and LOC/plan.json. Its shards, concatenated per route, hold the rows of
the diff made on one machine in the same order.

Examples:
   s3batchkit diff split --source inv/src-bucket/cfg/ --target inv/dst-bucket/cfg/ \
       --cross-bucket --ranges 8 --out s3://plans/diff-1/ranges.json`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			o, err := diffOptionsFromFlags(c, true)
			if err != nil {
				return err
			}
			n := c.Generic("ranges").(*countValue).n
			if n < 1 || n > scaleout.MaxRanges {
				return usagef("--ranges must be 1 to %d", scaleout.MaxRanges)
			}
			if err := findDeliveries(c, c.Bool("quiet"), &o.Source, &o.Target); err != nil {
				return err
			}
			mode, slices, err := splitMode(c)
			if err != nil {
				return err
			}
			res, err := scaleout.SplitDiff(c.Context, scaleout.DiffSplitOptions{Diff: o, N: int(n), Mode: mode, Slices: slices, Out: c.String("out")})
			if err != nil {
				return rangesError(diffError(fmt.Errorf("split: %w", err)))
			}
			for _, note := range res.Notes {
				fmt.Fprintf(c.App.ErrWriter, "note: %s\n", note)
			}
			if c.String("emit") != "" { // the definitions alone on stdout
				return emitPlanJobs(c, splitRun{RangesFile: c.String("out"), Ranges: int(n), Slices: res.Ranges.Slices,
					Diff: &diffInputs{Source: o.Source, Target: o.Target}})
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, map[string]any{"ranges": c.String("out"), "sha256": res.SHA256, "sampled_keys": res.Sampled,
					"inputs": res.Ranges.Inputs, "splits": res.Ranges.Splits, "estimated_rows": estimatedRows(res.Ranges), "s3": o.IO.Stats()})
			}
			if !c.Bool("quiet") {
				w := c.App.Writer
				fmt.Fprintf(w, "ranges written to %s (SHA-256 %s)\n", c.String("out"), res.SHA256)
				fmt.Fprintf(w, "  %-6s %15s\n", "range", "est. rows")
				for _, rg := range res.Ranges.Ranges {
					fmt.Fprintf(w, "  %-6d %15s\n", rg.Index, humanCount(rg.Rows))
				}
			}
			return nil
		},
	}
}

// diffRange is diff --ranges: one worker of a distributed diff.
func diffRange(c *cli.Context, o diff.Options) error {
	loc := c.String("ranges")
	if c.String("range") == "all" {
		if err := findDeliveries(c, c.Bool("quiet"), &o.Source, &o.Target); err != nil {
			return err
		}
		return allRanges(c, "diff", o.IO, o.Reader,
			func(r *manifest.Ranges, sum string, i int) error {
				ro, err := scaleout.DiffRangeOptions(c.Context, o, r, sum, loc, i, "")
				if err != nil {
					return err
				}
				if _, err := diff.Run(c.Context, ro); err != nil {
					return diffError(err)
				}
				return nil
			},
			func() (*manifest.Plan, error) {
				plan, _, err := scaleout.MergeDiff(c.Context, o.IO, loc, "")
				return plan, err
			})
	}
	i, err := indexFrom(c, "range")
	if err != nil {
		return err
	}
	if err := findDeliveries(c, c.Bool("quiet"), &o.Source, &o.Target); err != nil {
		return err
	}
	r, sum, err := manifest.ReadRanges(c.Context, o.IO, loc)
	if err != nil {
		return rangesError(err)
	}
	ro, err := scaleout.DiffRangeOptions(c.Context, o, r, sum, loc, i, c.String("out"))
	if err != nil {
		return rangesError(err)
	}
	ro.Reader.Progress = &inventory.Progress{}
	res, err := diff.Run(c.Context, ro)
	if err != nil {
		return rangesError(diffError(fmt.Errorf("range %d: %w", i, err)))
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, map[string]any{"part": ro.Out, "range": i, "ranges": r.N(), "counters": res.Plan.Counters,
			"routes": res.Plan.Routes, "shards": len(res.Plan.Shards), "elapsed_seconds": res.Stats.Elapsed.Seconds(),
			"input_bytes": res.Stats.InputBytes, "s3": o.IO.Stats()})
	}
	if !c.Bool("quiet") {
		w := c.App.Writer
		fmt.Fprintf(w, "range %d of %d written to %s\n", i, r.N(), ro.Out)
		fmt.Fprintf(w, "  rows read     %15s\n", humanCount(res.Plan.Counters.RowsRead))
		fmt.Fprintf(w, "  rows compared %15s\n", humanCount(res.Plan.Counters.RowsKept))
		fmt.Fprintf(w, "  shards        %15d\n", len(res.Plan.Shards))
		fmt.Fprintf(w, "  %.2f s\n", res.Stats.Elapsed.Seconds())
	}
	return nil
}

func newDiffMergeCommand() *cli.Command {
	return mergeCommand("diff", "merge the parts of a distributed diff into diff.json and plan.json", `Checks every range's part (LOC/parts/<iiii>/part.json): made from this
ranges.json, for its range, from the same reports and options, every data
file's MD5 checked once, and the rows the ranges read adding up to each
report's rows (when its footers count them). Then writes
LOC/diff.json (the ranges' counts summed, the first examples of each class)
and LOC/plan.json, last, listing the parts' shards in route and range
order; no shard is copied. A missing part, or one from another
ranges.json, is refused (exit 2).

Examples:
   s3batchkit diff merge --ranges s3://plans/diff-1/ranges.json`,
		func(c *cli.Context) (*manifest.Plan, error) {
			plan, _, err := scaleout.MergeDiff(c.Context, storage(c), c.String("ranges"), c.String("out"))
			return plan, err
		})
}
