package inventory

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Reasons a filter drops a row, as counted in plan.json.
const (
	DropDeleteMarker = "delete_marker"
	DropNotLatest    = "not_latest"
	DropPrefix       = "prefix"
)

// Filter selects the rows of a batch that go on to the plan. The zero
// Filter keeps every row except delete markers. Each predicate runs over a
// whole column, narrowing a selection vector; every dropped row is counted
// under the first predicate that dropped it.
type Filter struct {
	// Prefixes keeps keys starting with any of these (all keys when empty).
	Prefixes []string
	// LatestOnly keeps only current versions (IsLatest true or absent).
	LatestOnly bool
	// KeepDeleteMarkers keeps delete-marker rows (dropped by default: an
	// operation on a delete marker fails).
	KeepDeleteMarkers bool
}

// Needs returns the fields the filter reads.
func (f *Filter) Needs() FieldSet {
	s := Fields(Key, IsDeleteMarker)
	if f.LatestOnly {
		s |= Fields(IsLatest)
	}
	return s
}

// Drops counts dropped rows by reason.
type Drops map[string]int64

// Select returns the indices of rows of rec that pass the filter,
// appending to sel[:0]; fields is the batch's field set. Drops are added
// to drops.
func (f *Filter) Select(rec arrow.RecordBatch, fields FieldSet, sel []int32, drops Drops) []int32 {
	n := int(rec.NumRows())
	sel = sel[:0]
	for i := 0; i < n; i++ {
		sel = append(sel, int32(i))
	}
	if !f.KeepDeleteMarkers && fields.Has(IsDeleteMarker) {
		col := rec.Column(fields.ColumnIndex(IsDeleteMarker)).(*array.Boolean)
		sel = keepBool(sel, col, false, drops, DropDeleteMarker)
	}
	if f.LatestOnly && fields.Has(IsLatest) {
		col := rec.Column(fields.ColumnIndex(IsLatest)).(*array.Boolean)
		sel = keepBool(sel, col, true, drops, DropNotLatest)
	}
	if len(f.Prefixes) > 0 {
		keys := rec.Column(fields.ColumnIndex(Key)).(*array.String)
		out := sel[:0]
		for _, i := range sel {
			k := StringBytes(keys, int(i))
			for _, p := range f.Prefixes {
				if bytes.HasPrefix(k, []byte(p)) {
					out = append(out, i)
					break
				}
			}
		}
		drops[DropPrefix] += int64(len(sel) - len(out))
		sel = out
	}
	return sel
}

// keepBool keeps rows whose value is null or equals want.
func keepBool(sel []int32, col *array.Boolean, want bool, drops Drops, reason string) []int32 {
	out := sel[:0]
	for _, i := range sel {
		if col.IsNull(int(i)) || col.Value(int(i)) == want {
			out = append(out, i)
		}
	}
	if d := len(sel) - len(out); d > 0 {
		drops[reason] += int64(d)
	}
	return out
}
