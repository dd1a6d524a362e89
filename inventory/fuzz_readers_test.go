package inventory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// checkReadError fails t unless err, from reading a damaged file, is a
// *DataError. A recovered panic (*InternalError) is a bug and fails the
// fuzz target, with the panic and its stack.
func checkReadError(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, inventory.ErrInternal) {
		t.Fatalf("%s: the reader panicked (a bug): %v", what, err)
	}
	var de *inventory.DataError
	if !errors.As(err, &de) {
		t.Fatalf("%s: %T %v, want a *DataError", what, err, err)
	}
}

// readORCFuzz reads an ORC data file through the inventory reader as the
// fuzz target does: it must fail only with a *DataError (never a panic,
// caught or not) and, when it succeeds, return exactly the rows the
// footer claims.
func readORCFuzz(t testing.TB, ra io.ReaderAt, size int64) {
	r, err := inventory.NewORCReader(ra, size, nil, "fuzz.orc", inventory.AllFields, 128, 2)
	if err != nil {
		checkReadError(t, "open", err)
		return
	}
	defer r.Close()
	var n int64
	for {
		rec, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			checkReadError(t, "next", err)
			return
		}
		n += rec.NumRows()
		rec.Release()
	}
	if n != r.NumRows() {
		t.Fatalf("read %d rows, footer claims %d", n, r.NumRows())
	}
}

// readParquetFuzz is readORCFuzz for Parquet: never more rows than the
// footer claims.
func readParquetFuzz(t testing.TB, ra io.ReaderAt, size int64) {
	r, err := inventory.NewParquetReader(ra, size, nil, "fuzz.parquet", inventory.AllFields, 64)
	if err != nil {
		checkReadError(t, "open", err)
		return
	}
	defer r.Close()
	var rows int64
	for {
		rec, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			checkReadError(t, "next", err)
			return
		}
		rows += rec.NumRows()
		rec.Release()
		if rows > r.NumRows() {
			t.Fatalf("read %d rows, the file claims %d", rows, r.NumRows())
		}
	}
}

// firstDataFile returns the bytes of the first data file of the report
// whose manifest is m.
func firstDataFile(f testing.TB, m string) []byte {
	man, err := inventory.OpenManifest(context.Background(), m, inventory.ManifestOptions{})
	if err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(man.Files[0].Location)
	if err != nil {
		f.Fatal(err)
	}
	return seed
}

func readFile(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzORCReader feeds damaged ORC files to the inventory reader: it must
// never panic (a recovered panic fails the target too), must fail only
// with a *DataError, and must never return more or fewer rows than the
// file's footer claims.
func FuzzORCReader(f *testing.F) {
	var rows [][]any
	for i := 0; i < 300; i++ {
		rows = append(rows, []any{"b", fmt.Sprintf("k/%d", i), int64(i)})
	}
	f.Add(writeORC(f, 100, orcBasicFields, rows))
	f.Add(firstDataFile(f, genReport(f, "orc", 300, 1, true, 5)))
	for _, p := range fixtureFiles(f, ".orc") { // every layout of the Java writer
		f.Add(readFile(f, p))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAllocs(t, len(data), func() { readORCFuzz(t, bytes.NewReader(data), int64(len(data))) })
	})
}

// FuzzParquetReader feeds damaged Parquet files to the reader: it must
// never panic (a recovered panic fails the target too), must fail only
// with a *DataError, and must never return more rows than the file's
// footer claims.
func FuzzParquetReader(f *testing.F) {
	seed := firstDataFile(f, genReport(f, "parquet", 300, 1, true, 5))
	f.Add(seed)
	f.Add(seed[:len(seed)-100])
	f.Add(seed[len(seed)/2:])
	type row struct {
		Bucket string  `parquet:"bucket,dict"`
		Key    string  `parquet:"key"`
		Size   *int64  `parquet:"size,optional"`
		SC     *string `parquet:"storage_class,optional,dict"`
	}
	one, std := int64(1), "standard"
	f.Add(writeParquet(f, []row{{"b", "k", &one, &std}, {"b", "k2", nil, nil}}))
	for _, p := range fixtureFiles(f, ".parquet") { // parquet-mr's layouts and others
		f.Add(readFile(f, p))
	}
	f.Add(readFile(f, "testdata/duckdb/duckdb-inventory.parquet"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAllocs(t, len(data), func() { readParquetFuzz(t, bytes.NewReader(data), int64(len(data))) })
	})
}

// panicReader serves data, and panics on every ReadAt after the first
// after calls: a stand-in for a bug anywhere below the reader.
type panicReader struct {
	data  []byte
	after int32
	calls atomic.Int32
}

func (p *panicReader) ReadAt(b []byte, off int64) (int, error) {
	if p.calls.Add(1) > p.after {
		panic(fmt.Sprintf("injected panic at offset %d", off))
	}
	return bytes.NewReader(p.data).ReadAt(b, off)
}

