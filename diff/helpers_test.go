package diff

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/bench"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// testColumns is the fileSchema writeCSVReport writes.
var testColumns = []string{"Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate",
	"ETag", "StorageClass", "IsMultipartUploaded", "IntelligentTieringAccessTier", "ChecksumAlgorithm"}

// writeCSVReport writes rows as a one-file CSV.gz inventory report in dir
// (manifest.json, manifest.checksum, data/) and returns the manifest path.
// Without versions the VersionId, IsLatest and IsDeleteMarker columns are
// left out.
func writeCSVReport(t testing.TB, dir, bucket string, rows []bench.Row, versions bool) string {
	t.Helper()
	w := newReportWriter(t, dir, bucket, versions, 0)
	for i := range rows {
		w.write(&rows[i])
	}
	return w.close()
}

// reportWriter streams rows into a CSV.gz report, starting a new data
// file every perFile rows (0: one file).
type reportWriter struct {
	t        testing.TB
	dir      string
	bucket   string
	versions bool
	perFile  int
	n        int
	f        *os.File
	h        hash.Hash
	cnt      int64
	zw       *gzip.Writer
	bw       *bufio.Writer
	line     []byte
	files    []map[string]any
}

func newReportWriter(t testing.TB, dir, bucket string, versions bool, perFile int) *reportWriter {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &reportWriter{t: t, dir: dir, bucket: bucket, versions: versions, perFile: perFile}
}

func (w *reportWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.cnt += int64(len(p))
	return w.f.Write(p)
}

func (w *reportWriter) endFile() {
	if w.zw == nil {
		return
	}
	w.bw.Flush()
	if err := w.zw.Close(); err != nil {
		w.t.Fatal(err)
	}
	if err := w.f.Close(); err != nil {
		w.t.Fatal(err)
	}
	w.files[len(w.files)-1]["size"] = w.cnt
	w.files[len(w.files)-1]["MD5checksum"] = hex.EncodeToString(w.h.Sum(nil))
	w.zw = nil
}

func (w *reportWriter) startFile() {
	w.endFile()
	key := fmt.Sprintf("data/part-%d.csv.gz", len(w.files))
	f, err := os.Create(filepath.Join(w.dir, key))
	if err != nil {
		w.t.Fatal(err)
	}
	w.f, w.h, w.cnt = f, md5.New(), 0
	w.zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
	w.bw = bufio.NewWriterSize(w.zw, 256<<10)
	w.files = append(w.files, map[string]any{"key": key})
}

func (w *reportWriter) write(r *bench.Row) {
	if w.zw == nil || w.perFile > 0 && w.n%w.perFile == 0 && w.n > 0 {
		w.startFile()
	}
	w.n++
	line := w.line[:0]
	q := func(v string) {
		line = append(line, '"')
		line = append(line, strings.ReplaceAll(v, `"`, `""`)...)
		line = append(line, '"', ',')
	}
	b := func(v bool) { q(strconv.FormatBool(v)) }
	q(r.Bucket)
	line = append(line, '"')
	line = bench.AppendFormKey(line, r.Key)
	line = append(line, '"', ',')
	if w.versions {
		q(r.VersionID)
		b(r.IsLatest)
		b(r.IsDeleteMarker)
	}
	if r.SizeNull {
		q("")
	} else {
		q(strconv.FormatInt(r.Size, 10))
	}
	q(time.UnixMilli(r.LastModified).UTC().Format("2006-01-02T15:04:05.000Z"))
	q(r.ETag)
	q(r.StorageClass)
	if r.IsDeleteMarker {
		q("")
	} else {
		b(r.IsMultipart)
	}
	q(r.TieringTier)
	q(r.ChecksumAlgo)
	line[len(line)-1] = '\n'
	w.line = line
	w.bw.Write(line)
}

// close ends the last data file, writes manifest.json and
// manifest.checksum, and returns the manifest's path.
func (w *reportWriter) close() string {
	if len(w.files) == 0 {
		w.startFile() // an empty report still has one data file
	}
	w.endFile()
	cols := testColumns
	if !w.versions {
		cols = append([]string{"Bucket", "Key"}, testColumns[5:]...)
	}
	m, _ := json.Marshal(map[string]any{
		"sourceBucket": w.bucket, "destinationBucket": "arn:aws:s3:::inventory", "version": "2016-11-30",
		"creationTimestamp": "1714000000000", "fileFormat": "CSV", "fileSchema": strings.Join(cols, ", "),
		"files": w.files,
	})
	mpath := filepath.Join(w.dir, "manifest.json")
	os.WriteFile(mpath, m, 0o644)
	ms := md5.Sum(m)
	os.WriteFile(filepath.Join(w.dir, "manifest.checksum"), []byte(hex.EncodeToString(ms[:])+"\n"), 0o644)
	return mpath
}

// readRows reads every row of a report back in logical form.
func readRows(t testing.TB, loc string) []bench.Row {
	t.Helper()
	r, err := inventory.Open(context.Background(), loc, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fields := r.Fields()
	var out []bench.Row
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		c := newBatchCols(rec, fields)
		for i := 0; i < int(rec.NumRows()); i++ {
			var row bench.Row
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

// genReport makes a bench report and returns its manifest path.
func genReport(t testing.TB, dir, format string, rows int64, versions bool, seed uint64) string {
	t.Helper()
	res, err := bench.Generate(context.Background(), bench.GenOptions{Rows: rows, Format: format, Out: dir, Seed: seed, Versions: versions, Files: 2})
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
	p, err := manifest.ReadPlan(context.Background(), dir)
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
func currentRows(rows []bench.Row) map[string]bench.Row {
	m := map[string]bench.Row{}
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
	os.WriteFile(mpath, mj, 0o644)
	ms := md5.Sum(mj)
	os.WriteFile(filepath.Join(dir, "manifest.checksum"), []byte(hex.EncodeToString(ms[:])+"\n"), 0o644)
	return mpath
}
