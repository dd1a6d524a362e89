package partition

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// DefaultMaxObjects is the default bound on objects per shard.
const DefaultMaxObjects = 1_000_000

// FailureThreshold is the number of tasks after which a Batch Operations
// job fails when more than half of them failed; a job with fewer tasks
// never trips it (docs/formats.md#failure-threshold).
const FailureThreshold = 1000

// Default prices for the cost estimate, in USD (docs/formats.md#pricing; third-party
// figures, UNCONFIRMED against the AWS price list).
const (
	DefaultPricePerJob     = 0.25
	DefaultPricePerMillion = 1.00
)

// ErrNoInput is returned when Options names no inventory.
var ErrNoInput = errors.New("no inventory given")

// ErrBounds is returned for shard bounds that contradict each other.
var ErrBounds = errors.New("invalid shard bounds")

// Bounds limit each shard. Zero means no bound, except MaxObjects (zero
// means DefaultMaxObjects).
type Bounds struct {
	// MaxObjects: at most this many objects per shard.
	MaxObjects int64
	// MaxBytes: at most this sum of object sizes per shard (an object
	// larger than MaxBytes gets a shard of its own).
	MaxBytes int64
	// MaxManifestBytes: at most this size of the shard file.
	MaxManifestBytes int64
	// MinObjects: a shard is never cut by MaxBytes or MaxManifestBytes
	// before it holds this many objects; only the last shard of a route
	// (and bucket) may hold fewer, and Stats.Warnings says so. Set it to
	// FailureThreshold so that every job can trip the failure threshold.
	// It must not exceed MaxObjects.
	MinObjects int64
}

// Prices drive the cost estimate. Zero values mean the defaults.
type Prices struct {
	PerJob     float64 // USD per job (shard)
	PerMillion float64 // USD per million object operations
	// Lambda prices the large route's invocations of the copy function
	// (largecopy.EstimateCost; zero fields: its defaults).
	Lambda largecopy.CostAssumptions
}

// Options configure Plan.
type Options struct {
	// Inventories are the manifest.json locations to plan from, read in
	// order.
	Inventories []string
	// Out is the plan directory; ignored by a dry run.
	Out string
	// DryRun computes the plan (routes, shards, cost) without writing
	// anything.
	DryRun bool
	// Reader configures the inventory scan (workers, batch size, data
	// root, checksums). Its Fields are set by Plan.
	Reader inventory.ReaderOptions
	// Filter selects the objects to plan.
	Filter inventory.FilterOptions
	// Sort orders each route's objects by bucket, key and version (newest
	// first) and drops duplicate rows, so that shards are contiguous key
	// ranges. Off: rows keep the inventory's order.
	Sort bool
	// SortMemory is the sort's memory budget; zero means
	// DefaultSortMemory. It does not change the plan.
	SortMemory int64
	// TmpDir is where the sort spills; "" means os.TempDir().
	TmpDir string
	// Bounds limit each shard.
	Bounds Bounds
	// NoRoutes puts every object in one route, RouteAll, instead of
	// routing by size and storage class.
	NoRoutes bool
	// Prices for the cost estimate in Stats.
	Prices Prices
	// IO reads the inventories and writes the plan directory (nil: see
	// objio); it replaces Reader.IO.
	IO *objio.Client
	// Range, when not nil, plans one range of a distributed plan (see
	// Range); it needs Sort.
	Range *Range
}

// Stats describe a finished planning run (not written to plan.json, which
// must not depend on the run).
type Stats struct {
	Elapsed    time.Duration
	InputBytes int64
	Sort       SortStats
	// Warnings are things the user should know, such as shards too small
	// for the failure threshold.
	Warnings []string
	// Costs estimates the Batch Operations charges per route.
	Costs []RouteCost
	// RowsReadByInput counts the rows read (in the range, when ranged)
	// per inventory; they sum to Counters.RowsRead.
	RowsReadByInput []int64
}

// RouteCost is the estimated Batch Operations charge of one route: the
// per-job fee for each shard plus the per-object fee. S3 request, restore,
// Lambda and KMS charges are not included.
type RouteCost struct {
	Route   string  `json:"route"`
	Shards  int     `json:"shards"`
	Objects int64   `json:"objects"`
	Bytes   int64   `json:"bytes"`
	USD     float64 `json:"estimated_usd"`
	// Lambda is, for the large route, the estimated charge of the Lambda
	// function that copies its objects (not in USD).
	Lambda *largecopy.Cost `json:"lambda,omitempty"`
}

