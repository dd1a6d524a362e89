package inventory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
)

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testReport lays out a local inventory report: DIR/inv/manifest.json
// (and manifest.checksum) with data files under DIR/inv/data/. mutate, if
// not nil, edits the manifest before it is written.
func testReport(t testing.TB, schema string, files [][]byte, mutate func(m map[string]any)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "inv")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	for i, data := range files {
		key := fmt.Sprintf("data/f%d.csv.gz", i)
		if err := os.WriteFile(filepath.Join(dir, key), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		list = append(list, map[string]any{"key": key, "size": len(data), "MD5checksum": hex.EncodeToString(sum[:])})
	}
	m := map[string]any{
		"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::dst", "version": "2016-11-30",
		"creationTimestamp": "1514944800000", "fileFormat": "CSV", "fileSchema": schema, "files": list,
	}
	if mutate != nil {
		mutate(m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(raw)
	if err := os.WriteFile(filepath.Join(dir, "manifest.checksum"), []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "manifest.json")
}

// readAll scans a report and renders each row as "field=value|..." in
// canonical field order, nulls as "∅".
func readAll(t testing.TB, loc string, opts ReaderOptions) ([]string, error) {
	t.Helper()
	r, err := Open(context.Background(), loc, opts)
	if err != nil {
		return nil, err
	}
	var rows []string
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		rows = append(rows, renderRows(rec)...)
		return nil
	})
	return rows, err
}

