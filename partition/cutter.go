package partition

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// cutter routes rows and cuts each route into shards by the bounds. A
// shard never mixes routes, buckets, rows with and without version ids,
// or current and noncurrent versions (a copy job runs its tasks in no
// particular order, so noncurrent versions get jobs of their own, run
// first: docs/formats.md#versioned-copies). Unsorted, it keeps one open shard per (route,
// kind, bucket); sorted, one per (route, kind), closed when the bucket
// changes, so that every shard is a contiguous key range. The kind is
// kindPlain, kindCurrent or kindNoncurrent.
type cutter struct {
	sink   shardSink
	b      Bounds
	routes bool
	sorted bool
	open   [numRoutes][numKinds]map[string]*shard
	cur    [numRoutes][numKinds]*shard
	// last is, unsorted, the shard of open that took the previous row of
	// (route, kind): most rows go where the one before went, and a string
	// comparison is cheaper than a map lookup.
	last     [numRoutes][numKinds]*shard
	all      []*shard
	warnings []string
	row      []byte
}

// The kinds of rows a shard holds: without version ids, current versions
// (IsLatest true or unknown), noncurrent versions (IsLatest false).
const (
	kindPlain = iota
	kindCurrent
	kindNoncurrent
	numKinds
)

// kindVersions is the Shard.Versions of each kind.
var kindVersions = [numKinds]string{"", manifest.VersionsCurrent, manifest.VersionsNoncurrent}

// rowKind is the kind of a row with (versioned) or without version ids;
// noncurrent is true only for a row known not to be the latest version.
func rowKind(versioned, noncurrent bool) int {
	switch {
	case !versioned:
		return kindPlain
	case noncurrent:
		return kindNoncurrent
	}
	return kindCurrent
}

type shard struct {
	out     shardOut
	bucket  string
	objects int64
	bytes   int64
	mbytes  int64
	closed  bool
}

func newCutter(sink shardSink, b Bounds, routes, sorted bool) *cutter {
	c := &cutter{sink: sink, b: b, routes: routes, sorted: sorted}
	for r := range c.open {
		for v := range c.open[r] {
			c.open[r][v] = map[string]*shard{}
		}
	}
	return c
}

// full reports whether sh must be closed before a row of the given object
// size and manifest line length is added.
func (c *cutter) full(sh *shard, size, rowLen int64) bool {
	if sh.objects >= c.b.MaxObjects {
		return true
	}
	if sh.objects < max(c.b.MinObjects, 1) {
		return false
	}
	return c.b.MaxBytes > 0 && sh.bytes+size > c.b.MaxBytes ||
		c.b.MaxManifestBytes > 0 && sh.mbytes+rowLen > c.b.MaxManifestBytes
}

func (c *cutter) add(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
	cs := newCols(rec, fields)
	versioned := fields.Has(inventory.VersionID)
	for _, i := range sel {
		if err := c.addRow(&cs, int(i), versioned); err != nil {
			return err
		}
	}
	return nil
}

// addRow routes row i of cs into its shard.
func (c *cutter) addRow(cs *cols, i int, versioned bool) error {
	size, _ := cs.int(inventory.Size, i)
	class, tier := cs.str(inventory.StorageClass, i), cs.str(inventory.IntelligentTieringAccessTier, i)
	route := routeAll
	if c.routes {
		route = Route(size, class, tier)
	}
	latest, known := cs.boolean(inventory.IsLatest, i)
	kind := rowKind(versioned, known && !latest)
	return c.addObject(route, cs.str(inventory.Bucket, i), cs.str(inventory.Key, i), cs.str(inventory.VersionID, i), size, kind)
}

// addObject adds one object to route (an index in routeOrder) and kind.
func (c *cutter) addObject(route int, bucket, key, version []byte, size int64, kind int) error {
	vi := kind
	versioned := kind != kindPlain
	var sh *shard
	if c.sorted {
		sh = c.cur[route][vi]
		if sh != nil && sh.bucket != string(bucket) {
			if err := c.close(sh); err != nil {
				return err
			}
			sh = nil
		}
	} else if l := c.last[route][vi]; l != nil && !l.closed && l.bucket == string(bucket) {
		sh = l
	} else {
		sh = c.open[route][vi][string(bucket)]
		c.last[route][vi] = sh
	}
	var rowLen int64
	if c.b.MaxManifestBytes > 0 {
		c.row = manifest.AppendRow(c.row[:0], bucket, key, version, versioned)
		rowLen = int64(len(c.row))
	}
	if sh != nil && c.full(sh, size, rowLen) {
		if err := c.close(sh); err != nil {
			return err
		}
		sh = nil
	}
	if sh == nil {
		out, err := c.sink.NewShard(routeOrder[route], string(bucket), versioned, kindVersions[kind])
		if err != nil {
			return fmt.Errorf("starting shard: %w", err)
		}
		sh = &shard{out: out, bucket: string(bucket)}
		c.all = append(c.all, sh)
		if c.sorted {
			c.cur[route][vi] = sh
		} else {
			c.open[route][vi][sh.bucket] = sh
			c.last[route][vi] = sh
		}
	}
	if err := sh.out.Add(bucket, key, version, size); err != nil {
		return fmt.Errorf("writing shard: %w", err)
	}
	sh.objects++
	sh.bytes += size
	sh.mbytes += rowLen
	return nil
}

// close closes a shard. A shard closed while under MinObjects is the last
// of its route and bucket (cuts by bound happen only at MinObjects or
// more), which gets a warning.
func (c *cutter) close(sh *shard) error {
	if sh.closed {
		return nil
	}
	sh.closed = true
	// The shard's file is synced and closed in the background; Commit
	// waits for it and reports its errors.
	sh.out.CloseAsync()
	if c.b.MinObjects > 0 && sh.objects < c.b.MinObjects {
		info := sh.out.Info()
		noun := "objects"
		if sh.objects == 1 {
			noun = "object"
		}
		c.warnings = append(c.warnings, fmt.Sprintf(
			"%s (route %s, bucket %s) holds %d %s, under the minimum of %d: it is the last shard of its route, and a job this small never trips the %d-task failure threshold",
			info.Path, info.Route, info.Bucket, sh.objects, noun, c.b.MinObjects, FailureThreshold))
	}
	return nil
}

// finish closes every open shard, in the order they were started.
func (c *cutter) finish() error {
	for _, sh := range c.all {
		if err := c.close(sh); err != nil {
			return err
		}
	}
	return nil
}