func (o *Options) normalize() error {
	if len(o.Inventories) == 0 {
		return ErrNoInput
	}
	if o.Range != nil && !o.Sort {
		return fmt.Errorf("%w: a range of a distributed plan is planned sorted", manifest.ErrRanges)
	}
	var err error
	if o.Bounds, err = o.Bounds.Normalize(); err != nil {
		return err
	}
	if o.Prices.PerJob == 0 {
		o.Prices.PerJob = DefaultPricePerJob
	}
	if o.Prices.PerMillion == 0 {
		o.Prices.PerMillion = DefaultPricePerMillion
	}
	return nil
}

// cutterFields are the columns the cutter reads; sortFields the ones the
// sort orders by.
var (
	cutterFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest,
		inventory.Size, inventory.StorageClass, inventory.IntelligentTieringAccessTier)
	sortFields = inventory.Fields(inventory.LastModifiedDate, inventory.IsLatest)
)

// Plan reads the inventories, filters, sorts and routes every object,
// writes the shards and commits the plan directory. On error nothing is
// committed, an earlier plan in Out is left as it was, and the sort's
// spill files are removed.
func Plan(ctx context.Context, o Options) (*manifest.Plan, *Stats, error) {
	if err := o.normalize(); err != nil {
		return nil, nil, err
	}
	filter, err := inventory.NewFilter(o.Filter)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	ro := o.Reader
	ro.IO = o.IO
	if ro.TmpDir == "" {
		ro.TmpDir = o.TmpDir // with the sort's spill files
	}
	if ro.Progress == nil {
		ro.Progress = &inventory.Progress{}
	}
	ro.Fields = filter.Needs() | cutterFields
	if o.Sort {
		ro.Fields |= sortFields
	}

	plan := &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}}
	stats := &Stats{}
	var reports []*inventory.Report
	input := map[*inventory.Report]int{}
	for k, loc := range o.Inventories {
		m, err := inventory.OpenManifest(ctx, loc, inventory.ManifestOptions{DataRoot: ro.DataRoot, SkipChecksums: ro.SkipChecksums, IO: ro.IO})
		if err != nil {
			return nil, nil, err
		}
		if err := filter.Check(m.Fields); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", loc, err)
		}
		plan.Inputs = append(plan.Inputs, manifest.Input{
			Manifest: m.Location, MD5: m.MD5, ChecksumVerified: m.ChecksumVerified,
			SourceBucket: m.SourceBucket, Format: string(m.Format),
			CreationTimestamp: m.CreationTimestamp, Files: len(m.Files), Columns: m.Fields.String(),
		})
		if o.Range != nil {
			if err := o.Range.Restrict(k, m); err != nil {
				return nil, nil, err
			}
		}
		r := inventory.NewReport(m, ro)
		input[r] = k
		reports = append(reports, r)
	}
	stats.RowsReadByInput = make([]int64, len(reports))

	var sink shardSink
	var dir *manifest.PlanDir
	committed := false
	defer func() {
		if dir != nil && !committed {
			dir.Abort()
		}
	}()
	// newOutput starts the plan's output afresh.
	newOutput := func() (*cutter, error) {
		if o.DryRun {
			sink = &drySink{next: map[string]int{}}
		} else {
			if dir != nil {
				dir.Abort()
				dir = nil
			}
			d, err := manifest.CreatePlanDir(o.IO, o.Out)
			if err != nil {
				return nil, err
			}
			dir, sink = d, planDirSink{d}
		}
		return newCutter(sink, o.Bounds, !o.NoRoutes, o.Sort), nil
	}
	c, err := newOutput()
	if err != nil {
		return nil, nil, err
	}
	scan := func(r *inventory.Report, ordered bool, fn func(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error) error {
		fields := r.Fields()
		var sel []int32
		scanFn := r.Scan
		if !ordered {
			scanFn = r.ScanUnordered
		}
		k := input[r]
		return scanFn(ctx, func(rec arrow.RecordBatch) error {
			if o.Range != nil {
				sel = o.Range.selectRows(rec, fields, sel)
				plan.Counters.RowsRead += int64(len(sel))
				stats.RowsReadByInput[k] += int64(len(sel))
				sel = filter.SelectIn(rec, fields, sel, plan.Counters.Dropped)
			} else {
				plan.Counters.RowsRead += rec.NumRows()
				stats.RowsReadByInput[k] += rec.NumRows()
				sel = filter.Select(rec, fields, sel, plan.Counters.Dropped)
			}
			plan.Counters.RowsKept += int64(len(sel))
			return fn(rec, fields, sel)
		})
	}
	if !o.Sort {
		for _, r := range reports {
			if err = scan(r, true, c.add); err != nil {
				return nil, nil, err
			}
		}
	} else {
		groups := sortGroups(reports)
		streamed := false
		if streamPresorted && looksSorted(ctx, groups, ro) {
			if streamed, err = streamGroups(ctx, groups, scan, c, plan, stats); err != nil {
				return nil, nil, err
			}
			if !streamed {
				// A row came out of order: plan again, sorting. What the
				// stream wrote is dropped, and counting starts over.
				if c, err = newOutput(); err != nil {
					return nil, nil, err
				}
				*plan = manifest.Plan{Inputs: plan.Inputs, Counters: manifest.Counters{Dropped: map[string]int64{}}}
				*stats = Stats{RowsReadByInput: make([]int64, len(reports))}
				ro.Progress.Rows.Store(0)
				ro.Progress.InputBytes.Store(0)
				ro.Progress.FilesDone.Store(0)
			}
		}
		for _, g := range groups {
			if streamed {
				break
			}
			if err = sortGroup(ctx, o, g, scan, c, plan, stats); err != nil {
				return nil, nil, err
			}
		}
	}
	if err = c.finish(); err != nil {
		return nil, nil, err
	}
	stats.Warnings = append(stats.Warnings, c.warnings...)
	plan.Warnings = stats.Warnings
	plan.Options = planOptions(o)
	if o.DryRun {
		sink.(*drySink).fill(plan)
	} else {
		if part := o.Range.part(); part != nil {
			part.RowsByInput = stats.RowsReadByInput
			part.Plan = *plan
			if err = dir.CommitPart(ctx, part); err != nil {
				return nil, nil, err
			}
			*plan = part.Plan
		} else if err = dir.Commit(ctx, plan); err != nil {
			return nil, nil, err
		}
		committed = true
	}
	stats.Elapsed = time.Since(start)
	stats.InputBytes = ro.Progress.InputBytes.Load()
	stats.Costs = Costs(plan.Routes, o.Prices)
	return plan, stats, nil
}

