package inventory

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BatchBuilder accumulates rows of a projected inventory schema column by
// column into flat buffers (one byte slice plus offsets for text, plain
// slices for numbers, bitmaps for booleans and validity) and hands them to
// Arrow without copying. Every reader (CSV, Parquet, ORC) fills one.
//
// Rows are appended one field at a time: for each row, call exactly one
// Append method per field of the projection, then EndRow. Appending is
// amortised allocation-free; Build allocates only the new buffers of the
// next batch. A BatchBuilder is not safe for concurrent use.
type BatchBuilder struct {
	set    FieldSet
	schema *arrow.Schema
	cols   [NumFields]colBuf
	n      int
}

type colBuf struct {
	data    []byte  // string bytes
	offsets []int32 // string offsets, len rows+1
	ints    []int64 // int64 and timestamp values
	bools   []byte  // boolean bitmap
	valid   []byte  // validity bitmap (bit set = value present)
	nulls   int
}

// NewBatchBuilder returns a builder for batches carrying the fields of set,
// sized for about capRows rows per batch.
func NewBatchBuilder(set FieldSet, capRows int) *BatchBuilder {
	b := &BatchBuilder{set: set, schema: Schema(set)}
	for _, f := range set.List() {
		b.cols[f].reset(f.Kind(), capRows, 16*capRows)
	}
	return b
}

// Fields returns the projection the builder builds.
func (b *BatchBuilder) Fields() FieldSet { return b.set }

// Schema returns the Arrow schema of the batches b builds.
func (b *BatchBuilder) Schema() *arrow.Schema { return b.schema }

// Len returns the number of complete rows appended since the last Build.
func (b *BatchBuilder) Len() int { return b.n }

// DataBytes returns the number of text bytes held for f, so that callers
// can bound batches by size as well as by rows.
func (b *BatchBuilder) DataBytes(f Field) int { return len(b.cols[f].data) }

func (c *colBuf) reset(k Kind, rows, dataBytes int) {
	c.nulls = 0
	c.valid = make([]byte, 0, rows/8+1)
	switch k {
	case KindBool:
		c.bools = make([]byte, 0, rows/8+1)
	case KindInt64, KindTimestamp:
		c.ints = make([]int64, 0, rows)
	default:
		c.data = make([]byte, 0, dataBytes)
		c.offsets = make([]int32, 1, rows+1)
	}
}

func (c *colBuf) setValid(row int, ok bool) {
	if row&7 == 0 {
		c.valid = append(c.valid, 0)
	}
	if ok {
		c.valid[row>>3] |= 1 << (row & 7)
	} else {
		c.nulls++
	}
}

// AppendString appends a text value for f to the current row. For enum
// fields the caller is responsible for case normalisation (see NormalizeEnum).
func (b *BatchBuilder) AppendString(f Field, v []byte) {
	c := &b.cols[f]
	c.data = append(c.data, v...)
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.setValid(b.n, true)
}

// AppendStringFunc appends a text value produced by fn, which appends the
// value's bytes to dst and returns the extended slice (or an error). It
// lets decoders write straight into the column buffer.
func (b *BatchBuilder) AppendStringFunc(f Field, fn func(dst []byte) ([]byte, error)) error {
	c := &b.cols[f]
	d, err := fn(c.data)
	if err != nil {
		return err
	}
	c.data = d
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.setValid(b.n, true)
	return nil
}

// AppendInt appends an int64 (or timestamp in milliseconds) value for f.
func (b *BatchBuilder) AppendInt(f Field, v int64) {
	c := &b.cols[f]
	c.ints = append(c.ints, v)
	c.setValid(b.n, true)
}

// AppendBool appends a boolean value for f.
func (b *BatchBuilder) AppendBool(f Field, v bool) {
	c := &b.cols[f]
	row := b.n
	if row&7 == 0 {
		c.bools = append(c.bools, 0)
	}
	if v {
		c.bools[row>>3] |= 1 << (row & 7)
	}
	c.setValid(row, true)
}

// AppendNull appends a null for f.
func (b *BatchBuilder) AppendNull(f Field) {
	c := &b.cols[f]
	switch f.Kind() {
	case KindBool:
		if b.n&7 == 0 {
			c.bools = append(c.bools, 0)
		}
	case KindInt64, KindTimestamp:
		c.ints = append(c.ints, 0)
	default:
		c.offsets = append(c.offsets, int32(len(c.data)))
	}
	c.setValid(b.n, false)
}

// EndRow completes the current row.
func (b *BatchBuilder) EndRow() { b.n++ }

// Truncate drops any values appended for a row that was not completed with
// EndRow (used when a row turns out to be invalid half way).
func (b *BatchBuilder) Truncate() {
	n := b.n
	for _, f := range b.set.List() {
		c := &b.cols[f]
		nb := (n + 7) / 8
		c.valid = c.valid[:min(len(c.valid), nb)]
		if n&7 != 0 && len(c.valid) == nb {
			c.valid[nb-1] &= 1<<(n&7) - 1
		}
		c.nulls = 0
		for i := 0; i < n; i++ {
			if c.valid[i>>3]&(1<<(i&7)) == 0 {
				c.nulls++
			}
		}
		switch f.Kind() {
		case KindBool:
			c.bools = c.bools[:min(len(c.bools), nb)]
		case KindInt64, KindTimestamp:
			c.ints = c.ints[:min(len(c.ints), n)]
		default:
			c.offsets = c.offsets[:min(len(c.offsets), n+1)]
			c.data = c.data[:c.offsets[len(c.offsets)-1]]
		}
	}
}

// Build returns the rows appended since the last Build as a record batch
// (nil when there are none) and starts a new batch. The caller owns the
// batch and must Release it.
func (b *BatchBuilder) Build() arrow.RecordBatch {
	if b.n == 0 {
		return nil
	}
	n := b.n
	cols := make([]arrow.Array, 0, b.set.Len())
	for _, f := range b.set.List() {
		c := &b.cols[f]
		var validity *memory.Buffer
		if c.nulls > 0 {
			validity = memory.NewBufferBytes(c.valid)
		}
		var data arrow.ArrayData
		switch f.Kind() {
		case KindBool:
			data = array.NewData(f.ArrowType(), n, []*memory.Buffer{validity, memory.NewBufferBytes(c.bools)}, nil, c.nulls, 0)
		case KindInt64, KindTimestamp:
			data = array.NewData(f.ArrowType(), n, []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(c.ints))}, nil, c.nulls, 0)
		default:
			data = array.NewData(f.ArrowType(), n, []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offsets)), memory.NewBufferBytes(c.data)}, nil, c.nulls, 0)
		}
		cols = append(cols, array.MakeFromData(data))
		data.Release()
		// The next batch's text gets the bytes of this one and a
		// sixteenth: batches of similar rows then rarely outgrow it
		// (growing copies the whole buffer into a new one).
		c.reset(f.Kind(), max(n, 1024), max(len(c.data)+len(c.data)/16, 1024))
	}
	rec := array.NewRecordBatch(b.schema, cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	b.n = 0
	return rec
}

// StringBytes returns the bytes of value i of a string column without
// copying; they stay valid while the array is alive.
func StringBytes(a *array.String, i int) []byte {
	offs := a.ValueOffsets()
	return a.ValueBytes()[offs[i]-offs[0] : offs[i+1]-offs[0]]
}
