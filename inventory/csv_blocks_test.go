package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
)

// The CSV reader splits the decompressed stream in the blocks the gunzip
// goroutine wrote, carrying the start of a record a block cuts into the
// next (csv.go). These tests read the same input with blocks small
// enough to cut every record and check that nothing changes.

func gzipBytes(data []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	return z.Bytes()
}

func columnsOf(names string) []Column {
	var cols []Column
	for _, n := range strings.Split(names, ", ") {
		f, ok := LookupField(n)
		cols = append(cols, Column{Name: n, Field: f, Known: ok})
	}
	return cols
}

// FuzzCSVReaderBlocks reads every input in batches of 3 rows with blocks
// of 64 KiB (4 KiB of room for a cut record: the inputs fit), 64 and 7
// bytes (16 and 3 of room): same rows, same error. (TestCSVReaderBlocks
// reads with the reader's own blocks too.)
func FuzzCSVReaderBlocks(f *testing.F) {
	for _, s := range []string{
		`"b","k","1","2024-04-22T01:13:28.000Z"` + "\n",
		"b,a+b,1,2024-04-22T01:13:28.000Z\r\n\n",
		"\"b\",\"x\"\"y\",\"\",\"\"\n",
		"b,k%zz,1,x\n",
		`"b","k","1","2024-04-22T01:13:28.000Z","x`,
		`"b","k","1","2024-04-22T01:13:28.000Z",x"y` + "\n",
		"\"b\",\"k\"\r\"1\",\"2\"\n",
		"\"b\",\"two\nlines\"x,\"1\",\"2\"\n",
		"b,k\n",
		"b,k,",
		`"a","b","c","d","e","f","g","h","i"` + "\n",
		// Records cut short enough for the room before a block, and longer.
		strings.Repeat("b,k,1,2024-04-22T01:13:28.000Z\n", 9),
		strings.Repeat(`"b","k%20","1","2024-04-22T01:13:28.000Z"`+"\r\n", 9),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		z := gzipBytes(data)
		for _, tc := range []struct {
			cols []Column
			set  FieldSet
		}{
			{columnsOf("Bucket, Key, Size, LastModifiedDate"), AllFields},
			{columnsOf(versionedSchema), Fields(Bucket, Key, VersionID)},
		} {
			want, werr := readRows(newCSVReader(bytes.NewReader(z), nil, "f", tc.cols, tc.set, 3, "", -1, 1<<16, 1<<12))
			for _, bh := range [][2]int{{64, 16}, {7, 3}} {
				got, err := readRows(newCSVReader(bytes.NewReader(z), nil, "f", tc.cols, tc.set, 3, "", -1, bh[0], bh[1]))
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("%q, blocks %v: rows\n got %q\nwant %q", data, bh, got, want)
				}
				sameDataError(t, data, err, werr)
			}
		}
	})
}

type batchReader interface {
	Next(context.Context) (arrow.RecordBatch, error)
	Close() error
}

// readRows reads r to its end, rendering each row as renderRows does.
func readRows(r batchReader) ([]string, error) {
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
		rows = append(rows, renderRows(rec)...)
		rec.Release()
	}
}

// sameDataError checks that err is want: both nil or both a *DataError
// with the same sentinels, line, offset, field, expectation and file,
// and the same value (for a syntax error, what small blocks held of it).
func sameDataError(t *testing.T, data []byte, err, want error) {
	t.Helper()
	if (err == nil) != (want == nil) {
		t.Fatalf("%q: error %v, want %v", data, err, want)
	}
	if err == nil {
		return
	}
	var g, w *DataError
	if !errors.As(err, &g) || !errors.As(want, &w) {
		t.Fatalf("%q: error %v, want %v (both *DataError)", data, err, want)
	}
	for _, s := range []error{ErrSyntax, ErrFieldCount, ErrBadValue, ErrBadEscape, ErrBadKey, ErrTruncated, ErrCorrupt} {
		if errors.Is(g, s) != errors.Is(w, s) {
			t.Fatalf("%q: error %v, want %v", data, err, want)
		}
	}
	sameValue := g.Value == w.Value || errors.Is(w, ErrSyntax) && strings.HasPrefix(w.Value, g.Value)
	if g.Line != w.Line || g.Offset != w.Offset || g.Field != w.Field || !sameValue || g.Expected != w.Expected || g.File != w.File {
		t.Fatalf("%q: error\n got %+v\nwant %+v", data, g, w)
	}
}

// TestCSVReaderBlocks reads records cut by blocks, longer than the room
// before a block and longer than a block, with blocks of several sizes.
func TestCSVReaderBlocks(t *testing.T) {
	var data []byte
	var keys []string
	for i := range 300 {
		key := "k" + strings.Repeat(fmt.Sprintf("k%d/", i), i%7*(1+i%50))
		if i%37 == 5 {
			key = strings.Repeat("long/", 400+i) // longer than a small block
		}
		keys = append(keys, key)
		data = fmt.Appendf(data, "\"b\",\"%s\",\"%d\",\"2024-04-22T01:13:28.000Z\"\r\n", key, i)
		if i%11 == 0 {
			data = append(data, "\n\n"...)
		}
	}
	data = append(data, `b,"last ""one""",7,2024-04-22T01:13:28.000Z`...)
	keys = append(keys, `last "one"`)
	z := gzipBytes(data)
	cols := columnsOf("Bucket, Key, Size, LastModifiedDate")
	want, werr := readRows(NewCSVReader(bytes.NewReader(z), nil, "f", cols, AllFields, 5, "", -1))
	if werr != nil || len(want) != len(keys) {
		t.Fatalf("%d rows, %v", len(want), werr)
	}
	for i, r := range want {
		if !strings.Contains(r, "key="+keys[i]+"|") {
			t.Fatalf("row %d: %q, want key %q", i, r, keys[i])
		}
	}
	for _, bh := range [][2]int{{1000, 100}, {333, 1}, {4096, 4096}, {1, 0}} {
		got, err := readRows(newCSVReader(bytes.NewReader(z), nil, "f", cols, AllFields, 5, "", -1, bh[0], bh[1]))
		if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("blocks %v: %d rows, %v", bh, len(got), err)
		}
	}
}

// TestCSVReaderTooLong: a record longer than maxRecordBytes, whole or cut
// by the end of the file, is a syntax error naming its line and offset,
// after the rows before it.
func TestCSVReaderTooLong(t *testing.T) {
	first := `"b","k","1","2024-04-22T01:13:28.000Z"` + "\n\n"
	for _, end := range []string{`","1","2024-04-22T01:13:28.000Z"` + "\n", ""} { // complete, and cut
		data := []byte(first)
		data = append(data, `"b","`...)
		data = append(data, bytes.Repeat([]byte("x"), maxRecordBytes+1000)...)
		data = append(data, end...)
		z := gzipBytes(data)
		cols := columnsOf("Bucket, Key, Size, LastModifiedDate")
		for _, bh := range [][2]int{{csvBlock, csvHead}, {1 << 16, 1 << 10}} {
			got, err := readRows(newCSVReader(bytes.NewReader(z), nil, "f", cols, AllFields, 1, "", -1, bh[0], bh[1]))
			var g *DataError
			if !errors.As(err, &g) || !errors.Is(err, ErrSyntax) || len(got) != 1 || g.Line != 3 || g.Offset != int64(len(first)) ||
				g.Expected != fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes) {
				t.Fatalf("end %q, blocks %v: %d rows, error %+v", end, bh, len(got), err)
			}
		}
	}
}
