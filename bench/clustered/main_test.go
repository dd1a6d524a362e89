package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// lines returns the rows of the report at manifest as JSON lines, in
// file order.
func lines(t *testing.T, manifest string) []string {
	t.Helper()
	ctx := context.Background()
	m, err := inventory.OpenManifest(ctx, manifest, inventory.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := inventory.NewReport(m, inventory.ReaderOptions{Fields: m.Fields})
	js := inventory.NewJSONRows(r.Fields(), r.Fields().List())
	var out []string
	if err := r.Scan(ctx, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, string(js.AppendRow(nil, rec, i)))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRewriteSortsEveryRow: gen's rows (tricky keys, null fields) come
// out in (bucket, key) byte order, every row once and unchanged, in
// files of the size asked, in each format.
func TestRewriteSortsEveryRow(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if _, err := gen.Generate(context.Background(), gen.Options{Rows: 3000, Format: "parquet", Out: src, Seed: 3, Files: 3,
		Null: inventory.Fields(inventory.ReplicationStatus)}); err != nil {
		t.Fatal(err)
	}
	before := lines(t, filepath.Join(src, "manifest.json"))
	if slices.IsSortedFunc(before, strings.Compare) {
		t.Fatal("gen's rows are already sorted: the test proves nothing")
	}
	for _, format := range []string{"csv", "parquet", "orc"} {
		out := filepath.Join(dir, format)
		manifest, n, err := rewrite(context.Background(), filepath.Join(src, "manifest.json"), out, format, 1000)
		if err != nil {
			t.Fatal(format, err)
		}
		if n != len(before) {
			t.Fatalf("%s: %d rows written, %d read", format, n, len(before))
		}
		after := lines(t, manifest)
		m, err := inventory.OpenManifest(context.Background(), manifest, inventory.ManifestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Files) != 3 {
			t.Errorf("%s: %d data files, want 3", format, len(m.Files))
		}
		// Keys sort as bytes; the JSON lines begin {"bucket":…,"key":…
		// with one bucket, so their order is the key order unless a key
		// holds an escaped character; compare the decoded keys instead.
		keys := make([]string, len(after))
		for i, l := range after {
			row, err := decode([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = row.Bucket + "\x00" + row.Key
		}
		if !slices.IsSorted(keys) {
			t.Errorf("%s: rows not in key order", format)
		}
		a, b := slices.Clone(before), slices.Clone(after)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: the rows differ from the source's", format)
		}
	}
}

func TestDecodeRefusesVersionedRows(t *testing.T) {
	_, err := decode([]byte(`{"bucket":"b","key":"k","version_id":"v1","size":1}`))
	if err == nil || !strings.Contains(err.Error(), "version_id") {
		t.Fatalf("err = %v, want an unknown field version_id", err)
	}
}
