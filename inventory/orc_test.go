package inventory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// orcMillis marks a timestamp value (milliseconds since the epoch) for
// writeORC.
type orcMillis int64

// writeORC encodes rows (one []any per row: string, bool, int64,
// orcMillis or nil for null) with the orc package's writer, stripeRows
// rows per stripe.
func writeORC(t testing.TB, stripeRows int, fields []orc.Field, rows [][]any) []byte {
	t.Helper()
	return writeORCOpts(t, &orc.WriterOptions{StripeRows: stripeRows}, fields, rows)
}

// writeORCOpts is writeORC with writer options.
func writeORCOpts(t testing.TB, opts *orc.WriterOptions, fields []orc.Field, rows [][]any) []byte {
	t.Helper()
	schema, err := orc.NewSchema(fields...)
	if err != nil {
		t.Fatal(err)
	}
	b := &orc.Batch{NumRows: len(rows)}
	for k, f := range fields {
		c := &orc.Column{Type: schema.Children[k], Len: len(rows), Valid: make([]bool, len(rows))}
		if f.Kind == orc.String {
			c.Offsets = []int32{0}
		}
		for _, r := range rows {
			v := r[k]
			switch f.Kind {
			case orc.String:
				s, _ := v.(string)
				c.Bytes = append(c.Bytes, s...)
				c.Offsets = append(c.Offsets, int32(len(c.Bytes)))
			case orc.Boolean:
				x, _ := v.(bool)
				c.Bool = append(c.Bool, x)
			case orc.Long:
				x, _ := v.(int64)
				c.Int64 = append(c.Int64, x)
			case orc.Timestamp:
				ms, _ := v.(orcMillis)
				sec, ns := int64(ms)/1000, int64(ms)%1000*1_000_000
				if ns < 0 {
					sec, ns = sec-1, ns+1_000_000_000
				}
				c.Int64 = append(c.Int64, sec)
				c.Nanos = append(c.Nanos, int32(ns))
			}
		}
		for i, r := range rows {
			c.Valid[i] = r[k] != nil
		}
		b.Names = append(b.Names, f.Name)
		b.Columns = append(b.Columns, c)
	}
	var buf bytes.Buffer
	w, err := orc.NewWriter(&buf, schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// orcReport writes an ORC report holding the given data files
// (data/f<i>.orc), with a correct manifest (sizes and MD5s) unless mutate
// changes it.
func orcReport(t testing.TB, schema string, files [][]byte, mutate func(m map[string]any)) string {
	t.Helper()
	return writeReport(t, "ORC", ".orc", schema, files, mutate)
}

const orcBasicSchema = "struct<bucket:string,key:string,size:bigint>"

var orcBasicFields = []orc.Field{{Name: "bucket", Kind: orc.String}, {Name: "key", Kind: orc.String}, {Name: "size", Kind: orc.Long}}

func TestORCProjection(t *testing.T) {
	csvM := genReport(t, "csv", 3000, 1, true, 7)
	orcM := genReport(t, "orc", 3000, 1, true, 7)
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
			got, fields, err := scanRows(t, orcM, opts)
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

// readORC reads one ORC file through NewORCReader and renders its rows.
func readORC(t testing.TB, data []byte, set inventory.FieldSet, batchRows, readAhead int) ([]string, error) {
	t.Helper()
	r, err := inventory.NewORCReader(bytes.NewReader(data), int64(len(data)), nil, "f.orc", set, batchRows, readAhead)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows []string
	for {
		rec, err := r.Next(context.Background())
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if rec.NumRows() > int64(batchRows) {
			t.Errorf("batch of %d rows, at most %d asked", rec.NumRows(), batchRows)
		}
		rows = append(rows, renderBatch(rec)...)
		rec.Release()
	}
}

// TestORCStripesAndReadAhead reads a file of many small stripes with
// batches that do not divide them, sequentially and with read-ahead, and
// stops early (Close with stripes in flight must not leak or block).
func TestORCStripesAndReadAhead(t *testing.T) {
	var rows [][]any
	var want []string
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("k/%04d", i)
		var size any = int64(i)
		wantSize := fmt.Sprint(i)
		if i%7 == 0 {
			size, wantSize = nil, "∅"
		}
		rows = append(rows, []any{"b", key, size})
		want = append(want, fmt.Sprintf("bucket=%q|key=%q|size=%s", "b", key, wantSize))
	}
	data := writeORC(t, 64, orcBasicFields, rows)
	set := inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size)
	for _, ahead := range []int{0, 1, 2, 5} {
		for _, batch := range []int{1, 37, 64, 100, 5000} {
			t.Run(fmt.Sprintf("ahead%d/batch%d", ahead, batch), func(t *testing.T) {
				got, err := readORC(t, data, set, batch, ahead)
				if err != nil {
					t.Fatal(err)
				}
				diffRows(t, got, want)
			})
		}
	}
	// Early close.
	r, err := inventory.NewORCReader(bytes.NewReader(data), int64(len(data)), nil, "f.orc", set, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A cancelled context stops Next.
	r, _ = inventory.NewORCReader(bytes.NewReader(data), int64(len(data)), nil, "f.orc", set, 10, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v", err)
	}
	r.Close()
}

// TestORCValues covers value rules: timestamps before 1970 round down
// (instants in the second before the epoch are ambiguous in ORC itself:
// writers truncate them to second 0, so they are not tested here),
// enums are upper-cased, empty strings are null, keys are raw, columns are
// matched by name in any order and case, and a projected field the file
// lacks is null.
func TestORCValues(t *testing.T) {
	fields := []orc.Field{
		{Name: "Storage_Class", Kind: orc.String},
		{Name: "key", Kind: orc.String},
		{Name: "last_modified_date", Kind: orc.Timestamp},
		{Name: "bucket", Kind: orc.String},
		{Name: "is_latest", Kind: orc.Boolean},
		{Name: "object_lock_retain_until_date", Kind: orc.Long}, // bigint, as Athena's DDL has it
		{Name: "e_tag", Kind: orc.String},
		{Name: "extra", Kind: orc.String},
	}
	rows := [][]any{
		{"glacier", "a+b%20c d/naïve", orcMillis(1_724_254_106_123), "b", true, int64(1_000), "", "x"},
		{"Standard_IA", "k2", orcMillis(-1001), "b", false, nil, "etag", nil},
		{nil, "k3", orcMillis(-1500), "b", nil, int64(-5), nil, "y"},
		{"", "k4", nil, "b", true, int64(0), "e", ""},
	}
	data := writeORC(t, 1000, fields, rows)
	set := inventory.Fields(inventory.Bucket, inventory.Key, inventory.IsLatest, inventory.LastModifiedDate, inventory.ETag,
		inventory.StorageClass, inventory.ObjectLockRetainUntilDate, inventory.ChecksumAlgorithm)
	got, err := readORC(t, data, set, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`bucket="b"|key="a+b%20c d/naïve"|is_latest=true|last_modified_date=1724254106123|e_tag=∅|storage_class="GLACIER"|object_lock_retain_until_date=1000|checksum_algorithm=∅`,
		`bucket="b"|key="k2"|is_latest=false|last_modified_date=-1001|e_tag="etag"|storage_class="STANDARD_IA"|object_lock_retain_until_date=∅|checksum_algorithm=∅`,
		`bucket="b"|key="k3"|is_latest=∅|last_modified_date=-1500|e_tag=∅|storage_class=∅|object_lock_retain_until_date=-5|checksum_algorithm=∅`,
		`bucket="b"|key="k4"|is_latest=true|last_modified_date=∅|e_tag="e"|storage_class=∅|object_lock_retain_until_date=0|checksum_algorithm=∅`,
	}
	diffRows(t, got, want)
}

// TestORCBadInput checks that damaged files and files that break the
// inventory's rules give named errors, never a panic.
func TestORCBadInput(t *testing.T) {
	good := genReport(t, "orc", 2000, 1, true, 3)
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
				m["files"] = []map[string]any{{"key": "data/f0.orc", "size": len(goodData), "MD5checksum": goodMan.Files[0].MD5checksum}}
			}
		}
		return orcReport(t, goodMan.FileSchema, [][]byte{b}, mut)
	}
	patch := func(off int, v []byte) []byte {
		b := bytes.Clone(goodData)
		if off < 0 {
			off += len(b)
		}
		copy(b[off:], v)
		return b
	}
	ok := orc.Field{Name: "bucket", Kind: orc.String}
	keyField := orc.Field{Name: "key", Kind: orc.String}
	sample := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "orc", name))
		if err != nil {
			b, err = os.ReadFile(filepath.Join("/work/shared/testdata/orc", name))
		}
		if err != nil {
			t.Skip("sample ORC files not found:", err)
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		loc       string
		skip      bool
		wantErr   error
		wantField string
	}{
		{"truncated/checked", withFile(goodData[:len(goodData)/2], true), false, inventory.ErrTruncated, ""},
		{"truncated/unchecked", withFile(goodData[:len(goodData)/2], true), true, orc.ErrCorrupt, ""},
		{"truncated/tiny", withFile(goodData[:2], false), false, orc.ErrCorrupt, ""},
		{"bad-magic", withFile(func() []byte { b := patch(0, []byte("XYZ")); copy(b[len(b)-4:], "XYZ"); return b }(), false), false, orc.ErrCorrupt, ""},
		{"postscript-length-lies", withFile(patch(-1, []byte{0xff}), false), false, orc.ErrCorrupt, ""},
		{"stripe-garbage", withFile(patch(3, bytes.Repeat([]byte{0xff}, 64)), false), false, orc.ErrCorrupt, "bucket"},
		{"md5-mismatch", withFile(patch(len(goodData)/2, []byte{0x55, 0xaa}), true), false, inventory.ErrChecksum, ""},
		{"size-mismatch", orcReport(t, goodMan.FileSchema, [][]byte{goodData}, func(m map[string]any) {
			m["files"].([]map[string]any)[0]["size"] = len(goodData) + 1
		}), false, inventory.ErrTruncated, ""},
		{"no-key-column", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, {Name: "size", Kind: orc.Long}}, [][]any{{"b", int64(1)}})}, nil), false, inventory.ErrManifest, "key"},
		{"not-inventory", orcReport(t, orcBasicSchema, [][]byte{sample("TestOrcFile.test1.orc")}, nil), false, inventory.ErrManifest, "bucket"},
		{"bare-timestamp-root", orcReport(t, orcBasicSchema, [][]byte{sample("TestOrcFile.testTimestamp.orc")}, nil), false, inventory.ErrManifest, "bucket"},
		{"key-not-string", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, {Name: "key", Kind: orc.Long}}, [][]any{{"b", int64(1)}})}, nil), false, inventory.ErrBadValue, "key"},
		{"two-key-columns", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField, {Name: "Key", Kind: orc.String}}, [][]any{{"b", "k", "k"}})}, nil), false, inventory.ErrManifest, "Key"},
		{"key-not-utf8", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField}, [][]any{{"b", "ok"}, {"b", "bad\xff"}})}, nil), false, inventory.ErrBadKey, "key"},
		{"key-starts-mid-rune", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField}, [][]any{{"b", "ok\xc3"}, {"b", "\xa9"}})}, nil), false, inventory.ErrBadKey, "key"},
		{"key-empty", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField}, [][]any{{"b", ""}})}, nil), false, inventory.ErrBadKey, "key"},
		{"key-null", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField}, [][]any{{"b", "k"}, {"b", nil}})}, nil), false, inventory.ErrBadKey, "key"},
		{"bucket-empty", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, []orc.Field{ok, keyField}, [][]any{{"", "k"}})}, nil), false, inventory.ErrBadValue, "bucket"},
		{"size-negative", orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 10, orcBasicFields, [][]any{{"b", "k", int64(-5)}})}, nil), false, inventory.ErrBadValue, "size"},
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
			if !strings.HasSuffix(de.File, ".orc") {
				t.Errorf("error names file %q, want the data file", de.File)
			}
			if tc.wantField != "" && de.Field != tc.wantField {
				t.Errorf("error names field %q, want %q (%v)", de.Field, tc.wantField, err)
			}
			if errors.Is(err, orc.ErrCorrupt) && !errors.Is(err, inventory.ErrCorrupt) {
				t.Errorf("%v unwraps to orc.ErrCorrupt but not to inventory.ErrCorrupt", err)
			}
			t.Log(err)
		})
	}
}

