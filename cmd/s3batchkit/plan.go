package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

const (
	catInput  = "Input and output:"
	catFilter = "Filters (all must hold; repeatable flags match any of their values):"
	catSort   = "Sorting:"
	catShards = "Shards and routes:"
	catCost   = "Cost estimate:"
	catRanges = "Distributed plans (see 'plan split'):"
)

func newPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "turn inventory reports into Batch Operations manifest shards and plan.json",
		UsageText: "s3batchkit plan --inventory MANIFEST [--inventory MANIFEST ...] --out DIR [filters] [bounds]",
		Description: `Reads each inventory report by its manifest.json (checksums verified),
keeps the objects that pass the filters, sorts them by bucket, key and
version (newest first) within a memory budget, dropping duplicate rows,
routes them — copy; large: over 5 GiB, which Batch Operations copy cannot
handle; restore: GLACIER/DEEP_ARCHIVE; restore-tiering: archived
INTELLIGENT_TIERING — and cuts each route into shards that are contiguous
key ranges within the bounds, never mixing buckets or rows with and without
version ids. Writes DIR/shards/<route>/<n>.csv and DIR/plan.json last.
Delete markers are never planned unless asked for. Re-running with the same
inputs and flags writes byte-identical files, whatever --workers and
--memory are.

Too large for one machine? 'plan split' cuts the plan into N key ranges that
N machines plan apart ('plan --ranges', as AWS Batch array jobs or Kubernetes
Indexed Jobs), and 'plan merge' lists their shards in one plan.json.

Examples (paths as the examples of 's3batchkit gen' make them):
   # plan a local copy of an inventory delivery
   s3batchkit plan --inventory inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json --out plan/

   # the newest delivery of an inventory configuration (in S3, listing needs s3:ListBucket)
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/
   s3batchkit plan --inventory s3://inventory-bucket/inv/src-bucket/cfg/ --out s3://plans/run-1

   # the delivery of a given day
   s3batchkit plan --inventory inv/src-bucket/cfg/ --inventory-date 2024-11-01 --out plan/

   # what would it cost? nothing is written
   s3batchkit plan --inventory inv/src-bucket/cfg/ --dry-run

   # current versions of images and media over 1 MiB, 250k objects or 10 TiB per job
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ \
       --prefix images/ --prefix media/ --latest-only --min-size 1MiB \
       --max-objects 250000 --max-bytes 10TiB

   # objects written in 2024 that failed to replicate
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ \
       --modified-after 2024-01-01 --modified-before 2025-01-01 --replication-status FAILED

   # any column, with an expression (https://expr-lang.org; enum values in any case)
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ \
       --where 'storage_class in ["standard", "standard_ia"] and size < bytes("5GiB") and not (key endsWith ".tmp")'

   # keys listed in a file, one per line; every object in one route, all; inventory order
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ --include-keys keys.txt --routing none --sort=false

   # write over a plan whose jobs were submitted (its jobs.json is kept aside)
   s3batchkit plan --inventory inv/src-bucket/cfg/ --out plan/ --force`,
		Flags:       planFlags(),
		Subcommands: []*cli.Command{newPlanSplitCommand(), newPlanScatterCommand(), newPlanMergeCommand()},
		Before: func(c *cli.Context) error {
			if c.Args().Present() {
				return nil // a subcommand, which checks its own flags
			}
			_, err := planOptionsFromFlags(c, false)
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := planOptionsFromFlags(c, true)
			if err != nil {
				return err
			}
			if o.Sort {
				limitHeap(o.SortMemory)
			}
			if c.String("ranges") != "" {
				return planRange(c, o)
			}
			locs := make([]*string, len(o.Inventories))
			for i := range o.Inventories {
				locs[i] = &o.Inventories[i]
			}
			if !o.DryRun {
				if err := guardPlanDir(c, o.Out); err != nil {
					return err
				}
			}
			if err := findDeliveries(c, c.Bool("quiet"), locs...); err != nil {
				return err
			}
			progress := &inventory.Progress{}
			o.Reader.Progress = progress
			stderr := c.App.ErrWriter
			stop := func() {}
			if !c.Bool("quiet") && isTerminal(stderr) {
				stop = startProgress(stderr, progress, 0, 0)
			}
			plan, stats, err := partition.Plan(c.Context, o)
			stop()
			if err != nil {
				return planDirError(fmt.Errorf("plan: %w", err))
			}
			for _, w := range stats.Warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if w := emptyPlanWarning(plan.Counters); w != "" {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if c.Bool("json") {
				return printPlanJSON(c.App.Writer, o, plan, stats)
			}
			if !c.Bool("quiet") || o.DryRun {
				printPlanSummary(c.App.Writer, o, plan, stats)
			}
			return nil
		},
	}
}

