package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// DefaultMaxShardObjects bounds the objects of one re-run shard, as
// partition.DefaultMaxObjects bounds plan shards.
const DefaultMaxShardObjects = 1_000_000

// RerunDir is the folder under the output directory that holds one plan
// directory per failure class.
const RerunDir = "rerun"

// rerunSorter orders the objects to re-run of every class before they are
// cut into shards, in bounded memory (an external sort): by class (in
// FailureClasses order), route name, bucket, without version ids before
// with, key, then version id.
//
// A record is its key alone, bytes that compare in that order: the
// class's position in FailureClasses, the route's rank among the route
// names (2 bytes, big-endian), the bucket, 0 without a version id or 1
// with one, the key and the version id, each byte string escaped (a NUL
// byte as 00 FF) and ended by 00 00, so that a string sorts before the
// strings it starts. Equal keys are equal rows.
type rerunSorter struct {
	s     *extsort.Sorter
	rank  []uint16 // route index → rank of its name
	byIdx []uint16 // rank → route index
	rec   []byte
	row   []byte // decode's unescaped strings
}

func newRerunSorter(dir string, mem int, routes []string) *rerunSorter {
	r := &rerunSorter{s: newSort(dir, mem, false), rank: make([]uint16, len(routes))}
	for i := range routes {
		r.byIdx = append(r.byIdx, uint16(i))
	}
	slices.SortFunc(r.byIdx, func(a, b uint16) int { return cmp.Compare(routes[a], routes[b]) })
	for rk, i := range r.byIdx {
		r.rank[i] = uint16(rk)
	}
	return r
}

func (r *rerunSorter) add(classPos int, f *failure) error {
	b := append(r.rec[:0], byte(classPos))
	b = binary.BigEndian.AppendUint16(b, r.rank[f.route])
	b = appendEscaped(b, f.bucket)
	if len(f.version) == 0 {
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	b = appendEscaped(b, f.key)
	b = appendEscaped(b, f.version)
	r.rec = b
	return r.s.Add(b, nil)
}

// appendEscaped appends s with each NUL byte as 00 FF, then 00 00.
func appendEscaped(dst, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, 0xff)
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, 0, 0)
}

// cutEscaped appends to dst the string appendEscaped wrote at the start of
// b, and returns the rest of b after it.
func cutEscaped(dst, b []byte) ([]byte, []byte) {
	for {
		i := bytes.IndexByte(b, 0)
		dst = append(dst, b[:i]...)
		if b[i+1] == 0 {
			return dst, b[i+2:]
		}
		dst = append(dst, 0)
		b = b[i+2:]
	}
}

// rerunRow is a decoded record of the rerun sort.
type rerunRow struct {
	classPos             int
	route                uint16 // route index
	bucket, key, version []byte
}

// decode decodes a record; the row's slices are valid until the next call.
func (r *rerunSorter) decode(b []byte) rerunRow {
	row := rerunRow{classPos: int(b[0]), route: r.byIdx[binary.BigEndian.Uint16(b[1:])]}
	buf, rest := cutEscaped(r.row[:0], b[3:])
	nb := len(buf)
	buf, rest = cutEscaped(buf, rest[1:]) // after the version id's presence
	nk := len(buf)
	buf, _ = cutEscaped(buf, rest)
	r.row = buf
	row.bucket, row.key, row.version = buf[:nb:nb], buf[nb:nk:nk], buf[nk:]
	return row
}

// Reasons a failed object is left out of the re-run plan of its class,
// counted in that plan's plan.json (Counters.Dropped) and the summary.
const (
	// DropAbsentVersion: the version id is "\N", how S3 reports spell a
	// missing version id, written into a manifest (as "%5CN"): no version
	// has that id. Such rows are classed permanent.
	DropAbsentVersion = "absent_version_id"
	// DropNotWritable: a field holds a line end or a NUL byte, which a
	// manifest line cannot carry.
	DropNotWritable = "not_writable"
)

