package orc

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadDemo decodes every stripe of demo-12-zlib.orc (9 int and
// string columns, 1,920,800 rows) on one goroutine.
func BenchmarkReadDemo(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sampleDir(b), "demo-12-zlib.orc"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for range b.N {
		for s := range f.NumStripes() {
			batch, err := f.ReadStripe(s, nil)
			if err != nil {
				b.Fatal(err)
			}
			rows += batch.NumRows
		}
	}
	if rows != b.N*1920800 {
		b.Fatalf("decoded %d rows", rows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// inventoryFile writes n seeded inventory-shaped rows.
func inventoryFile(b *testing.B, n int) ([]byte, *Type) {
	schema := inventorySchema(b)
	r := rand.New(rand.NewPCG(11, 12))
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, &WriterOptions{StripeRows: 250_000})
	if err != nil {
		b.Fatal(err)
	}
	for first := 0; first < n; first += 10_000 {
		if err := w.Write(inventoryBatch(schema, r, first, min(10_000, n-first), false)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), schema
}

// BenchmarkReadInventory decodes an inventory-shaped file (key, size,
// last_modified_date, storage_class, is_latest) of 1M rows: with
// ReadStripe (a new Batch per stripe), and with ReadStripeInto into one
// reused Batch, keeping dictionaries.
func BenchmarkReadInventory(b *testing.B) {
	const n = 1_000_000
	data, _ := inventoryFile(b, n)
	f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, cols := range []struct {
		name string
		cols []string
		into bool
	}{
		{"all", nil, false},
		{"key+size+mtime+class", []string{"key", "size", "last_modified_date", "storage_class"}, false},
		{"into/all", nil, true},
		{"into/key+size+mtime+class", []string{"key", "size", "last_modified_date", "storage_class"}, true},
	} {
		b.Run(cols.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			rows := 0
			var reused Batch
			opts := &ReadOptions{Dictionaries: true}
			for range b.N {
				for s := range f.NumStripes() {
					batch := &reused
					var err error
					if cols.into {
						err = f.ReadStripeInto(batch, s, cols.cols, opts)
					} else {
						batch, err = f.ReadStripe(s, cols.cols)
					}
					if err != nil {
						b.Fatal(err)
					}
					rows += batch.NumRows
				}
			}
			if rows != b.N*n {
				b.Fatalf("decoded %d rows", rows)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkWriteInventory writes 200k inventory-shaped rows per op.
func BenchmarkWriteInventory(b *testing.B) {
	const n = 200_000
	schema := inventorySchema(b)
	r := rand.New(rand.NewPCG(11, 12))
	var batches []*Batch
	for first := 0; first < n; first += 10_000 {
		batches = append(batches, inventoryBatch(schema, r, first, 10_000, false))
	}
	b.ReportAllocs()
	var size int
	for range b.N {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range batches {
			if err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
