package report

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// DefaultMaxShardObjects bounds the objects of one re-run shard, as
// partition.DefaultMaxObjects bounds plan shards.
const DefaultMaxShardObjects = 1_000_000

// RerunDir is the folder under the output directory that holds one plan
// directory per failure class.
const RerunDir = "rerun"

// rerunSet collects the objects of one class before they are sorted and
// cut into shards. The objects live in one flat buffer.
//
// Memory: the objects to re-run of the class are held here (their bytes
// plus 28 bytes each) until written; that is bounded by the failed
// objects, not by the report rows. An external sort would bound it
// further; see the package's open items.
type rerunSet struct {
	buf  []byte
	recs []rerunRec
}

type rerunRec struct {
	route      uint16
	b, k, v    uint32 // offsets
	bl, kl, vl uint32 // lengths
}

func (s *rerunSet) add(r *spilled) {
	off := uint32(len(s.buf))
	s.buf = append(s.buf, r.bucket...)
	s.buf = append(s.buf, r.key...)
	s.buf = append(s.buf, r.version...)
	bl, kl, vl := uint32(len(r.bucket)), uint32(len(r.key)), uint32(len(r.version))
	s.recs = append(s.recs, rerunRec{route: r.route, b: off, bl: bl, k: off + bl, kl: kl, v: off + bl + kl, vl: vl})
}

func (s *rerunSet) bytes(off, n uint32) []byte { return s.buf[off : off+n] }

// sort orders the objects by route, bucket, with or without version id,
// key, then version id: the order shards are cut in.
func (s *rerunSet) sort(routes []string) {
	sort.Slice(s.recs, func(i, j int) bool {
		a, b := &s.recs[i], &s.recs[j]
		if a.route != b.route {
			return routes[a.route] < routes[b.route]
		}
		if c := bytes.Compare(s.bytes(a.b, a.bl), s.bytes(b.b, b.bl)); c != 0 {
			return c < 0
		}
		if (a.vl > 0) != (b.vl > 0) {
			return a.vl == 0
		}
		if c := bytes.Compare(s.bytes(a.k, a.kl), s.bytes(b.k, b.kl)); c != 0 {
			return c < 0
		}
		return bytes.Compare(s.bytes(a.v, a.vl), s.bytes(b.v, b.vl)) < 0
	})
}

// writeRerun writes dir as a plan directory holding the set's objects:
// shards/<route>/<n>.csv, never mixing routes, buckets, or rows with and
// without version ids, at most maxObjects each, and plan.json. An empty
// set gives a plan with no shards, so that a stale plan from an earlier
// run is replaced.
func writeRerun(ctx context.Context, dir string, s *rerunSet, routes []string, maxObjects int64, plan *manifest.Plan) (*manifest.Plan, error) {
	s.sort(routes)
	pd, err := manifest.CreatePlanDir(dir)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var w *manifest.ShardWriter
	var cur rerunRec
	for i := range s.recs {
		r := &s.recs[i]
		bucket := s.bytes(r.b, r.bl)
		if w == nil || w.Objects() >= maxObjects || r.route != cur.route || (r.vl > 0) != (cur.vl > 0) ||
			!bytes.Equal(bucket, s.bytes(cur.b, cur.bl)) {
			if w, err = pd.NewShard(routes[r.route], string(bucket), r.vl > 0); err != nil {
				pd.Abort()
				return nil, err
			}
			cur = *r
		}
		if err := w.Add(bucket, s.bytes(r.k, r.kl), s.bytes(r.v, r.vl), 0); err != nil {
			pd.Abort()
			return nil, err
		}
	}
	if err := pd.Commit(ctx, plan); err != nil {
		pd.Abort()
		return nil, fmt.Errorf("writing %s: %w", objio.Join(dir, manifest.PlanFile), err)
	}
	return plan, nil
}
