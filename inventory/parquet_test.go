package inventory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// genReport writes a report of the given format into a fresh temp folder.
func genReport(t testing.TB, format string, rows int64, files int, versions bool, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), format)
	res, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Files: files, Format: format, Out: dir, Seed: seed, Versions: versions, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

// scanRows reads a whole report and renders every row as
// "field=value|..." ("∅" for null), in scan order.
func scanRows(t testing.TB, loc string, opts inventory.ReaderOptions) (rows []string, fields inventory.FieldSet, err error) {
	t.Helper()
	r, err := inventory.Open(context.Background(), loc, opts)
	if err != nil {
		return nil, 0, err
	}
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(inventory.Schema(r.Fields())) {
			return fmt.Errorf("batch schema %v, want %v", rec.Schema(), inventory.Schema(r.Fields()))
		}
		rows = append(rows, renderBatch(rec)...)
		return nil
	})
	return rows, r.Fields(), err
}

func renderBatch(rec arrow.RecordBatch) []string {
	out := make([]string, rec.NumRows())
	var sb strings.Builder
	for i := range out {
		sb.Reset()
		for c := 0; c < int(rec.NumCols()); c++ {
			if c > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(rec.ColumnName(c))
			sb.WriteByte('=')
			col := rec.Column(c)
			if !col.IsValid(i) {
				sb.WriteString("∅")
				continue
			}
			switch a := col.(type) {
			case *array.String:
				fmt.Fprintf(&sb, "%q", a.Value(i))
			case *array.Boolean:
				fmt.Fprint(&sb, a.Value(i))
			case *array.Int64:
				fmt.Fprint(&sb, a.Value(i))
			case *array.Timestamp:
				fmt.Fprint(&sb, int64(a.Value(i)))
			default:
				fmt.Fprintf(&sb, "?%T", col)
			}
		}
		out[i] = sb.String()
	}
	return out
}

func diffRows(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d rows, want %d", len(got), len(want))
	}
	bad := 0
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, got[i], want[i])
			if bad++; bad == 5 {
				t.FailNow()
			}
		}
	}
}

// TestFormatRoundTrip checks that gen --format parquet and --format orc
// read back, for the same seed, as exactly the rows of gen --format csv:
// every field and null, with several files read in parallel, small batches,
// and batches that span row groups or stripes.
func TestFormatRoundTrip(t *testing.T) {
	type tcase struct {
		name      string
		rows      int64
		files     int
		versions  bool
		batchRows int
		workers   int
	}
	common := []tcase{
		{"versions/3files/small-batches", 9000, 3, true, 1000, 2},
		{"no-versions/1file", 5000, 1, false, 0, 1},
	}
	for _, f := range []struct {
		format string
		span   tcase // a file of two row groups or stripes
	}{
		{"parquet", tcase{"versions/2-row-groups", gen.ParquetRowGroupRows + 3001, 1, true, 7000, 1}},
		{"orc", tcase{"versions/2-stripes", gen.ORCStripeRows + 3001, 1, true, 7000, 1}},
	} {
		for _, tc := range append(common, f.span) {
			t.Run(f.format+"/"+tc.name, func(t *testing.T) {
				csvM := genReport(t, "csv", tc.rows, tc.files, tc.versions, 42)
				otherM := genReport(t, f.format, tc.rows, tc.files, tc.versions, 42)
				opts := inventory.ReaderOptions{BatchRows: tc.batchRows, Workers: tc.workers}
				want, wantFields, err := scanRows(t, csvM, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, gotFields, err := scanRows(t, otherM, opts)
				if err != nil {
					t.Fatal(err)
				}
				if gotFields != wantFields {
					t.Fatalf("fields %v, want %v", gotFields, wantFields)
				}
				if int64(len(want)) != tc.rows {
					t.Fatalf("CSV gave %d rows, want %d", len(want), tc.rows)
				}
				diffRows(t, got, want)
				nulls := 0
				for _, r := range got {
					nulls += strings.Count(r, "∅")
				}
				if nulls == 0 {
					t.Error("no nulls in the report; the test does not cover them")
				}
			})
		}
	}
}

func TestParquetProjection(t *testing.T) {
	csvM := genReport(t, "csv", 3000, 1, true, 7)
	pqM := genReport(t, "parquet", 3000, 1, true, 7)
	for _, tc := range []struct {
		name string
		set  inventory.FieldSet
		want inventory.FieldSet
	}{
		{"size", inventory.Fields(inventory.Size), inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size)},
		{"plan", inventory.Fields(inventory.VersionID, inventory.IsLatest, inventory.IsDeleteMarker, inventory.Size, inventory.StorageClass, inventory.IntelligentTieringAccessTier),
			inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest, inventory.IsDeleteMarker, inventory.Size, inventory.StorageClass, inventory.IntelligentTieringAccessTier)},
		{"timestamps", inventory.Fields(inventory.LastModifiedDate, inventory.ObjectLockRetainUntilDate, inventory.LifecycleExpirationDate),
			inventory.Fields(inventory.Bucket, inventory.Key, inventory.LastModifiedDate, inventory.ObjectLockRetainUntilDate)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := inventory.ReaderOptions{Fields: tc.set, BatchRows: 500}
			want, _, err := scanRows(t, csvM, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, fields, err := scanRows(t, pqM, opts)
			if err != nil {
				t.Fatal(err)
			}
			if fields != tc.want {
				t.Fatalf("fields %v, want %v", fields, tc.want)
			}
			diffRows(t, got, want)
		})
	}
}

