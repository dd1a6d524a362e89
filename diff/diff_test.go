package diff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/partition"
)

func TestSelfDiffIsEmpty(t *testing.T) {
	for _, format := range []string{"csv", "parquet", "orc"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			m := genReport(t, filepath.Join(dir, "inv"), format, 5000, true, 3)
			want := int64(len(currentRows(readRows(t, m))))
			for _, all := range []bool{false, true} {
				out := filepath.Join(dir, "out")
				res, err := Run(context.Background(), Options{Source: m, Target: m, Out: out, AllVersions: all})
				if err != nil {
					t.Fatal(err)
				}
				s := res.Summary
				if s.OnlyInSource.Objects != 0 || s.OnlyInTarget.Objects != 0 || s.Changed.Objects != 0 {
					t.Errorf("all versions %v: self diff not empty: %+v", all, s)
				}
				if !all && s.Unchanged.Objects != want {
					t.Errorf("unchanged %d, want %d current objects", s.Unchanged.Objects, want)
				}
				if len(res.Plan.Shards) != 0 {
					t.Errorf("self diff wrote shards: %+v", res.Plan.Shards)
				}
				for _, side := range []SideStats{s.Source, s.Target} {
					var dropped int64
					for _, n := range side.Dropped {
						dropped += n
					}
					if side.RowsRead != side.RowsCompared+dropped {
						t.Errorf("%s: rows read %d != compared %d + dropped %d", side.Manifest, side.RowsRead, side.RowsCompared, dropped)
					}
				}
			}
		})
	}
}

// derived is a target made from a source: what the diff must find.
type derived struct {
	rows    []gen.Row
	missing map[string]bool // source keys missing at the target
	changed map[string]string
	extra   map[string]bool // target keys only at the target
	same    int
}

// deriveTarget copies the source's current objects into bucket, with
// objects removed, hidden under a delete marker, changed and added, and
// noncurrent versions that must be ignored.
func deriveTarget(src []gen.Row, bucket string) derived {
	cur := currentRows(src)
	keys := make([]string, 0, len(cur))
	for k := range cur {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := derived{missing: map[string]bool{}, changed: map[string]string{}, extra: map[string]bool{}}
	vid := 0
	version := func() string { vid++; return fmt.Sprintf("v%031d", vid) }
	for i, k := range keys {
		r := cur[k]
		r.Bucket, r.VersionID, r.IsLatest = bucket, version(), true
		r.LastModified += 3600_000 // copied later
		switch {
		case i%17 == 0:
			d.missing[k] = true
			continue
		case i%23 == 0:
			// Deleted at the target: the current version is a delete marker.
			d.missing[k] = true
			old := r
			old.IsLatest = false
			dm := gen.Row{Bucket: bucket, Key: k, VersionID: version(), IsLatest: true, IsDeleteMarker: true, SizeNull: true, LastModified: r.LastModified + 1000}
			d.rows = append(d.rows, dm, old)
			continue
		case i%19 == 0:
			r.Size++
			d.changed[k] = "size"
		case i%29 == 0:
			r.ETag = "0123456789abcdef0123456789abcdef"
			d.changed[k] = "etag"
		default:
			d.same++
		}
		if i%7 == 0 {
			// An older version at the target changes nothing.
			old := r
			old.VersionID, old.IsLatest, old.Size, old.LastModified = version(), false, r.Size+100, r.LastModified-1000
			d.rows = append(d.rows, r, old)
			continue
		}
		d.rows = append(d.rows, r)
	}
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("added/only at target %03d.bin", i)
		d.extra[k] = true
		d.rows = append(d.rows, gen.Row{Bucket: bucket, Key: k, VersionID: version(), IsLatest: true, Size: int64(i), LastModified: 1_700_000_000_000, ETag: "ffffffffffffffffffffffffffffffff", StorageClass: "STANDARD"})
	}
	return d
}

func TestDiffFindsDerivedChanges(t *testing.T) {
	for _, format := range []string{"csv", "parquet", "orc"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			srcLoc := genReport(t, filepath.Join(dir, "src"), format, 6000, true, 11)
			srcRows := readRows(t, srcLoc)
			cur := currentRows(srcRows)
			d := deriveTarget(srcRows, "target-bucket")
			tgtLoc := writeCSVReport(t, filepath.Join(dir, "tgt"), "target-bucket", d.rows, true)
			out := filepath.Join(dir, "out")
			res, err := Run(context.Background(), Options{Source: srcLoc, Target: tgtLoc, Out: out, CrossBucket: true})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if s.OnlyInSource.Objects != int64(len(d.missing)) || s.OnlyInTarget.Objects != int64(len(d.extra)) ||
				s.Changed.Objects != int64(len(d.changed)) || s.Unchanged.Objects != int64(d.same) {
				t.Fatalf("classes: missing %d changed %d extra %d same %d; want %d %d %d %d",
					s.OnlyInSource.Objects, s.Changed.Objects, s.OnlyInTarget.Objects, s.Unchanged.Objects,
					len(d.missing), len(d.changed), len(d.extra), d.same)
			}
			var bySize, byETag int64
			for _, why := range d.changed {
				if why == "size" {
					bySize++
				} else {
					byETag++
				}
			}
			if s.Changed.By["size"] != bySize || s.Changed.By["etag"] != byETag {
				t.Errorf("changed by %v, want size %d etag %d", s.Changed.By, bySize, byETag)
			}
			if len(s.OnlyInSource.Examples) != DefaultExamples || len(s.Changed.Examples) != DefaultExamples {
				t.Errorf("examples: %d missing, %d changed", len(s.OnlyInSource.Examples), len(s.Changed.Examples))
			}
			// The shards hold exactly the objects to copy (source bucket and
			// key, routed as the planner routes) and to delete (target bucket
			// and key).
			_, rows := readShards(t, out)
			seen := map[string]bool{}
			for _, r := range rows {
				if r.HasVersion {
					t.Errorf("%s row %q carries a version id", r.Route, r.Key)
				}
				if r.Route == partition.RouteDelete {
					if r.Bucket != "target-bucket" || !d.extra[r.Key] {
						t.Errorf("delete %s/%s: not an extra target object", r.Bucket, r.Key)
					}
					seen["delete:"+r.Key] = true
					continue
				}
				src, ok := cur[r.Key]
				if r.Bucket != src.Bucket || !ok || !d.missing[r.Key] && d.changed[r.Key] == "" {
					t.Errorf("%s %s/%s: not missing or changed", r.Route, r.Bucket, r.Key)
					continue
				}
				want := []string{partition.RouteCopy, partition.RouteLarge, partition.RouteRestore, partition.RouteRestoreTiering}[partition.Route(src.Size, []byte(src.StorageClass), []byte(src.TieringTier))]
				if r.Route != want {
					t.Errorf("%s routed %s, want %s", r.Key, r.Route, want)
				}
				seen["copy:"+r.Key] = true
			}
			if len(seen) != len(d.missing)+len(d.changed)+len(d.extra) || len(rows) != len(seen) {
				t.Errorf("shards hold %d rows (%d distinct), want %d", len(rows), len(seen), len(d.missing)+len(d.changed)+len(d.extra))
			}
			if _, err := os.Stat(filepath.Join(out, SummaryFile)); err != nil {
				t.Error(err)
			}
		})
	}
}