func renderRows(rec arrow.RecordBatch) []string {
	var rows []string
	for i := 0; i < int(rec.NumRows()); i++ {
		var parts []string
		for c := 0; c < int(rec.NumCols()); c++ {
			col := rec.Column(c)
			v := "∅"
			if col.IsValid(i) {
				switch a := col.(type) {
				case *array.String:
					v = a.Value(i)
				case *array.Boolean:
					v = fmt.Sprint(a.Value(i))
				case *array.Int64:
					v = fmt.Sprint(a.Value(i))
				case *array.Timestamp:
					v = a.Value(i).ToTime(arrow.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
				}
			}
			parts = append(parts, rec.ColumnName(c)+"="+v)
		}
		rows = append(rows, strings.Join(parts, "|"))
	}
	return rows
}

const versionedSchema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"

func TestCSVReaderRows(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		data   string
		want   []string
	}{
		{
			name:   "all quoted, empties are null",
			schema: versionedSchema,
			data:   `"b","dir/key+1","","true","false","12","2024-04-22T01:13:28.000Z","d41d8cd98f00b204e9800998ecf8427e","standard"` + "\n",
			want:   []string{"bucket=b|key=dir/key 1|version_id=∅|is_latest=true|is_delete_marker=false|size=12|last_modified_date=2024-04-22T01:13:28.000Z|e_tag=d41d8cd98f00b204e9800998ecf8427e|storage_class=STANDARD"},
		},
		{
			name:   "unquoted, CRLF, blank lines, no final newline",
			schema: "Bucket, Key, Size",
			data:   "b,a%2Bb,1\r\n\r\n\nb,c%20d,2",
			want:   []string{"bucket=b|key=a+b|size=1", "bucket=b|key=c d|size=2"},
		},
		{
			name:   "escaped quotes and embedded newline and comma",
			schema: "Bucket, Key, ETag",
			data:   "\"b\",\"x\",\"a\"\"b,\nc\"\n\"b\",\"y\",\"\"\n",
			want:   []string{"bucket=b|key=x|e_tag=a\"b,\nc", "bucket=b|key=y|e_tag=∅"},
		},
		{
			name:   "columns in any order, unknown columns skipped",
			schema: "Size, FutureField, Key, Bucket",
			data:   `"5","whatever","k","b"` + "\n",
			want:   []string{"bucket=b|key=k|size=5"},
		},
		{
			name:   "loose booleans and enums",
			schema: "Bucket, Key, IsLatest, IsDeleteMarker, ObjectLockMode",
			data:   "b,k,TRUE,False,Governance\n",
			want:   []string{"bucket=b|key=k|is_latest=true|is_delete_marker=false|object_lock_mode=GOVERNANCE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := testReport(t, tt.schema, [][]byte{gz(t, tt.data)}, nil)
			got, err := readAll(t, loc, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestCSVReaderOrderAndBatches(t *testing.T) {
	// Several files, tiny batches, several workers: rows come out in
	// manifest order.
	var files [][]byte
	var want []string
	for f := 0; f < 5; f++ {
		var b strings.Builder
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&b, "\"b\",\"f%d/k%03d\",\"%d\"\n", f, i, i)
			want = append(want, fmt.Sprintf("bucket=b|key=f%d/k%03d|size=%d", f, i, i))
		}
		files = append(files, gz(t, b.String()))
	}
	loc := testReport(t, "Bucket, Key, Size", files, nil)
	for _, workers := range []int{1, 2, 4} {
		got, err := readAll(t, loc, ReaderOptions{Workers: workers, BatchRows: 7})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("workers=%d: rows out of order or missing (%d rows, want %d)", workers, len(got), len(want))
		}
	}
}

func TestCSVReaderProjection(t *testing.T) {
	loc := testReport(t, versionedSchema, [][]byte{gz(t, `"b","k","v1","true","false","notanumber","bad date","e","X"`+"\n")}, nil)
	// Size and LastModifiedDate are malformed but not projected: no error.
	got, err := readAll(t, loc, ReaderOptions{Fields: Fields(Bucket, Key, VersionID)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "bucket=b|key=k|version_id=v1"; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBadInput(t *testing.T) {
	good := `"b","k","1","2024-04-22T01:13:28.000Z"` + "\n"
	schema := "Bucket, Key, Size, LastModifiedDate"
	tests := []struct {
		name      string
		schema    string
		files     func(t testing.TB) [][]byte
		mutate    func(m map[string]any)
		afterward func(t testing.TB, loc string)
		wantErr   error
		wantField string
		wantLine  int64
	}{
		{
			name:    "truncated gzip",
			files:   func(t testing.TB) [][]byte { z := gz(t, strings.Repeat(good, 1000)); return [][]byte{z[:len(z)/2]} },
			wantErr: ErrTruncated,
		},
		{
			name:    "not gzip",
			files:   func(t testing.TB) [][]byte { return [][]byte{[]byte(good)} },
			wantErr: ErrCorrupt,
		},
		{
			name:    "empty data file",
			files:   func(t testing.TB) [][]byte { return [][]byte{{}} },
			wantErr: ErrTruncated,
		},
		{
			name: "corrupt deflate data",
			files: func(t testing.TB) [][]byte {
				z := gz(t, strings.Repeat(good, 1000))
				for i := 20; i < len(z)-8; i += 7 {
					z[i] ^= 0x5a
				}
				return [][]byte{z}
			},
			wantErr: ErrCorrupt,
		},
		{
			name:  "md5 mismatch",
			files: func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			mutate: func(m map[string]any) {
				m["files"].([]map[string]any)[0]["MD5checksum"] = "00000000000000000000000000000000"
			},
			wantErr: ErrChecksum,
		},
		{
			name:      "too few fields",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, good+`"b","k","1"`+"\n")} },
			wantErr:   ErrFieldCount,
			wantLine:  2,
			wantField: "LastModifiedDate",
		},
		{
			name: "too many fields",
			files: func(t testing.TB) [][]byte {
				return [][]byte{gz(t, good+good+`"b","k","1","2024-04-22T01:13:28.000Z","x"`+"\n")}
			},
			wantErr:  ErrFieldCount,
			wantLine: 3,
		},
		{
			name:      "bad size",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, `"b","k","12x","2024-04-22T01:13:28.000Z"`+"\n")} },
			wantErr:   ErrBadValue,
			wantLine:  1,
			wantField: "Size",
		},
		{
			name:      "bad date",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, good+"\n\n"+`"b","k","1","22/04/2024"`+"\n")} },
			wantErr:   ErrBadValue,
			wantLine:  4,
			wantField: "LastModifiedDate",
		},
		{
			name:      "bad percent escape",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, `"b","a%zzb","1","2024-04-22T01:13:28.000Z"`+"\n")} },
			wantErr:   ErrBadEscape,
			wantLine:  1,
			wantField: "Key",
		},
		{
			name:      "invalid UTF-8 key",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, `"b","a%FFb","1","2024-04-22T01:13:28.000Z"`+"\n")} },
			wantErr:   ErrBadKey,
			wantField: "Key",
		},
		{
			name:      "empty key",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, `"b","","1","2024-04-22T01:13:28.000Z"`+"\n")} },
			wantErr:   ErrBadValue,
			wantField: "Key",
		},
		{
			name:      "unterminated quote",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, good+`"b","k`)} },
			wantErr:   ErrSyntax,
			wantLine:  2,
			wantField: "Key",
		},
		{
			name:      "stray quote",
			files:     func(t testing.TB) [][]byte { return [][]byte{gz(t, good+`b,k"x,1,2024-04-22T01:13:28.000Z`+"\n")} },
			wantErr:   ErrSyntax,
			wantLine:  2,
			wantField: "Key",
		},
		{
			name: "text after a closing quote, on the line the quoted field ends",
			files: func(t testing.TB) [][]byte {
				return [][]byte{gz(t, good+`"b","two`+"\n"+`lines"x,"1","2024-04-22T01:13:28.000Z"`+"\n")}
			},
			wantErr:   ErrSyntax,
			wantLine:  3,
			wantField: "Key",
		},
		{
			name:    "schema without Key",
			schema:  "Bucket, Size",
			files:   func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			wantErr: ErrManifest,
		},
		{
			name:    "schema without Bucket",
			schema:  "Key, Size",
			files:   func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			wantErr: ErrManifest,
		},
		{
			name:  "missing data file",
			files: func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			mutate: func(m map[string]any) {
				m["files"].([]map[string]any)[0]["key"] = "data/nope.csv.gz"
			},
			wantErr: ErrMissingFile,
		},
		{
			name:  "manifest.checksum mismatch",
			files: func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			afterward: func(t testing.TB, loc string) {
				os.WriteFile(filepath.Join(filepath.Dir(loc), "manifest.checksum"), []byte("0123456789abcdef0123456789abcdef\n"), 0o644)
			},
			wantErr: ErrChecksum,
		},
		{
			name:    "unknown format",
			files:   func(t testing.TB) [][]byte { return [][]byte{gz(t, good)} },
			mutate:  func(m map[string]any) { m["fileFormat"] = "Avro" },
			wantErr: ErrFormat,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schema
			if tt.schema != "" {
				s = tt.schema
			}
			loc := testReport(t, s, tt.files(t), tt.mutate)
			if tt.afterward != nil {
				tt.afterward(t, loc)
			}
			_, err := readAll(t, loc, ReaderOptions{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err %v is not a *DataError", err)
			}
			if de.File == "" {
				t.Errorf("error names no file: %v", err)
			}
			if tt.wantLine != 0 && de.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%v)", de.Line, tt.wantLine, err)
			}
			if tt.wantField != "" && de.Field != tt.wantField {
				t.Errorf("field = %q, want %q (%v)", de.Field, tt.wantField, err)
			}
			var se *csvscan.SyntaxError
			if errors.Is(err, ErrSyntax) != errors.As(err, &se) {
				t.Errorf("%v: a syntax error must carry the scanner's *csvscan.SyntaxError, and only a syntax error", err)
			}
		})
	}
}