// sortGroup sorts the rows of one group of reports and cuts them.
func sortGroup(ctx context.Context, o Options, g reportGroup,
	scan func(*inventory.Report, bool, func(arrow.RecordBatch, inventory.FieldSet, []int32) error) error,
	c *cutter, plan *manifest.Plan, stats *Stats) error {
	s := NewSorter(SortOptions{Memory: o.SortMemory, TmpDir: o.TmpDir, Fields: g.fields & (cutterFields | sortFields),
		Progress: o.Reader.Progress, Buckets: g.buckets()})
	defer s.Close()
	for _, r := range g.reports {
		// The order batches arrive in does not matter to the sort, so no
		// worker waits for the files before its own.
		err := scan(r, false, func(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
			return s.Add(ctx, rec, fields, sel)
		})
		if err != nil {
			return err
		}
	}
	versioned := s.Fields().Has(inventory.VersionID)
	st, err := s.finishRows(ctx, func(d *sortRow) error { return c.addSorted(d, versioned) })
	if err != nil {
		return err
	}
	addSortStats(plan, stats, st)
	return s.Close()
}

// addSortStats counts a group's sort in the plan and the stats.
func addSortStats(plan *manifest.Plan, stats *Stats, st SortStats) {
	if st.Duplicates > 0 {
		plan.Counters.Dropped[DropDuplicate] += st.Duplicates
		plan.Counters.RowsKept -= st.Duplicates
	}
	stats.Sort.Rows += st.Rows
	stats.Sort.Duplicates += st.Duplicates
	stats.Sort.Runs += st.Runs
	stats.Sort.Passes = max(stats.Sort.Passes, st.Passes)
	stats.Sort.SpillBytes += st.SpillBytes
	stats.Sort.Presorted += st.Presorted
	stats.Sort.Streamed += st.Streamed
}

// planOptions records what shapes the plan (not workers, memory or temp
// dirs, which do not change it).
func planOptions(o Options) map[string]any {
	f := o.Filter
	m := map[string]any{
		"sort":               o.Sort,
		"routes":             !o.NoRoutes,
		"max_objects":        o.Bounds.MaxObjects,
		"max_bytes":          o.Bounds.MaxBytes,
		"max_manifest_bytes": o.Bounds.MaxManifestBytes,
		"min_objects":        o.Bounds.MinObjects,
		"latest_only":        f.LatestOnly,
		"delete_markers":     []string{"exclude", "include", "only"}[f.DeleteMarkers],
	}
	lists := map[string][]string{
		"prefixes": f.Prefixes, "suffixes": f.Suffixes, "substrings": f.Substrings, "regexes": f.Regexes, "globs": f.Globs,
		"storage_classes": f.StorageClasses, "replication_statuses": f.ReplicationStatuses,
		"encryption_statuses": f.EncryptionStatuses, "lock_modes": f.LockModes, "legal_hold": f.LegalHold,
		"tiering_tiers": f.TieringTiers, "checksum_algorithms": f.ChecksumAlgorithms,
	}
	for k, v := range lists {
		if len(v) > 0 {
			m[k] = v
		}
	}
	if f.MinSize > 0 {
		m["min_size"] = f.MinSize
	}
	if f.HasMaxSize {
		m["max_size"] = f.MaxSize
	}
	if !f.ModifiedAfter.IsZero() {
		m["modified_after"] = f.ModifiedAfter.UTC().Format(time.RFC3339Nano)
	}
	if !f.ModifiedBefore.IsZero() {
		m["modified_before"] = f.ModifiedBefore.UTC().Format(time.RFC3339Nano)
	}
	if f.Multipart != inventory.Any {
		m["multipart"] = map[inventory.Tristate]string{inventory.Only: "only", inventory.Not: "exclude"}[f.Multipart]
	}
	if f.IncludeKeys != nil {
		m["include_keys"] = map[string]any{"source": f.IncludeKeys.Source, "keys": f.IncludeKeys.Len()}
	}
	if f.ExcludeKeys != nil {
		m["exclude_keys"] = map[string]any{"source": f.ExcludeKeys.Source, "keys": f.ExcludeKeys.Len()}
	}
	if f.Where != "" {
		m["where"] = f.Where
	}
	return m
}

