package gen_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// TestParquetWriterSchema checks that generated Parquet files carry the
// schema manifest.json announces (docs/formats.md#inventory-fields): the same columns in
// the same order, required bucket and key, optional rest, int64
// TIMESTAMP_MILLIS dates, Snappy, bounded row groups; and that the same
// seed gives the same bytes.
func TestParquetWriterSchema(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions bool
	}{
		{"current", false},
		{"versions", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := int64(gen.ParquetRowGroupRows + 10)
			generate := func(dir string) *inventory.Manifest {
				res, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Files: 1, Format: "parquet", Out: dir, Seed: 9, Versions: tc.versions, Workers: 1})
				if err != nil {
					t.Fatal(err)
				}
				m, err := inventory.OpenManifest(context.Background(), res.Manifest, inventory.ManifestOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := generate(t.TempDir())
			if m.Format != inventory.FormatParquet || !strings.HasPrefix(m.FileSchema, "message s3.inventory {") {
				t.Fatalf("format %q, schema %q", m.Format, m.FileSchema)
			}
			wantCols := gen.Columns(tc.versions)
			if len(m.Columns) != len(wantCols) {
				t.Fatalf("fileSchema has %d columns, want %d", len(m.Columns), len(wantCols))
			}
			data, err := os.ReadFile(m.Files[0].Location)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			cols := f.Root().Columns()
			if len(cols) != len(m.Columns) {
				t.Fatalf("file has %d columns, fileSchema %d", len(cols), len(m.Columns))
			}
			for i, c := range cols {
				want, _ := inventory.LookupField(wantCols[i])
				if c.Name() != m.Columns[i].Name || c.Name() != want.ColumnName() {
					t.Errorf("column %d is %q, fileSchema says %q, want %q", i, c.Name(), m.Columns[i].Name, want.ColumnName())
				}
				if required := want == inventory.Bucket || want == inventory.Key; c.Required() != required || c.Optional() == required {
					t.Errorf("column %s: required=%v, want %v", c.Name(), c.Required(), required)
				}
				kind := map[inventory.Kind]parquet.Kind{inventory.KindString: parquet.ByteArray, inventory.KindEnum: parquet.ByteArray,
					inventory.KindBool: parquet.Boolean, inventory.KindInt64: parquet.Int64, inventory.KindTimestamp: parquet.Int64}[want.Kind()]
				if c.Type().Kind() != kind {
					t.Errorf("column %s: type %v, want %v", c.Name(), c.Type().Kind(), kind)
				}
				if want.Kind() == inventory.KindTimestamp {
					ts, ok := c.Type().LogicalType().Value.(*format.TimestampType)
					if !ok || !ts.IsAdjustedToUTC {
						t.Errorf("column %s: logical type %v, want TIMESTAMP(MILLIS,true)", c.Name(), c.Type().LogicalType())
					} else if _, ms := ts.Unit.Value.(*format.MilliSeconds); !ms {
						t.Errorf("column %s: unit %v, want MILLIS", c.Name(), &ts.Unit)
					}
				}
			}
			if f.NumRows() != rows || len(f.RowGroups()) != 2 {
				t.Errorf("%d rows in %d row groups, want %d in 2", f.NumRows(), len(f.RowGroups()), rows)
			}
			for _, rg := range f.Metadata().RowGroups {
				if rg.NumRows > gen.ParquetRowGroupRows {
					t.Errorf("row group of %d rows, want at most %d", rg.NumRows, gen.ParquetRowGroupRows)
				}
				for _, cc := range rg.Columns {
					if cc.MetaData.Codec != format.Snappy {
						t.Errorf("column %v: codec %v, want SNAPPY", cc.MetaData.PathInSchema, cc.MetaData.Codec)
					}
				}
			}
			again, err := os.ReadFile(generate(t.TempDir()).Files[0].Location)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, again) {
				t.Error("the same seed gave different Parquet bytes")
			}
			if filepath.Ext(m.Files[0].Key) != ".parquet" {
				t.Errorf("data file %q, want .parquet", m.Files[0].Key)
			}
		})
	}
}
