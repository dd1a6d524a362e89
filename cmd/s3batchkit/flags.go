package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Flags shared by the commands that read inventories (plan, diff): the
// filters, the sort's budget and the shard bounds, with the functions that
// turn them into options. Errors are usage errors naming the flags.

// concatFlags joins flag lists in order.
func concatFlags(lists ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// filterFlags are the row filters (filterFromFlags reads them).
func filterFlags() []cli.Flag {
	return []cli.Flag{
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
		&cli.StringFlag{Category: catFilter, Name: "multipart", Usage: "`MODE` only keeps, exclude drops, the objects uploaded in parts (IsMultipartUploaded, else an ETag ending -N)"},
		&cli.StringSliceFlag{Category: catFilter, Name: "checksum-algorithm", Usage: "keep objects with checksum `ALGO` (CRC32, CRC32C, CRC64NVME, SHA1, SHA256; '-' ignored)"},
		&cli.StringFlag{Category: catFilter, Name: "where", Usage: "keep rows where `EXPR` holds: an expr-lang expression over the snake_case columns (size, key, storage_class, last_modified_date, ...), with bytes(\"1MiB\") and date(\"2024-01-31\")"},
	}
}

// sortFlags are the sort's budget and spill folder.
func sortFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Category: catSort, Name: "memory", Value: "512MiB", Usage: "memory budget of the sort, `SIZE`; more spills to disk"},
		&cli.StringFlag{Category: catSort, Name: "tmp-dir", Usage: "`DIR` for the sort's spill files (default: $TMPDIR); removed when done"},
	}
}

// shardFlags are the shard bounds and routing (boundsFromFlags reads
// them).
func shardFlags() []cli.Flag {
	return []cli.Flag{
		countFlag(catShards, "max-objects", partition.DefaultMaxObjects, "at most `N` objects per shard"),
		&cli.StringFlag{Category: catShards, Name: "max-bytes", Usage: "at most `SIZE` of objects per shard (sum of sizes, e.g. 50TiB)"},
		&cli.StringFlag{Category: catShards, Name: "max-manifest-bytes", Usage: "at most `SIZE` of manifest file per shard"},
		countFlag(catShards, "min-objects", partition.FailureThreshold, "never cut a shard by --max-bytes/--max-manifest-bytes below `N` objects (jobs under 1,000 tasks never trip the failure threshold); 0 turns it off"),
		&cli.StringFlag{Category: catShards, Name: "routing", Value: "default", Usage: "`MODE`: default routes objects to copy, large, restore and restore-tiering; none puts every object in one route, all"},
	}
}

// sizeFlag parses a size flag (512, 64KiB, 1.5GB); 0 when it is not set.
func sizeFlag(c *cli.Context, name string) (int64, error) {
	if !c.IsSet(name) {
		return 0, nil
	}
	n, err := inventory.ParseSize(c.String(name))
	if err != nil {
		return 0, usagef("--%s: %v", name, err)
	}
	return n, nil
}

// boundsFromFlags reads the shard flags; noRoutes reports --routing none.
func boundsFromFlags(c *cli.Context) (b partition.Bounds, noRoutes bool, err error) {
	b = partition.Bounds{MaxObjects: c.Int64("max-objects"), MinObjects: c.Int64("min-objects")}
	switch {
	case b.MaxObjects < 1:
		return b, false, usagef("--max-objects must be at least 1, got %d", b.MaxObjects)
	case b.MinObjects < 0:
		return b, false, usagef("--min-objects must not be negative, got %d", b.MinObjects)
	case b.MinObjects > b.MaxObjects:
		return b, false, usagef("--min-objects %d is above --max-objects %d; lower --min-objects too (0 turns it off), knowing that jobs under %d tasks never trip the failure threshold",
			b.MinObjects, b.MaxObjects, partition.FailureThreshold)
	case c.String("routing") != "default" && c.String("routing") != "none":
		return b, false, usagef("--routing must be default or none, got %q", c.String("routing"))
	}
	if b.MaxBytes, err = sizeFlag(c, "max-bytes"); err != nil {
		return b, false, err
	}
	if b.MaxManifestBytes, err = sizeFlag(c, "max-manifest-bytes"); err != nil {
		return b, false, err
	}
	if c.IsSet("max-bytes") && b.MaxBytes == 0 {
		return b, false, usagef("--max-bytes must be above 0")
	}
	if c.IsSet("max-manifest-bytes") && b.MaxManifestBytes == 0 {
		return b, false, usagef("--max-manifest-bytes must be above 0")
	}
	return b, c.String("routing") == "none", nil
}

