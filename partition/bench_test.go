package partition

import (
	"context"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// BenchmarkSorter sorts 400,000 random rows held in memory, in memory and
// spilled to several runs, reporting rows/s and the peak heap.
func BenchmarkSorter(b *testing.B) {
	rows := randomRows(9, 400000)
	rec := makeBatch(b, rows, sortTestFields)
	defer rec.Release()
	sel := make([]int32, len(rows))
	for i := range sel {
		sel[i] = int32(i)
	}
	for _, mem := range []int64{1 << 30, 16 << 20} {
		b.Run(inventory.FormatSize(mem), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(recordBytes(rec))
			var peak uint64
			for i := 0; i < b.N; i++ {
				s := NewSorter(SortOptions{Memory: mem, TmpDir: b.TempDir(), Fields: sortTestFields})
				ctx := context.Background()
				// Feed in slices so that the budget applies.
				for off := int64(0); off < rec.NumRows(); off += 16384 {
					part := rec.NewSlice(off, min(off+16384, rec.NumRows()))
					if err := s.Add(ctx, part, sortTestFields, sel[:part.NumRows()]); err != nil {
						b.Fatal(err)
					}
					part.Release()
				}
				n := 0
				if _, err := s.Finish(ctx, func(r arrow.RecordBatch) error {
					n += int(r.NumRows())
					var ms runtime.MemStats
					if n%(64*DefaultSortBatchRows) == 0 {
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapInuse)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				s.Close()
				if n == 0 {
					b.Fatal("no rows")
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