// pqReport writes a Parquet report holding the given data files
// (data/f<i>.parquet), with a correct manifest (sizes and MD5s) unless
// mutate changes it.
func pqReport(t testing.TB, schema string, files [][]byte, mutate func(m map[string]any)) string {
	t.Helper()
	return writeReport(t, "Parquet", ".parquet", schema, files, mutate)
}

// writeReport writes a report of the given data files through gen,
// without manifest.checksum (tests edit manifest.json).
func writeReport(t testing.TB, format, ext, schema string, files [][]byte, mutate func(m map[string]any)) string {
	t.Helper()
	spec := gen.ReportSpec{Format: format, Schema: schema, Bucket: "b", Destination: "arn:aws:s3:::d", Created: "1", Edit: mutate, NoChecksum: true}
	for i, b := range files {
		spec.Files = append(spec.Files, gen.ReportFile{Key: fmt.Sprintf("data/f%d%s", i, ext), Data: b})
	}
	m, err := gen.WriteReport(t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeParquet encodes rows with parquet-go's generic writer.
func writeParquet[T any](t testing.TB, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const fullSchema = "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; }"

// TestParquetTypes covers physical and logical type variants S3 Inventory
// does not write today but Parquet allows: timestamp units, INT96, int32
// sizes, plain int64 timestamps, upper-cased enums, upper-case names.
func TestParquetTypes(t *testing.T) {
	const ms = int64(1_724_254_106_123) // 2024-08-21T15:28:26.123Z
	type micros struct {
		Bucket string `parquet:"Bucket"`
		Key    string `parquet:"KEY"`
		LM     int64  `parquet:"last_modified_date,timestamp(microsecond)"`
		Lock   int64  `parquet:"object_lock_retain_until_date,timestamp(nanosecond)"`
		Size   int32  `parquet:"size"`
		SC     string `parquet:"storage_class,optional,dict"`
	}
	type int96 struct {
		Bucket string           `parquet:"bucket"`
		Key    string           `parquet:"key"`
		LM     deprecated.Int96 `parquet:"last_modified_date"`
		Lock   int64            `parquet:"object_lock_retain_until_date"`
	}
	nanosOfDay := (ms%86_400_000)*1_000_000 + 456
	day := uint32(2_440_588 + ms/86_400_000)
	for _, tc := range []struct {
		name string
		file []byte
		want []string
	}{
		{"micros-nanos-int32-enum", writeParquet(t, []micros{{"b", "k1", ms*1000 + 999, ms*1_000_000 + 1, 7, "glacier"}, {"b", "k2", -1, -1, 0, ""}}),
			[]string{
				fmt.Sprintf(`bucket="b"|key="k1"|size=7|last_modified_date=%d|storage_class="GLACIER"|object_lock_retain_until_date=%d`, ms, ms),
				`bucket="b"|key="k2"|size=0|last_modified_date=-1|storage_class=∅|object_lock_retain_until_date=-1`,
			}},
		{"int96-and-plain-int64", writeParquet(t, []int96{{"b", "k", deprecated.Int96{uint32(nanosOfDay), uint32(nanosOfDay >> 32), day}, ms}}),
			// size and storage_class are in fileSchema but not in the file: null.
			[]string{fmt.Sprintf(`bucket="b"|key="k"|size=∅|last_modified_date=%d|storage_class=∅|object_lock_retain_until_date=%d`, ms, ms)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary storage_class (UTF8); optional int64 object_lock_retain_until_date (TIMESTAMP_MILLIS); }"
			m := pqReport(t, schema, [][]byte{tc.file}, nil)
			got, _, err := scanRows(t, m, inventory.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Columns come in canonical order; compare as sets of fields.
			for i := range got {
				got[i] = canon(got[i])
			}
			for i := range tc.want {
				tc.want[i] = canon(tc.want[i])
			}
			diffRows(t, got, tc.want)
		})
	}
}

// canon sorts a rendered row's fields, so tests can list them in any order.
func canon(row string) string {
	parts := strings.Split(row, "|")
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	return strings.Join(parts, "|")
}

// TestParquetBadInput checks that damaged files and files that break the
// inventory's rules give named errors, never a panic.
func TestParquetBadInput(t *testing.T) {
	good := genReport(t, "parquet", 2000, 1, true, 3)
	goodMan, err := inventory.OpenManifest(context.Background(), good, inventory.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	goodData, err := os.ReadFile(goodMan.Files[0].Location)
	if err != nil {
		t.Fatal(err)
	}
	withFile := func(b []byte, keepManifestEntry bool) string {
		var mut func(map[string]any)
		if keepManifestEntry {
			mut = func(m map[string]any) {
				m["files"] = []map[string]any{{"key": "data/f0.parquet", "size": len(goodData), "MD5checksum": goodMan.Files[0].MD5checksum}}
			}
		}
		return pqReport(t, goodMan.FileSchema, [][]byte{b}, mut)
	}
	patch := func(off int, v []byte) []byte {
		b := bytes.Clone(goodData)
		if off < 0 {
			off += len(b)
		}
		copy(b[off:], v)
		return b
	}
	type row struct {
		Bucket string `parquet:"bucket"`
		Key    string `parquet:"key"`
	}
	type noKey struct {
		Bucket string `parquet:"bucket"`
		Size   int64  `parquet:"size"`
	}
	type intKey struct {
		Bucket string `parquet:"bucket"`
		Key    int64  `parquet:"key"`
	}
	type optKey struct {
		Bucket string  `parquet:"bucket"`
		Key    *string `parquet:"key,optional"`
	}
	type negSize struct {
		Bucket string `parquet:"bucket"`
		Key    string `parquet:"key"`
		Size   int64  `parquet:"size"`
	}
	k := "k"
	for _, tc := range []struct {
		name      string
		loc       string
		skip      bool
		wantErr   error
		wantField string
	}{
		{"truncated/checked", withFile(goodData[:len(goodData)/2], true), false, inventory.ErrTruncated, ""},
		{"truncated/unchecked", withFile(goodData[:len(goodData)/2], true), true, inventory.ErrTruncated, ""},
		{"truncated/tiny", withFile(goodData[:5], false), false, inventory.ErrTruncated, ""},
		{"bad-magic/head", withFile(patch(0, []byte("PAR2")), false), false, inventory.ErrTruncated, ""},
		{"bad-magic/tail", withFile(patch(-4, []byte("PAR0")), false), false, inventory.ErrTruncated, ""},
		{"footer-length-lies", withFile(patch(-8, []byte{0xff, 0xff, 0xff, 0x7f}), false), false, inventory.ErrTruncated, ""},
		{"footer-garbage", withFile(patch(-40, bytes.Repeat([]byte{0xf9}, 32)), false), false, inventory.ErrCorrupt, ""},
		{"page-garbage", withFile(patch(4, bytes.Repeat([]byte{0xff}, 64)), false), false, inventory.ErrCorrupt, "bucket"},
		{"md5-mismatch", withFile(patch(len(goodData)/2, []byte{0x55, 0xaa}), true), false, inventory.ErrChecksum, ""},
		{"size-mismatch", pqReport(t, goodMan.FileSchema, [][]byte{goodData}, func(m map[string]any) {
			m["files"].([]map[string]any)[0]["size"] = len(goodData) + 1
		}), false, inventory.ErrTruncated, ""},
		{"no-key-column", pqReport(t, fullSchema, [][]byte{writeParquet(t, []noKey{{"b", 1}})}, nil), false, inventory.ErrManifest, "key"},
		{"key-not-binary", pqReport(t, fullSchema, [][]byte{writeParquet(t, []intKey{{"b", 1}})}, nil), false, inventory.ErrBadValue, "key"},
		{"key-not-utf8", pqReport(t, fullSchema, [][]byte{writeParquet(t, []row{{"b", "ok"}, {"b", "bad\xff"}})}, nil), false, inventory.ErrBadKey, "key"},
		{"key-empty", pqReport(t, fullSchema, [][]byte{writeParquet(t, []row{{"b", ""}})}, nil), false, inventory.ErrBadKey, "key"},
		{"key-null", pqReport(t, fullSchema, [][]byte{writeParquet(t, []optKey{{"b", &k}, {"b", nil}})}, nil), false, inventory.ErrBadKey, "key"},
		{"bucket-empty", pqReport(t, fullSchema, [][]byte{writeParquet(t, []row{{"", "k"}})}, nil), false, inventory.ErrBadValue, "bucket"},
		{"size-negative", pqReport(t, fullSchema, [][]byte{writeParquet(t, []negSize{{"b", "k", -5}})}, nil), false, inventory.ErrBadValue, "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := scanRows(t, tc.loc, inventory.ReaderOptions{SkipChecksums: tc.skip})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			var de *inventory.DataError
			if !errors.As(err, &de) {
				t.Fatalf("got %T (%v), want a *DataError", err, err)
			}
			if !strings.HasSuffix(de.File, ".parquet") {
				t.Errorf("error names file %q, want the data file", de.File)
			}
			if tc.wantField != "" && de.Field != tc.wantField {
				t.Errorf("error names field %q, want %q (%v)", de.Field, tc.wantField, err)
			}
			t.Log(err)
		})
	}
}

// TestParquetDictionaryPages writes the same rows with the text columns
// dictionary encoded and plain, in small pages and row groups, and checks
// that the reader gives the same rows, or the same error (sentinel, row,
// field and value), for both: plain pages are copied in one piece per
// run, dictionary pages value by value (fixed-size copies for short
// entries, doubling copies for a one-entry dictionary).
func TestParquetDictionaryPages(t *testing.T) {
	type dictRow struct {
		Bucket  string  `parquet:"bucket,dict"`
		Key     string  `parquet:"key,dict"`
		Version *string `parquet:"version_id,optional,dict"`
		Latest  *bool   `parquet:"is_latest,optional"`
		Size    *int64  `parquet:"size,optional"`
		ETag    string  `parquet:"e_tag,optional,dict"`
		Class   string  `parquet:"storage_class,optional,dict"`
	}
	type plainRow struct {
		Bucket  string  `parquet:"bucket"`
		Key     string  `parquet:"key"`
		Version *string `parquet:"version_id,optional"`
		Latest  *bool   `parquet:"is_latest,optional"`
		Size    *int64  `parquet:"size,optional"`
		ETag    string  `parquet:"e_tag,optional"`
		Class   string  `parquet:"storage_class,optional"`
	}
	const schema = "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary version_id (UTF8); " +
		"optional boolean is_latest; optional int64 size; optional binary e_tag (UTF8); optional binary storage_class (UTF8); }"
	write := func(rows []dictRow, dict bool) []byte {
		var buf bytes.Buffer
		opts := []parquet.WriterOption{parquet.PageBufferSize(512), parquet.MaxRowsPerRowGroup(170)}
		var err error
		if dict {
			w := parquet.NewGenericWriter[dictRow](&buf, opts...)
			if _, err = w.Write(rows); err == nil {
				err = w.Close()
			}
		} else {
			plain := make([]plainRow, len(rows))
			for i, r := range rows {
				plain[i] = plainRow(r)
			}
			w := parquet.NewGenericWriter[plainRow](&buf, opts...)
			if _, err = w.Write(plain); err == nil {
				err = w.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	classes := []string{"standard", "Glacier", "", "INTELLIGENT_TIERING", "DEEP_ARCHIVE"}
	v, empty := "3HL4kqtJlcpXroDTDmJ", ""
	base := func(n int) []dictRow {
		rows := make([]dictRow, n)
		for i := range rows {
			r := dictRow{Bucket: "bucket-1", Key: fmt.Sprintf("k/%d/naïve", i%37), Class: classes[i%len(classes)], ETag: fmt.Sprintf("e%d", i%3)}
			if i%5 == 0 {
				r.ETag = strings.Repeat("x", 40) + fmt.Sprint(i%2) // a short dictionary with long entries
			}
			switch i % 4 {
			case 0:
				r.Version = &v
			case 1:
				r.Version = &empty
			}
			if i%3 != 0 {
				latest, size := i%2 == 0, int64(i*1000)
				r.Latest, r.Size = &latest, &size
			}
			rows[i] = r
		}
		return rows
	}
	with := func(n int, edit func(rows []dictRow)) []dictRow {
		rows := base(n)
		edit(rows)
		return rows
	}
	for _, tc := range []struct {
		name string
		rows []dictRow
	}{
		{"values", base(500)},
		{"bucket-empty", with(500, func(r []dictRow) { r[333].Bucket = "" })},
		{"key-empty", with(500, func(r []dictRow) { r[0].Key = "" })},
		{"key-not-utf8", with(500, func(r []dictRow) { r[140].Key, r[141].Key = "bad\xff", "bad\xff" })},
		{"key-starts-mid-rune", with(500, func(r []dictRow) { r[99].Key, r[98].Key = "\xa9", "ok\xc3" })},
		{"size-negative", with(500, func(r []dictRow) { n := int64(-1); r[401].Size = &n })},
	} {
		dict, plain := write(tc.rows, true), write(tc.rows, false)
		for _, batch := range []int{1, 7, 100, 1000} {
			t.Run(fmt.Sprintf("%s/batch%d", tc.name, batch), func(t *testing.T) {
				want, _, werr := scanRows(t, pqReport(t, schema, [][]byte{plain}, nil), inventory.ReaderOptions{BatchRows: batch})
				got, _, gerr := scanRows(t, pqReport(t, schema, [][]byte{dict}, nil), inventory.ReaderOptions{BatchRows: batch})
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("plain: %v; dictionary: %v", werr, gerr)
				}
				if werr == nil {
					diffRows(t, got, want)
					return
				}
				var wde, gde *inventory.DataError
				if !errors.As(werr, &wde) || !errors.As(gerr, &gde) {
					t.Fatalf("plain: %T %v; dictionary: %T %v, want *DataError", werr, werr, gerr, gerr)
				}
				if gde.Line != wde.Line || gde.Field != wde.Field || gde.Value != wde.Value || gde.Expected != wde.Expected ||
					errors.Is(gerr, inventory.ErrBadKey) != errors.Is(werr, inventory.ErrBadKey) {
					t.Fatalf("plain: %v; dictionary: %v", werr, gerr)
				}
			})
		}
	}
}

// TestParquetErrorRow checks that a bad value's error names its row.
func TestParquetErrorRow(t *testing.T) {
	type row struct {
		Bucket string `parquet:"bucket"`
		Key    string `parquet:"key"`
	}
	rows := make([]row, 100)
	for i := range rows {
		rows[i] = row{"b", fmt.Sprint("k", i)}
	}
	rows[57].Key = "\xc0"
	m := pqReport(t, fullSchema, [][]byte{writeParquet(t, rows)}, nil)
	_, _, err := scanRows(t, m, inventory.ReaderOptions{BatchRows: 10})
	var de *inventory.DataError
	if !errors.As(err, &de) || de.Line != 58 || de.Field != "key" || !errors.Is(err, inventory.ErrBadKey) {
		t.Fatalf("got %v (line %d), want a bad key at row 58", err, de.Line)
	}
}
