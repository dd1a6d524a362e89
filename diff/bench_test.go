package diff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/bench"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// pairCounts is what the diff of a pair made by makePair must find.
type pairCounts struct{ missing, changed, extra int64 }

// makePair generates a source report of rows current objects (CSV.gz, no
// versions) and a target in bucket "target-bucket" that differs in 1% of
// them: a third of that missing, a third changed in size, a third extra.
// The target is streamed, never held in memory.
func makePair(tb testing.TB, dir string, rows int64) (string, string, pairCounts) {
	tb.Helper()
	res, err := bench.Generate(context.Background(), bench.GenOptions{Rows: rows, Format: "csv", Out: filepath.Join(dir, "src"), Seed: 99})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := inventory.Open(context.Background(), res.Manifest, inventory.ReaderOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	w := newReportWriter(tb, filepath.Join(dir, "tgt"), "target-bucket", false, 500_000)
	var want pairCounts
	i := 0
	fields := r.Fields()
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		c := newBatchCols(rec, fields)
		for j := 0; j < int(rec.NumRows()); j++ {
			row := bench.Row{Bucket: "target-bucket", Key: string(c.str(inventory.Key, j)), ETag: string(c.str(inventory.ETag, j)),
				StorageClass: string(c.str(inventory.StorageClass, j)), TieringTier: string(c.str(inventory.IntelligentTieringAccessTier, j)),
				ChecksumAlgo: string(c.str(inventory.ChecksumAlgorithm, j))}
			row.Size, _ = c.int(inventory.Size, j)
			row.LastModified, _ = c.int(inventory.LastModifiedDate, j)
			row.IsMultipart, _ = c.boolean(inventory.IsMultipartUploaded, j)
			switch i % 300 {
			case 0:
				want.missing++
			case 100:
				row.Size++
				want.changed++
				w.write(&row)
			case 200:
				w.write(&row)
				extra := row
				extra.Key += ".extra"
				w.write(&extra)
				want.extra++
			default:
				w.write(&row)
			}
			i++
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Manifest, w.close(), want
}

// BenchmarkDiff diffs two reports that differ in 1% of their objects;
// rows/s counts the rows of both.
func BenchmarkDiff(b *testing.B) {
	for _, rows := range []int64{200_000} {
		b.Run(fmt.Sprintf("csv/rows=%d", rows), func(b *testing.B) {
			dir := b.TempDir()
			src, tgt, want := makePair(b, dir, rows)
			b.ReportAllocs()
			b.ResetTimer()
			var read, inBytes int64
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Options{Source: src, Target: tgt, Out: filepath.Join(dir, "out"), CrossBucket: true})
				if err != nil {
					b.Fatal(err)
				}
				s := res.Summary
				if s.OnlyInSource.Objects != want.missing || s.Changed.Objects != want.changed || s.OnlyInTarget.Objects != want.extra {
					b.Fatalf("found %d %d %d, want %+v", s.OnlyInSource.Objects, s.Changed.Objects, s.OnlyInTarget.Objects, want)
				}
				read += res.Plan.Counters.RowsRead
				inBytes = res.Stats.InputBytes
			}
			b.SetBytes(inBytes)
			b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestWriteDiffPair writes a pair of reports for measuring the CLI (peak
// RSS with /usr/bin/time -v): S3BK_DIFF_PAIR=DIR S3BK_DIFF_ROWS=5000000.
func TestWriteDiffPair(t *testing.T) {
	dir := os.Getenv("S3BK_DIFF_PAIR")
	if dir == "" {
		t.Skip("set S3BK_DIFF_PAIR=DIR (and S3BK_DIFF_ROWS) to write a benchmark pair")
	}
	rows, err := strconv.ParseInt(os.Getenv("S3BK_DIFF_ROWS"), 10, 64)
	if err != nil {
		rows = 5_000_000
	}
	src, tgt, want := makePair(t, dir, rows)
	t.Logf("source %s\ntarget %s\nwant %+v", src, tgt, want)
}
