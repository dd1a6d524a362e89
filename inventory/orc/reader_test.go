package orc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// testdataDir is the shared ORC sample folder, beside the repository, or
// where S3BATCHKIT_ORC_SAMPLES says (a worktree elsewhere).
var testdataDir = func() string {
	if d := os.Getenv("S3BATCHKIT_ORC_SAMPLES"); d != "" {
		return d
	}
	return "../../../shared/testdata/orc"
}()

func sampleDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(testdataDir); err != nil {
		t.Skipf("ORC sample files not found at %s (clone the shared folder beside the repository, or set S3BATCHKIT_ORC_SAMPLES): %v", testdataDir, err)
	}
	return testdataDir
}

func openSample(t testing.TB, name string, opts *Options) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	return f
}

func pacific(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skipf("time zone data unavailable: %v", err)
	}
	return loc
}

// sampleCase is one sample file and what its tail says.
type sampleCase struct {
	file     string
	rows     int64
	stripes  int // -1: don't check
	compress CompressionKind
}

func TestSampleFilesMatchExpectedJSON(t *testing.T) {
	dir := sampleDir(t)
	la := pacific(t)
	tests := []sampleCase{
		{"TestOrcFile.test1.orc", 2, 1, CompressionZlib},
		{"TestOrcFile.testTimestamp.orc", 12, -1, CompressionZlib},
		{"TestOrcFile.testSnappy.orc", 10000, -1, CompressionSnappy},
		{"TestOrcFile.testStringAndBinaryStatistics.orc", 4, -1, CompressionZlib},
		{"orc_index_int_string.orc", 6000, -1, -1},
		{"over1k_bloom.orc", 2098, -1, -1},
		{"TestOrcFile.testStripeLevelStats.orc", 11000, -1, -1},
		{"nulls-at-end-snappy.orc", 70000, -1, CompressionSnappy},
		{"TestStringDictionary.testRowIndex.orc", 32768, -1, -1},
		{"TestOrcFile.testMemoryManagementV11.orc", 2500, -1, -1},
		{"TestOrcFile.testDate1900.orc", 70000, -1, -1},
		{"TestOrcFile.emptyFile.orc", 0, 0, -1},
		{"TestVectorOrcFile.testLz4.orc", 10000, -1, CompressionLZ4},
	}
	// Each file is read three ways: a fresh Batch per stripe, and one
	// Batch reused from stripe to stripe, with dictionaries materialised
	// and kept.
	modes := []struct {
		name string
		read func(f *File, b *Batch, s int) (*Batch, error)
	}{
		{"ReadStripe", func(f *File, _ *Batch, s int) (*Batch, error) { return f.ReadStripe(s, nil) }},
		{"ReadStripeInto", func(f *File, b *Batch, s int) (*Batch, error) { return b, f.ReadStripeInto(b, s, nil, nil) }},
		{"ReadStripeInto/dictionaries", func(f *File, b *Batch, s int) (*Batch, error) {
			return b, f.ReadStripeInto(b, s, nil, &ReadOptions{Dictionaries: true})
		}},
	}
	for _, tc := range tests {
		for _, mode := range modes {
			t.Run(tc.file+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				checkSample(t, dir, la, tc, mode.read)
			})
		}
	}
}

