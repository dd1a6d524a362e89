package manifest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// PlanVersion is the version of the plan.json layout this package writes.
const PlanVersion = 1

// PlanFile is the name of the plan's commit marker in a plan directory.
const PlanFile = "plan.json"

// ErrNoPlan is returned when a directory holds no plan.json: the plan was
// never written or its writing was interrupted, and it must not be used.
var ErrNoPlan = errors.New("no plan.json: the plan is missing or incomplete")

// ErrRoute is returned by NewShard for a route that is not a plain folder
// name (empty, ".", "..", or holding a path separator): shard paths must
// stay inside the plan directory.
var ErrRoute = errors.New("route is not a plain folder name")

// Plan is the content of plan.json. Same inputs and options give the same
// bytes: nothing in it depends on the clock, the machine or the run.
type Plan struct {
	Version  int            `json:"version"`
	Inputs   []Input        `json:"inputs"`
	Options  map[string]any `json:"options"`
	Counters Counters       `json:"counters"`
	// Warnings are findings the user should read before submitting, such
	// as shards cut below the 1,000-task failure threshold.
	Warnings []string     `json:"warnings,omitempty"`
	Routes   []RouteTotal `json:"routes"`
	Shards   []Shard      `json:"shards"`
}

// Input is one inventory report the plan was made from.
type Input struct {
	Manifest          string `json:"manifest"`
	MD5               string `json:"md5"`
	ChecksumVerified  bool   `json:"checksum_verified"`
	SourceBucket      string `json:"source_bucket"`
	Format            string `json:"format"`
	CreationTimestamp string `json:"creation_timestamp,omitempty"`
	Files             int    `json:"files"`
	Columns           string `json:"columns"`
}

// Counters account for every row read: RowsRead = RowsKept + the sum of
// Dropped.
type Counters struct {
	RowsRead int64            `json:"rows_read"`
	RowsKept int64            `json:"rows_kept"`
	Dropped  map[string]int64 `json:"dropped"`
}

