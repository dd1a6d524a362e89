package partition

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// cut runs rows through a cutter into a dry sink and returns the shards.
func cut(t *testing.T, rows []prow, set inventory.FieldSet, b Bounds, routes, sorted bool) ([]manifest.Shard, []string) {
	t.Helper()
	if b.MaxObjects == 0 {
		b.MaxObjects = DefaultMaxObjects
	}
	sink := &drySink{next: map[string]int{}}
	c := newCutter(sink, b, routes, sorted)
	rec := makeBatch(t, rows, set)
	defer rec.Release()
	sel := make([]int32, len(rows))
	for i := range sel {
		sel[i] = int32(i)
	}
	if err := c.add(rec, set, sel); err != nil {
		t.Fatal(err)
	}
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	var out []manifest.Shard
	for _, d := range sink.shards {
		out = append(out, d.info)
	}
	return out, c.warnings
}

func seqRows(n int, size int64) []prow {
	rows := make([]prow, n)
	for i := range rows {
		rows[i] = prow{Bucket: "b", Key: fmt.Sprintf("k%05d", i), Size: size, Class: "STANDARD"}
	}
	return rows
}

func shardObjects(s []manifest.Shard) []int64 {
	var out []int64
	for _, sh := range s {
		out = append(out, sh.Objects)
	}
	return out
}

var unversioned = inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size, inventory.StorageClass)

func TestCutterBounds(t *testing.T) {
	tests := []struct {
		name     string
		rows     []prow
		b        Bounds
		want     []int64
		warnings int
	}{
		{"max objects", seqRows(25, 1), Bounds{MaxObjects: 10}, []int64{10, 10, 5}, 0},
		{"max bytes", seqRows(10, 100), Bounds{MaxBytes: 350}, []int64{3, 3, 3, 1}, 0},
		{"object over max bytes gets its own shard", []prow{{Bucket: "b", Key: "a", Size: 10}, {Bucket: "b", Key: "b", Size: 1000}, {Bucket: "b", Key: "c", Size: 10}},
			Bounds{MaxBytes: 100}, []int64{1, 1, 1}, 0},
		// each line is "b,k00000\n" = 9 bytes
		{"max manifest bytes", seqRows(10, 1), Bounds{MaxManifestBytes: 30}, []int64{3, 3, 3, 1}, 0},
		{"min objects defers byte cuts", seqRows(10, 100), Bounds{MaxBytes: 150, MinObjects: 4}, []int64{4, 4, 2}, 1},
		{"min objects never beats max objects", seqRows(10, 100), Bounds{MaxObjects: 5, MaxBytes: 100, MinObjects: 5}, []int64{5, 5}, 0},
		{"last small shard warns", seqRows(1005, 1), Bounds{MaxObjects: 1000, MinObjects: 1000}, []int64{1000, 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sorted := range []bool{false, true} {
				shards, warns := cut(t, tt.rows, unversioned, tt.b, true, sorted)
				if got := shardObjects(shards); fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("sorted=%v: shard objects %v, want %v", sorted, got, tt.want)
				}
				if len(warns) != tt.warnings {
					t.Errorf("sorted=%v: warnings %q, want %d", sorted, warns, tt.warnings)
				}
				for _, sh := range shards {
					if tt.b.MaxBytes > 0 && sh.Bytes > tt.b.MaxBytes && sh.Objects > max(tt.b.MinObjects, 1) {
						t.Errorf("shard %s holds %d bytes > %d", sh.Path, sh.Bytes, tt.b.MaxBytes)
					}
					if tt.b.MaxManifestBytes > 0 && sh.ManifestBytes > tt.b.MaxManifestBytes && sh.Objects > max(tt.b.MinObjects, 1) {
						t.Errorf("shard %s manifest %d bytes > %d", sh.Path, sh.ManifestBytes, tt.b.MaxManifestBytes)
					}
				}
			}
		})
	}
}

func TestCutterNeverMixesBucketsOrRoutes(t *testing.T) {
	var rows []prow
	for i := 0; i < 30; i++ {
		r := prow{Bucket: []string{"b1", "b2"}[i%2], Key: fmt.Sprintf("k%02d", i), Size: 10, Class: "STANDARD"}
		switch i % 5 {
		case 1:
			r.Class = "GLACIER"
		case 2:
			r.Size = 6 << 30
		}
		rows = append(rows, r)
	}
	for _, sorted := range []bool{false, true} {
		shards, _ := cut(t, rows, unversioned, Bounds{MaxObjects: 4}, true, sorted)
		var total int64
		for _, sh := range shards {
			total += sh.Objects
		}
		if total != 30 {
			t.Errorf("sorted=%v: %d objects in shards, want 30", sorted, total)
		}
		seen := map[string]bool{}
		for _, sh := range shards {
			seen[sh.Route] = true
			if sh.Route == RouteRestore && sh.Objects > 4 {
				t.Errorf("restore shard over bound")
			}
		}
		for _, r := range []string{RouteCopy, RouteLarge, RouteRestore} {
			if !seen[r] {
				t.Errorf("sorted=%v: no %s shard", sorted, r)
			}
		}
	}
	// Shard contents: check through the plan writer on disk.
	dir := t.TempDir()
	d, err := manifest.CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newCutter(planDirSink{d}, Bounds{MaxObjects: 4}, true, false)
	rec := makeBatch(t, rows, unversioned)
	defer rec.Release()
	sel := make([]int32, len(rows))
	for i := range sel {
		sel[i] = int32(i)
	}
	if err := c.add(rec, unversioned, sel); err != nil {
		t.Fatal(err)
	}
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	p := &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}}
	if err := d.Commit(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(dir, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			if !strings.HasPrefix(line, sh.Bucket+",") {
				t.Errorf("%s (bucket %s) holds %q", sh.Path, sh.Bucket, line)
			}
		}
	}
}

func TestCutterNeverMixesVersioned(t *testing.T) {
	rows := seqRows(6, 1)
	rows[2].Version = "v"
	vset := unversioned.With(inventory.VersionID)
	a, _ := cut(t, rows, unversioned, Bounds{}, true, true)
	b, _ := cut(t, rows, vset, Bounds{}, true, true)
	if len(a) != 1 || a[0].VersionIDs || len(b) != 1 || !b[0].VersionIDs {
		t.Fatalf("unversioned %+v, versioned %+v", a, b)
	}
}

func TestCutterNoRoutes(t *testing.T) {
	rows := []prow{{Bucket: "b", Key: "a", Size: 6 << 30}, {Bucket: "b", Key: "b", Class: "GLACIER"}, {Bucket: "b", Key: "c"}}
	shards, _ := cut(t, rows, unversioned, Bounds{}, false, true)
	if len(shards) != 1 || shards[0].Route != RouteAll || shards[0].Objects != 3 {
		t.Fatalf("shards %+v, want one %q shard of 3", shards, RouteAll)
	}
}
