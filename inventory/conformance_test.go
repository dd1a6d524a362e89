package inventory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// conformanceRows is the size of the conformance reports: enough for
// several stripes and row groups in the layouts gen lists.
const conformanceRows = 4000

// TestLayoutConformance writes the same rows as CSV.gz and in every ORC
// and Parquet layout gen lists (the Java ORC writer's and parquet-mr's
// among them: empty and one-entry dictionaries, direct strings, absent
// PRESENT streams, small compression blocks, every codec, patched
// integer runs, dictionaries that fall back to plain, data pages v1 and
// v2, several stripes and row groups), with the columns of unused
// features null on every row and null version ids stored as nulls, as
// S3 writes them; each report, read through its manifest, must give the
// CSV report's rows, value for value.
func TestLayoutConformance(t *testing.T) {
	dir := t.TempDir()
	base := gen.Options{Rows: conformanceRows, Files: 2, Seed: 18, Versions: true, Null: gen.S3Unused, Workers: 2}
	csvOpts := base
	csvOpts.Format, csvOpts.Out = "csv", filepath.Join(dir, "csv")
	csv, err := gen.Generate(context.Background(), csvOpts)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := scanRows(t, csv.Manifest, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != conformanceRows {
		t.Fatalf("CSV report: %d rows", len(want))
	}
	// The rows hold what the layouts are about.
	nullVersions := 0
	for _, r := range want {
		if strings.Contains(r, "version_id=∅") {
			nullVersions++
		}
		if !strings.Contains(r, "replication_status=∅") || !strings.Contains(r, "checksum_algorithm=∅") {
			t.Fatalf("a column of an unused feature holds a value: %s", r)
		}
	}
	if nullVersions == 0 {
		t.Fatal("no null version id in the rows")
	}
	type layout struct {
		name, format string
		l            gen.Layout
	}
	var layouts []layout
	for _, l := range gen.ORCLayouts {
		layouts = append(layouts, layout{"orc/" + l.Name, "orc", gen.Layout{ORC: &l.Options, NullVersionIDs: true}})
	}
	for _, l := range gen.ParquetLayouts {
		layouts = append(layouts, layout{"parquet/" + l.Name, "parquet", gen.Layout{Parquet: &l, NullVersionIDs: true}})
	}
	// The generated reports' own layouts, with the null version as an
	// empty string.
	layouts = append(layouts, layout{"orc/generated", "orc", gen.Layout{}}, layout{"parquet/generated", "parquet", gen.Layout{}})
	for i, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			o := base
			o.Format, o.Out, o.Layout = l.format, filepath.Join(dir, fmt.Sprint(i)), l.l
			res, err := gen.Generate(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int{0, 333} {
				got, fields, err := scanRows(t, res.Manifest, inventory.ReaderOptions{BatchRows: batch, Workers: 2})
				if err != nil {
					t.Fatal(err)
				}
				if fields != gen.ReportFields(true) {
					t.Fatalf("fields %v, want %v", fields, gen.ReportFields(true))
				}
				diffRows(t, got, want)
			}
		})
	}
}
