package orc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// inventorySchema is the shape of an S3 Inventory report's main columns.
func inventorySchema(t testing.TB) *Type {
	t.Helper()
	s, err := NewSchema(
		Field{"key", String},
		Field{"size", Long},
		Field{"last_modified_date", Timestamp},
		Field{"storage_class", String},
		Field{"is_latest", Boolean},
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stringCol builds a string Column; nil entries in null mark null rows.
func stringCol(t *Type, vals []string, null []bool) *Column {
	c := &Column{Type: t, Len: len(vals), Offsets: make([]int32, 1, len(vals)+1)}
	for i, v := range vals {
		if null != nil && null[i] {
			if c.Valid == nil {
				c.Valid = slices.Repeat([]bool{true}, len(vals))
			}
			c.Valid[i] = false
		} else {
			c.Bytes = append(c.Bytes, v...)
		}
		c.Offsets = append(c.Offsets, int32(len(c.Bytes)))
	}
	return c
}

// inventoryBatch makes n seeded inventory-shaped rows starting at row
// number first. nulls adds nulls to every column.
func inventoryBatch(schema *Type, r *rand.Rand, first, n int, nulls bool) *Batch {
	keys := make([]string, n)
	classes := make([]string, n)
	var null []bool
	if nulls {
		null = make([]bool, n)
	}
	size := &Column{Type: schema.Children[1], Len: n, Int64: make([]int64, n)}
	ts := &Column{Type: schema.Children[2], Len: n, Int64: make([]int64, n), Nanos: make([]int32, n)}
	latest := &Column{Type: schema.Children[4], Len: n, Bool: make([]bool, n)}
	storage := []string{"STANDARD", "STANDARD_IA", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING"}
	for i := range n {
		row := first + i
		keys[i] = fmt.Sprintf("data/%04d/part-%08d-%x.parquet", row%977, row, r.Uint32())
		classes[i] = storage[r.IntN(len(storage))]
		size.Int64[i] = r.Int64N(5 << 30)
		ms := int64(1.6e12) + r.Int64N(2e11)
		ts.Int64[i] = ms / 1000
		ts.Nanos[i] = int32(ms%1000) * 1e6
		latest.Bool[i] = r.IntN(10) > 0
		if nulls && r.IntN(7) == 0 {
			null[i] = true
		}
	}
	if nulls {
		size.Valid = make([]bool, n)
		ts.Valid = make([]bool, n)
		latest.Valid = make([]bool, n)
		for i := range n {
			size.Valid[i], ts.Valid[i], latest.Valid[i] = !null[i], !null[i], !null[i]
		}
	}
	return &Batch{NumRows: n, Names: schema.FieldNames, Columns: []*Column{
		stringCol(schema.Children[0], keys, nil),
		size, ts,
		stringCol(schema.Children[3], classes, null),
		latest,
	}}
}

// equalColumn compares the logical values of two columns of the same kind.
func equalColumn(a, b *Column) error {
	if a.Len != b.Len {
		return fmt.Errorf("len %d vs %d", a.Len, b.Len)
	}
	for i := range a.Len {
		if a.IsNull(i) != b.IsNull(i) {
			return fmt.Errorf("row %d: null %v vs %v", i, a.IsNull(i), b.IsNull(i))
		}
		if a.IsNull(i) {
			continue
		}
		switch a.Type.Kind {
		case String, Varchar:
			if !bytes.Equal(a.Value(i), b.Value(i)) {
				return fmt.Errorf("row %d: %q vs %q", i, a.Value(i), b.Value(i))
			}
		case Long, Int, Short:
			if a.Int64[i] != b.Int64[i] {
				return fmt.Errorf("row %d: %d vs %d", i, a.Int64[i], b.Int64[i])
			}
		case Boolean:
			if a.Bool[i] != b.Bool[i] {
				return fmt.Errorf("row %d: %v vs %v", i, a.Bool[i], b.Bool[i])
			}
		case Timestamp:
			if a.Int64[i] != b.Int64[i] || a.Nanos[i] != b.Nanos[i] {
				return fmt.Errorf("row %d: %d.%09d vs %d.%09d", i, a.Int64[i], a.Nanos[i], b.Int64[i], b.Nanos[i])
			}
		}
	}
	return nil
}

func TestWriterRoundTrip(t *testing.T) {
	schema := inventorySchema(t)
	tests := []struct {
		name  string
		rows  int
		nulls bool
		opts  *WriterOptions
	}{
		{"default", 20000, false, nil},
		{"nulls small stripes", 20000, true, &WriterOptions{StripeRows: 3000}},
		{"uncompressed", 5000, true, &WriterOptions{NoCompression: true, BlockSize: 4096}},
		{"no dictionary", 5000, false, &WriterOptions{DictionaryThreshold: -1, StripeBytes: 100 << 10}},
		{"empty", 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			var in []*Batch
			var buf bytes.Buffer
			w, err := NewWriter(&buf, schema, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for first := 0; first < tc.rows; first += 1777 {
				b := inventoryBatch(schema, r, first, min(1777, tc.rows-first), tc.nulls)
				in = append(in, b)
				if err := w.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			compareRoundTrip(t, buf.Bytes(), schema, in, tc.rows)
		})
	}
}

// concat joins batches' columns into one batch per column for comparison.
func compareRoundTrip(t *testing.T, data []byte, schema *Type, in []*Batch, rows int) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != int64(rows) {
		t.Fatalf("NumRows = %d, want %d", f.NumRows(), rows)
	}
	if got, want := f.Schema().String(), schema.String(); got != want {
		t.Fatalf("schema %s, want %s", got, want)
	}
	// flatten input rows
	type rowRef struct{ b, i int }
	var refs []rowRef
	for bi, b := range in {
		for i := range b.NumRows {
			refs = append(refs, rowRef{bi, i})
		}
	}
	row := 0
	for s := range f.NumStripes() {
		b, err := f.ReadStripe(s, nil)
		if err != nil {
			t.Fatalf("stripe %d: %v", s, err)
		}
		for i := range b.NumRows {
			ref := refs[row]
			for k := range b.Columns {
				want := sliceColumn(in[ref.b].Columns[k], ref.i)
				got := sliceColumn(b.Columns[k], i)
				if err := equalColumn(got, want); err != nil {
					t.Fatalf("row %d column %s: %v", row, b.Names[k], err)
				}
			}
			row++
		}
	}
	if row != rows {
		t.Fatalf("read %d rows, wrote %d", row, rows)
	}
}

// sliceColumn returns a one-row view of row i.
func sliceColumn(c *Column, i int) *Column {
	out := &Column{Type: c.Type, Len: 1}
	if c.Valid != nil {
		out.Valid = c.Valid[i : i+1]
	}
	switch c.Type.Kind {
	case String, Varchar:
		out.Bytes = c.Bytes
		out.Offsets = c.Offsets[i : i+2]
	case Boolean:
		out.Bool = c.Bool[i : i+1]
	case Timestamp:
		out.Int64 = c.Int64[i : i+1]
		out.Nanos = c.Nanos[i : i+1]
	default:
		out.Int64 = c.Int64[i : i+1]
	}
	return out
}

func TestWriterEdgeValues(t *testing.T) {
	schema, err := NewSchema(Field{"s", String}, Field{"n", Long}, Field{"t", Timestamp}, Field{"b", Boolean})
	if err != nil {
		t.Fatal(err)
	}
	strs := []string{"", "héllo wörld", "日本語のキー", "", "emoji 🎉/key", "a\x00b", "", "plain"}
	null := []bool{false, false, false, true, false, false, false, true}
	times := []time.Time{
		time.Date(1969, 12, 31, 23, 59, 58, 250_000_000, time.UTC), // negative seconds with fraction
		time.Date(1900, 5, 5, 12, 34, 56, 100_000_000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2014, 12, 31, 23, 59, 59, 999_000_000, time.UTC), // just before the ORC base
		time.Date(2015, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(2024, 2, 29, 13, 14, 15, 123_000_000, time.UTC),
		time.Date(1950, 6, 1, 0, 0, 0, 999_000_000, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	n := len(strs)
	sc := stringCol(schema.Children[0], strs, null)
	nc := &Column{Type: schema.Children[1], Len: n, Int64: []int64{0, -1, 1, 1 << 62, -1 << 63, 1<<63 - 1, 42, 42}}
	tc := &Column{Type: schema.Children[2], Len: n, Int64: make([]int64, n), Nanos: make([]int32, n), Valid: []bool{true, true, true, true, true, true, true, false}}
	for i, tm := range times {
		tc.Int64[i], tc.Nanos[i] = tm.Unix(), int32(tm.Nanosecond())
	}
	tc.Int64[n-1], tc.Nanos[n-1] = 0, 0 // null row
	bc := &Column{Type: schema.Children[3], Len: n, Bool: []bool{true, false, true, true, false, false, true, false}}
	in := &Batch{NumRows: n, Names: schema.FieldNames, Columns: []*Column{sc, nc, tc, bc}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	compareRoundTrip(t, buf.Bytes(), schema, []*Batch{in}, n)
	if err := w.Write(in); !errors.Is(err, ErrWriterClosed) {
		t.Fatalf("Write after Close: %v, want ErrWriterClosed", err)
	}
}

func TestWriterRejectsBadInput(t *testing.T) {
	schema := inventorySchema(t)
	if _, err := NewSchema(Field{"a", String}, Field{"a", Long}); err == nil {
		t.Error("duplicate field names accepted")
	}
	bad, _ := NewSchema(Field{"d", Double})
	if _, err := NewWriter(&bytes.Buffer{}, bad, nil); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("double column: err = %v, want ErrUnsupportedType", err)
	}
	if _, err := NewWriter(&bytes.Buffer{}, schema, &WriterOptions{BlockSize: 10}); err == nil {
		t.Error("tiny block size accepted")
	}
	w, err := NewWriter(&bytes.Buffer{}, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := inventoryBatch(schema, rand.New(rand.NewPCG(1, 1)), 0, 10, false)
	b.Columns[1].Int64 = b.Columns[1].Int64[:5]
	if err := w.Write(b); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("short column: err = %v, want ErrSchemaMismatch", err)
	}
	if err := w.Write(&Batch{NumRows: 1}); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("no columns: err = %v, want ErrSchemaMismatch", err)
	}
}
