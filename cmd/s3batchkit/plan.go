package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

func newPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "turn inventory reports into Batch Operations manifest shards and plan.json",
		UsageText: "s3batchkit plan --inventory MANIFEST [--inventory MANIFEST ...] --out DIR [options]",
		Description: `Reads each inventory report by its manifest.json (checksums verified),
keeps the objects that pass the filters, routes them (copy, large: over
5 GiB, restore: GLACIER/DEEP_ARCHIVE, restore-tiering: archived
INTELLIGENT_TIERING), cuts each route into shards of at most --max-objects
objects (never mixing buckets), and writes DIR/shards/<route>/<n>.csv and
DIR/plan.json last. Delete markers are never planned. Re-running with the
same inputs and flags writes byte-identical files.

Examples:
   # plan a local copy of an inventory delivery
   s3batchkit plan --inventory inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json --out plan/

   # only current versions under two prefixes, 250k objects per job
   s3batchkit plan --inventory manifest.json --out plan/ \
       --prefix photos/ --prefix videos/ --latest-only --max-objects 250000

   # data files copied somewhere else than beside the manifest
   s3batchkit plan --inventory /mnt/inv/manifest.json --data-root /mnt/inv-bucket --out plan/ --json`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "inventory", Aliases: []string{"i"}, Usage: "inventory `MANIFEST` (manifest.json path); repeat for several", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "plan `DIR` to write", Required: true},
			&cli.StringSliceFlag{Name: "prefix", Usage: "keep keys starting with `PREFIX` (repeatable)"},
			&cli.Int64Flag{Name: "max-objects", Value: partition.DefaultMaxObjects, Usage: "at most `N` objects per shard"},
			&cli.BoolFlag{Name: "latest-only", Usage: "keep only current versions"},
			&cli.IntFlag{Name: "workers", Usage: "data files decoded at once (default: number of CPUs)"},
			&cli.StringFlag{Name: "data-root", Usage: "`DIR` that files[].key is relative to (default: search the manifest's ancestor folders)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
			&cli.BoolFlag{Name: "json", Usage: "print the plan summary as JSON on stdout"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress or summary on stderr"},
		},
		Before: func(c *cli.Context) error {
			if c.Int64("max-objects") < 1 {
				return usagef("--max-objects must be at least 1, got %d", c.Int64("max-objects"))
			}
			if c.Int("workers") < 0 {
				return usagef("--workers must not be negative")
			}
			for _, p := range c.StringSlice("prefix") {
				if p == "" {
					return usagef("--prefix must not be empty")
				}
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			progress := &inventory.Progress{}
			o := partition.Options{
				Inventories: c.StringSlice("inventory"),
				Out:         c.String("out"),
				Reader: inventory.ReaderOptions{
					Workers:       c.Int("workers"),
					DataRoot:      c.String("data-root"),
					SkipChecksums: c.Bool("no-verify"),
					Progress:      progress,
				},
				Filter: inventory.Filter{
					Prefixes:   c.StringSlice("prefix"),
					LatestOnly: c.Bool("latest-only"),
				},
				MaxObjects: c.Int64("max-objects"),
			}
			stderr := c.App.ErrWriter
			stop := func() {}
			if !c.Bool("quiet") && isTerminal(stderr) {
				stop = startProgress(stderr, progress, 0, 0)
			}
			plan, stats, err := partition.Plan(c.Context, o)
			stop()
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			if c.Bool("json") {
				return printPlanJSON(c.App.Writer, o.Out, plan, stats)
			}
			if !c.Bool("quiet") {
				printPlanSummary(c.App.Writer, o.Out, plan, stats)
			}
			return nil
		},
	}
}

func printPlanSummary(w io.Writer, dir string, p *manifest.Plan, s *partition.Stats) {
	c := p.Counters
	fmt.Fprintf(w, "plan written to %s\n", dir)
	fmt.Fprintf(w, "  rows read     %15s\n", humanCount(c.RowsRead))
	fmt.Fprintf(w, "  rows kept     %15s\n", humanCount(c.RowsKept))
	reasons := make([]string, 0, len(c.Dropped))
	for r := range c.Dropped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  dropped %-22s %s\n", strings.ReplaceAll(r, "_", " "), humanCount(c.Dropped[r]))
	}
	fmt.Fprintf(w, "  %-16s %8s %15s %12s\n", "route", "shards", "objects", "bytes")
	for _, r := range p.Routes {
		fmt.Fprintf(w, "  %-16s %8d %15s %12s\n", r.Route, r.Shards, humanCount(r.Objects), humanBytes(r.Bytes))
	}
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "  %.2f s, %.2f M rows/s, %.0f MB/s of input\n", secs, float64(c.RowsRead)/secs/1e6, float64(s.InputBytes)/secs/1e6)
}

func printPlanJSON(w io.Writer, dir string, p *manifest.Plan, s *partition.Stats) error {
	out := map[string]any{
		"plan":            dir,
		"counters":        p.Counters,
		"routes":          p.Routes,
		"shards":          len(p.Shards),
		"elapsed_seconds": s.Elapsed.Seconds(),
		"input_bytes":     s.InputBytes,
		"rows_per_second": float64(p.Counters.RowsRead) / s.Elapsed.Seconds(),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
