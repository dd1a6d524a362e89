package inventory

import (
	"fmt"
	"testing"
)

// benchBatch is 16,384 rows cycling through testRows with distinct keys.
func benchBatch(b *testing.B) []trow {
	rows := make([]trow, 16384)
	for i := range rows {
		rows[i] = testRows[i%len(testRows)]
		rows[i].key = fmt.Sprintf("%s/%06d", rows[i].key, i)
	}
	return rows
}

// BenchmarkFilter compares five native predicates with the same test as
// a --where expression (columnar) and as the expression run row by row in
// the expr VM.
func BenchmarkFilter(b *testing.B) {
	native := FilterOptions{Prefixes: []string{"photos/", "logs/", "videos/"}, MinSize: 1, StorageClasses: []string{"STANDARD", "GLACIER", "INTELLIGENT_TIERING"},
		ModifiedAfter: mustTime("2023-01-01"), Suffixes: []string{"0", "2", "4", "6", "8"}, DeleteMarkers: DeleteMarkersInclude}
	where := FilterOptions{DeleteMarkers: DeleteMarkersInclude, Where: `(key startsWith "photos/" or key startsWith "logs/" or key startsWith "videos/") and size >= 1 and ` +
		`storage_class in ["STANDARD", "GLACIER", "INTELLIGENT_TIERING"] and last_modified_date >= date("2023-01-01") and ` +
		`(key endsWith "0" or key endsWith "2" or key endsWith "4" or key endsWith "6" or key endsWith "8")`}
	rows := benchBatch(b)
	rec := buildBatch(b, rows, testSet)
	defer rec.Release()
	var want int
	for _, c := range []struct {
		name  string
		o     FilterOptions
		vmAll bool
	}{{"native", native, false}, {"where-columnar", where, false}, {"where-vm", where, true}} {
		b.Run(c.name, func(b *testing.B) {
			f, err := NewFilter(c.o)
			if err != nil {
				b.Fatal(err)
			}
			if f.where != nil {
				f.where.vmAll = c.vmAll
			}
			sel := make([]int32, 0, len(rows))
			drops := Drops{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sel = f.Select(rec, testSet, sel, drops)
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if want == 0 {
				want = len(sel)
			}
			if len(sel) != want || want == 0 {
				b.Fatalf("kept %d rows, want %d (all variants must agree)", len(sel), want)
			}
		})
	}
}
