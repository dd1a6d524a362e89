package report

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRun measures the whole report stage (find, read, verify MD5,
// merge, classify, write rerun plans and summary.json) on a generated
// report of 1M rows in 4 jobs, 1% failed.
func BenchmarkRun(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	in := filepath.Join(dir, "reports")
	size, err := genReport(in, 4, rows/4, 0.01, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s, err := Run(context.Background(), Options{Prefixes: []string{in}, Out: filepath.Join(dir, "out")})
		if err != nil {
			b.Fatal(err)
		}
		if s.Tasks.Total != rows || s.Tasks.Failed == 0 {
			b.Fatalf("tasks %+v", s.Tasks)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkResultReader measures parsing and MD5 of one result file alone.
func BenchmarkResultReader(b *testing.B) {
	const rows = 250_000
	dir := b.TempDir()
	if _, err := genReport(dir, 1, rows, 0.01, 2); err != nil {
		b.Fatal(err)
	}
	jobs, err := FindJobs(context.Background(), nil, "", []string{dir}, func(err error) error { return err })
	if err != nil {
		b.Fatal(err)
	}
	var f ResultFile
	for _, rf := range jobs[0].Files {
		if !rf.Failed {
			f = rf
		}
	}
	data, err := os.ReadFile(f.Location)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var n int64
	var batch Batch
	for i := 0; i < b.N; i++ {
		rr := NewResultReader(&sliceReader{b: data}, f.Location, ReaderOptions{WantMD5: f.MD5})
		for {
			err := rr.ReadBatch(&batch)
			n += int64(len(batch.Rows))
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
