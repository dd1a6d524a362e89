package inventory

import "math/bits"

// Column-at-a-time appending, for readers that decode whole columns
// (Parquet pages, ORC streams) rather than rows.
//
// To append a run of n rows: call ReserveRows(n); then, for each field of
// the projection, call exactly one Col* method per row of the run, with
// row going from Len() to Len()+n-1 in order; then EndRows(n). Fields may
// be filled in any order, but the run must be complete for every field
// before EndRows. Row-at-a-time methods (AppendString, ..., EndRow) must
// not be mixed into a run; before ReserveRows and after EndRows they may be
// used as usual. The Col* methods do not allocate once the buffers have
// grown to the batch size.

// ReserveRows prepares every column for a run of n rows.
func (b *BatchBuilder) ReserveRows(n int) {
	nb := (b.n + n + 7) / 8
	for s := uint32(b.set & AllFields); s != 0; s &= s - 1 {
		f := Field(bits.TrailingZeros32(s))
		c := &b.cols[f]
		c.valid = growZero(c.valid, nb)
		switch f.Kind() {
		case KindBool:
			c.bools = growZero(c.bools, nb)
		case KindInt64, KindTimestamp:
			c.ints = growCap(c.ints, n)
		default:
			c.offsets = growCap(c.offsets, n)
		}
	}
}

func growZero(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}

func growCap[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	ns := make([]T, len(s), len(s)+max(n, cap(s)))
	copy(ns, s)
	return ns
}

// ColString sets f's value at row to the text v.
func (b *BatchBuilder) ColString(f Field, row int, v []byte) {
	c := &b.cols[f]
	c.data = append(c.data, v...)
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.valid[row>>3] |= 1 << (row & 7)
}

// ColUpperASCII sets f's value at row to v with ASCII letters upper-cased
// (the canonical form of enum fields, see AppendUpperASCII).
func (b *BatchBuilder) ColUpperASCII(f Field, row int, v []byte) {
	c := &b.cols[f]
	c.data = AppendUpperASCII(c.data, v)
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.valid[row>>3] |= 1 << (row & 7)
}

// ColInt sets f's int64 (or timestamp in milliseconds) value at row.
func (b *BatchBuilder) ColInt(f Field, row int, v int64) {
	c := &b.cols[f]
	c.ints = append(c.ints, v)
	c.valid[row>>3] |= 1 << (row & 7)
}

// ColBool sets f's boolean value at row.
func (b *BatchBuilder) ColBool(f Field, row int, v bool) {
	c := &b.cols[f]
	if v {
		c.bools[row>>3] |= 1 << (row & 7)
	}
	c.valid[row>>3] |= 1 << (row & 7)
}

// ColNull sets f's value at row to null.
func (b *BatchBuilder) ColNull(f Field, row int) {
	c := &b.cols[f]
	switch f.Kind() {
	case KindBool:
	case KindInt64, KindTimestamp:
		c.ints = append(c.ints, 0)
	default:
		c.offsets = append(c.offsets, int32(len(c.data)))
	}
	c.nulls++
}

// EndRows completes a run of n rows.
func (b *BatchBuilder) EndRows(n int) { b.n += n }

// column returns f's buffers, for in-package readers whose inner loops
// append to local copies of the slices and store them back once per run
// (which keeps write barriers and calls out of the loop). They must keep
// the same invariants as the Col* methods.
func (b *BatchBuilder) column(f Field) *colBuf { return &b.cols[f] }
