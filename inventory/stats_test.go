package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// TestFileStatsBoundUnits writes Parquet (row groups) and ORC (stripes,
// with the Java writer's string statistics) reports, and reads each
// unit's key bounds from the footer: every unit's rows (read alone, as a
// range of a distributed plan reads it) lie within them, the units' rows
// add up to the file's, and the bounds are the rows' own extremes (the
// writers record exact values).
func TestFileStatsBoundUnits(t *testing.T) {
	for _, format := range []string{"parquet", "orc"} {
		t.Run(format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "inv")
			layout := gen.Layout{Parquet: &gen.ParquetLayout{RowGroupRows: 70}, ORC: &orc.WriterOptions{StripeRows: 70, StringStats: true}}
			w, err := gen.NewReport(dir, gen.ReportOptions{Format: format, Bucket: "bkt", FileRows: 500, Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 900 {
				// Keys in a scrambled order, with bytes above ASCII.
				k := fmt.Sprintf("k/%03d/é", (i*37)%900)
				if err := w.Write(&gen.Row{Bucket: "bkt", Key: k, Size: int64(i), StorageClass: "STANDARD", ETag: "e"}); err != nil {
					t.Fatal(err)
				}
			}
			loc, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			m, err := inventory.OpenManifest(context.Background(), loc, inventory.ManifestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for f := range m.Files {
				st, err := inventory.ReadFileStats(context.Background(), nil, m, f)
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for u, us := range st.Units {
					sum += us.Rows
					if !us.Known {
						t.Fatalf("file %d unit %d: no key bounds", f, u)
					}
					one := *m
					df := m.Files[f]
					df.Units = []int{u}
					one.Files = []inventory.DataFile{df}
					rep := inventory.NewReport(&one, inventory.ReaderOptions{Fields: inventory.Fields(inventory.Bucket, inventory.Key)})
					var lo, hi []byte
					var n int64
					err := rep.Scan(context.Background(), func(rec arrow.RecordBatch) error {
						b := inventory.Batch{Rec: rec, Fields: rep.Fields()}
						keys := b.Strings(inventory.Key)
						for i := range int(rec.NumRows()) {
							k := []byte(keys.Value(i))
							if lo == nil || bytes.Compare(k, lo) < 0 {
								lo = bytes.Clone(k)
							}
							if hi == nil || bytes.Compare(k, hi) > 0 {
								hi = bytes.Clone(k)
							}
							n++
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if n != us.Rows || !bytes.Equal(lo, us.MinKey) || !bytes.Equal(hi, us.MaxKey) || string(us.MinBucket) != "bkt" || string(us.MaxBucket) != "bkt" {
						t.Errorf("file %d unit %d: footer says %d rows in [%q, %q], read %d in [%q, %q]", f, u, us.Rows, us.MinKey, us.MaxKey, n, lo, hi)
					}
				}
				if sum != st.Rows {
					t.Errorf("file %d: units hold %d rows, the file %d", f, sum, st.Rows)
				}
			}
		})
	}
}

// FuzzFileStats feeds damaged Parquet and ORC files to the footer
// statistics readers: they fail only with a *DataError, never a panic,
// and what they return is consistent (units that add up to the file's
// rows; bounds in order).
func FuzzFileStats(f *testing.F) {
	f.Add(firstDataFile(f, genReport(f, "parquet", 300, 1, true, 5)))
	f.Add(firstDataFile(f, genReport(f, "orc", 300, 1, true, 5)))
	for _, ext := range []string{".parquet", ".orc"} {
		for _, p := range fixtureFiles(f, ext) {
			f.Add(readFile(f, p))
		}
	}
	f.Add(statsORC(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, read := range map[string]func(inventory.SizedReaderAt, string) (*inventory.FileStats, error){
			"parquet": inventory.ParquetFileStats, "orc": inventory.ORCFileStats} {
			st, err := read(bytes.NewReader(data), "fuzz."+name)
			if err != nil {
				checkReadError(t, name, err)
				continue
			}
			var sum int64
			for _, u := range st.Units {
				sum += u.Rows
				if u.Known && (bytes.Compare(u.MinKey, u.MaxKey) > 0 || bytes.Compare(u.MinBucket, u.MaxBucket) > 0) {
					t.Fatalf("%s: bounds out of order: %q > %q", name, u.MinKey, u.MaxKey)
				}
			}
			if sum != st.Rows {
				t.Fatalf("%s: units hold %d rows, the file %d", name, sum, st.Rows)
			}
		}
	})
}

// statsORC is a small ORC data file of several stripes with string
// statistics, as the Java writer writes them.
func statsORC(t testing.TB) []byte {
	dir := filepath.Join(t.TempDir(), "inv")
	w, err := gen.NewReport(dir, gen.ReportOptions{Format: "orc", Bucket: "b", Layout: gen.Layout{ORC: &orc.WriterOptions{StripeRows: 4, StringStats: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := w.Write(&gen.Row{Bucket: "b", Key: fmt.Sprintf("k%d", 9-i), StorageClass: "STANDARD", ETag: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return firstDataFile(t, loc)
}
