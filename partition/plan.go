package partition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// DefaultMaxObjects is the default bound on objects per shard.
const DefaultMaxObjects = 1_000_000

// ErrNoInput is returned when Options names no inventory.
var ErrNoInput = errors.New("no inventory given")

// Options configure Plan.
type Options struct {
	// Inventories are the manifest.json locations to plan from, read in
	// order.
	Inventories []string
	// Out is the plan directory.
	Out string
	// Reader configures the inventory scan (workers, batch size, data
	// root, checksums). Its Fields are set by Plan.
	Reader inventory.ReaderOptions
	// Filter selects the objects to plan.
	Filter inventory.Filter
	// MaxObjects bounds the objects per shard; zero means
	// DefaultMaxObjects.
	MaxObjects int64
}

// Stats describe a finished planning run (not written to plan.json, which
// must not depend on the run).
type Stats struct {
	Elapsed    time.Duration
	InputBytes int64
}

// Plan reads the inventories, filters and routes every object, writes the
// shards and commits the plan directory. On error nothing is committed and
// an earlier plan in Out is left as it was.
func Plan(ctx context.Context, o Options) (*manifest.Plan, *Stats, error) {
	if len(o.Inventories) == 0 {
		return nil, nil, ErrNoInput
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	start := time.Now()
	ro := o.Reader
	if ro.Progress == nil {
		ro.Progress = &inventory.Progress{}
	}
	ro.Fields = o.Filter.Needs().With(inventory.Bucket, inventory.Key, inventory.VersionID,
		inventory.Size, inventory.StorageClass, inventory.IntelligentTieringAccessTier)

	var reports []*inventory.Report
	for _, loc := range o.Inventories {
		r, err := inventory.Open(ctx, loc, ro)
		if err != nil {
			return nil, nil, err
		}
		reports = append(reports, r)
	}

	dir, err := manifest.CreatePlanDir(o.Out)
	if err != nil {
		return nil, nil, err
	}
	committed := false
	defer func() {
		if !committed {
			dir.Abort()
		}
	}()

	plan := &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}}
	c := newCutter(dir, o.MaxObjects)
	for _, r := range reports {
		m := r.Manifest
		plan.Inputs = append(plan.Inputs, manifest.Input{
			Manifest: m.Location, MD5: m.MD5, ChecksumVerified: m.ChecksumVerified,
			SourceBucket: m.SourceBucket, Format: string(m.Format),
			CreationTimestamp: m.CreationTimestamp, Files: len(m.Files), Columns: m.Fields.String(),
		})
		fields := r.Fields()
		var sel []int32
		err := r.Scan(ctx, func(rec arrow.RecordBatch) error {
			plan.Counters.RowsRead += rec.NumRows()
			sel = o.Filter.Select(rec, fields, sel, plan.Counters.Dropped)
			plan.Counters.RowsKept += int64(len(sel))
			return c.add(rec, fields, sel)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	plan.Options = map[string]any{
		"max_objects":            o.MaxObjects,
		"prefixes":               nonNil(o.Filter.Prefixes),
		"latest_only":            o.Filter.LatestOnly,
		"include_delete_markers": o.Filter.KeepDeleteMarkers,
	}
	if err := dir.Commit(ctx, plan); err != nil {
		return nil, nil, err
	}
	committed = true
	return plan, &Stats{Elapsed: time.Since(start), InputBytes: ro.Progress.InputBytes.Load()}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// cutter keeps one open shard per (route, version ids, bucket) and starts
// a new one when a bound is reached.
type cutter struct {
	dir        *manifest.PlanDir
	maxObjects int64
	open       [4][2]map[string]*manifest.ShardWriter
}

func newCutter(dir *manifest.PlanDir, maxObjects int64) *cutter {
	c := &cutter{dir: dir, maxObjects: maxObjects}
	for r := range c.open {
		for v := range c.open[r] {
			c.open[r][v] = map[string]*manifest.ShardWriter{}
		}
	}
	return c
}

func (c *cutter) add(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
	buckets := rec.Column(fields.ColumnIndex(inventory.Bucket)).(*array.String)
	keys := rec.Column(fields.ColumnIndex(inventory.Key)).(*array.String)
	var versions, classes, tiers *array.String
	var sizes *array.Int64
	versioned := fields.Has(inventory.VersionID)
	if versioned {
		versions = rec.Column(fields.ColumnIndex(inventory.VersionID)).(*array.String)
	}
	if fields.Has(inventory.StorageClass) {
		classes = rec.Column(fields.ColumnIndex(inventory.StorageClass)).(*array.String)
	}
	if fields.Has(inventory.IntelligentTieringAccessTier) {
		tiers = rec.Column(fields.ColumnIndex(inventory.IntelligentTieringAccessTier)).(*array.String)
	}
	if fields.Has(inventory.Size) {
		sizes = rec.Column(fields.ColumnIndex(inventory.Size)).(*array.Int64)
	}
	vi := 0
	if versioned {
		vi = 1
	}
	for _, i32 := range sel {
		i := int(i32)
		var size int64
		if sizes != nil && sizes.IsValid(i) {
			size = sizes.Value(i)
		}
		var class, tier, version []byte
		if classes != nil && classes.IsValid(i) {
			class = inventory.StringBytes(classes, i)
		}
		if tiers != nil && tiers.IsValid(i) {
			tier = inventory.StringBytes(tiers, i)
		}
		if versions != nil && versions.IsValid(i) {
			version = inventory.StringBytes(versions, i)
		}
		bucket := inventory.StringBytes(buckets, i)
		route := Route(size, class, tier)
		open := c.open[route][vi]
		w := open[string(bucket)]
		if w == nil || w.Objects() >= c.maxObjects {
			var err error
			if w != nil {
				if err := w.Close(); err != nil {
					return err
				}
			}
			w, err = c.dir.NewShard(routeOrder[route], string(bucket), versioned)
			if err != nil {
				return fmt.Errorf("starting shard: %w", err)
			}
			open[string(bucket)] = w
		}
		if err := w.Add(bucket, inventory.StringBytes(keys, i), version, size); err != nil {
			return fmt.Errorf("writing shard: %w", err)
		}
	}
	return nil
}