// appendLine appends the manifest line of a failed row of a report read
// without its plan: its bucket, key and version id as the report echoed
// them, that is as the manifest wrote them (raw, not decoded, so that the
// re-run line is the line that was run), quoted where the report had to
// quote them. It returns the reason the row cannot be written, if any.
func appendLine(dst, bucket, key, version []byte) ([]byte, string) {
	for _, f := range [][]byte{bucket, key, version} {
		if bytes.ContainsAny(f, "\r\n\x00") {
			return dst, DropNotWritable
		}
	}
	if writtenAbsentVersion(version) {
		return dst, DropAbsentVersion
	}
	dst = appendCSVField(dst, bucket)
	dst = append(dst, ',')
	dst = appendCSVField(dst, key)
	if len(version) > 0 {
		dst = append(dst, ',')
		dst = appendCSVField(dst, version)
	}
	return dst, ""
}

// appendCSVField appends f, quoted (RFC 4180) when it holds a comma or a
// quote.
func appendCSVField(dst, f []byte) []byte {
	if bytes.IndexByte(f, ',') < 0 && bytes.IndexByte(f, '"') < 0 {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for _, c := range f {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// writtenAbsentVersion tells whether a raw version id field decodes to
// "\N": the absent version id of a report carried into a manifest. ("\N"
// itself is read as no version id at all.)
func writtenAbsentVersion(v []byte) bool {
	if bytes.IndexByte(v, '%') < 0 || len(v) > 9 {
		return false
	}
	d, err := manifest.AppendDecoded(make([]byte, 0, 9), v)
	return err == nil && manifest.IsAbsentVersion(d)
}

// displayKey decodes a raw key for plan.json's first_key and last_key.
func displayKey(dst, raw []byte) []byte {
	out, err := manifest.AppendDecoded(dst, raw)
	if err != nil {
		return append(dst, raw...)
	}
	return out
}

// writeRerun writes dir as a plan directory holding the rows next returns
// (sorted by route, bucket, with or without version id, key, version id):
// shards/<route>/<n>.csv, never mixing routes, buckets, or rows with and
// without version ids, at most maxObjects each, and plan.json. Each line
// is the row's fields as the report echoed them (appendLine); next only
// returns rows appendLine can write. next returns false after the last
// row; its row's slices are valid until the following call; an error it
// returns aborts the plan. No rows give a plan with no shards, so that a
// stale plan from an earlier run is replaced.
func writeRerun(ctx context.Context, oc *objio.Client, dir string, next func() (rerunRow, bool, error), routes []string, maxObjects int64, plan *manifest.Plan) (*manifest.Plan, error) {
	pd, err := manifest.CreatePlanDir(oc, dir)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var w *manifest.ShardWriter
	var curRoute uint16
	var curBucket []byte
	var curVersioned bool
	var line, key []byte
	for {
		r, ok, err := next()
		if err != nil {
			pd.Abort()
			return nil, err
		}
		if !ok {
			break
		}
		versioned := len(r.version) > 0
		if w == nil || w.Objects() >= maxObjects || r.route != curRoute || versioned != curVersioned || !bytes.Equal(r.bucket, curBucket) {
			if w, err = pd.NewShard(routes[r.route], string(r.bucket), versioned); err != nil {
				pd.Abort()
				return nil, err
			}
			curRoute, curVersioned = r.route, versioned
			curBucket = append(curBucket[:0], r.bucket...)
		}
		line, _ = appendLine(line[:0], r.bucket, r.key, r.version)
		key = displayKey(key[:0], r.key)
		if err := w.AddLine(line, key); err != nil {
			pd.Abort()
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		pd.Abort()
		return nil, err
	}
	if err := pd.Commit(ctx, plan); err != nil {
		pd.Abort()
		return nil, fmt.Errorf("writing %s: %w", objio.Join(dir, manifest.PlanFile), err)
	}
	return plan, nil
}
