package partition

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// cols is typed access to the columns of one Arrow batch, by field, over
// their raw buffers: the encoder of sort keys and the cutter read every
// row through it.
type cols struct {
	sc    [inventory.NumFields]strCol
	ints  [inventory.NumFields][]int64 // nil when absent
	ivld  [inventory.NumFields]bitmap
	bhas  [inventory.NumFields]bool
	bvals [inventory.NumFields]bitmap
	bvld  [inventory.NumFields]bitmap
}

// bitmap is an Arrow validity bitmap with its array's offset; a nil one
// means every value is present.
type bitmap struct {
	bits []byte
	off  int
}

func newBitmap(a arrow.Array) bitmap {
	d := a.Data()
	if a.NullN() == 0 || d.Buffers()[0] == nil {
		return bitmap{}
	}
	return bitmap{bits: d.Buffers()[0].Bytes(), off: d.Offset()}
}

func (b *bitmap) valid(r int) bool {
	if b.bits == nil {
		return true
	}
	i := r + b.off
	return b.bits[i>>3]&(1<<(i&7)) != 0
}

// strCol is a string column's raw buffers, so that the hot loops index
// slices directly instead of going through the array's methods.
type strCol struct {
	offs  []int32 // from the array's offset: offs[r], offs[r+1] bound row r
	data  []byte  // the whole values buffer (offsets are absolute)
	valid bitmap
}

func newStrCol(a *array.String) strCol {
	sc := strCol{offs: a.ValueOffsets(), valid: newBitmap(a)}
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		sc.data = bufs[2].Bytes()
	}
	return sc
}

// at returns the bytes of row r; nil when null or absent.
func (s *strCol) at(r int) []byte {
	if s.offs == nil || !s.valid.valid(r) {
		return nil
	}
	return s.data[s.offs[r]:s.offs[r+1]]
}

// newCols maps rec's columns; fields is rec's field set, or zero to map
// columns by their names.
func newCols(rec arrow.RecordBatch, fields inventory.FieldSet) cols {
	var c cols
	if fields == 0 {
		for _, f := range rec.Schema().Fields() {
			if fld, ok := inventory.LookupField(f.Name); ok {
				fields |= inventory.Fields(fld)
			}
		}
	}
	b := inventory.Batch{Rec: rec, Fields: fields}
	for _, f := range fields.List() {
		switch f.Kind() {
		case inventory.KindBool:
			if a := b.Bools(f); a != nil {
				d := a.Data()
				c.bhas[f] = true
				if buf := d.Buffers()[1]; buf != nil {
					c.bvals[f] = bitmap{bits: buf.Bytes(), off: d.Offset()}
				}
				c.bvld[f] = newBitmap(a)
			}
		case inventory.KindInt64, inventory.KindTimestamp:
			var a arrow.Array
			c.ints[f], a = b.Int64s(f)
			if a != nil {
				if c.ints[f] == nil {
					c.ints[f] = []int64{}
				}
				c.ivld[f] = newBitmap(a)
			}
		default:
			if a := b.Strings(f); a != nil {
				c.sc[f] = newStrCol(a)
			}
		}
	}
	return c
}

// str returns the bytes of string field f at row r; nil when null or
// absent.
func (c *cols) str(f inventory.Field, r int) []byte {
	return c.sc[f].at(r)
}

// int returns int64 field f at row r and whether it is present.
func (c *cols) int(f inventory.Field, r int) (int64, bool) {
	if c.ints[f] == nil || !c.ivld[f].valid(r) {
		return 0, false
	}
	return c.ints[f][r], true
}

func (c *cols) boolean(f inventory.Field, r int) (v, ok bool) {
	if !c.bhas[f] || !c.bvld[f].valid(r) {
		return false, false
	}
	return c.bvals[f].valid(r), true
}
