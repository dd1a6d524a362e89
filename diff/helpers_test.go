package diff

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// testFields are the columns writeCSVReport writes (with versions).
var testFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest, inventory.IsDeleteMarker,
	inventory.Size, inventory.LastModifiedDate, inventory.ETag, inventory.StorageClass, inventory.IsMultipartUploaded,
	inventory.IntelligentTieringAccessTier, inventory.ChecksumAlgorithm)

// writeCSVReport writes rows as a one-file CSV.gz inventory report in dir
// (manifest.json, manifest.checksum, data/part-0.csv.gz) and returns the
// manifest path. Without versions the VersionId, IsLatest and
// IsDeleteMarker columns are left out.
func writeCSVReport(t testing.TB, dir, bucket string, rows []gen.Row, versions bool) string {
	t.Helper()
	fields := testFields
	if !versions {
		fields &^= inventory.Fields(inventory.VersionID, inventory.IsLatest, inventory.IsDeleteMarker)
	}
	w, err := gen.NewReport(dir, gen.ReportOptions{Fields: fields, Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readRows reads every row of a report back in logical form.
func readRows(t testing.TB, loc string) []gen.Row {
	t.Helper()
	r, err := inventory.Open(context.Background(), loc, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fields := r.Fields()
	var out []gen.Row
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		c := newBatchCols(rec, fields)
		for i := 0; i < int(rec.NumRows()); i++ {
			var row gen.Row
			row.Bucket = string(c.str(inventory.Bucket, i))
			row.Key = string(c.str(inventory.Key, i))
			row.VersionID = string(c.str(inventory.VersionID, i))
			row.IsLatest, _ = c.boolean(inventory.IsLatest, i)
			if !fields.Has(inventory.IsLatest) {
				row.IsLatest = true
			}
			row.IsDeleteMarker, _ = c.boolean(inventory.IsDeleteMarker, i)
			var ok bool
			row.Size, ok = c.int(inventory.Size, i)
			row.SizeNull = !ok
			row.LastModified, _ = c.int(inventory.LastModifiedDate, i)
			row.ETag = string(c.str(inventory.ETag, i))
			row.StorageClass = string(c.str(inventory.StorageClass, i))
			row.IsMultipart, _ = c.boolean(inventory.IsMultipartUploaded, i)
			row.TieringTier = string(c.str(inventory.IntelligentTieringAccessTier, i))
			row.ChecksumAlgo = string(c.str(inventory.ChecksumAlgorithm, i))
			out = append(out, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// genReport generates a report and returns its manifest path.
func genReport(t testing.TB, dir, format string, rows int64, versions bool, seed uint64) string {
	t.Helper()
	res, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Format: format, Out: dir, Seed: seed, Versions: versions, Files: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

// shardRow is one parsed row of a plan's shards, with its route.
type shardRow struct {
	Route string
	manifest.Row
}

// readShards parses every shard listed in DIR/plan.json.
func readShards(t testing.TB, dir string) (*manifest.Plan, []shardRow) {
	t.Helper()
	p, err := manifest.ReadPlan(context.Background(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []shardRow
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sh.Path)))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if line == "" {
				continue
			}
			r, err := manifest.ParseRow([]byte(line))
			if err != nil {
				t.Fatalf("%s: %v", sh.Path, err)
			}
			out = append(out, shardRow{Route: sh.Route, Row: r})
		}
	}
	return p, out
}

// currentRows returns the current, non-delete-marker rows by key.
func currentRows(rows []gen.Row) map[string]gen.Row {
	m := map[string]gen.Row{}
	for _, r := range rows {
		if r.IsLatest && !r.IsDeleteMarker {
			m[r.Key] = r
		}
	}
	return m
}

// rewriteReport replaces the data file of a report written by
// writeCSVReport with raw (gzipped here) and, when schema is not empty,
// its fileSchema; it fixes the sizes and checksums.
func rewriteReport(t testing.TB, mpath, schema string, raw []byte) string {
	t.Helper()
	dir := filepath.Dir(mpath)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	key := "data/part-0.csv.gz"
	if err := os.WriteFile(filepath.Join(dir, key), z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	old, _ := os.ReadFile(mpath)
	json.Unmarshal(old, &m)
	if schema != "" {
		m["fileSchema"] = schema
	}
	sum := md5.Sum(z.Bytes())
	m["files"] = []map[string]any{{"key": key, "size": z.Len(), "MD5checksum": hex.EncodeToString(sum[:])}}
	mj, _ := json.Marshal(m)
	if _, err := gen.WriteManifest(dir, mj); err != nil {
		t.Fatal(err)
	}
	return mpath
}
