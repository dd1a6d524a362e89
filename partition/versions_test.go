package partition_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// TestPlanSplitsVersions plans a versioned report sorted and unsorted,
// routed and not, and checks that every row of a shard with version ids
// is of the kind its Versions field names (noncurrent: IsLatest false),
// that no shard mixes them, and that every kept row is in one shard.
func TestPlanSplitsVersions(t *testing.T) {
	inv := genReport(t, 6000, 2)
	ctx := context.Background()
	r, err := inventory.Open(ctx, inv, inventory.ReaderOptions{Fields: inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest)})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]bool{}
	var mu sync.Mutex
	err = r.Scan(ctx, func(rec arrow.RecordBatch) error {
		b := inventory.Batch{Rec: rec, Fields: r.Fields()}
		bk, k, v, l := b.Strings(inventory.Bucket), b.Strings(inventory.Key), b.Strings(inventory.VersionID), b.Bools(inventory.IsLatest)
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < int(rec.NumRows()); i++ {
			latest[bk.Value(i)+"\x00"+k.Value(i)+"\x00"+v.Value(i)] = l.Value(i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		sort, noRoutes bool
	}{{"sorted", true, false}, {"unsorted", false, false}, {"sorted-all", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			plan, _, err := partition.Plan(ctx, partition.Options{Inventories: []string{inv}, Out: out, Sort: tc.sort, NoRoutes: tc.noRoutes,
				Bounds: partition.Bounds{MaxObjects: 700}})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			var rows int64
			for _, sh := range plan.Shards {
				if !sh.VersionIDs || (sh.Versions != manifest.VersionsCurrent && sh.Versions != manifest.VersionsNoncurrent) {
					t.Fatalf("%s: version_ids %v, versions %q", sh.Path, sh.VersionIDs, sh.Versions)
				}
				kinds[sh.Versions]++
				f, err := os.Open(filepath.Join(out, filepath.FromSlash(sh.Path)))
				if err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					row, err := manifest.ParseRow(bytes.Clone(sc.Bytes()))
					if err != nil {
						t.Fatal(err)
					}
					rows++
					v := row.VersionID
					if v == "null" {
						v = ""
					}
					l, ok := latest[row.Bucket+"\x00"+row.Key+"\x00"+v]
					if !ok {
						t.Fatalf("%s: row %q not in the inventory", sh.Path, sc.Text())
					}
					if want := map[bool]string{true: manifest.VersionsCurrent, false: manifest.VersionsNoncurrent}[l]; want != sh.Versions {
						t.Errorf("%s (%s): row %q is %s", sh.Path, sh.Versions, sc.Text(), want)
					}
				}
				f.Close()
			}
			if kinds[manifest.VersionsCurrent] == 0 || kinds[manifest.VersionsNoncurrent] == 0 {
				t.Errorf("shards by versions: %v; want both kinds", kinds)
			}
			if rows != plan.Counters.RowsKept {
				t.Errorf("%d rows in shards, %d kept", rows, plan.Counters.RowsKept)
			}
		})
	}
}

// TestPlanUnversionedHasNoVersions: a report without version ids gives
// shards without the versions field, so plan.json is as before.
func TestPlanUnversionedHasNoVersions(t *testing.T) {
	dir := t.TempDir()
	res, err := benchGenerateUnversioned(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, _, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{res}, Out: out, Sort: true}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, manifest.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"versions"`)) {
		t.Errorf("plan.json of an unversioned report names versions:\n%s", raw)
	}
}

func benchGenerateUnversioned(dir string) (string, error) {
	res, err := gen.Generate(context.Background(), gen.Options{Rows: 2000, Out: dir, Seed: 7, Files: 1})
	if err != nil {
		return "", err
	}
	return res.Manifest, nil
}
