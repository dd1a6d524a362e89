package inventory_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/layouts from gen's layouts")

// fixtureOptions are the generator options of the layout fixtures: a
// small versioned report, one file, the columns of unused features null
// on every row and null version ids stored as nulls, as S3 writes them.
func fixtureOptions(format string) gen.Options {
	return gen.Options{Rows: fixtureRows, Files: 1, Seed: 181, Versions: true, Null: gen.S3Unused, Format: format, Workers: 1}
}

const fixtureRows = 200

// layoutFixture is one committed data file and how it was written.
type layoutFixture struct {
	file   string // under testdata/layouts
	format string
	layout gen.Layout
}

// layoutFixtures returns a fixture per layout of gen.ORCLayouts and
// gen.ParquetLayouts, scaled to fixtureRows: stripes and row groups of
// 64 rows, Parquet pages and dictionary limits of 1 KiB.
func layoutFixtures() []layoutFixture {
	var out []layoutFixture
	for _, l := range gen.ORCLayouts {
		o := l.Options
		if o.StripeRows != 0 {
			o.StripeRows = 64
		}
		out = append(out, layoutFixture{"orc-" + l.Name + ".orc", "orc", gen.Layout{ORC: &o, NullVersionIDs: true}})
	}
	for _, l := range gen.ParquetLayouts {
		if l.RowGroupRows != 0 {
			l.RowGroupRows = 64
		}
		if l.PageBytes != 0 {
			l.PageBytes = 1 << 10
		}
		if l.DictionaryMaxBytes != 0 {
			l.DictionaryMaxBytes = 1 << 10
		}
		out = append(out, layoutFixture{"parquet-" + l.Name + ".parquet", "parquet", gen.Layout{Parquet: &l, NullVersionIDs: true}})
	}
	return out
}

// fixtureFiles returns the committed layout fixtures' paths.
func fixtureFiles(t testing.TB, ext string) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "layouts", "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no layout fixtures (%v): run go test ./inventory -run TestLayoutFixtures -update-fixtures", err)
	}
	return files
}

// TestLayoutFixtures reads each committed fixture (testdata/layouts,
// written by gen in every ORC and Parquet layout it lists) through a
// manifest and compares its rows with the same rows generated as CSV.gz
// now. With -update-fixtures it rewrites them first. A failure after a
// change to gen's rows (not to a reader) means the fixtures need
// rewriting.
func TestLayoutFixtures(t *testing.T) {
	dir := t.TempDir()
	if *updateFixtures {
		os.RemoveAll(filepath.Join("testdata", "layouts"))
		os.MkdirAll(filepath.Join("testdata", "layouts"), 0o755)
		for _, f := range layoutFixtures() {
			o := fixtureOptions(f.format)
			o.Out, o.Layout = filepath.Join(dir, "update", f.file), f.layout
			if _, err := gen.Generate(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(o.Out, "data", "*"))
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "layouts", f.file), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := fixtureOptions("csv")
	o.Out = filepath.Join(dir, "csv")
	csv, err := gen.Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := scanRows(t, csv.Manifest, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixtures := layoutFixtures()
	files := append(fixtureFiles(t, ".orc"), fixtureFiles(t, ".parquet")...)
	if len(files) != len(fixtures) {
		t.Errorf("%d fixtures in testdata/layouts, gen lists %d layouts (run with -update-fixtures)", len(files), len(fixtures))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			format, schema := "ORC", gen.ORCSchema(gen.ReportFields(true))
			if strings.HasSuffix(p, ".parquet") {
				format, schema = "Parquet", gen.ParquetSchema(gen.ReportFields(true))
			}
			m, err := gen.WriteReport(t.TempDir(), gen.ReportSpec{Format: format, Schema: schema,
				Files: []gen.ReportFile{{Key: "data/" + filepath.Base(p), Data: data}}})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := scanRows(t, m, inventory.ReaderOptions{BatchRows: 64})
			if err != nil {
				t.Fatal(err)
			}
			diffRows(t, got, want)
		})
	}
}
