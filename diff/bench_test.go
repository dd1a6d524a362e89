package diff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
)

// pairCounts is what the diff of a pair made by makePair must find.
type pairCounts struct{ missing, changed, extra int64 }

// makePair generates a source report of rows current objects (CSV.gz, no
// versions) and its diff target (gen.Options.DiffTarget) in bucket
// "target-bucket", which differs in 1% of them: a third of that missing,
// a third changed in size, a third extra.
func makePair(tb testing.TB, dir string, rows int64) (string, string, pairCounts) {
	tb.Helper()
	src, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Format: "csv", Out: filepath.Join(dir, "src"), Seed: 99})
	if err != nil {
		tb.Fatal(err)
	}
	tgt, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Format: "csv", Out: filepath.Join(dir, "tgt"), Seed: 99,
		Bucket: "target-bucket", DiffTarget: true})
	if err != nil {
		tb.Fatal(err)
	}
	d := tgt.Diff
	return src.Manifest, tgt.Manifest, pairCounts{missing: d.Missing, changed: d.Changed, extra: d.Extra}
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
