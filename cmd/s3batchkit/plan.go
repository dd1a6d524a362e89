package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

const (
	catInput  = "Input and output:"
	catFilter = "Filters (all must hold; repeatable flags match any of their values):"
	catSort   = "Sorting:"
	catShards = "Shards and routes:"
	catCost   = "Cost estimate:"
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

Examples:
   # plan a local copy of an inventory delivery
   s3batchkit plan --inventory inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json --out plan/

   # what would it cost? nothing is written
   s3batchkit plan --inventory manifest.json --dry-run

   # current versions of photos and videos over 1 MiB, 250k objects or 10 TiB per job
   s3batchkit plan --inventory manifest.json --out plan/ \
       --prefix photos/ --prefix videos/ --latest-only --min-size 1MiB \
       --max-objects 250000 --max-bytes 10TiB

   # objects written in 2024 that failed to replicate
   s3batchkit plan --inventory manifest.json --out plan/ \
       --modified-after 2024-01-01 --modified-before 2025-01-01 --replication-status FAILED

   # any column, with an expression (https://expr-lang.org)
   s3batchkit plan --inventory manifest.json --out plan/ \
       --where 'storage_class in ["STANDARD", "STANDARD_IA"] and size < bytes("5GiB") and not (key endsWith ".tmp")'

   # keys listed in a file, one per line, no routing, unsorted
   s3batchkit plan --inventory manifest.json --out plan/ --include-keys keys.txt --routes none --sort=false`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Category: catInput, Name: "inventory", Aliases: []string{"i"}, Usage: "inventory `MANIFEST` (manifest.json path); repeat for several", Required: true},
			&cli.StringFlag{Category: catInput, Name: "out", Aliases: []string{"o"}, Usage: "plan `DIR` to write (not with --dry-run)"},
			&cli.BoolFlag{Category: catInput, Name: "dry-run", Usage: "write nothing; print per route the objects, bytes, shards and estimated cost"},
			&cli.IntFlag{Category: catInput, Name: "workers", Usage: "data files decoded at once (default: number of CPUs)"},
			&cli.StringFlag{Category: catInput, Name: "data-root", Usage: "`DIR` that files[].key is relative to (default: search the manifest's ancestor folders)"},
			&cli.BoolFlag{Category: catInput, Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the plan summary as JSON on stdout"},
			&cli.BoolFlag{Category: catInput, Name: "quiet", Aliases: []string{"q"}, Usage: "no progress or summary on stderr"},

			&cli.StringSliceFlag{Category: catFilter, Name: "prefix", Usage: "keep keys starting with `PREFIX`"},
			&cli.StringSliceFlag{Category: catFilter, Name: "suffix", Usage: "keep keys ending with `SUFFIX`"},
			&cli.StringSliceFlag{Category: catFilter, Name: "substring", Aliases: []string{"contains"}, Usage: "keep keys containing `TEXT`"},
			&cli.StringSliceFlag{Category: catFilter, Name: "regex", Usage: "keep keys matching `RE` (Go RE2 syntax, unanchored: use ^...$)"},
			&cli.StringSliceFlag{Category: catFilter, Name: "glob", Usage: "keep keys matching `GLOB` (whole key; * and ? stop at /, ** does not)"},
			&cli.StringFlag{Category: catFilter, Name: "include-keys", Usage: "keep only the keys listed in `FILE` (one real, unencoded key per line)"},
			&cli.StringFlag{Category: catFilter, Name: "exclude-keys", Usage: "drop the keys listed in `FILE` (one key per line)"},
			&cli.StringFlag{Category: catFilter, Name: "min-size", Usage: "keep objects of at least `SIZE` (512, 64KiB, 1.5GB, 5GiB)"},
			&cli.StringFlag{Category: catFilter, Name: "max-size", Usage: "keep objects of at most `SIZE`"},
			&cli.StringFlag{Category: catFilter, Name: "modified-after", Usage: "keep objects last modified at or after `TIME` (RFC 3339 or 2024-01-31)"},
			&cli.StringFlag{Category: catFilter, Name: "modified-before", Usage: "keep objects last modified strictly before `TIME`"},
			&cli.StringSliceFlag{Category: catFilter, Name: "storage-class", Usage: "keep objects in `CLASS` (STANDARD, STANDARD_IA, GLACIER, ...; any case; commas allowed)"},
			&cli.BoolFlag{Category: catFilter, Name: "latest-only", Usage: "keep only current versions"},
			&cli.BoolFlag{Category: catFilter, Name: "include-delete-markers", Usage: "keep delete markers too (only a delete can act on them)"},
			&cli.BoolFlag{Category: catFilter, Name: "only-delete-markers", Usage: "keep only delete markers"},
			&cli.StringSliceFlag{Category: catFilter, Name: "replication-status", Usage: "keep `STATUS`: PENDING, COMPLETED, FAILED, REPLICA, NONE (not replicated)"},
			&cli.StringSliceFlag{Category: catFilter, Name: "encryption", Usage: "keep `STATUS`: SSE-S3, SSE-KMS, DSSE-KMS, SSE-C, NOT-SSE"},
			&cli.StringSliceFlag{Category: catFilter, Name: "lock-mode", Usage: "keep object lock `MODE`: GOVERNANCE, COMPLIANCE, NONE"},
			&cli.StringSliceFlag{Category: catFilter, Name: "legal-hold", Usage: "keep legal hold `STATUS`: ON or OFF"},
			&cli.StringSliceFlag{Category: catFilter, Name: "tiering-tier", Usage: "keep intelligent-tiering `TIER`: FREQUENT, INFREQUENT, ARCHIVE_INSTANT_ACCESS, ARCHIVE, DEEP_ARCHIVE, NONE"},
			&cli.StringFlag{Category: catFilter, Name: "multipart", Usage: "`only` keep, or `exclude` drop, objects uploaded in parts (IsMultipartUploaded, else an ETag ending -N)"},
			&cli.StringSliceFlag{Category: catFilter, Name: "checksum-algorithm", Usage: "keep objects with checksum `ALGO` (CRC32, CRC32C, CRC64NVME, SHA1, SHA256; '-' ignored)"},
			&cli.StringFlag{Category: catFilter, Name: "where", Usage: "keep rows where `EXPR` holds: an expr-lang expression over the snake_case columns (size, key, storage_class, last_modified_date, ...), with bytes(\"1MiB\") and date(\"2024-01-31\")"},

			&cli.BoolFlag{Category: catSort, Name: "sort", Value: true, Usage: "sort by bucket, key, version (newest first) and drop duplicate rows; --sort=false keeps inventory order"},
			&cli.StringFlag{Category: catSort, Name: "memory", Value: "512MiB", Usage: "memory budget of the sort, `SIZE`; more spills to disk"},
			&cli.StringFlag{Category: catSort, Name: "tmp-dir", Usage: "`DIR` for the sort's spill files (default: $TMPDIR); removed when done"},

			&cli.Int64Flag{Category: catShards, Name: "max-objects", Value: partition.DefaultMaxObjects, Usage: "at most `N` objects per shard"},
			&cli.StringFlag{Category: catShards, Name: "max-bytes", Usage: "at most `SIZE` of objects per shard (sum of sizes, e.g. 50TiB)"},
			&cli.StringFlag{Category: catShards, Name: "max-manifest-bytes", Usage: "at most `SIZE` of manifest file per shard"},
			&cli.Int64Flag{Category: catShards, Name: "min-objects", Value: partition.FailureThreshold, Usage: "never cut a shard by --max-bytes/--max-manifest-bytes below `N` objects (jobs under 1,000 tasks never trip the failure threshold); 0 turns it off"},
			&cli.StringFlag{Category: catShards, Name: "routes", Value: "default", Usage: "`default` routes copy/large/restore/restore-tiering; none puts everything in one route, all"},

			&cli.Float64Flag{Category: catCost, Name: "price-per-job", Value: partition.DefaultPricePerJob, Usage: "estimate with `USD` per job (shard)"},
			&cli.Float64Flag{Category: catCost, Name: "price-per-million", Value: partition.DefaultPricePerMillion, Usage: "estimate with `USD` per million objects"},
		},
		Before: func(c *cli.Context) error {
			_, err := planOptionsFromFlags(c, false)
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := planOptionsFromFlags(c, true)
			if err != nil {
				return err
			}
			progress := &inventory.Progress{}
			o.Reader.Progress = progress
			if o.Sort && os.Getenv("GOMEMLIMIT") == "" {
				// Let the garbage collector work to keep the heap near the
				// sort's budget plus the readers' share, rather than at
				// twice the live heap.
				budget := o.SortMemory
				if budget == 0 {
					budget = partition.DefaultSortMemory
				}
				debug.SetMemoryLimit(budget + 256<<20)
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
			if !c.Bool("quiet") {
				for _, w := range stats.Warnings {
					fmt.Fprintf(stderr, "warning: %s\n", w)
				}
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

// planOptionsFromFlags turns the flags into partition.Options, checking
// every flag and combination; errors name the flags. Key lists are read
// only when loadKeys is set (Before only checks that they exist).
func planOptionsFromFlags(c *cli.Context, loadKeys bool) (partition.Options, error) {
	o := partition.Options{
		Inventories: c.StringSlice("inventory"),
		Out:         c.String("out"),
		DryRun:      c.Bool("dry-run"),
		Reader: inventory.ReaderOptions{
			Workers:       c.Int("workers"),
			DataRoot:      c.String("data-root"),
			SkipChecksums: c.Bool("no-verify"),
		},
		Sort:     c.Bool("sort"),
		TmpDir:   c.String("tmp-dir"),
		NoRoutes: c.String("routes") == "none",
		Bounds: partition.Bounds{
			MaxObjects: c.Int64("max-objects"),
			MinObjects: c.Int64("min-objects"),
		},
		Prices: partition.Prices{PerJob: c.Float64("price-per-job"), PerMillion: c.Float64("price-per-million")},
	}
	switch {
	case o.Out == "" && !o.DryRun:
		return o, usagef("--out is required (or --dry-run to write nothing)")
	case o.Out != "" && o.DryRun:
		return o, usagef("--out and --dry-run exclude each other: a dry run writes nothing")
	case c.Int("workers") < 0:
		return o, usagef("--workers must not be negative")
	case o.Bounds.MaxObjects < 1:
		return o, usagef("--max-objects must be at least 1, got %d", o.Bounds.MaxObjects)
	case o.Bounds.MinObjects < 0:
		return o, usagef("--min-objects must not be negative, got %d", o.Bounds.MinObjects)
	case o.Bounds.MinObjects > o.Bounds.MaxObjects:
		return o, usagef("--min-objects %d is above --max-objects %d; lower --min-objects too (0 turns it off), knowing that jobs under %d tasks never trip the failure threshold",
			o.Bounds.MinObjects, o.Bounds.MaxObjects, partition.FailureThreshold)
	case c.String("routes") != "default" && c.String("routes") != "none":
		return o, usagef("--routes must be default or none, got %q", c.String("routes"))
	case o.Prices.PerJob < 0 || o.Prices.PerMillion < 0:
		return o, usagef("--price-per-job and --price-per-million must not be negative")
	case c.Bool("include-delete-markers") && c.Bool("only-delete-markers"):
		return o, usagef("--include-delete-markers and --only-delete-markers exclude each other")
	}
	if !o.Sort && c.IsSet("memory") {
		return o, usagef("--memory sets the sort's budget; it has no use with --sort=false")
	}
	var err error
	sizeFlag := func(name string) int64 {
		if err != nil || !c.IsSet(name) {
			return 0
		}
		var n int64
		if n, err = inventory.ParseSize(c.String(name)); err != nil {
			err = usagef("--%s: %v", name, err)
		}
		return n
	}
	o.SortMemory = sizeFlag("memory")
	o.Bounds.MaxBytes = sizeFlag("max-bytes")
	o.Bounds.MaxManifestBytes = sizeFlag("max-manifest-bytes")
	if err != nil {
		return o, err
	}
	if c.IsSet("memory") && o.SortMemory < 16<<20 {
		return o, usagef("--memory must be at least 16MiB, got %s", c.String("memory"))
	}
	if c.IsSet("max-bytes") && o.Bounds.MaxBytes == 0 {
		return o, usagef("--max-bytes must be above 0")
	}
	if c.IsSet("max-manifest-bytes") && o.Bounds.MaxManifestBytes == 0 {
		return o, usagef("--max-manifest-bytes must be above 0")
	}

	f := &o.Filter
	f.Prefixes = c.StringSlice("prefix")
	f.Suffixes = c.StringSlice("suffix")
	f.Substrings = c.StringSlice("substring")
	f.Regexes = c.StringSlice("regex")
	f.Globs = c.StringSlice("glob")
	f.StorageClasses = commaList(c.StringSlice("storage-class"))
	f.ReplicationStatuses = commaList(c.StringSlice("replication-status"))
	f.EncryptionStatuses = commaList(c.StringSlice("encryption"))
	f.LockModes = commaList(c.StringSlice("lock-mode"))
	f.LegalHold = commaList(c.StringSlice("legal-hold"))
	f.TieringTiers = commaList(c.StringSlice("tiering-tier"))
	f.ChecksumAlgorithms = commaList(c.StringSlice("checksum-algorithm"))
	f.LatestOnly = c.Bool("latest-only")
	f.Where = c.String("where")
	if c.IsSet("where") && strings.TrimSpace(f.Where) == "" {
		return o, usagef("--where must not be empty")
	}
	switch {
	case c.Bool("only-delete-markers"):
		f.DeleteMarkers = inventory.DeleteMarkersOnly
	case c.Bool("include-delete-markers"):
		f.DeleteMarkers = inventory.DeleteMarkersInclude
	}
	switch c.String("multipart") {
	case "":
	case "only":
		f.Multipart = inventory.Only
	case "exclude":
		f.Multipart = inventory.Not
	default:
		return o, usagef("--multipart must be only or exclude, got %q", c.String("multipart"))
	}
	f.MinSize = sizeFlag("min-size")
	if c.IsSet("max-size") {
		f.MaxSize, f.HasMaxSize = sizeFlag("max-size"), true
	}
	if err != nil {
		return o, err
	}
	for _, tf := range []struct {
		name string
		dst  *time.Time
	}{{"modified-after", &f.ModifiedAfter}, {"modified-before", &f.ModifiedBefore}} {
		if !c.IsSet(tf.name) {
			continue
		}
		if *tf.dst, err = inventory.ParseTimeArg(c.String(tf.name)); err != nil {
			return o, usagef("--%s: %v", tf.name, err)
		}
	}
	for _, kf := range []struct {
		name string
		dst  **inventory.KeyList
	}{{"include-keys", &f.IncludeKeys}, {"exclude-keys", &f.ExcludeKeys}} {
		path := c.String(kf.name)
		if path == "" {
			continue
		}
		if !loadKeys {
			if _, err := os.Stat(path); err != nil {
				return o, usagef("--%s: %v", kf.name, err)
			}
			*kf.dst = inventory.NewKeyList(path, nil)
			continue
		}
		if *kf.dst, err = inventory.LoadKeyList(path); err != nil {
			return o, usagef("--%s: %v", kf.name, err)
		}
	}
	// Compile the filter now so that a bad regex, glob, expression or
	// value fails before anything is read.
	if _, err := inventory.NewFilter(*f); err != nil {
		var fe *inventory.FilterError
		if errors.As(err, &fe) {
			return o, usagef("%v", err)
		}
		return o, err
	}
	return o, nil
}

// commaList splits "a,b" values of repeatable flags.
func commaList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
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
	if s.Sort.Runs > 0 {
		fmt.Fprintf(w, "  sort: %d runs spilled (%s), %d merge passes\n", s.Sort.Runs, humanBytes(s.Sort.SpillBytes), s.Sort.Passes)
	}
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "  %.2f s, %.2f M rows/s, %.0f MB/s of input\n", secs, float64(c.RowsRead)/secs/1e6, float64(s.InputBytes)/secs/1e6)
}

func printPlanJSON(w io.Writer, o partition.Options, p *manifest.Plan, s *partition.Stats) error {
	out := map[string]any{
		"plan":            o.Out,
		"dry_run":         o.DryRun,
		"counters":        p.Counters,
		"routes":          p.Routes,
		"costs":           s.Costs,
		"shards":          len(p.Shards),
		"warnings":        s.Warnings,
		"sort":            s.Sort,
		"elapsed_seconds": s.Elapsed.Seconds(),
		"input_bytes":     s.InputBytes,
		"rows_per_second": float64(p.Counters.RowsRead) / s.Elapsed.Seconds(),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
