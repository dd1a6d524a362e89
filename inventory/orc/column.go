package orc

import (
	"fmt"
	"math"
)

// Column holds the decoded values of one column for the rows of a batch,
// laid out like an Apache Arrow array so that an adapter can build Arrow
// arrays without converting values:
//
//   - Valid: nil when every row is valid; otherwise len(Valid) == Len and
//     Valid[i] is false for a null row. Value slots of null rows hold the
//     zero value (zero-length strings, 0 numbers).
//   - Boolean: Bool.
//   - Byte, Short, Int, Long: Int64 (sign-extended).
//   - Date: Int64, days since 1970-01-01.
//   - Decimal: Int64, the unscaled value at the type's Scale
//     (value = Int64[i] / 10^Type.Scale).
//   - Float: Float32. Double: Float64.
//   - String, Varchar, Char, Binary: value i is
//     Bytes[Offsets[i]:Offsets[i+1]]; len(Offsets) == Len+1, Offsets[0] == 0
//     (Arrow's String/Binary layout). A dictionary-encoded column read
//     with ReadOptions.Dictionaries has instead Dict, a column of the same
//     type holding the dictionary's entries (no nulls), and Index, with
//     len(Index) == Len: value i is Dict's value Index[i] (Arrow's
//     dictionary layout). Index values are in range; a null row's is 0.
//     Value works with either layout.
//   - Timestamp, TimestampInstant: Int64 holds seconds since the Unix epoch
//     and Nanos the nanoseconds (0..999,999,999) of the instant, UTC.
//     UnixNanos converts to Arrow's timestamp[ns] representation.
//   - Struct: Children, one per field, each with Len rows (a row that is
//     null in the struct is null in every child).
//   - List: Offsets (len Len+1) index into Children[0], the elements.
//   - Map: Offsets index into Children[0] (keys) and Children[1] (values).
//
// Ownership: ReadStripe allocates every Column afresh; the caller owns it
// and may keep or modify it. A child's Valid may share memory with its
// parent's Valid, and Bytes may share memory with the stripe's read buffer,
// which is not used for anything else. ReadStripeInto reuses the Columns
// of the Batch it is given, and their memory, for the next stripe.
type Column struct {
	Type     *Type
	Len      int
	Valid    []bool
	Bool     []bool
	Int64    []int64
	Nanos    []int32
	Float32  []float32
	Float64  []float64
	Bytes    []byte
	Offsets  []int32
	Dict     *Column
	Index    []int32
	Children []*Column
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool { return c.Valid != nil && !c.Valid[i] }

// NullCount counts the null rows.
func (c *Column) NullCount() int {
	if c.Valid == nil {
		return 0
	}
	n := 0
	for _, v := range c.Valid {
		if !v {
			n++
		}
	}
	return n
}

// Value returns row i of a string, varchar, char or binary column. The
// result aliases c.Bytes (or the dictionary's Bytes).
func (c *Column) Value(i int) []byte {
	if c.Dict != nil {
		return c.Dict.Value(int(c.Index[i]))
	}
	return c.Bytes[c.Offsets[i]:c.Offsets[i+1]]
}

// UnixNanos appends the timestamps of a Timestamp column as nanoseconds
// since the Unix epoch (null rows as 0) to dst. It fails if a value does
// not fit in an int64 (before 1677 or after 2262).
func (c *Column) UnixNanos(dst []int64) ([]int64, error) {
	if c.Type.Kind != Timestamp && c.Type.Kind != TimestampInstant {
		return dst, fmt.Errorf("orc: UnixNanos on a %v column", c.Type.Kind)
	}
	for i, s := range c.Int64 {
		if c.IsNull(i) {
			dst = append(dst, 0)
			continue
		}
		if s > math.MaxInt64/1_000_000_000-1 || s < math.MinInt64/1_000_000_000+1 {
			return dst, fmt.Errorf("orc: timestamp %d s at row %d does not fit in int64 nanoseconds", s, i)
		}
		dst = append(dst, s*1_000_000_000+int64(c.Nanos[i]))
	}
	return dst, nil
}

// Batch is the decoded content of one stripe: one Column per requested
// top-level column, each with NumRows rows.
type Batch struct {
	NumRows int
	Names   []string // top-level column names, parallel to Columns
	Columns []*Column

	scratch *stripeScratch // memory ReadStripeInto reuses
}

// Column returns the column with the given top-level name, or nil.
func (b *Batch) Column(name string) *Column {
	for i, n := range b.Names {
		if n == name {
			return b.Columns[i]
		}
	}
	return nil
}
