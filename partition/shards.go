package partition

import (
	"fmt"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// Normalize checks b and fills in its defaults (MaxObjects zero means
// DefaultMaxObjects). Errors wrap ErrBounds.
func (b Bounds) Normalize() (Bounds, error) {
	if b.MaxObjects <= 0 {
		b.MaxObjects = DefaultMaxObjects
	}
	if b.MaxBytes < 0 || b.MaxManifestBytes < 0 || b.MinObjects < 0 {
		return b, fmt.Errorf("%w: bounds must not be negative", ErrBounds)
	}
	if b.MinObjects > b.MaxObjects {
		return b, fmt.Errorf("%w: MinObjects %d is above MaxObjects %d", ErrBounds, b.MinObjects, b.MaxObjects)
	}
	return b, nil
}

// Shards cuts a stream of objects, given in sorted order, into the
// bounded shards of a plan directory, exactly as Plan does with sorted
// input: each route's shards are contiguous key ranges that never mix
// buckets, rows with and without version ids, or current and noncurrent
// versions. It is the planner's
// shard cutting for other stages that produce sorted objects (diff).
//
// Objects are added with AddRouted, which routes them as Plan does (copy,
// large, restore, restore-tiering; or all when routing is off), or with
// AddDelete. Finish closes the shards; the caller then commits (or
// aborts) the PlanDir. A Shards is not safe for concurrent use; after an
// error it must not be used further, and the PlanDir should be aborted.
type Shards struct {
	c *cutter
}

// NewShards returns a cutter writing into dir. Routing off (routes false)
// puts every routed object into RouteAll.
func NewShards(dir *manifest.PlanDir, b Bounds, routes bool) (*Shards, error) {
	b, err := b.Normalize()
	if err != nil {
		return nil, err
	}
	return &Shards{c: newCutter(planDirSink{dir}, b, routes, true)}, nil
}

// Object is one object to add to a shard. The byte slices are only read
// during the call.
type Object struct {
	Bucket, Key, VersionID []byte
	// Size is summed into the shard's bytes and bounds.
	Size int64
	// StorageClass and TieringTier (upper case, empty when unknown) decide
	// the route of AddRouted.
	StorageClass, TieringTier []byte
	// Noncurrent marks a version known not to be the latest (IsLatest
	// false): with version ids, such objects go to shards of their own
	// (manifest.VersionsNoncurrent), never mixed with current versions.
	Noncurrent bool
}

// AddRouted adds o to the route Route gives it (RouteAll when routing is
// off). versioned says whether the shard rows carry version ids.
func (s *Shards) AddRouted(o *Object, versioned bool) error {
	route := routeAll
	if s.c.routes {
		route = Route(o.Size, o.StorageClass, o.TieringTier)
	}
	return s.c.addObject(route, o.Bucket, o.Key, o.VersionID, o.Size, rowKind(versioned, o.Noncurrent))
}

// AddDelete adds o to RouteDelete.
func (s *Shards) AddDelete(o *Object, versioned bool) error {
	return s.c.addObject(routeDelete, o.Bucket, o.Key, o.VersionID, o.Size, rowKind(versioned, o.Noncurrent))
}

// Finish closes every shard and returns the warnings about shards under
// Bounds.MinObjects, as Plan reports them.
func (s *Shards) Finish() ([]string, error) {
	if err := s.c.finish(); err != nil {
		return nil, err
	}
	return s.c.warnings, nil
}

// DescribeOptions returns the options that shape a plan as plan.json's
// "options" records them: the filter and the bounds (and routing and
// sorting).
func DescribeOptions(o Options) map[string]any {
	if b, err := o.Bounds.Normalize(); err == nil {
		o.Bounds = b
	}
	return planOptions(o)
}

// SortFields are the columns the sort orders by beyond bucket, key and
// version id; a Sorter needs them in its Fields to order versions newest
// first.
func SortFields() inventory.FieldSet { return sortFields }
