package inventory_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// TestDuckDBParquet reads a Parquet inventory written by DuckDB 1.5.6
// (testdata/duckdb/make.mjs: PLAIN_DICTIONARY pages, dictionary-encoded
// int64 timestamps, microsecond timestamps with and without UTC
// adjustment, an optional bucket column, columns null on every row,
// tricky keys) and compares every row with DuckDB's own JSON rendering
// of the same table, matched by key.
func TestDuckDBParquet(t *testing.T) {
	data, err := os.ReadFile("testdata/duckdb/duckdb-inventory.parquet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := gen.WriteReport(t.TempDir(), gen.ReportSpec{Format: "Parquet", Schema: gen.ParquetSchema(gen.ReportFields(true)),
		Bucket: "duck-bucket", Files: []gen.ReportFile{{Key: "data/duckdb-inventory.parquet", Data: data}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{}
	zr, err := os.Open("testdata/duckdb/duckdb-inventory.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	gz, err := gzip.NewReader(zr)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		var row map[string]any
		if err := dec.Decode(&row); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for k, v := range row {
			if n, ok := v.(json.Number); ok {
				i, err := n.Int64()
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				row[k] = i
			}
		}
		want[row["key"].(string)] = row
	}
	if len(want) != 1000 {
		t.Fatalf("%d rows in DuckDB's JSON, want 1000", len(want))
	}
	r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if r.Fields() != gen.ReportFields(true) {
		t.Fatalf("fields %v", r.Fields())
	}
	n := 0
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			got := map[string]any{}
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				var v any
				if col.IsValid(i) {
					switch a := col.(type) {
					case *array.String:
						v = a.Value(i)
					case *array.Boolean:
						v = a.Value(i)
					case *array.Int64:
						v = a.Value(i)
					case *array.Timestamp:
						v = int64(a.Value(i))
					}
				}
				got[rec.ColumnName(c)] = v
			}
			w, ok := want[got["key"].(string)]
			if !ok {
				t.Fatalf("row %d: key %q is not in DuckDB's rows", n, got["key"])
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("row %d:\n got %v\nwant %v", n, got, w)
			}
			delete(want, got["key"].(string))
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1000 || len(want) != 0 {
		t.Fatalf("read %d rows; %d of DuckDB's not read", n, len(want))
	}
}