// RouteTotal sums the shards of one route.
type RouteTotal struct {
	Route   string `json:"route"`
	Shards  int    `json:"shards"`
	Objects int64  `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

// Shard describes one manifest file of the plan.
type Shard struct {
	Path          string `json:"path"` // relative to the plan directory, slash-separated
	Route         string `json:"route"`
	Bucket        string `json:"bucket"`
	Objects       int64  `json:"objects"`
	Bytes         int64  `json:"bytes"`          // sum of object sizes
	ManifestBytes int64  `json:"manifest_bytes"` // size of the shard file
	MD5           string `json:"md5"`            // hex MD5 of the file = its ETag after one PUT
	FirstKey      string `json:"first_key"`
	LastKey       string `json:"last_key"`
	VersionIDs    bool   `json:"version_ids"`
	// Versions says which versions the rows of a shard with version ids
	// are: VersionsNoncurrent or VersionsCurrent. Batch Operations does
	// not run a job's tasks in manifest order, so a copy of both kinds in
	// one job could leave an old version current at the destination;
	// noncurrent versions are copied by jobs of their own, first
	// (docs/formats.md#versioned-copies). Empty for shards without
	// version ids.
	Versions string `json:"versions,omitempty"`
}

// The values of Shard.Versions.
const (
	// VersionsNoncurrent marks a shard of noncurrent versions (IsLatest
	// false), whose jobs run before those of the current versions of the
	// same route.
	VersionsNoncurrent = "noncurrent"
	// VersionsCurrent marks a shard of current versions (IsLatest true or
	// unknown).
	VersionsCurrent = "current"
)

// ErrRouteNotInPlan is returned by Plan.ShardsOf for a route the plan
// does not have.
var ErrRouteNotInPlan = errors.New("route not in the plan")

// ShardsOf returns the plan's shards of the given routes, in plan order;
// no route means every shard. It is the one way shards are selected by
// route (submit, run, materialize). A route the plan does not have is an
// error wrapping ErrRouteNotInPlan that lists the plan's routes.
func (p *Plan) ShardsOf(routes ...string) ([]Shard, error) {
	have := map[string]bool{}
	names := make([]string, 0, len(p.Routes))
	for _, r := range p.Routes {
		have[r.Route] = true
		names = append(names, r.Route)
	}
	want := map[string]bool{}
	for _, r := range routes {
		if !have[r] {
			return nil, fmt.Errorf("%w: route %q; the plan's routes are: %s", ErrRouteNotInPlan, r, strings.Join(names, ", "))
		}
		want[r] = true
	}
	out := make([]Shard, 0, len(p.Shards))
	for _, sh := range p.Shards {
		if len(routes) == 0 || want[sh.Route] {
			out = append(out, sh)
		}
	}
	return out, nil
}

// Marshal renders the plan as indented JSON with a final newline.
func (p *Plan) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadPlan reads DIR/plan.json through oc. It returns ErrNoPlan when the file is
// missing.
func ReadPlan(ctx context.Context, oc *objio.Client, dir string) (*Plan, error) {
	loc := objio.Join(dir, PlanFile)
	raw, err := oc.ReadAll(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", dir, ErrNoPlan)
		}
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%s: invalid plan: %w", loc, err)
	}
	if p.Version != PlanVersion {
		return nil, fmt.Errorf("%s: plan version %d, expected %d", loc, p.Version, PlanVersion)
	}
	return &p, nil
}

// PlanDir writes a plan directory atomically: shards go to a hidden
// staging folder inside DIR; Commit moves them into DIR/shards and writes
// DIR/plan.json last. Until Commit returns, an earlier plan in DIR is left
// whole, except for the window in which its plan.json is removed and the
// shards are moved (a directory without plan.json is never trusted).
// Abort removes the staging folder.
//
// A plan directory whose jobs.json records jobs is never written over:
// Commit refuses it (ErrSubmitted), since those jobs read its shards and
// report audits them. Of the files under DIR/shards, Commit replaces or
// removes only those named as a plan names its shards
// (shards/<route>/<nnnnn>.csv); anything else there is left alone.
type PlanDir struct {
	io      *objio.Client // reads jobs.json, writes the plan
	dir     string
	staging string
	next    map[string]int
	shards  []*ShardWriter
	hasher  shardHasher
}

// CreatePlanDir prepares DIR (created if needed) for a new plan, removing
// the staging folders and temporary files an interrupted run left in it:
// a plan directory has one writer at a time. DIR may be an s3:// prefix: shards are then staged
// in a local temporary folder and uploaded by Commit. The PlanDir reads
// and writes DIR through oc.
func CreatePlanDir(oc *objio.Client, dir string) (*PlanDir, error) {
	if objio.IsS3(dir) {
		staging, err := os.MkdirTemp("", "s3batchkit-plan-")
		if err != nil {
			return nil, err
		}
		return &PlanDir{io: oc, dir: strings.TrimSuffix(dir, "/"), staging: staging, next: map[string]int{}}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The staging folders and half-written temporary files (of
	// objio.WriteFileAtomic) of runs that were killed are never
	// committed: remove them (one writer per plan directory at a time).
	for _, pattern := range []string{".staging-*", ".*.tmp-*"} {
		stale, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, s := range stale {
			os.RemoveAll(s)
		}
	}
	staging, err := os.MkdirTemp(dir, ".staging-")
	if err != nil {
		return nil, err
	}
	return &PlanDir{io: oc, dir: dir, staging: staging, next: map[string]int{}}, nil
}

// Dir returns the plan directory.
func (p *PlanDir) Dir() string { return p.dir }

// NewShard starts the next shard file of route, numbered from 00000 in
// the order shards are started.
func (p *PlanDir) NewShard(route, bucket string, versioned bool) (*ShardWriter, error) {
	return p.NewShardOf(route, bucket, versioned, "")
}

// NewShardOf is NewShard for a shard whose Versions field is versions
// (VersionsNoncurrent, VersionsCurrent, or "" when unknown or without
// version ids).
func (p *PlanDir) NewShardOf(route, bucket string, versioned bool, versions string) (*ShardWriter, error) {
	if !PlainName(route) {
		return nil, fmt.Errorf("%w: %q", ErrRoute, route)
	}
	n := p.next[route]
	p.next[route] = n + 1
	rel := fmt.Sprintf("shards/%s/%05d.csv", route, n)
	full := filepath.Join(p.staging, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	w, err := newShardWriter(full, &p.hasher)
	if err != nil {
		return nil, err
	}
	w.info = Shard{Path: rel, Route: route, Bucket: bucket, VersionIDs: versioned, Versions: versions}
	p.shards = append(p.shards, w)
	return w, nil
}

// Commit closes every shard, fills plan.Shards (sorted by route, then
// number) and plan.Routes, and publishes the plan.
func (p *PlanDir) Commit(ctx context.Context, plan *Plan) error {
	return p.commit(ctx, plan, PlanFile, plan.Marshal)
}

// commit is Commit writing marker (plan.json, or a distributed plan's
// part.json), whose bytes render gives once plan is filled, last.
func (p *PlanDir) commit(ctx context.Context, plan *Plan, marker string, render func() ([]byte, error)) error {
	plan.Version = PlanVersion
	plan.Shards = plan.Shards[:0]
	for _, w := range p.shards {
		if err := w.Close(); err != nil {
			return err
		}
	}
	p.hasher.finish()
	for _, w := range p.shards {
		if w.hashErr != nil {
			return w.hashErr
		}
		w.info.MD5 = hex.EncodeToString(w.sum)
		plan.Shards = append(plan.Shards, w.Info())
	}
	sortShards(plan.Shards)
	plan.Routes = totals(plan.Shards)
	data, err := render()
	if err != nil {
		return err
	}
	if err := CheckNotSubmitted(ctx, p.io, p.dir); err != nil {
		return err
	}
	if objio.IsS3(p.dir) {
		return p.commitS3(ctx, plan.Shards, marker, data)
	}
	// Publish: drop the old commit marker, move the new shards in, remove
	// the shards of the old plan that the new one does not replace, write
	// the new marker last.
	if err := os.Remove(filepath.Join(p.dir, marker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	keep := map[string]bool{}
	for _, sh := range plan.Shards {
		keep[sh.Path] = true
		dst := filepath.Join(p.dir, filepath.FromSlash(sh.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(p.staging, filepath.FromSlash(sh.Path)), dst); err != nil {
			return err
		}
	}
	if err := removeStaleShards(filepath.Join(p.dir, "shards"), keep); err != nil {
		return err
	}
	if err := p.io.WriteFileAtomic(ctx, filepath.Join(p.dir, marker), data); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(p.dir, marker), 0o644); err != nil {
		return err
	}
	os.RemoveAll(p.staging)
	return nil
}

// shardPathRE matches the path of a file a plan writes under its
// directory: shards/<route>/<nnnnn>.csv.
var shardPathRE = regexp.MustCompile(`^shards/[^/]+/[0-9]{5,}\.csv$`)

// IsShardPath says whether rel (slash-separated, relative to a plan
// directory) is named as a plan names its shards.
func IsShardPath(rel string) bool { return shardPathRE.MatchString(rel) }

// removeStaleShards removes, under the local folder shards, the files
// named as shards that keep does not list (paths relative to the plan
// directory), and the route folders left empty. Other files stay.
func removeStaleShards(shards string, keep map[string]bool) error {
	var stale, dirs []string
	err := filepath.WalkDir(shards, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(shards), path)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, path)
		case IsShardPath(rel) && !keep[rel]:
			stale = append(stale, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// Deepest first: a folder that still holds something stays.
	for i := len(dirs) - 1; i > 0; i-- {
		os.Remove(dirs[i])
	}
	return nil
}

// commitS3 publishes a plan to an s3:// prefix: the old plan.json is
// removed first (the plan is incomplete from then on), each shard is
// uploaded in one PUT (so that its ETag is its MD5, as submit checks),
// shards of an earlier plan that this one does not list are removed (the
// objects named as shards; others stay), and plan.json is written last.
func (p *PlanDir) commitS3(ctx context.Context, shards []Shard, marker string, planJSON []byte) error {
	if err := p.io.Remove(ctx, objio.Join(p.dir, marker)); err != nil && !errors.Is(err, objio.ErrNotFound) {
		return fmt.Errorf("removing the old plan.json: %w", err)
	}
	keep := map[string]bool{}
	for _, sh := range shards {
		dst := objio.Join(p.dir, sh.Path)
		keep[dst] = true
		f, err := os.Open(filepath.Join(p.staging, filepath.FromSlash(sh.Path)))
		if err != nil {
			return err
		}
		_, err = p.io.Upload(ctx, dst, f, sh.ManifestBytes, objio.UploadOptions{MD5: sh.MD5, SinglePart: true, ContentType: "text/csv"})
		f.Close()
		if err != nil {
			return fmt.Errorf("uploading %s: %w", dst, err)
		}
	}
	old, err := p.io.List(ctx, objio.Join(p.dir, "shards")+"/")
	if err != nil && !errors.Is(err, objio.ErrNotFound) {
		return err
	}
	for _, o := range old {
		rel := "shards/" + strings.TrimPrefix(o.Name, objio.Join(p.dir, "shards")+"/")
		if !keep[o.Name] && IsShardPath(rel) {
			if err := p.io.Remove(ctx, o.Name); err != nil && !errors.Is(err, objio.ErrNotFound) {
				return fmt.Errorf("removing stale shard %s: %w", o.Name, err)
			}
		}
	}
	if err := p.io.WriteFileAtomic(ctx, objio.Join(p.dir, marker), planJSON); err != nil {
		return err
	}
	os.RemoveAll(p.staging)
	return nil
}

// WriteFile writes a side file of the plan, such as diff.json, as
// DIR/name, through the plan directory's location (a folder or an s3://
// prefix), atomically (objio.WriteFileAtomic). The directory's current
// plan.json is removed first, so that the new side file never stands
// beside an older plan's commit marker: from then until Commit the
// directory holds no plan. name is a plain file name other than
// plan.json.
func (p *PlanDir) WriteFile(ctx context.Context, name string, data []byte) error {
	if !PlainName(name) || name == PlanFile {
		return fmt.Errorf("plan directory %s: %q is not a side file name", p.dir, name)
	}
	if err := p.io.Remove(ctx, objio.Join(p.dir, PlanFile)); err != nil && !errors.Is(err, objio.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old plan.json: %w", err)
	}
	loc := objio.Join(p.dir, name)
	if err := p.io.WriteFileAtomic(ctx, loc, data); err != nil || objio.IsS3(loc) {
		return err
	}
	return os.Chmod(loc, 0o644) // as the shards; WriteFileAtomic leaves 0600
}

// Abort discards everything written since CreatePlanDir. The previous
// plan in the directory, if any, is untouched.
func (p *PlanDir) Abort() {
	for _, w := range p.shards {
		w.abort()
	}
	p.hasher.abandon()
	os.RemoveAll(p.staging)
}

// PlainName says whether s can name one folder inside another: not
// empty, not "." or "..", and without a path separator or NUL.
func PlainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

func sortShards(s []Shard) {
	// Paths are "shards/<route>/<nnnnn>.csv": within a route, sorting by
	// path sorts by number.
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Route != s[j].Route {
			return s[i].Route < s[j].Route
		}
		return s[i].Path < s[j].Path
	})
}

func totals(s []Shard) []RouteTotal {
	var out []RouteTotal
	for _, sh := range s {
		if len(out) == 0 || out[len(out)-1].Route != sh.Route {
			out = append(out, RouteTotal{Route: sh.Route})
		}
		t := &out[len(out)-1]
		t.Shards++
		t.Objects += sh.Objects
		t.Bytes += sh.Bytes
	}
	return out
}
