package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// invRow is one row of a report, read independently of the planner.
type invRow struct {
	bucket, key, version string
	hasVersion, latest   bool
	deleteMarker         bool
	size                 int64
	class                string
}

func (r invRow) id() string { return r.bucket + "\x00" + r.key + "\x00" + r.version }

func readRows(t *testing.T, manifestPath string) []invRow {
	t.Helper()
	ctx := context.Background()
	rep, err := inventory.Open(ctx, manifestPath, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs := rep.Fields()
	var rows []invRow
	err = rep.Scan(ctx, func(rec arrow.RecordBatch) error {
		col := func(f inventory.Field) arrow.Array {
			if !fs.Has(f) {
				return nil
			}
			return rec.Column(fs.ColumnIndex(f))
		}
		b, k := col(inventory.Bucket).(*array.String), col(inventory.Key).(*array.String)
		sz := col(inventory.Size).(*array.Int64)
		sc := col(inventory.StorageClass).(*array.String)
		v, _ := col(inventory.VersionID).(*array.String)
		lt, _ := col(inventory.IsLatest).(*array.Boolean)
		dm, _ := col(inventory.IsDeleteMarker).(*array.Boolean)
		for i := 0; i < int(rec.NumRows()); i++ {
			r := invRow{bucket: b.Value(i), key: k.Value(i), latest: true, size: sz.Value(i), class: sc.Value(i)}
			if v != nil {
				r.hasVersion = true
				r.version = "null"
				if v.IsValid(i) {
					r.version = v.Value(i)
				}
			}
			if lt != nil && lt.IsValid(i) {
				r.latest = lt.Value(i)
			}
			if dm != nil && dm.IsValid(i) {
				r.deleteMarker = dm.Value(i)
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestConservation plans random generated reports with random filters,
// bounds and routes, and checks against an independent read of the
// report that every row is either in exactly one shard or counted as
// dropped under a reason of the filters used, and that plan.json's counts
// and sums match the shard files.
func TestConservation(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 5
	}
	ctx := context.Background()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 0xc0c0))
			work := t.TempDir()
			versions := rnd.IntN(2) == 0
			formats := []string{"csv", "parquet", "orc"}
			format := formats[rnd.IntN(3)]
			n := int64(2000 + rnd.IntN(6000))
			generated, err := gen.Generate(ctx, gen.Options{Rows: n, Format: format, Out: filepath.Join(work, "inv"), Seed: seed, Versions: versions, Files: 1 + rnd.IntN(3), Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			rows := readRows(t, generated.Manifest)

			// Random filters, each with an independent predicate.
			args := []string{"plan", "--inventory", generated.Manifest, "--out", filepath.Join(work, "plan"), "--quiet", "--min-objects", "0"}
			reasons := map[string]bool{inventory.DropDeleteMarker: true, partition.DropDuplicate: true}
			var keeps []func(invRow) bool
			keeps = append(keeps, func(r invRow) bool { return !r.deleteMarker })
			if rnd.IntN(2) == 0 {
				p := rows[rnd.IntN(len(rows))].key
				if r := []rune(p); len(r) > 0 {
					p = string(r[:min(len(r), 1+rnd.IntN(8))])
				}
				args = append(args, "--prefix", p)
				reasons[inventory.DropPrefix] = true
				keeps = append(keeps, func(r invRow) bool { return strings.HasPrefix(r.key, p) })
			}
			lo := int64(0)
			if rnd.IntN(2) == 0 {
				lo = rows[rnd.IntN(len(rows))].size
				args = append(args, "--min-size", strconv.FormatInt(lo, 10))
				reasons[inventory.DropMinSize] = true
				keeps = append(keeps, func(r invRow) bool { return r.size >= lo })
			}
			if rnd.IntN(3) == 0 {
				hi := max(lo, rows[rnd.IntN(len(rows))].size)
				args = append(args, "--max-size", strconv.FormatInt(hi, 10))
				reasons[inventory.DropMaxSize] = true
				keeps = append(keeps, func(r invRow) bool { return r.size <= hi })
			}
			if versions && rnd.IntN(2) == 0 {
				args = append(args, "--latest-only")
				reasons[inventory.DropNotLatest] = true
				keeps = append(keeps, func(r invRow) bool { return r.latest })
			}
			if rnd.IntN(3) == 0 {
				args = append(args, "--storage-class", "STANDARD,GLACIER")
				reasons[inventory.DropStorageClass] = true
				keeps = append(keeps, func(r invRow) bool { return r.class == "STANDARD" || r.class == "GLACIER" })
			}
			maxObjects := int64(1 + rnd.IntN(1500))
			args = append(args, "--max-objects", fmt.Sprint(maxObjects))
			var maxBytes, maxManifest int64
			if rnd.IntN(2) == 0 {
				maxBytes = 1 << (20 + rnd.IntN(20))
				args = append(args, "--max-bytes", fmt.Sprint(maxBytes))
			}
			if rnd.IntN(2) == 0 {
				maxManifest = int64(2000 + rnd.IntN(100000))
				args = append(args, "--max-manifest-bytes", fmt.Sprint(maxManifest))
			}
			noRoutes := rnd.IntN(3) == 0
			if noRoutes {
				args = append(args, "--routing", "none")
			}
			sorted := rnd.IntN(4) != 0
			if !sorted {
				args = append(args, "--sort=false")
			}
			t.Logf("%s, %d rows, versions %v: %v", format, n, versions, args[3:])
			if code, _, stderr := s3bk(t, args...); code != 0 {
				t.Fatalf("plan: %d %s", code, stderr)
			}

			// What should be kept, by id (bucket, key, version), with sizes.
			want := map[string]int{}
			size := map[string]int64{}
			for _, r := range rows {
				ok := true
				for _, k := range keeps {
					ok = ok && k(r)
				}
				if ok {
					want[r.id()]++
					size[r.id()] = r.size
				}
			}
			if sorted {
				for id := range want {
					want[id] = 1 // the sort drops duplicate rows
				}
			}

			plan, err := manifest.ReadPlan(ctx, nil, filepath.Join(work, "plan"))
			if err != nil {
				t.Fatal(err)
			}
			c := plan.Counters
			dropped := int64(0)
			for r, k := range c.Dropped {
				dropped += k
				if !reasons[r] {
					t.Errorf("dropped %d rows for %q, a reason of no filter used", k, r)
				}
			}
			if c.RowsRead != int64(len(rows)) || c.RowsKept+dropped != c.RowsRead {
				t.Errorf("counters %+v: read %d rows, kept + dropped = %d", c, len(rows), c.RowsKept+dropped)
			}
			got := map[string]int{}
			var kept int64
			routeSums := map[string]*manifest.RouteTotal{}
			for _, sh := range plan.Shards {
				raw, err := os.ReadFile(filepath.Join(work, "plan", filepath.FromSlash(sh.Path)))
				if err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum(raw)
				if hex.EncodeToString(sum[:]) != sh.MD5 || int64(len(raw)) != sh.ManifestBytes {
					t.Errorf("%s: MD5 or size differ from plan.json", sh.Path)
				}
				var objects, bytesSum int64
				sc := bufio.NewScanner(bytes.NewReader(raw))
				for sc.Scan() {
					row, err := manifest.ParseRow(sc.Bytes())
					if err != nil {
						t.Fatalf("%s: %v", sh.Path, err)
					}
					id := row.Bucket + "\x00" + row.Key + "\x00" + row.VersionID
					if !versions {
						id = row.Bucket + "\x00" + row.Key + "\x00"
					}
					got[id]++
					objects++
					bytesSum += size[id]
				}
				if objects != sh.Objects || bytesSum != sh.Bytes {
					t.Errorf("%s: %d objects, %d bytes; plan.json says %d, %d", sh.Path, objects, bytesSum, sh.Objects, sh.Bytes)
				}
				if objects > maxObjects || (maxBytes > 0 && bytesSum > maxBytes && objects > 1) || (maxManifest > 0 && sh.ManifestBytes > maxManifest && objects > 1) {
					t.Errorf("%s: %d objects, %d bytes, %d manifest bytes: over the bounds", sh.Path, objects, bytesSum, sh.ManifestBytes)
				}
				if noRoutes && len(plan.Routes) > 1 {
					t.Errorf("--routes none gave routes %+v", plan.Routes)
				}
				kept += objects
				rt := routeSums[sh.Route]
				if rt == nil {
					rt = &manifest.RouteTotal{Route: sh.Route}
					routeSums[sh.Route] = rt
				}
				rt.Shards++
				rt.Objects += objects
				rt.Bytes += bytesSum
			}
			if kept != c.RowsKept {
				t.Errorf("shards hold %d rows, rows_kept is %d", kept, c.RowsKept)
			}
			for _, r := range plan.Routes {
				if s := routeSums[r.Route]; s == nil || *s != r {
					t.Errorf("route total %+v; the shards sum to %+v", r, s)
				}
			}
			if len(plan.Routes) != len(routeSums) {
				t.Errorf("%d route totals for %d routes", len(plan.Routes), len(routeSums))
			}
			var diffs []string
			for id, w := range want {
				if got[id] != w {
					diffs = append(diffs, fmt.Sprintf("%q: in %d shards, want %d", id, got[id], w))
				}
			}
			for id, g := range got {
				if want[id] == 0 {
					diffs = append(diffs, fmt.Sprintf("%q: in %d shards, want none", id, g))
				}
			}
			sort.Strings(diffs)
			if len(diffs) > 0 {
				t.Errorf("%d rows misplaced, first: %s", len(diffs), strings.Join(diffs[:min(5, len(diffs))], "; "))
			}
		})
	}
}
