package inventory_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

var (
	benchOnce sync.Map // key → *benchReport
)

type benchReport struct {
	once     sync.Once
	manifest string
	bytes    int64
	err      error
}

// benchInventory generates (once per process) a report for benchmarks in
// a cache folder that survives between runs (GOCACHE-like, keyed by shape).
func benchInventory(b *testing.B, rows int64, files int, format string) (string, int64) {
	b.Helper()
	key := format + "/" + filepath.Base(b.Name())
	v, _ := benchOnce.LoadOrStore(key, &benchReport{})
	br := v.(*benchReport)
	br.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "s3batchkit-bench", format,
			filepath.Clean(filepath.Join(itoa(rows), itoa(int64(files)))))
		m := filepath.Join(dir, "manifest.json")
		if _, err := os.Stat(m); err != nil {
			os.RemoveAll(dir)
			_, br.err = gen.Generate(context.Background(), gen.Options{Rows: rows, Files: files, Format: format, Out: dir, Seed: 1})
		}
		br.manifest = m
		mf, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{})
		if err != nil {
			br.err = err
			return
		}
		for _, f := range mf.Files {
			br.bytes += f.Size
		}
	})
	if br.err != nil {
		b.Fatal(br.err)
	}
	return br.manifest, br.bytes
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// planFields is the projection plan reads.
var planFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest,
	inventory.IsDeleteMarker, inventory.Size, inventory.StorageClass, inventory.IntelligentTieringAccessTier)

// BenchmarkCSVToManifest measures the CSV.gz → manifest rows path: gunzip,
// CSV parse, key decode, Arrow batches, and manifest row encoding with MD5,
// as plan runs it (without writing files).
func BenchmarkCSVToManifest(b *testing.B) {
	// The floors of the path, each alone on one core, on the same one-file
	// report: the pure-Go gzip decoder, this build's (ISA-L with -tags
	// isal), and the MD5 of the compressed file. Each returns the reader
	// to drain and the writer to drain it into.
	for _, floor := range []struct {
		name string
		open func(f io.Reader) (io.Reader, io.Writer, error)
	}{
		{"gunzip-only-1file", func(f io.Reader) (io.Reader, io.Writer, error) {
			zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
			return zr, io.Discard, err
		}},
		{"gunzip-" + inventory.GunzipImpl + "-only-1file", func(f io.Reader) (io.Reader, io.Writer, error) {
			zr, err := inventory.NewGunzipForTest(f)
			return zr, io.Discard, err
		}},
		{"md5-only-1file", func(f io.Reader) (io.Reader, io.Writer, error) { return f, md5.New(), nil }},
	} {
		b.Run(floor.name, func(b *testing.B) {
			m, size := benchInventory(b, 1_000_000, 1, "csv")
			mf, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				for _, f := range mf.Files {
					fh, err := os.Open(f.Location)
					if err != nil {
						b.Fatal(err)
					}
					r, w, err := floor.open(fh)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.CopyBuffer(w, r, make([]byte, 1<<20)); err != nil {
						b.Fatal(err)
					}
					fh.Close()
				}
			}
			b.ReportMetric(1e6*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(1e6*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
	// Ordered is Scan (file order, what an unsorted plan needs); unordered
	// is ScanUnordered (what a sorted plan and diff use), which lets each
	// worker run ahead.
	for _, tc := range []struct {
		name      string
		rows      int64
		files     int
		workers   int
		unordered bool
	}{
		{"1file-1worker", 1_000_000, 1, 1, false},
		{"1file-2workers", 1_000_000, 1, 2, false},
		{"4files-1worker", 1_000_000, 4, 1, false},
		{"4files-2workers", 1_000_000, 4, 2, false},
		{"4files-1worker-unordered", 1_000_000, 4, 1, true},
		{"4files-2workers-unordered", 1_000_000, 4, 2, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, size := benchInventory(b, tc.rows, tc.files, "csv")
			b.SetBytes(size)
			b.ReportAllocs()
			var rows int64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rows = scanToManifest(b, m, tc.workers, tc.unordered)
			}
			if rows != tc.rows {
				b.Fatalf("read %d rows, want %d", rows, tc.rows)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

func scanToManifest(b *testing.B, m string, workers int, unordered bool) int64 {
	r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{Workers: workers, Fields: planFields})
	if err != nil {
		b.Fatal(err)
	}
	fields := r.Fields()
	var rows int64
	buf := make([]byte, 0, 1<<20)
	scan := r.Scan
	if unordered {
		scan = r.ScanUnordered
	}
	err = scan(context.Background(), func(rec arrow.RecordBatch) error {
		buckets := rec.Column(fields.ColumnIndex(inventory.Bucket)).(*array.String)
		keys := rec.Column(fields.ColumnIndex(inventory.Key)).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			buf = manifest.AppendRow(buf[:0], inventory.StringBytes(buckets, i), inventory.StringBytes(keys, i), nil, false)
		}
		rows += rec.NumRows()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return rows
}
