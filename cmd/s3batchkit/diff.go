package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const catCompare = "Comparison:"

func newDiffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two inventory reports; write what is missing, changed or extra at the target as manifest shards",
		UsageText: "s3batchkit diff --source MANIFEST --target MANIFEST --out DIR [--compare size,etag] [--map SRC=DST ...] [--cross-bucket] [--all-versions] [filters] [bounds]",
		Description: `Reads both inventory reports (CSV.gz, ORC or Parquet, mixed as you like),
applies the filters to both, sorts each within the memory budget and merges
them in one pass, matching objects by key (bucket names differ by design).
Every object is:
   only in source   missing at the target: routed copy, large (over 5 GiB),
                    restore (GLACIER, DEEP_ARCHIVE) or restore-tiering
   changed          in both, but --compare says they differ: routed as above
   only in target   extra at the target: route delete, written, never acted
                    on unless you submit it (through LambdaInvoke or the
                    local engine; Batch Operations has no delete operation)
   unchanged        counted
Writes DIR/shards/<route>/<n>.csv (copy shards list source bucket and keys,
delete shards target bucket and keys), DIR/diff.json (counts, bytes and
the first examples of each class) and DIR/plan.json last, then prints the
counts. Same inputs and flags give byte-identical files, whatever --workers
and --memory are.

Current versions are compared (noncurrent versions and delete markers are
dropped on both sides; a key whose current version at the target is a
delete marker is missing there), and shards carry no version ids.
--all-versions compares (key, version id) instead; only for two reports of
one bucket, since version ids never match across buckets.

--compare (changed if any test says so):
   size       sizes differ
   etag       ETags differ (default: size,etag). A multipart ETag depends
              on the part sizes, and SSE-KMS/SSE-C ETags are not MD5s: a
              copy can have another ETag for the same bytes. diff.json
              counts such mismatches; for copied multipart objects use
              --compare size,mtime
   checksum   same checksum algorithm and size, and, where both ETags are
              plain content MD5s (single part), the same ETag; needs the
              ChecksumAlgorithm column in both reports
   mtime      the target was last modified before the source

--map SRC_PREFIX=DST_PREFIX (repeatable): source keys under SRC_PREFIX are
compared with target keys under DST_PREFIX; no source prefix may lie inside
another, nor any target prefix. Rows under no prefix are dropped and
counted as "unmapped". Filters see source keys on both sides.

Too large for one machine? 'diff split' cuts the diff into N source-key
ranges that N workers compare apart ('diff --ranges', as array jobs), and
'diff merge' joins their parts into one plan folder.

Examples (paths as the examples of 's3batchkit gen' make them):
   # what is missing or stale in the replica? (different buckets: say so)
   s3batchkit diff --source inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json \
       --target inv/dst-bucket/cfg/2024-11-01T01-00Z/manifest.json --cross-bucket --out diff/

   # the same counts, nothing written
   s3batchkit diff --source inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json \
       --target inv/dst-bucket/cfg/2024-11-01T01-00Z/manifest.json --cross-bucket --dry-run

   # a migration that moved everything under logs/ to archive/logs/
   s3batchkit diff --source inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json \
       --target inv/dst-bucket/cfg/2024-11-01T01-00Z/manifest.json --map logs/=archive/logs/ --out diff/

   # multipart objects copied with other part sizes: compare sizes and times only
   s3batchkit diff --source inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json \
       --target inv/dst-bucket/cfg/2024-11-01T01-00Z/manifest.json --cross-bucket \
       --compare size,mtime --prefix images/ --out diff/

   # which versions appeared or vanished between two deliveries of one inventory
   s3batchkit diff --source inv/versioned-bucket/cfg/2024-11-01T01-00Z/manifest.json \
       --target inv/versioned-bucket/cfg/2024-11-08T01-00Z/manifest.json --all-versions --out diff/`,
		Flags:       diffFlags(),
		Subcommands: []*cli.Command{newDiffSplitCommand(), newDiffMergeCommand()},
		Before: func(c *cli.Context) error {
			if c.Args().Present() {
				return nil // a subcommand, which checks its own flags
			}
			_, err := diffOptionsFromFlags(c, false)
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := diffOptionsFromFlags(c, true)
			if err != nil {
				return err
			}
			limitHeap(o.SortMemory)
			if c.String("ranges") != "" {
				return diffRange(c, o)
			}
			dryRun := c.Bool("dry-run")
			if dryRun {
				// The shards go to a temporary folder, removed at the end.
				tmp, err := os.MkdirTemp(c.String("tmp-dir"), "s3batchkit-diff-dry-run-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				o.Out = tmp
			} else if err := guardPlanDir(c, o.Out); err != nil {
				return err
			}
			if err := findDeliveries(c, c.Bool("quiet"), &o.Source, &o.Target); err != nil {
				return err
			}
			progress := &inventory.Progress{}
			o.Reader.Progress = progress
			stderr := c.App.ErrWriter
			stop := func() {}
			if !c.Bool("quiet") && isTerminal(stderr) {
				stop = startProgress(stderr, progress, 0, 0)
			}
			res, err := diff.Run(c.Context, o)
			stop()
			if err != nil {
				return diffError(err)
			}
			for _, w := range res.Summary.Warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if dryRun {
				o.Out = ""
			}
			if c.Bool("json") {
				return printDiffJSON(c.App.Writer, o, res)
			}
			if !c.Bool("quiet") || dryRun {
				printDiffSummary(c.App.Writer, o, res)
			}
			return nil
		},
	}
}

