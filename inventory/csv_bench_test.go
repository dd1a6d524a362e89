package inventory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkCSVReader measures the CSV reader without the cost of
// decompression: its input is gzip data stored, not compressed, so the
// figure is splitting, converting and building batches (and copying).
func BenchmarkCSVReader(b *testing.B) {
	var raw bytes.Buffer
	const rows = 200_000
	for i := range rows {
		fmt.Fprintf(&raw, `"example-source-bucket","home/2019/eu-west-1/25/2022/prod/%02d/obj-0-%d.jpg","v%d","true","false","%d","2023-12-24T03:24:30.725Z","92c5fca08482d4e6b19c31151df3a2f8","INTELLIGENT_TIERING"`+"\n", i%60, i, i, 1000+i*7)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.NoCompression)
	zw.Write(raw.Bytes())
	zw.Close()
	var cols []Column
	for _, n := range strings.Split(versionedSchema, ", ") {
		f, _ := LookupField(n)
		cols = append(cols, Column{Name: n, Field: f, Known: true})
	}
	set := Fields(Bucket, Key, VersionID, IsLatest, IsDeleteMarker, Size, StorageClass)
	for _, tc := range []struct {
		name string
		open func() batchReader
	}{
		{"csvscan", func() batchReader {
			return NewCSVReader(bytes.NewReader(z.Bytes()), nil, "bench", cols, set, DefaultBatchRows, "", -1)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(raw.Len()))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r := tc.open()
				n := int64(0)
				for {
					rec, err := r.Next(context.Background())
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += rec.NumRows()
					rec.Release()
				}
				r.Close()
				if n != rows {
					b.Fatalf("%d rows", n)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}
