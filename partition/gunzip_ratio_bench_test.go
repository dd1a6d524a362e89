//go:build !isal

package partition_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/internal/csvscan"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/partition"
)

// BenchmarkUnsortedCSVVsGunzip measures a target of issue 20: the
// unsorted plan of a CSV.gz report with one worker (plan --sort=false
// --workers 1 --routing none, shards written) against the floor of any
// CSV.gz reader, decompressing the same data files (klauspost's pure-Go
// gunzip, as this build's reader uses) and splitting every record with
// internal/csvscan, nothing else. The two alternate in each iteration
// (the machine is noisy); "ratio" is the plan's best wall time over the
// floor's best, "cpu-ratio" the same for user+system CPU time (what a
// loaded machine shows). The filter is issue 20's: size >= 1024 and
// storage class STANDARD, STANDARD_IA or INTELLIGENT_TIERING.
//
// The report is $S3BK_BENCH_CSV_INVENTORY (a manifest.json whose data
// files lie in data/ beside it), or a generated 1,000,000-row report in
// one file. Not built with -tags isal, whose reader decompresses with
// ISA-L.
func BenchmarkUnsortedCSVVsGunzip(b *testing.B) {
	inv := os.Getenv("S3BK_BENCH_CSV_INVENTORY")
	if inv == "" {
		res, err := gen.Generate(context.Background(), gen.Options{Rows: 1_000_000, Out: b.TempDir(), Seed: 20, Files: 1})
		if err != nil {
			b.Fatal(err)
		}
		inv = res.Manifest
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(inv), "data", "*.csv.gz"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no data/*.csv.gz beside %s (%v)", inv, err)
	}
	o := partition.Options{
		Inventories: []string{inv},
		Reader:      inventory.ReaderOptions{Workers: 1},
		Filter:      inventory.FilterOptions{MinSize: 1024, StorageClasses: []string{"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING"}},
		Bounds:      partition.Bounds{MaxObjects: 1_000_000, MinObjects: partition.FailureThreshold},
		NoRoutes:    true,
		TmpDir:      b.TempDir(),
	}
	var rows int64
	best := [2]time.Duration{1 << 62, 1 << 62} // floor, plan
	bestCPU := best
	measure := func(i int, f func()) {
		t0, c0 := time.Now(), cpuTime()
		f()
		best[i] = min(best[i], time.Since(t0))
		bestCPU[i] = min(bestCPU[i], cpuTime()-c0)
	}
	for b.Loop() {
		measure(0, func() {
			n, err := gunzipSplit(files)
			if err != nil {
				b.Fatal(err)
			}
			rows = n
		})
		measure(1, func() {
			o.Out = filepath.Join(b.TempDir(), "plan")
			plan, _, err := partition.Plan(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			if plan.Counters.RowsRead != rows {
				b.Fatalf("the plan read %d rows, the floor %d", plan.Counters.RowsRead, rows)
			}
		})
	}
	b.ReportMetric(best[0].Seconds(), "floor-s")
	b.ReportMetric(best[1].Seconds(), "plan-s")
	b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "ratio")
	b.ReportMetric(bestCPU[1].Seconds()/bestCPU[0].Seconds(), "cpu-ratio")
	b.ReportMetric(float64(rows), "rows")
}

// gunzipSplit decompresses files and splits their records, returning the
// number of records.
func gunzipSplit(files []string) (int64, error) {
	var n int64
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return n, err
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
		if err != nil {
			f.Close()
			return n, err
		}
		r := csvscan.NewReader(zr, csvscan.Options{CRAfterQuote: true, BufferSize: 1 << 20})
		for {
			_, err = r.Next()
			if err != nil {
				break
			}
			n++
		}
		f.Close()
		if err != io.EOF {
			return n, err
		}
	}
	return n, nil
}