// diffFlags are the flags of diff (and, but for a few, of diff split).
func diffFlags() []cli.Flag {
	return concatFlags([]cli.Flag{
		&cli.StringFlag{Category: catInput, Name: "source", Aliases: []string{"s"}, Usage: "source inventory `MANIFEST` (manifest.json; or a configuration folder …/source-bucket/config-id/ for its newest delivery; required)"},
		&cli.StringFlag{Category: catInput, Name: "target", Aliases: []string{"t"}, Usage: "target inventory `MANIFEST` (as --source; required)"},
		inventoryDateFlag(),
		&cli.StringFlag{Category: catInput, Name: "out", Aliases: []string{"o"}, Usage: "plan `DIR` to write (local or s3://; not with --dry-run; with --ranges: the range's part folder, default parts/<iiii> beside ranges.json)"},
		&cli.BoolFlag{Category: catInput, Name: "dry-run", Usage: "compare and count, write nothing: print the classes, routes and shards a diff would write"},
		forceFlag(),
		workersFlag(catInput, "data files decoded at once, per report", "number of CPUs"),
		&cli.StringFlag{Category: catInput, Name: "source-data-root", Usage: "`DIR` that the source's files[].key is relative to (default: search the manifest's ancestor folders)"},
		&cli.StringFlag{Category: catInput, Name: "target-data-root", Usage: "`DIR` that the target's files[].key is relative to"},
		&cli.BoolFlag{Category: catInput, Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
		&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the diff summary as JSON on stdout"},
		quietFlag(),

		&cli.StringFlag{Category: catCompare, Name: "compare", Value: "size,etag", Usage: "what makes an object in both reports changed: `LIST` of size, etag, checksum, mtime"},
		&cli.StringSliceFlag{Category: catCompare, Name: "map", Usage: "compare source keys under SRC with target keys under DST: `SRC=DST` (repeatable)"},
		&cli.BoolFlag{Category: catCompare, Name: "cross-bucket", Usage: "the reports are of different buckets, as intended (else an error)"},
		&cli.BoolFlag{Category: catCompare, Name: "all-versions", Usage: "compare every version by (key, version id): two reports of one bucket only"},
		countFlag(catCompare, "examples", diff.DefaultExamples, "list the first `N` objects of each class in diff.json"),
	}, filterFlags(), sortFlags(), shardFlags(), diffRangeFlags())
}

// diffOptionsFromFlags turns the flags into diff.Options, checking every
// flag and combination; errors name the flags.
func diffOptionsFromFlags(c *cli.Context, loadKeys bool) (diff.Options, error) {
	o := diff.Options{
		IO:     storage(c),
		Source: c.String("source"),
		Target: c.String("target"),
		Out:    c.String("out"),
		Reader: inventory.ReaderOptions{
			Workers:       c.Int("workers"),
			SkipChecksums: c.Bool("no-verify"),
		},
		SourceDataRoot: c.String("source-data-root"),
		TargetDataRoot: c.String("target-data-root"),
		AllVersions:    c.Bool("all-versions"),
		CrossBucket:    c.Bool("cross-bucket"),
		TmpDir:         c.String("tmp-dir"),
		Examples:       c.Int("examples"),
		OptionName:     flagNames(diffFlag),
	}
	ranged := c.String("ranges") != ""
	switch {
	case o.Source == "" || o.Target == "":
		return o, usagef("--source and --target are required")
	case ranged && c.Bool("dry-run"):
		return o, usagef("--ranges and --dry-run exclude each other")
	case !ranged && c.String("range") != "":
		return o, usagef("--range needs --ranges (the ranges.json that 'diff split' wrote)")
	case o.Out == "" && !c.Bool("dry-run") && !ranged:
		return o, usagef("--out is required (or --dry-run to write nothing)")
	case o.Out != "" && c.Bool("dry-run"):
		return o, usagef("--out and --dry-run exclude each other: a dry run writes nothing")
	}
	if err := checkInventoryDate(c); err != nil {
		return o, err
	}
	if o.Examples < 0 {
		return o, usagef("--examples must not be negative")
	}
	if o.Examples == 0 {
		o.Examples = -1 // none
	}
	var err error
	if o.Compare, err = diff.ParseCompare(c.String("compare")); err != nil {
		return o, usagef("--compare: %v", strings.TrimPrefix(err.Error(), diff.ErrCompare.Error()+": "))
	}
	for _, m := range c.StringSlice("map") {
		mp, err := diff.ParseMapping(m)
		if err != nil {
			return o, usagef("--map %q: expected SRC_PREFIX=DST_PREFIX", m)
		}
		o.Maps = append(o.Maps, mp)
	}
	if _, err := diff.NewKeyMap(o.Maps); err != nil {
		return o, usagef("--map: %s", strings.TrimPrefix(err.Error(), diff.ErrMap.Error()+": "))
	}
	if o.AllVersions && len(o.Maps) > 0 {
		return o, usagef("--all-versions and --map exclude each other: a moved object has a new version id, so no version would match")
	}
	if !o.AllVersions {
		for _, f := range []string{"latest-only", "include-delete-markers", "only-delete-markers"} {
			if c.Bool(f) {
				return o, usagef("--%s applies only with --all-versions: the diff compares current versions and drops delete markers itself", f)
			}
		}
	} else if c.Bool("latest-only") {
		return o, usagef("--latest-only and --all-versions exclude each other (current versions are the default)")
	}
	if o.Bounds, o.NoRoutes, err = boundsFromFlags(c); err != nil {
		return o, err
	}
	if o.SortMemory, err = sortMemoryFromFlags(c); err != nil {
		return o, err
	}
	if o.Filter, err = filterFromFlags(c, loadKeys); err != nil {
		return o, err
	}
	return o, nil
}

// diffExitError gives an error its exit code (cli.ExitCoder).
type diffExitError struct {
	err  error
	code int
}

func (e *diffExitError) Error() string { return e.err.Error() }
func (e *diffExitError) Unwrap() error { return e.err }
func (e *diffExitError) ExitCode() int { return e.code }

// diffError maps diff's errors to exit codes and flag names: refusals that
// a flag answers are usage errors; a side that is unsorted or mixes
// buckets is bad input.
func diffError(err error) error {
	switch {
	case errors.Is(err, diff.ErrCrossBucket):
		msg, _, _ := strings.Cut(err.Error(), " (set CrossBucket")
		return usagef("diff: %s: pass --cross-bucket if that is intended (a migration), or --map SRC=DST", msg)
	case errors.Is(err, diff.ErrVersionsAcrossBuckets), errors.Is(err, diff.ErrNoVersions):
		return usagef("diff: --all-versions: %v", err)
	case errors.Is(err, diff.ErrCompare):
		return usagef("diff: --compare: %v", err)
	case errors.Is(err, diff.ErrUnsorted), errors.Is(err, diff.ErrMixedBuckets):
		return &diffExitError{fmt.Errorf("diff: %w", err), exitBadInput}
	case errors.Is(err, manifest.ErrSubmitted):
		return planDirError(err)
	}
	return fmt.Errorf("diff: %w", err)
}

func printDiffSummary(w io.Writer, o diff.Options, res *diff.Result) {
	s, p := res.Summary, res.Plan
	if o.Out == "" {
		fmt.Fprintf(w, "dry run: nothing written (compare %s%s)\n", s.Compare, map[bool]string{true: ", all versions"}[s.AllVersions])
	} else {
		fmt.Fprintf(w, "diff written to %s (compare %s%s)\n", o.Out, s.Compare, map[bool]string{true: ", all versions"}[s.AllVersions])
	}
	for _, side := range []struct {
		name string
		st   diff.SideStats
	}{{"source", s.Source}, {"target", s.Target}} {
		fmt.Fprintf(w, "  %s  %s (bucket %s, %s): %s rows read, %s compared\n", side.name, side.st.Manifest, side.st.Bucket,
			side.st.Format, humanCount(side.st.RowsRead), humanCount(side.st.RowsCompared))
		reasons := make([]string, 0, len(side.st.Dropped))
		for r := range side.st.Dropped {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			fmt.Fprintf(w, "    dropped %-22s %s\n", strings.ReplaceAll(r, "_", " "), humanCount(side.st.Dropped[r]))
		}
	}
	fmt.Fprintf(w, "  %-18s %15s %12s\n", "class", "objects", "bytes")
	for _, c := range []struct {
		name string
		c    diff.Class
	}{{"only in source", s.OnlyInSource}, {"changed", s.Changed.Class}, {"only in target", s.OnlyInTarget}, {"unchanged", s.Unchanged}} {
		fmt.Fprintf(w, "  %-18s %15s %12s\n", c.name, humanCount(c.c.Objects), humanBytes(c.c.Bytes))
	}
	if len(s.Changed.By) > 0 {
		var by []string
		for _, r := range []string{"size", "etag", "checksum", "mtime"} {
			if n, ok := s.Changed.By[r]; ok {
				by = append(by, fmt.Sprintf("%s %s", r, humanCount(n)))
			}
		}
		fmt.Fprintf(w, "  changed by: %s\n", strings.Join(by, ", "))
	}
	if len(p.Routes) > 0 {
		fmt.Fprintf(w, "  %-18s %8s %15s %12s\n", "route", "shards", "objects", "bytes")
		for _, r := range p.Routes {
			fmt.Fprintf(w, "  %-18s %8d %15s %12s\n", r.Route, r.Shards, humanCount(r.Objects), humanBytes(r.Bytes))
		}
	}
	secs := res.Stats.Elapsed.Seconds()
	fmt.Fprintf(w, "  %.2f s, %.2f M rows/s\n", secs, float64(p.Counters.RowsRead)/secs/1e6)
}

func printDiffJSON(w io.Writer, o diff.Options, res *diff.Result) error {
	s := res.Summary
	class := func(c diff.Class) map[string]int64 { return map[string]int64{"objects": c.Objects, "bytes": c.Bytes} }
	out := map[string]any{
		"plan":    o.Out,
		"dry_run": o.Out == "",
		"compare": s.Compare,
		"source":  s.Source,
		"target":  s.Target,
		"classes": map[string]any{
			"only_in_source": class(s.OnlyInSource),
			"only_in_target": class(s.OnlyInTarget),
			"changed":        class(s.Changed.Class),
			"unchanged":      class(s.Unchanged),
		},
		"changed_by":              s.Changed.By,
		"multipart_etag_mismatch": s.Changed.MultipartETag,
		"routes":                  res.Plan.Routes,
		"shards":                  len(res.Plan.Shards),
		"warnings":                s.Warnings,
		"elapsed_seconds":         res.Stats.Elapsed.Seconds(),
		"input_bytes":             res.Stats.InputBytes,
		"rows_per_second":         float64(res.Plan.Counters.RowsRead) / res.Stats.Elapsed.Seconds(),
	}
	return writeJSON(w, out)
}