// checkSample reads every stripe of a sample file with read (given a
// Batch to reuse) and compares the rows with the expected JSON.
func checkSample(t *testing.T, dir string, la *time.Location, tc sampleCase, read func(f *File, b *Batch, s int) (*Batch, error)) {
	f := openSample(t, tc.file, &Options{DefaultTimezone: la})
	if f.NumRows() != tc.rows {
		t.Errorf("NumRows = %d, want %d", f.NumRows(), tc.rows)
	}
	if tc.stripes >= 0 && f.NumStripes() != tc.stripes {
		t.Errorf("NumStripes = %d, want %d", f.NumStripes(), tc.stripes)
	}
	if tc.compress >= 0 && f.Compression() != tc.compress {
		t.Errorf("Compression = %v, want %v", f.Compression(), tc.compress)
	}
	want := readExpected(t, filepath.Join(dir, "expected", tc.file[:len(tc.file)-len(".orc")]+".jsn.gz"))
	row := 0
	reused := &Batch{}
	for s := range f.NumStripes() {
		b, err := read(f, reused, s)
		if err != nil {
			t.Fatalf("stripe %d: %v", s, err)
		}
		for i := range b.NumRows {
			if row >= len(want) {
				t.Fatalf("more rows than the %d expected", len(want))
			}
			if d := compareJSON(batchRow(b, i, la), want[row], "row"); d != "" {
				t.Fatalf("stripe %d row %d (file row %d): %s", s, i, row, d)
			}
			row++
		}
	}
	if row != len(want) {
		t.Fatalf("read %d rows, expected file has %d", row, len(want))
	}
}

func readExpected(t testing.TB, path string) []any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestZstdSample(t *testing.T) {
	f := openSample(t, "TestVectorOrcFile.testZstd.0.12.orc", nil)
	if f.NumRows() != 10000 {
		t.Fatalf("NumRows = %d, want 10000", f.NumRows())
	}
	if f.Compression() != CompressionZstd {
		t.Fatalf("Compression = %v", f.Compression())
	}
	names := f.ColumnNames()
	rows := 0
	for s := range f.NumStripes() {
		b, err := f.ReadStripe(s, nil)
		if err != nil {
			t.Fatalf("ReadStripe(%d): %v", s, err)
		}
		if len(b.Columns) != len(names) {
			t.Fatalf("%d columns, want %d", len(b.Columns), len(names))
		}
		rows += b.NumRows
	}
	if rows != 10000 {
		t.Fatalf("decoded %d rows", rows)
	}
	t.Logf("schema %v", f.Schema())
}

func TestDemoSampleRowsAndParallelStripes(t *testing.T) {
	f := openSample(t, "demo-12-zlib.orc", nil)
	if f.NumRows() != 1920800 {
		t.Fatalf("NumRows = %d, want 1920800", f.NumRows())
	}
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	errs := make([]error, f.NumStripes())
	for s := range f.NumStripes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := f.ReadStripe(s, nil)
			if err != nil {
				errs[s] = err
				return
			}
			mu.Lock()
			total += b.NumRows
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if total != 1920800 {
		t.Fatalf("decoded %d rows", total)
	}
}

func TestProjection(t *testing.T) {
	la := pacific(t)
	f := openSample(t, "TestOrcFile.test1.orc", &Options{DefaultTimezone: la})
	b, err := f.ReadStripe(0, []string{"string1", "int1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Columns) != 2 || b.Names[0] != "string1" || b.Column("int1") == nil {
		t.Fatalf("unexpected batch columns %v", b.Names)
	}
	if got := string(b.Columns[0].Value(1)); got != "bye" {
		t.Errorf("string1[1] = %q, want bye", got)
	}
	if _, err := f.ReadStripe(0, []string{"nope"}); !errors.Is(err, ErrColumnNotFound) {
		t.Errorf("unknown column: err = %v, want ErrColumnNotFound", err)
	}
	if _, err := f.ReadStripe(5, nil); !errors.Is(err, ErrStripeRange) {
		t.Errorf("bad stripe: err = %v, want ErrStripeRange", err)
	}
}

func TestCorruptFiles(t *testing.T) {
	dir := filepath.Join(sampleDir(t), "corrupt")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no corrupt samples")
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			err = readAll(data, nil)
			if err == nil {
				t.Fatal("no error reading a corrupt file")
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedType) && !errors.Is(err, ErrUnsupportedEncoding) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *CorruptError", err)
			}
			t.Logf("%v", err)
		})
	}
}

