package inventory_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

const readBenchRows = 1_000_000

var readBenchReports sync.Map // format → *benchReport

// versionedReport generates (once, cached under the temp folder across
// runs) a versioned report of readBenchRows rows in two files, with seed 1,
// so every format holds the same rows.
func versionedReport(b *testing.B, format string) (string, int64) {
	b.Helper()
	v, _ := readBenchReports.LoadOrStore(format, &benchReport{})
	br := v.(*benchReport)
	br.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "s3batchkit-bench", format+"-versions", itoa(readBenchRows))
		m := filepath.Join(dir, "manifest.json")
		if _, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{}); err != nil {
			os.RemoveAll(dir)
			if _, br.err = gen.Generate(context.Background(), gen.Options{Rows: readBenchRows, Format: format, Out: dir, Seed: 1, Versions: true}); br.err != nil {
				return
			}
		}
		mf, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{})
		if err != nil {
			br.err = err
			return
		}
		br.manifest = m
		for _, f := range mf.Files {
			br.bytes += f.Size
		}
	})
	if br.err != nil {
		b.Fatal(br.err)
	}
	return br.manifest, br.bytes
}

// BenchmarkParquetRead measures decoding into record batches, one worker
// (one core), for Parquet and, on the same rows, CSV.gz: the plan
// projection with and without the MD5 pass, and every field.
func BenchmarkParquetRead(b *testing.B) {
	for _, tc := range []struct {
		name   string
		format string
		fields inventory.FieldSet
		skip   bool
	}{
		{"parquet/plan-fields", "parquet", planFields, true},
		{"parquet/plan-fields+md5", "parquet", planFields, false},
		{"parquet/all-fields", "parquet", inventory.AllFields, true},
		{"csv.gz/plan-fields", "csv", planFields, true},
		{"csv.gz/plan-fields+md5", "csv", planFields, false},
		{"csv.gz/all-fields", "csv", inventory.AllFields, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, size := versionedReport(b, tc.format)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var rows, keyBytes int64
			for i := 0; i < b.N; i++ {
				rows, keyBytes = 0, 0
				r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{Workers: 1, Fields: tc.fields, SkipChecksums: tc.skip})
				if err != nil {
					b.Fatal(err)
				}
				keyCol := r.Fields().ColumnIndex(inventory.Key)
				err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
					rows += rec.NumRows()
					keyBytes += int64(len(rec.Column(keyCol).(*array.String).ValueBytes()))
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if rows != readBenchRows || keyBytes == 0 {
				b.Fatalf("read %d rows (%d key bytes), want %d", rows, keyBytes, readBenchRows)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			// CPU time is what a core costs; wall time on a shared machine
			// also counts other processes.
			b.ReportMetric(float64(rows)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration { return inventory.CPUTimeForTest() }