func TestDataRootAndAncestors(t *testing.T) {
	// A copied bucket: ROOT/inv/src/cfg/2024-01-01T00-00Z/manifest.json
	// lists "inv/src/cfg/data/x.csv.gz", found two levels up.
	root := t.TempDir()
	data := gz(t, "b,k,1\n")
	key := "inv/src/cfg/data/x.csv.gz"
	os.MkdirAll(filepath.Join(root, "inv/src/cfg/data"), 0o755)
	os.WriteFile(filepath.Join(root, key), data, 0o644)
	mdir := filepath.Join(root, "inv/src/cfg/2024-01-01T00-00Z")
	os.MkdirAll(mdir, 0o755)
	sum := md5.Sum(data)
	raw, _ := json.Marshal(map[string]any{"sourceBucket": "src", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
		"files": []any{map[string]any{"key": key, "size": len(data), "MD5checksum": hex.EncodeToString(sum[:])}}})
	os.WriteFile(filepath.Join(mdir, "manifest.json"), raw, 0o644)
	m, err := OpenManifest(context.Background(), filepath.Join(mdir, "manifest.json"), ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Files[0].Location, filepath.Join(root, key); got != want {
		t.Errorf("resolved %s, want %s", got, want)
	}
	// With --data-root pointing elsewhere, the file is not found there.
	_, err = OpenManifest(context.Background(), filepath.Join(mdir, "manifest.json"), ManifestOptions{DataRoot: mdir})
	if !errors.Is(err, ErrMissingFile) {
		t.Errorf("err = %v, want ErrMissingFile", err)
	}
	m, err = OpenManifest(context.Background(), filepath.Join(mdir, "manifest.json"), ManifestOptions{DataRoot: root})
	if err != nil || m.Files[0].Location != filepath.Join(root, key) {
		t.Errorf("data root: %v, %v", m, err)
	}
}

func TestSchemaColumnNames(t *testing.T) {
	tests := []struct {
		format Format
		schema string
		want   FieldSet
	}{
		{FormatCSV, "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass", Fields(Bucket, Key, Size, LastModifiedDate, ETag, StorageClass)},
		{FormatORC, "struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint,last_modified_date:timestamp,e_tag:string,storage_class:string>",
			Fields(Bucket, Key, VersionID, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass)},
		{FormatParquet, "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING);}",
			Fields(Bucket, Key, Size, LastModifiedDate, ETag)},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{"fileFormat": tt.format, "fileSchema": tt.schema, "files": []any{}})
			m, err := ParseManifest(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.Fields != tt.want {
				t.Errorf("fields %s, want %s", m.Fields, tt.want)
			}
		})
	}
}

