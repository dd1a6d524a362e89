package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestPlanGeneratedVersioned plans a generated versioned report (tricky
// keys, null version ids, delete markers) and checks that the shards hold
// exactly the report's non-delete-marker rows: every line decodes back to
// the exact key and version id ("null" for null versions), and plan.json's
// counts and MD5s match the files.
func TestPlanGeneratedVersioned(t *testing.T) {
	dir := t.TempDir()
	rows := int64(60_000)
	if testing.Short() {
		rows = 5_000
	}
	ctx := context.Background()
	generated, err := gen.Generate(ctx, gen.Options{Rows: rows, Out: filepath.Join(dir, "inv"), Seed: 7, Versions: true, Files: 3})
	if err != nil {
		t.Fatal(err)
	}
	// What the report holds, read independently of the planner.
	var want []string
	deleteMarkers := int64(0)
	nullVersions := 0
	rep, err := inventory.Open(ctx, generated.Manifest, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs := rep.Fields()
	err = rep.Scan(ctx, func(rec arrow.RecordBatch) error {
		b := rec.Column(fs.ColumnIndex(inventory.Bucket)).(*array.String)
		k := rec.Column(fs.ColumnIndex(inventory.Key)).(*array.String)
		v := rec.Column(fs.ColumnIndex(inventory.VersionID)).(*array.String)
		dm := rec.Column(fs.ColumnIndex(inventory.IsDeleteMarker)).(*array.Boolean)
		for i := 0; i < int(rec.NumRows()); i++ {
			if dm.Value(i) {
				deleteMarkers++
				continue
			}
			ver := "null"
			if v.IsValid(i) {
				ver = v.Value(i)
			} else {
				nullVersions++
			}
			want = append(want, b.Value(i)+"\x00"+k.Value(i)+"\x00"+ver)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if deleteMarkers == 0 || nullVersions == 0 {
		t.Fatalf("generated report lacks delete markers (%d) or null versions (%d)", deleteMarkers, nullVersions)
	}

	out := filepath.Join(dir, "plan")
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, []string{"s3batchkit", "plan", "--inventory", generated.Manifest, "--out", out, "--max-objects", "7000", "--quiet"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	plan, err := manifest.ReadPlan(ctx, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Counters
	if c.RowsRead != rows || c.RowsKept != int64(len(want)) || c.Dropped[inventory.DropDeleteMarker] != deleteMarkers {
		t.Errorf("counters %+v; want read %d, kept %d, %d delete markers", c, rows, len(want), deleteMarkers)
	}
	var got []string
	tricky := 0
	for _, sh := range plan.Shards {
		raw, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(sh.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(raw)
		if hex.EncodeToString(sum[:]) != sh.MD5 || int64(len(raw)) != sh.ManifestBytes {
			t.Errorf("%s: MD5/size in plan.json do not match the file", sh.Path)
		}
		if sh.Objects > 7000 || !sh.VersionIDs {
			t.Errorf("%s: %d objects, version ids %v", sh.Path, sh.Objects, sh.VersionIDs)
		}
		n := int64(0)
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			line := sc.Bytes()
			if bytes.ContainsAny(line, " \"+") {
				t.Fatalf("%s: line %q holds a raw space, quote or plus", sh.Path, line)
			}
			row, err := manifest.ParseRow(line)
			if err != nil {
				t.Fatalf("%s: %q: %v", sh.Path, line, err)
			}
			if row.Bucket != sh.Bucket {
				t.Fatalf("%s: bucket %q in a shard of %q", sh.Path, row.Bucket, sh.Bucket)
			}
			if strings.ContainsAny(row.Key, " +%,\"\n") {
				tricky++
			}
			got = append(got, row.Bucket+"\x00"+row.Key+"\x00"+row.VersionID)
			n++
		}
		if n != sh.Objects {
			t.Errorf("%s: %d lines, plan.json says %d", sh.Path, n, sh.Objects)
		}
	}
	if tricky == 0 {
		t.Error("no tricky keys reached the shards")
	}
	sort.Strings(want)
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("shards hold %d rows, report %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: shards %q, report %q", i, got[i], want[i])
		}
	}
}