// TestORCDictionaryEncodings writes the same rows with every string
// column dictionary encoded and with none, and checks that the reader
// gives the same rows, or the same error (sentinel, row, field and value),
// for both: dictionary columns are copied from the dictionary (with
// fixed-size copies for short entries, doubling copies for a one-entry
// dictionary) and direct ones in one piece per run.
func TestORCDictionaryEncodings(t *testing.T) {
	fields := []orc.Field{
		{Name: "bucket", Kind: orc.String},
		{Name: "key", Kind: orc.String},
		{Name: "storage_class", Kind: orc.String},
		{Name: "e_tag", Kind: orc.String},
		{Name: "version_id", Kind: orc.String},
	}
	set := inventory.Fields(inventory.Bucket, inventory.Key, inventory.StorageClass, inventory.ETag, inventory.VersionID)
	classes := []any{"standard", "Glacier", nil, "", "INTELLIGENT_TIERING", "DEEP_ARCHIVE"}
	long := strings.Repeat("x", 40)
	base := func(n int) [][]any {
		rows := make([][]any, n)
		for i := range rows {
			var etag any = fmt.Sprintf("e%d", i%3)
			if i%5 == 0 {
				etag = long + fmt.Sprint(i%2) // a short dictionary with long entries
			}
			var vid any = "v"
			if i%4 == 1 {
				vid = nil
			}
			rows[i] = []any{"bucket-1", fmt.Sprintf("k/%d/naïve", i%37), classes[i%len(classes)], etag, vid}
		}
		return rows
	}
	with := func(n int, edit func(rows [][]any)) [][]any {
		rows := base(n)
		edit(rows)
		return rows
	}
	for _, tc := range []struct {
		name string
		rows [][]any
	}{
		{"values", base(300)},
		{"bucket-null", with(300, func(r [][]any) { r[170][0] = nil })},
		{"bucket-empty", with(300, func(r [][]any) { r[3][0] = "" })},
		{"key-null", with(300, func(r [][]any) { r[250][1] = nil })},
		{"key-empty", with(300, func(r [][]any) { r[0][1] = "" })},
		{"key-not-utf8", with(300, func(r [][]any) { r[140][1], r[141][1] = "bad\xff", "bad\xff" })},
		{"key-starts-mid-rune", with(300, func(r [][]any) { r[99][1], r[98][1] = "\xa9", "ok\xc3" })},
		{"key-not-utf8-then-empty", with(300, func(r [][]any) { r[20][1], r[21][1], r[24][1] = "bad\xff", "bad\xff", "" })},
	} {
		dict := writeORCOpts(t, &orc.WriterOptions{StripeRows: 128, DictionaryThreshold: 1}, fields, tc.rows)
		direct := writeORCOpts(t, &orc.WriterOptions{StripeRows: 128, DictionaryThreshold: -1}, fields, tc.rows)
		for _, f := range []struct {
			data []byte
			dict bool
		}{{dict, true}, {direct, false}} {
			of, err := orc.Open(bytes.NewReader(f.data), int64(len(f.data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			var b orc.Batch
			if err := of.ReadStripeInto(&b, 0, nil, &orc.ReadOptions{Dictionaries: true}); err != nil {
				t.Fatal(err)
			}
			for k, c := range b.Columns {
				if (c.Dict != nil) != f.dict {
					t.Fatalf("%s: column %s kept as a dictionary: %v, want %v", tc.name, b.Names[k], c.Dict != nil, f.dict)
				}
			}
		}
		for _, batch := range []int{1, 7, 100, 1000} {
			t.Run(fmt.Sprintf("%s/batch%d", tc.name, batch), func(t *testing.T) {
				want, werr := readORC(t, direct, set, batch, 1)
				got, gerr := readORC(t, dict, set, batch, 1)
				diffRows(t, got, want)
				var wde, gde *inventory.DataError
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("direct: %v; dictionary: %v", werr, gerr)
				}
				if werr == nil {
					return
				}
				if !errors.As(werr, &wde) || !errors.As(gerr, &gde) {
					t.Fatalf("direct: %T %v; dictionary: %T %v, want *DataError", werr, werr, gerr, gerr)
				}
				if gde.Line != wde.Line || gde.Field != wde.Field || gde.Value != wde.Value || gde.Expected != wde.Expected ||
					errors.Is(gerr, inventory.ErrBadKey) != errors.Is(werr, inventory.ErrBadKey) {
					t.Fatalf("direct: %v; dictionary: %v", werr, gerr)
				}
			})
		}
	}
}

// TestORCSampleFiles opens every file of the shared ORC samples as an
// inventory data file: none has bucket and key columns, so each must fail
// with a *DataError (ErrManifest, or a decode error for the corrupt ones),
// never a panic.
func TestORCSampleFiles(t *testing.T) {
	dir := "/work/shared/testdata/orc"
	names, _ := filepath.Glob(filepath.Join(dir, "*.orc"))
	corrupt, _ := filepath.Glob(filepath.Join(dir, "corrupt", "*.orc"))
	if len(names) == 0 {
		t.Skip("no sample ORC files in", dir)
	}
	for _, n := range append(names, corrupt...) {
		t.Run(filepath.Base(n), func(t *testing.T) {
			data, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readORC(t, data, inventory.AllFields, 1000, 2)
			var de *inventory.DataError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a *DataError", err)
			}
			t.Log(err)
		})
	}
}

// TestORCErrorRow checks that a bad value's error names its row, stripe
// and column.
func TestORCErrorRow(t *testing.T) {
	rows := make([][]any, 100)
	for i := range rows {
		rows[i] = []any{"b", fmt.Sprint("k", i)}
	}
	rows[57][1] = "\xc0"
	m := orcReport(t, orcBasicSchema, [][]byte{writeORC(t, 20, orcBasicFields[:2], rows)}, nil)
	_, _, err := scanRows(t, m, inventory.ReaderOptions{BatchRows: 10})
	var de *inventory.DataError
	if !errors.As(err, &de) || de.Line != 58 || de.Field != "key" || !errors.Is(err, inventory.ErrBadKey) || !strings.Contains(err.Error(), "stripe 2") {
		t.Fatalf("got %v, want a bad key at row 58 in stripe 2", err)
	}
}

// BenchmarkORCRead measures decoding a versioned 1M-row ORC report into
// record batches with one file worker, next to the CSV.gz report of the
// same rows: the plan projection with and without the MD5 pass, every
// field, and ORC without stripe read-ahead (strictly one goroutine).
// rows/cpu-s is what a core delivers; rows/s is wall time (ORC's stripe
// read-ahead decodes on more than one core).
func BenchmarkORCRead(b *testing.B) {
	for _, tc := range []struct {
		name      string
		format    string
		fields    inventory.FieldSet
		skip      bool
		sequental bool
	}{
		{"orc/plan-fields", "orc", planFields, true, false},
		{"orc/plan-fields+md5", "orc", planFields, false, false},
		{"orc/plan-fields/no-read-ahead", "orc", planFields, true, true},
		{"orc/all-fields", "orc", inventory.AllFields, true, false},
		{"csv.gz/plan-fields", "csv", planFields, true, false},
		{"csv.gz/plan-fields+md5", "csv", planFields, false, false},
		{"csv.gz/all-fields", "csv", inventory.AllFields, true, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, size := versionedReport(b, tc.format)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var rows, keyBytes int64
			for i := 0; i < b.N; i++ {
				rows, keyBytes = 0, 0
				if tc.sequental {
					rows, keyBytes = readORCSequential(b, m, tc.fields)
					continue
				}
				r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{Workers: 1, Fields: tc.fields, SkipChecksums: tc.skip})
				if err != nil {
					b.Fatal(err)
				}
				keyCol := r.Fields().ColumnIndex(inventory.Key)
				err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
					rows += rec.NumRows()
					keyBytes += int64(len(rec.Column(keyCol).(*array.String).ValueBytes()))
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if rows != readBenchRows || keyBytes == 0 {
				b.Fatalf("read %d rows (%d key bytes), want %d", rows, keyBytes, readBenchRows)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

// readORCSequential reads every file of an ORC report with NewORCReader
// and no read-ahead, one file after the other.
func readORCSequential(b *testing.B, m string, set inventory.FieldSet) (rows, keyBytes int64) {
	man, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{})
	if err != nil {
		b.Fatal(err)
	}
	set |= inventory.Fields(inventory.Bucket, inventory.Key)
	set &= man.Fields
	keyCol := set.ColumnIndex(inventory.Key)
	for _, f := range man.Files {
		data, err := os.Open(f.Location)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := data.Stat()
		r, err := inventory.NewORCReader(data, st.Size(), data, f.Location, set, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := r.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows += rec.NumRows()
			keyBytes += int64(len(rec.Column(keyCol).(*array.String).ValueBytes()))
			rec.Release()
		}
		r.Close()
	}
	return rows, keyBytes
}