// readAll opens data and decodes every stripe, with ReadStripe and, into
// one reused Batch, with ReadStripeInto (keeping dictionaries in every
// other stripe); both must agree.
func readAll(data []byte, opts *Options) error {
	f, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return err
	}
	var reused Batch
	for s := range f.NumStripes() {
		b, err := f.ReadStripe(s, nil)
		err2 := f.ReadStripeInto(&reused, s, nil, &ReadOptions{Dictionaries: s%2 == 0})
		if (err == nil) != (err2 == nil) {
			return fmt.Errorf("stripe %d: ReadStripe and ReadStripeInto disagree: %v / %v", s, err, err2)
		}
		if err != nil {
			return err
		}
		if d := diffBatches(b, &reused); d != "" {
			return fmt.Errorf("stripe %d: ReadStripe and ReadStripeInto disagree: %s", s, d)
		}
	}
	return nil
}

// diffBatches compares the values of two batches and describes the first
// difference, or returns "".
func diffBatches(a, b *Batch) string {
	if a.NumRows != b.NumRows || !slices.Equal(a.Names, b.Names) || len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("%d rows %q, %d rows %q", a.NumRows, a.Names, b.NumRows, b.Names)
	}
	for k := range a.Columns {
		for i := range a.NumRows {
			va := fmt.Sprint(rowValue(a.Columns[k], i, time.UTC))
			vb := fmt.Sprint(rowValue(b.Columns[k], i, time.UTC))
			if va != vb {
				return fmt.Sprintf("column %s row %d: %s, %s", a.Names[k], i, va, vb)
			}
		}
	}
	return ""
}

var _ = io.EOF

// TestReadStripeIntoReuse reads an inventory-shaped file (nulls, a
// dictionary-encoded storage class, direct keys) stripe by stripe into
// one Batch, keeping dictionaries, and checks the values against
// ReadStripe, that the dictionary is kept, and that a warm Batch decodes
// a stripe with a handful of small allocations (footer parsing), none
// proportional to the rows.
func TestReadStripeIntoReuse(t *testing.T) {
	schema := inventorySchema(t)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, &WriterOptions{StripeRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for first := 0; first < 10_000; first += 2500 {
		if err := w.Write(inventoryBatch(schema, r, first, 2500, true)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.NumStripes() < 3 {
		t.Fatalf("%d stripes, want several", f.NumStripes())
	}
	opts := &ReadOptions{Dictionaries: true}
	var reused Batch
	for s := range f.NumStripes() {
		want, err := f.ReadStripe(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.ReadStripeInto(&reused, s, nil, opts); err != nil {
			t.Fatal(err)
		}
		if d := diffBatches(want, &reused); d != "" {
			t.Fatalf("stripe %d: %s", s, d)
		}
		if c := reused.Column("storage_class"); c.Dict == nil || c.Bytes != nil {
			t.Errorf("stripe %d: storage_class not kept as a dictionary", s)
		}
		if c := want.Column("storage_class"); c.Dict != nil {
			t.Errorf("stripe %d: ReadStripe kept a dictionary", s)
		}
	}
	// The fewest of three measures: a garbage collection during one (the
	// race detector's, a loaded machine's) empties the reader's
	// sync.Pools (decompressors, stripe buffers) and adds allocations that
	// a warm Batch does not make.
	allocs := math.Inf(1)
	for range 3 {
		allocs = min(allocs, testing.AllocsPerRun(20, func() {
			if err := f.ReadStripeInto(&reused, 1, nil, opts); err != nil {
				t.Fatal(err)
			}
		}))
	}
	if allocs > 30 {
		t.Errorf("ReadStripeInto of a warm Batch: %v allocations per stripe, want at most 30", allocs)
	}
	// An error leaves the Batch usable.
	if err := f.ReadStripeInto(&reused, f.NumStripes(), nil, opts); !errors.Is(err, ErrStripeRange) {
		t.Fatalf("err = %v, want ErrStripeRange", err)
	}
	if err := f.ReadStripeInto(&reused, 0, []string{"key"}, opts); err != nil || reused.NumRows == 0 || len(reused.Columns) != 1 {
		t.Fatalf("after an error: %v, %d rows, %d columns", err, reused.NumRows, len(reused.Columns))
	}
}