// planFlags are the flags of plan (and, less its output flags, of plan
// split).
func planFlags() []cli.Flag {
	return concatFlags([]cli.Flag{
		&cli.StringSliceFlag{Category: catInput, Name: "inventory", Aliases: []string{"i"}, Usage: "inventory `MANIFEST` (manifest.json; or a configuration folder …/source-bucket/config-id/ for its newest delivery, or a Hive symlink.txt); repeat for several (required)"},
		inventoryDateFlag(),
		&cli.StringFlag{Category: catInput, Name: "out", Aliases: []string{"o"}, Usage: "plan `DIR` to write (not with --dry-run; with --ranges: the range's part folder, default parts/<iiii> beside ranges.json)"},
		&cli.StringFlag{Category: catRanges, Name: "ranges", Usage: "plan one range of a distributed plan split into `LOC`/ranges.json by 'plan split' (same inventories and flags)"},
		&cli.StringFlag{Category: catRanges, Name: "range", Usage: "the range `I` to plan (0 to N-1; default: $JOB_COMPLETION_INDEX, else $AWS_BATCH_JOB_ARRAY_INDEX); all: every range in this process, then the merge"},
		&cli.BoolFlag{Category: catInput, Name: "dry-run", Usage: "write nothing; print per route the objects, bytes, shards and estimated cost"},
		forceFlag(),
		workersFlag(catInput, "data files decoded at once", "number of CPUs"),
		&cli.StringFlag{Category: catInput, Name: "data-root", Usage: "`DIR` that files[].key is relative to (default: search the manifest's ancestor folders)"},
		&cli.BoolFlag{Category: catInput, Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
		&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the plan summary as JSON on stdout"},
		quietFlag(),
	}, filterFlags(), []cli.Flag{
		&cli.BoolFlag{Category: catSort, Name: "sort", Value: true, Usage: "sort by bucket, key, version (newest first) and drop duplicate rows; --sort=false keeps inventory order"},
	}, sortFlags(), shardFlags(), []cli.Flag{
		&cli.Float64Flag{Category: catCost, Name: "price-per-job", Value: partition.DefaultPricePerJob, Usage: "estimate with `USD` per job (shard)"},
		&cli.Float64Flag{Category: catCost, Name: "price-per-million", Value: partition.DefaultPricePerMillion, Usage: "estimate with `USD` per million objects"},
		countFlag(catCost, "lambda-memory", largecopy.DefaultMemoryMB, "large route: the copy function's memory `MB`"),
		&cli.Float64Flag{Category: catCost, Name: "lambda-copy-mbps", Value: largecopy.DefaultCopyMBps, Usage: "large route: assumed copy throughput per object in `MB/s` (measure one object's copy)"},
		&cli.Float64Flag{Category: catCost, Name: "lambda-price-gb-second", Value: largecopy.DefaultPricePerGBSecond, Usage: "large route: Lambda `USD` per GB-second",
			DefaultText: strconv.FormatFloat(largecopy.DefaultPricePerGBSecond, 'f', -1, 64) + ", arm64 in us-east-1"},
	})
}

// planOptionsFromFlags turns the flags into partition.Options, checking
// every flag and combination; errors name the flags. Key lists are read
// only when loadKeys is set (Before only checks that they exist).
func planOptionsFromFlags(c *cli.Context, loadKeys bool) (partition.Options, error) {
	o := partition.Options{
		IO:          storage(c),
		Inventories: c.StringSlice("inventory"),
		Out:         c.String("out"),
		DryRun:      c.Bool("dry-run"),
		Reader: inventory.ReaderOptions{
			Workers:       c.Int("workers"),
			DataRoot:      c.String("data-root"),
			SkipChecksums: c.Bool("no-verify"),
		},
		Sort:   c.Bool("sort"),
		TmpDir: c.String("tmp-dir"),
		Prices: partition.Prices{PerJob: c.Float64("price-per-job"), PerMillion: c.Float64("price-per-million"),
			Lambda: largecopy.CostAssumptions{MemoryMB: c.Int("lambda-memory"), CopyMBps: c.Float64("lambda-copy-mbps"), PricePerGBSecond: c.Float64("lambda-price-gb-second")}},
	}
	ranged := c.String("ranges") != ""
	switch {
	case len(o.Inventories) == 0:
		return o, usagef("--inventory is required")
	case ranged && o.DryRun:
		return o, usagef("--ranges and --dry-run exclude each other: 'plan split' shows what the ranges hold")
	case !ranged && c.String("range") != "":
		return o, usagef("--range needs --ranges (the ranges.json that 'plan split' wrote)")
	case o.Out == "" && !o.DryRun && !ranged:
		return o, usagef("--out is required (or --dry-run to write nothing)")
	case o.Out != "" && o.DryRun:
		return o, usagef("--out and --dry-run exclude each other: a dry run writes nothing")
	case c.Int("workers") < 0:
		return o, usagef("--workers must not be negative")
	}
	if err := checkInventoryDate(c); err != nil {
		return o, err
	}
	var err error
	if o.Bounds, o.NoRoutes, err = boundsFromFlags(c); err != nil {
		return o, err
	}
	if o.Prices.PerJob < 0 || o.Prices.PerMillion < 0 {
		return o, usagef("--price-per-job and --price-per-million must not be negative")
	}
	if l := o.Prices.Lambda; l.MemoryMB < 128 || l.MemoryMB > 10240 || l.CopyMBps <= 0 || l.PricePerGBSecond < 0 {
		return o, usagef("--lambda-memory must be 128 to 10240 (MB), --lambda-copy-mbps above 0, --lambda-price-gb-second not negative")
	}
	if !o.Sort && c.IsSet("memory") {
		return o, usagef("--memory sets the sort's budget; it has no use with --sort=false")
	}
	if o.SortMemory, err = sortMemoryFromFlags(c); err != nil {
		return o, err
	}
	if o.Filter, err = filterFromFlags(c, loadKeys); err != nil {
		return o, err
	}
	return o, nil
}

// dropFlags names the flag behind each reason a row is dropped.
var dropFlags = map[string]string{
	inventory.DropDeleteMarker: "delete markers are excluded unless --include-delete-markers", inventory.DropNotDeleteMarker: "--only-delete-markers",
	inventory.DropNotLatest: "--latest-only", inventory.DropStorageClass: "--storage-class", inventory.DropReplication: "--replication-status",
	inventory.DropEncryption: "--encryption", inventory.DropLockMode: "--lock-mode", inventory.DropLegalHold: "--legal-hold",
	inventory.DropTieringTier: "--tiering-tier", inventory.DropChecksum: "--checksum-algorithm", inventory.DropMultipart: "--multipart",
	inventory.DropMinSize: "--min-size", inventory.DropMaxSize: "--max-size", inventory.DropModifiedAfter: "--modified-after",
	inventory.DropModifiedBefore: "--modified-before", inventory.DropPrefix: "--prefix", inventory.DropSuffix: "--suffix",
	inventory.DropSubstring: "--substring", inventory.DropRegex: "--regex", inventory.DropGlob: "--glob",
	inventory.DropKeyList: "--include-keys", inventory.DropExcludedKey: "--exclude-keys", inventory.DropWhere: "--where",
	partition.DropDuplicate: "duplicate rows",
}

// emptyPlanWarning says, for a plan that keeps no row, which filters
// dropped the rows (most first); "" when it keeps some.
func emptyPlanWarning(c manifest.Counters) string {
	if c.RowsKept > 0 {
		return ""
	}
	if c.RowsRead == 0 {
		return "the plan is empty: the inventory holds no rows"
	}
	reasons := make([]string, 0, len(c.Dropped))
	for r, n := range c.Dropped {
		if n > 0 {
			reasons = append(reasons, r)
		}
	}
	sort.Slice(reasons, func(i, j int) bool {
		if c.Dropped[reasons[i]] != c.Dropped[reasons[j]] {
			return c.Dropped[reasons[i]] > c.Dropped[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	var by []string
	for _, r := range reasons {
		name := dropFlags[r]
		if name == "" {
			name = strings.ReplaceAll(r, "_", " ")
		}
		by = append(by, fmt.Sprintf("%s dropped %s", name, humanCount(c.Dropped[r])))
	}
	return fmt.Sprintf("the plan is empty: the filters kept none of the %s rows read (%s)", humanCount(c.RowsRead), strings.Join(by, "; "))
}

func printPlanSummary(w io.Writer, o partition.Options, p *manifest.Plan, s *partition.Stats) {
	c := p.Counters
	if o.DryRun {
		fmt.Fprintf(w, "dry run: nothing written\n")
	} else {
		fmt.Fprintf(w, "plan written to %s\n", o.Out)
	}
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
	fmt.Fprintf(w, "  %-16s %8s %15s %12s %14s\n", "route", "shards", "objects", "bytes", "est. cost")
	var total float64
	for _, r := range s.Costs {
		fmt.Fprintf(w, "  %-16s %8d %15s %12s %14s\n", r.Route, r.Shards, humanCount(r.Objects), humanBytes(r.Bytes), fmt.Sprintf("$%.2f", r.USD))
		total += r.USD
	}
	fmt.Fprintf(w, "  estimated Batch Operations cost $%.2f ($%.2f/job + $%.2f/million objects; S3 request, restore and KMS charges not included)\n",
		total, o.Prices.PerJob, o.Prices.PerMillion)
	for _, r := range s.Costs {
		if l := r.Lambda; l != nil && r.Objects > 0 {
			a := l.Assumptions
			fmt.Fprintf(w, "  plus the %s route's Lambda copies (%s): $%.2f for %s invocations, %.0f GB-s — assuming %d MB, %.0f MB/s per object copy + %.0f s each, $%s/GB-s, $%.2f/million requests; S3 request charges not included\n",
				r.Route, largecopy.FunctionName, l.USD, humanCount(l.Invocations), l.GBSeconds, a.MemoryMB, a.CopyMBps, a.OverheadSeconds, strconv.FormatFloat(a.PricePerGBSecond, 'f', -1, 64), a.PricePerMillionRequests)
		}
	}
	if s.Sort.Streamed > 0 {
		fmt.Fprintf(w, "  sort: the rows came in key order: planned as read, no sort\n")
	}
	if s.Sort.Runs > 0 {
		fmt.Fprintf(w, "  sort: %d runs spilled (%s), %d merge passes\n", s.Sort.Runs, humanBytes(s.Sort.SpillBytes), s.Sort.Passes)
	}
	if line := s3StatsLine(o.IO.Stats()); line != "" {
		fmt.Fprintf(w, "  %s\n", line)
	}
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "  %.2f s, %.2f M rows/s, %.0f MB/s of input\n", secs, float64(c.RowsRead)/secs/1e6, float64(s.InputBytes)/secs/1e6)
}

func printPlanJSON(w io.Writer, o partition.Options, p *manifest.Plan, s *partition.Stats) error {
	out := map[string]any{
		"plan":     o.Out,
		"dry_run":  o.DryRun,
		"counters": p.Counters,
		"routes":   p.Routes,
		"costs":    s.Costs,
		"shards":   len(p.Shards),
		"warnings": s.Warnings,
		"sort": map[string]int64{"rows": s.Sort.Rows, "duplicates": s.Sort.Duplicates, "runs": int64(s.Sort.Runs),
			"passes": int64(s.Sort.Passes), "spill_bytes": s.Sort.SpillBytes},
		"elapsed_seconds": s.Elapsed.Seconds(),
		"input_bytes":     s.InputBytes,
		"rows_per_second": float64(p.Counters.RowsRead) / s.Elapsed.Seconds(),
		"s3":              o.IO.Stats(),
	}
	return writeJSON(w, out)
}

// limitHeap sets the Go memory limit of a process that sorts with the
// given budget (zero: the default), unless $GOMEMLIMIT sets one: the
// collector then keeps the heap near the sorts' budget plus the readers'
// share, rather than at twice the live heap, which grows with the run's
// length (a diff of 50 M rows a side: 920 MiB against 796 MiB at the same
// CPU time; a range worker of a 4 M-row diff: 1.25 GB against 0.72 GB).
func limitHeap(budget int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if budget == 0 {
		budget = partition.DefaultSortMemory
	}
	debug.SetMemoryLimit(partition.MemoryLimit(budget))
}