// FuzzCSVReader feeds arbitrary bytes as a data file: the reader must
// never panic, and never return more rows than the input has lines.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte(`"b","k","1","2024-04-22T01:13:28.000Z"` + "\n"))
	f.Add([]byte("b,a+b,1,2024-04-22T01:13:28.000Z\r\n\n"))
	f.Add([]byte("\"b\",\"x\"\"y\",\"\",\"\"\n"))
	f.Add([]byte("b,k%zz,1,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cols := []Column{{Name: "Bucket", Field: Bucket, Known: true}, {Name: "Key", Field: Key, Known: true},
			{Name: "Size", Field: Size, Known: true}, {Name: "LastModifiedDate", Field: LastModifiedDate, Known: true}}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		// Allocations are capped by the input: the reader's buffers, one
		// batch, and what its records need (the cap is generous).
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		defer func() {
			runtime.ReadMemStats(&after)
			if got, max := after.TotalAlloc-before.TotalAlloc, uint64(64<<20)+1024*uint64(len(data)); got > max {
				t.Fatalf("reading %d bytes allocated %d bytes, over the cap of %d", len(data), got, max)
			}
		}()
		r := NewCSVReader(bytes.NewReader(z.Bytes()), nil, "fuzz", cols, AllFields, 3, "", -1)
		defer r.Close()
		rows := int64(0)
		for {
			rec, err := r.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				var de *DataError
				if !errors.As(err, &de) {
					t.Fatalf("error %v is not a *DataError", err)
				}
				return
			}
			rows += rec.NumRows()
			rec.Release()
		}
		if max := int64(bytes.Count(data, []byte{'\n'})) + 1; rows > max {
			t.Fatalf("%d rows from %d lines", rows, max)
		}
	})
}

// TestCSVReaderAllocsPerRow checks that parsing allocates per batch, not
// per row: over 200,000 rows the reader may allocate only for its batch
// buffers.
func TestCSVReaderAllocsPerRow(t *testing.T) {
	var b strings.Builder
	const rows = 200_000
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "\"bucket\",\"dir/sub+dir/key%%2B%d.txt\",\"v%d\",\"true\",\"false\",\"%d\",\"2024-04-22T01:13:28.000Z\",\"d41d8cd98f00b204e9800998ecf8427e\",\"STANDARD\"\n", i, i, i)
	}
	data := gz(t, b.String())
	cols := []Column{}
	for _, n := range strings.Split(versionedSchema, ", ") {
		f, _ := LookupField(n)
		cols = append(cols, Column{Name: n, Field: f, Known: true})
	}
	var n int64
	allocs := testing.AllocsPerRun(1, func() {
		r := NewCSVReader(bytes.NewReader(data), nil, "mem", cols, AllFields, DefaultBatchRows, "", -1)
		for {
			rec, err := r.Next(context.Background())
			if err != nil {
				break
			}
			n += rec.NumRows()
			rec.Release()
		}
		r.Close()
	})
	if n != rows*2 { // AllocsPerRun runs once to warm up, then once measured
		t.Fatalf("read %d rows, want %d", n, rows*2)
	}
	if perRow := allocs / rows; perRow > 0.01 {
		t.Errorf("%.0f allocations for %d rows (%.3f per row), want per-batch allocations only", allocs, rows, perRow)
	}
}