// countReads returns how many ReadAt calls opening a file makes.
func countReads(open func(ra io.ReaderAt) error) int32 {
	p := &panicReader{after: 1 << 30}
	open(p)
	return p.calls.Load()
}

// TestReaderPanicIsInternalError makes the readers panic, while opening a
// file and while decoding it (on the read-ahead goroutines too), and
// checks that the panic comes back as an *InternalError naming the file
// and the panic, never as a *DataError or ErrCorrupt (which would make it
// look like bad input, exit status 3), and that the fuzz targets' check
// fails on it.
func TestReaderPanicIsInternalError(t *testing.T) {
	orcData := firstDataFile(t, genReport(t, "orc", 3000, 1, true, 5))
	var rows [][]any
	for i := 0; i < 1000; i++ {
		rows = append(rows, []any{"b", fmt.Sprintf("k/%d", i), int64(i)})
	}
	orcStripes := writeORC(t, 100, orcBasicFields, rows) // ten stripes: read ahead on goroutines
	pqData := firstDataFile(t, genReport(t, "parquet", 3000, 1, true, 5))
	readAll := func(next func() error) error {
		for {
			if err := next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	orcRead := func(ahead int) func(ra io.ReaderAt, size int64) error {
		return func(ra io.ReaderAt, size int64) error {
			r, err := inventory.NewORCReader(ra, size, nil, "panic.orc", inventory.AllFields, 100, ahead)
			if err != nil {
				return err
			}
			defer r.Close()
			return readAll(func() error {
				rec, err := r.Next(context.Background())
				if err == nil {
					rec.Release()
				}
				return err
			})
		}
	}
	pqRead := func(ra io.ReaderAt, size int64) error {
		r, err := inventory.NewParquetReader(ra, size, nil, "panic.parquet", inventory.AllFields, 100)
		if err != nil {
			return err
		}
		defer r.Close()
		return readAll(func() error {
			rec, err := r.Next(context.Background())
			if err == nil {
				rec.Release()
			}
			return err
		})
	}
	orcOpen := func(data []byte) func(ra io.ReaderAt) error {
		return func(ra io.ReaderAt) error {
			_, err := inventory.NewORCReader(ra, int64(len(data)), nil, "panic.orc", inventory.AllFields, 100, 0)
			return err
		}
	}
	pqOpen := func(ra io.ReaderAt) error {
		_, err := inventory.NewParquetReader(ra, int64(len(pqData)), nil, "panic.parquet", inventory.AllFields, 100)
		return err
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		after int32
		read  func(ra io.ReaderAt, size int64) error
		fuzz  func(t testing.TB, ra io.ReaderAt, size int64)
	}{
		{"orc/open", orcData, 0, orcRead(0), readORCFuzz},
		{"orc/stripe", orcData, countReads(orcOpen(orcData)), orcRead(0), readORCFuzz},
		{"orc/stripe-read-ahead", orcStripes, countReads(orcOpen(orcStripes)) + 3, orcRead(2), readORCFuzz},
		{"parquet/open", pqData, 0, pqRead, readParquetFuzz},
		{"parquet/row-group", pqData, countReads(pqOpen), pqRead, readParquetFuzz},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(&panicReader{data: tc.data, after: tc.after}, int64(len(tc.data)))
			var ie *inventory.InternalError
			if !errors.As(err, &ie) || !errors.Is(err, inventory.ErrInternal) {
				t.Fatalf("got %T %v, want an *InternalError", err, err)
			}
			var de *inventory.DataError
			if errors.As(err, &de) || errors.Is(err, inventory.ErrCorrupt) {
				t.Fatalf("a panic reads as bad input: %v", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "panic.") || !strings.Contains(msg, "injected panic") || !strings.Contains(msg, "bug") || ie.Stack == "" {
				t.Fatalf("message %q does not name the file, the panic and the bug (stack %q)", msg, ie.Stack)
			}
			if !strings.Contains(ie.Stack, "panicReader") {
				t.Fatalf("stack excerpt lacks the panicking frame:\n%s", ie.Stack)
			}
			t.Log(err)
			// The fuzz targets' check fails on it.
			rt := &recordingT{TB: t}
			func() {
				defer func() {
					if p := recover(); p != nil && p != errRecordedFatal {
						panic(p)
					}
				}()
				tc.fuzz(rt, &panicReader{data: tc.data, after: tc.after}, int64(len(tc.data)))
			}()
			if !rt.failed || !strings.Contains(rt.msg, "panicked") {
				t.Fatalf("the fuzz check passed a panic (failed %v, %q)", rt.failed, rt.msg)
			}
		})
	}
}

// recordingT records a fatal failure instead of ending the test, so that
// a test can check that a check fails.
type recordingT struct {
	testing.TB
	failed bool
	msg    string
}

var errRecordedFatal = errors.New("recorded fatal")

func (r *recordingT) Helper() {}

func (r *recordingT) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	panic(errRecordedFatal)
}
