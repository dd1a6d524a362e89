package partition

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

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
			b.SetBytes(int64(len(rows)) * 64)
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

// inventoryRows makes n rows shaped like a real inventory's: keys under
// deep, shared folder prefixes (so that most keys agree on their first 16
// bytes), a few versions per key, in random order.
func inventoryRows(seed uint64, n int) []prow {
	rnd := rand.New(rand.NewPCG(seed, 3))
	tops := []string{"data/", "raw/", "warehouse/", "logs/", "backups/"}
	segs := []string{"2019", "2020", "2023", "2024", "daily", "hourly", "staging", "prod", "users", "tenants", "us-east-1", "archive"}
	exts := []string{".csv", ".parquet", ".jpg", ".mp4", ".tar.gz", ""}
	classes := []string{"STANDARD", "STANDARD", "STANDARD", "STANDARD_IA", "GLACIER"}
	rows := make([]prow, 0, n)
	for len(rows) < n {
		key := tops[rnd.IntN(len(tops))]
		for d := 1 + rnd.IntN(5); d > 0; d-- {
			if rnd.IntN(3) == 0 {
				key += fmt.Sprintf("%02d/", rnd.IntN(30))
			} else {
				key += segs[rnd.IntN(len(segs))] + "/"
			}
		}
		key += fmt.Sprintf("obj-%d-%d%s", rnd.IntN(4), len(rows), exts[rnd.IntN(len(exts))])
		versions := 1
		if rnd.IntN(4) == 0 {
			versions += rnd.IntN(3)
		}
		for v := 0; v < versions && len(rows) < n; v++ {
			rows = append(rows, prow{
				Bucket: "example-source-bucket", Key: key, Version: fmt.Sprintf("%032x", rnd.Uint64()),
				Latest: v == 0, Modified: 1_600_000_000_000 + rnd.Int64N(1e11), Size: rnd.Int64N(1 << 30),
				Class: classes[rnd.IntN(len(classes))],
			})
		}
	}
	rnd.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

// BenchmarkSorterInventory sorts 1,000,000 inventory-shaped rows (see
// inventoryRows) in memory and spilled, handing rows over as Plan does
// (finishRows), and reports CPU seconds per million rows.
func BenchmarkSorterInventory(b *testing.B) {
	const n = 1_000_000
	rows := inventoryRows(1, n)
	var recs []arrow.RecordBatch
	for off := 0; off < n; off += 16384 {
		recs = append(recs, makeBatch(b, rows[off:min(off+16384, n)], sortTestFields))
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	sel := make([]int32, 16384)
	for i := range sel {
		sel[i] = int32(i)
	}
	for _, mem := range []int64{1 << 30, 64 << 20} {
		b.Run(inventory.FormatSize(mem), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			cpu0 := cpuTime()
			var st SortStats
			for i := 0; i < b.N; i++ {
				s := NewSorter(SortOptions{Memory: mem, TmpDir: b.TempDir(), Fields: sortTestFields})
				for _, rec := range recs {
					if err := s.Add(ctx, rec, sortTestFields, sel[:rec.NumRows()]); err != nil {
						b.Fatal(err)
					}
				}
				var got int64
				var prev []byte
				var err error
				st, err = s.finishRows(ctx, func(d *sortRow) error {
					k := d.str[inventory.Key]
					if bytes.Compare(prev, k) > 0 {
						return fmt.Errorf("row %d: key %q after %q", got, k, prev)
					}
					prev = append(prev[:0], k...)
					got++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				if got+st.Duplicates != n {
					b.Fatalf("%d rows and %d duplicates, want %d", got, st.Duplicates, n)
				}
			}
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/(n*float64(b.N)), "cpu-s/Mrow")
			b.ReportMetric(float64(st.Runs), "runs")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSortCodec encodes and decodes the sort keys of 100,000
// inventory-shaped rows.
func BenchmarkSortCodec(b *testing.B) {
	rows := inventoryRows(2, 100_000)
	rec := makeBatch(b, rows, sortTestFields)
	defer rec.Release()
	cs := newCols(rec, sortTestFields)
	sc := newSortCodec(sortTestFields)
	sel := make([]int32, len(rows))
	for i := range sel {
		sel[i] = int32(i)
	}
	sc.setup(&cs, sel[:1000], nil)
	keys := make([][]byte, len(rows))
	b.Run("encode", func(b *testing.B) {
		var buf []byte
		for range b.N {
			for i := range rows {
				buf = sc.encode(buf[:0], &cs, i)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	})
	for i := range rows {
		keys[i] = sc.encode(nil, &cs, i)
	}
	b.Run("decode", func(b *testing.B) {
		var d sortRow
		for range b.N {
			for _, k := range keys {
				if err := sc.decode(k, &d); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	})
}