// sortMemoryFromFlags reads --memory (0 when not set: the default).
func sortMemoryFromFlags(c *cli.Context) (int64, error) {
	n, err := sizeFlag(c, "memory")
	if err != nil {
		return 0, err
	}
	if c.IsSet("memory") && n < 16<<20 {
		return 0, usagef("--memory must be at least 16MiB, got %s", c.String("memory"))
	}
	return n, nil
}

// filterFromFlags reads the filter flags and compiles the filter, so that
// a bad regex, glob, expression or value fails before anything is read.
// Key lists are read only when loadKeys is set (Before only checks that
// they exist).
func filterFromFlags(c *cli.Context, loadKeys bool) (inventory.FilterOptions, error) {
	var f inventory.FilterOptions
	if c.Bool("include-delete-markers") && c.Bool("only-delete-markers") {
		return f, usagef("--include-delete-markers and --only-delete-markers exclude each other")
	}
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
		return f, usagef("--where must not be empty")
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
		return f, usagef("--multipart must be only or exclude, got %q", c.String("multipart"))
	}
	var err error
	if f.MinSize, err = sizeFlag(c, "min-size"); err != nil {
		return f, err
	}
	if c.IsSet("max-size") {
		if f.MaxSize, err = sizeFlag(c, "max-size"); err != nil {
			return f, err
		}
		f.HasMaxSize = true
	}
	for _, tf := range []struct {
		name string
		dst  *time.Time
	}{{"modified-after", &f.ModifiedAfter}, {"modified-before", &f.ModifiedBefore}} {
		if !c.IsSet(tf.name) {
			continue
		}
		if *tf.dst, err = inventory.ParseTimeArg(c.String(tf.name)); err != nil {
			return f, usagef("--%s: %v", tf.name, err)
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
				return f, usagef("--%s: %v", kf.name, err)
			}
			*kf.dst = inventory.NewKeyList(path, nil)
			continue
		}
		if *kf.dst, err = inventory.LoadKeyList(path); err != nil {
			return f, usagef("--%s: %v", kf.name, err)
		}
	}
	if _, err := inventory.NewFilter(f); err != nil {
		var fe *inventory.FilterError
		if errors.As(err, &fe) {
			return f, usagef("%v", err)
		}
		return f, err
	}
	return f, nil
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

// inventoryDateFlag picks a delivery when an inventory names a
// configuration folder (plan's --inventory, diff's --source and
// --target).
func inventoryDateFlag() cli.Flag {
	return &cli.StringFlag{Category: catInput, Name: "inventory-date",
		Usage: "when an inventory names a configuration folder (…/source-bucket/config-id/): the delivery of `DATE` (2024-11-01: that day's newest; 2024-11-01T01-00Z) instead of the newest"}
}

// checkInventoryDate checks --inventory-date without I/O.
func checkInventoryDate(c *cli.Context) error {
	if d := c.String("inventory-date"); d != "" {
		if _, err := inventory.ParseDeliveryDate(d); err != nil {
			return usagef("--inventory-date: %v", err)
		}
	}
	return nil
}

// inventoryFlag names the flag that gave the inventory location loc:
// diff's --source or --target, else plan's --inventory.
func inventoryFlag(c *cli.Context, loc string) string {
	for _, name := range []string{"source", "target"} {
		if c.String(name) == loc {
			return "--" + name
		}
	}
	return "--inventory"
}