// Costs estimates the Batch Operations charges of each route, and the
// Lambda charges of the large route.
func Costs(routes []manifest.RouteTotal, p Prices) []RouteCost {
	out := make([]RouteCost, 0, len(routes))
	for _, r := range routes {
		c := RouteCost{Route: r.Route, Shards: r.Shards, Objects: r.Objects, Bytes: r.Bytes,
			USD: float64(r.Shards)*p.PerJob + float64(r.Objects)/1e6*p.PerMillion}
		if r.Route == RouteLarge {
			l := largecopy.EstimateCost(r.Objects, r.Bytes, p.Lambda)
			c.Lambda = &l
		}
		out = append(out, c)
	}
	return out
}

// shardSink starts shard files; shardOut is one of them.
type shardSink interface {
	// NewShard starts a shard; versions is its manifest.Shard.Versions.
	NewShard(route, bucket string, versioned bool, versions string) (shardOut, error)
}

type shardOut interface {
	Add(bucket, key, versionID []byte, size int64) error
	// CloseAsync ends the shard; errors show at Close, which Commit calls.
	CloseAsync()
	Close() error
	Info() manifest.Shard
}

type planDirSink struct{ d *manifest.PlanDir }

func (s planDirSink) NewShard(route, bucket string, versioned bool, versions string) (shardOut, error) {
	return s.d.NewShardOf(route, bucket, versioned, versions)
}

// drySink counts what shards would hold.
type drySink struct {
	next   map[string]int
	shards []*dryShard
}

type dryShard struct {
	info manifest.Shard
	buf  []byte
	lk   []byte
}

func (s *drySink) NewShard(route, bucket string, versioned bool, versions string) (shardOut, error) {
	n := s.next[route]
	s.next[route] = n + 1
	d := &dryShard{info: manifest.Shard{Path: fmt.Sprintf("shards/%s/%05d.csv", route, n), Route: route, Bucket: bucket, VersionIDs: versioned, Versions: versions}}
	s.shards = append(s.shards, d)
	return d, nil
}

func (d *dryShard) Add(bucket, key, versionID []byte, size int64) error {
	if d.info.Objects == 0 {
		d.info.FirstKey = string(key)
	}
	d.buf = manifest.AppendRow(d.buf[:0], bucket, key, versionID, d.info.VersionIDs)
	d.info.ManifestBytes += int64(len(d.buf))
	d.info.Objects++
	d.info.Bytes += size
	d.lk = append(d.lk[:0], key...)
	return nil
}

func (d *dryShard) CloseAsync() { d.Close() }

func (d *dryShard) Close() error {
	d.info.LastKey = string(d.lk)
	return nil
}

func (d *dryShard) Info() manifest.Shard { return d.info }

// fill lists the shards and route totals in plan as Commit would.
func (s *drySink) fill(plan *manifest.Plan) {
	plan.Version = manifest.PlanVersion
	plan.Shards = plan.Shards[:0]
	for _, d := range s.shards {
		plan.Shards = append(plan.Shards, d.info)
	}
	slices.SortStableFunc(plan.Shards, func(a, b manifest.Shard) int {
		if a.Route != b.Route {
			if a.Route < b.Route {
				return -1
			}
			return 1
		}
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	plan.Routes = nil
	for _, sh := range plan.Shards {
		if len(plan.Routes) == 0 || plan.Routes[len(plan.Routes)-1].Route != sh.Route {
			plan.Routes = append(plan.Routes, manifest.RouteTotal{Route: sh.Route})
		}
		t := &plan.Routes[len(plan.Routes)-1]
		t.Shards++
		t.Objects += sh.Objects
		t.Bytes += sh.Bytes
	}
}