// findDeliveries turns each inventory location the user gave — a
// manifest.json, a delivery or configuration folder, a Hive symlink.txt —
// into its delivery's manifest.json, saying on stderr which delivery a
// folder gave (unless quiet).
func findDeliveries(c *cli.Context, quiet bool, locs ...*string) error {
	date := c.String("inventory-date")
	used := false
	for _, l := range locs {
		d, err := inventory.FindDelivery(c.Context, storage(c), *l, date)
		if err != nil {
			if errors.Is(err, inventory.ErrDeliveryDate) {
				return usagef("--inventory-date: %v", err)
			}
			var le *inventory.DeliveryListError
			if errors.As(err, &le) {
				return fmt.Errorf("finding the deliveries under %s lists the folder, which needs s3:ListBucket: %w; name the delivery's manifest instead: %s %s",
					le.Folder, le.Err, inventoryFlag(c, *l), le.Example)
			}
			return err
		}
		if d.How == "newest" || d.How == "date" {
			used = true
		}
		if !quiet && d.How != "named" {
			note := fmt.Sprintf("inventory %s: delivery %s", *l, d.Folder)
			switch d.How {
			case "newest":
				note += fmt.Sprintf(", the newest of %d", d.Deliveries)
			case "date":
				note += fmt.Sprintf(", of %s (%d deliveries)", date, d.Deliveries)
			case "hive":
				note += ", of the Hive partition"
			}
			if len(d.Skipped) > 0 {
				note += fmt.Sprintf("; passed over %s: no manifest.json yet", strings.Join(d.Skipped, ", "))
			}
			fmt.Fprintf(c.App.ErrWriter, "%s (%s)\n", note, d.Manifest)
		}
		*l = d.Manifest
	}
	if date != "" && !used {
		return usagef("--inventory-date picks a delivery of a configuration folder, and no inventory names one")
	}
	return nil
}

// workersFlag is --workers, the one name for how many things a command
// does at once; what says which things, def the default when it is not
// a number.
func workersFlag(category, what, def string) *cli.GenericFlag {
	return &cli.GenericFlag{Category: category, Name: "workers", Value: &countValue{}, Usage: "`N` " + what, DefaultText: def}
}

// quietFlag is --quiet, with one meaning wherever it exists: no progress,
// no notes and no human summary. Warnings and errors still go to
// stderr, and --json still prints its document on stdout.
func quietFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Category: catInput, Name: "quiet", Aliases: []string{"q"}, Usage: "no progress, notes or summary (warnings and errors still go to stderr, --json to stdout)"}
}

// forceFlag is plan's and diff's --force: write over a plan whose jobs
// were submitted.
func forceFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Category: catInput, Name: "force", Usage: "write --out even if its jobs.json records submitted jobs (jobs.json is kept, renamed jobs-replaced-<plan id>.json)"}
}

// guardPlanDir refuses to write a plan into dir when its jobs.json
// records jobs, unless --force: then jobs.json is set aside, and said so.
func guardPlanDir(c *cli.Context, dir string) error {
	err := manifest.CheckNotSubmitted(c.Context, storage(c), dir)
	if err == nil || !errors.Is(err, manifest.ErrSubmitted) {
		return err
	}
	if !c.Bool("force") {
		return planDirError(err)
	}
	aside, err := manifest.SetAsideRun(c.Context, storage(c), dir)
	if err != nil {
		return fmt.Errorf("setting %s aside: %w", objio.Join(dir, manifest.JobsFile), err)
	}
	fmt.Fprintf(c.App.ErrWriter, "s3batchkit: --force: the old plan's %s is now %s\n", manifest.JobsFile, aside)
	return nil
}

// planDirError turns the refusal to write over a submitted plan into a
// usage error that says what to do.
func planDirError(err error) error {
	var se *manifest.SubmittedError
	if errors.As(err, &se) {
		return usagef("%v; write the new plan elsewhere, or give --force (jobs.json is then kept as jobs-replaced-%s.json)", se, se.PlanID)
	}
	return err
}
