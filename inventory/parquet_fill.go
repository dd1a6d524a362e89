package inventory

// The Parquet reader's fills: the values of the current page of a column
// appended to the batch being built, by kind (strings, dictionary strings,
// booleans, integers and timestamps), with the checks inventory values
// need (non-empty bucket and key, keys of valid UTF-8, sizes not
// negative).

import (
	"fmt"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// fill appends n rows of column c at rows row.. of the batch.
func (r *ParquetReader) fill(c *pqColumn, row, n int) error {
	b := r.b
	if c.leaf < 0 {
		for i := 0; i < n; i++ {
			b.ColNull(c.field, row+i)
		}
		return nil
	}
	for n > 0 {
		if c.pos >= c.pageN {
			if err := r.nextPage(c); err != nil {
				return err
			}
			continue
		}
		k := min(n, c.pageN-c.pos)
		var err error
		switch c.phys {
		case parquet.ByteArray:
			err = r.fillStrings(c, row, k)
		case parquet.Boolean:
			err = r.fillBools(c, row, k)
		default:
			err = r.fillInts(c, row, k)
		}
		if err != nil {
			return err
		}
		row += k
		n -= k
	}
	return nil
}

// valueErr reports a bad value at column c's current row.
func (r *ParquetReader) valueErr(c *pqColumn, v []byte, expected string, sentinel error) error {
	e := r.corrupt(r.rg, c, sentinel).(*DataError)
	e.Value = shorten(v)
	e.Expected = expected
	return e
}

func (r *ParquetReader) fillStrings(c *pqColumn, row, k int) error {
	if c.idx != nil {
		return r.fillDictStrings(c, row, k)
	}
	cb := r.b.column(c.field)
	data, offsets, valid, nulls := cb.data, cb.offsets, cb.valid, cb.nulls
	defer func() { cb.data, cb.offsets, cb.nulls = data, offsets, nulls }()

	// The run's values are consecutive in the page: copy them in one
	// piece (upper-cased for enum fields), then rebase their offsets.
	nv := k
	if c.defs != nil {
		nv = 0
		for _, d := range c.defs[c.pos : c.pos+k] {
			if d == c.maxDef {
				nv++
			}
		}
	}
	var base int32
	if nv > 0 {
		from, to := c.offs[c.vpos], c.offs[c.vpos+nv]
		start := len(data)
		data = reserveBytes(data, int(to-from))
		if c.isEnum {
			data = AppendUpperASCII(data, c.data[from:to])
		} else {
			data = append(data, c.data[from:to]...)
		}
		base = int32(start) - int32(from)
	}
	checkKey := c.isKey && !c.utf8OK
	end := c.pos + k
	cur := int32(len(cb.data))
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			if c.nonEmpty {
				return r.valueErr(c, nil, "a value (bucket and key are required)", emptySentinel(c))
			}
			offsets = append(offsets, cur)
			nulls++
			continue
		}
		j := c.vpos
		c.vpos++
		lo, hi := c.offs[j], c.offs[j+1]
		switch {
		case hi == lo:
			if c.nonEmpty {
				return r.valueErr(c, c.data[lo:hi], "a non-empty value", emptySentinel(c))
			}
			offsets = append(offsets, cur) // an empty value is no value, as in CSV
			nulls++
			continue
		case c.isKey && (checkKey || c.data[lo]&0xc0 == 0x80) && !utf8.Valid(c.data[lo:hi]):
			return r.valueErr(c, c.data[lo:hi], "a key of valid UTF-8", ErrBadKey)
		}
		cur = int32(hi) + base
		offsets = append(offsets, cur)
		valid[row>>3] |= 1 << (row & 7)
	}
	return nil
}

// fillDictStrings is fillStrings for a dictionary-encoded page: each
// row's value is copied from the dictionary (upper-cased there for enum
// fields), with fixed-size copies when the entries are short and doubling
// copies when a one-entry dictionary fills the run.
func (r *ParquetReader) fillDictStrings(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	data, offsets, valid, nulls := cb.data, cb.offsets, cb.valid, cb.nulls
	defer func() { cb.data, cb.offsets, cb.nulls = data, offsets, nulls }()

	vdata, voffs := c.dVals, c.dOffs
	if c.dictN == 1 && c.defs == nil && c.vpos+k <= len(c.idx) && voffs[1] > voffs[0] &&
		(!c.isKey || (c.utf8OK && vdata[voffs[0]]&0xc0 != 0x80)) && allZero(c.idx[c.vpos:c.vpos+k]) {
		start := len(data)
		v := vdata[voffs[0]:voffs[1]]
		data = reserveBytes(data, k*len(v))
		data = append(data, v...)
		for total := k * len(v); len(data)-start < total; {
			data = append(data, data[start:start+min(len(data)-start, total-(len(data)-start))]...)
		}
		for i := 1; i <= k; i++ {
			offsets = append(offsets, int32(start+i*len(v)))
		}
		setValidRange(valid, row, k)
		c.pos += k
		c.vpos += k
		return nil
	}
	if c.dWide {
		// Room for the run and wideCopy bytes more, so that each value
		// is one fixed-size copy into data's spare capacity.
		need := wideCopy
		for _, x := range c.idx[c.vpos:min(c.vpos+k, len(c.idx))] {
			if uint32(x) < uint32(c.dictN) {
				need += int(voffs[x+1] - voffs[x])
			}
		}
		data = reserveBytes(data, need)
	}
	buf := data[:cap(data)]
	n := len(data)
	checkKey := c.isKey && !c.utf8OK
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			if c.nonEmpty {
				data = data[:n]
				return r.valueErr(c, nil, "a value (bucket and key are required)", emptySentinel(c))
			}
			offsets = append(offsets, int32(n))
			nulls++
			continue
		}
		j, err := r.nextValue(c)
		if err != nil {
			data = data[:n]
			return err
		}
		lo, hi := voffs[j], voffs[j+1]
		switch {
		case hi == lo:
			if c.nonEmpty {
				data = data[:n]
				return r.valueErr(c, vdata[lo:hi], "a non-empty value", emptySentinel(c))
			}
			offsets = append(offsets, int32(n)) // an empty value is no value, as in CSV
			nulls++
			continue
		case c.dWide:
			*(*[wideCopy]byte)(buf[n:]) = *(*[wideCopy]byte)(vdata[lo:])
			n += int(hi - lo)
		case c.isKey && (checkKey || vdata[lo]&0xc0 == 0x80) && !utf8.Valid(vdata[lo:hi]):
			data = data[:n]
			return r.valueErr(c, vdata[lo:hi], "a key of valid UTF-8", ErrBadKey)
		default:
			data = append(data[:n], vdata[lo:hi]...)
			buf, n = data[:cap(data)], len(data)
		}
		offsets = append(offsets, int32(n))
		valid[row>>3] |= 1 << (row & 7)
	}
	if c.dWide {
		clear(buf[n:min(n+wideCopy, len(buf))])
	}
	data = data[:n]
	return nil
}

func allZero(s []int32) bool {
	for _, x := range s {
		if x != 0 {
			return false
		}
	}
	return true
}

// concatValidUTF8 reports whether the values of c's current page (or its
// dictionary) are valid UTF-8 as one string. If so, each value is valid
// UTF-8 unless it starts with a continuation byte (a boundary inside a
// multi-byte sequence), so fillStrings checks only first bytes; one pass
// over the page is much cheaper than one utf8.Valid call per key.
func concatValidUTF8(c *pqColumn) bool {
	data, offs := c.data, c.offs
	if c.idx != nil {
		data, offs = c.dData, c.dOffs
	}
	if len(offs) == 0 {
		return true
	}
	return utf8.Valid(data[offs[0]:offs[len(offs)-1]])
}

func emptySentinel(c *pqColumn) error {
	if c.isKey {
		return ErrBadKey
	}
	return ErrBadValue
}

func (r *ParquetReader) fillBools(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	bools, valid := cb.bools, cb.valid
	if allDefined(c, k) {
		for i, j := row, c.vpos; i < row+k; i, j = i+1, j+1 {
			if c.bits[j>>3]>>(j&7)&1 != 0 {
				bools[i>>3] |= 1 << (i & 7)
			}
		}
		setValidRange(valid, row, k)
		c.pos, c.vpos = c.pos+k, c.vpos+k
		return nil
	}
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			cb.nulls++
			continue
		}
		j := c.vpos
		c.vpos++
		bit := byte(1) << (row & 7)
		if c.bits[j>>3]>>(j&7)&1 != 0 {
			bools[row>>3] |= bit
		}
		valid[row>>3] |= bit
	}
	return nil
}

// nextValue consumes c's next stored value and returns its index among
// the page's values, or, for a dictionary-encoded page, among the
// dictionary's, checked against its size.
func (r *ParquetReader) nextValue(c *pqColumn) (int, error) {
	j := c.vpos
	c.vpos++
	if c.idx == nil {
		return j, nil
	}
	x := c.idx[j]
	if uint32(x) >= uint32(c.dictN) {
		return 0, r.corruptf(c, "dictionary index %d out of range [0,%d)", x, c.dictN)
	}
	return int(x), nil
}

func (r *ParquetReader) fillInts(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	ints, valid, nulls := cb.ints, cb.valid, cb.nulls
	defer func() { cb.ints, cb.nulls = ints, nulls }()
	isSize := c.field.Kind() == KindInt64
	if c.idx == nil && c.phys == parquet.Int64 && c.div <= 1 && allDefined(c, k) {
		// Plain values, no nulls, no conversion: one copy.
		vs := c.ints[c.vpos : c.vpos+k]
		if isSize {
			for i, v := range vs {
				if v < 0 {
					c.pos, c.vpos = c.pos+i, c.vpos+i
					return r.valueErr(c, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
				}
			}
		}
		ints = append(ints, vs...)
		setValidRange(valid, row, k)
		c.pos, c.vpos = c.pos+k, c.vpos+k
		return nil
	}
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			ints = append(ints, 0)
			nulls++
			continue
		}
		j, err := r.nextValue(c)
		if err != nil {
			return err
		}
		var v int64
		switch c.phys {
		case parquet.Int64:
			if c.idx != nil {
				v = c.dInts[j]
			} else {
				v = c.ints[j]
			}
			if c.div > 1 {
				v = floorDiv(v, c.div)
			}
		case parquet.Int32:
			if c.idx != nil {
				v = int64(c.dI32[j])
			} else {
				v = int64(c.i32[j])
			}
		case parquet.Int96:
			if c.idx != nil {
				v = int96Millis(c.dI96[j])
			} else {
				v = int96Millis(c.i96[j])
			}
		}
		if isSize && v < 0 {
			return r.valueErr(c, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
		}
		ints = append(ints, v)
		valid[row>>3] |= 1 << (row & 7)
	}
	return nil
}

// allDefined reports whether the next k rows of c's page all have values.
func allDefined(c *pqColumn, k int) bool {
	if c.defs == nil {
		return true
	}
	for _, d := range c.defs[c.pos : c.pos+k] {
		if d != c.maxDef {
			return false
		}
	}
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// int96Millis converts a legacy INT96 timestamp (nanoseconds of the day,
// then the Julian day number) to milliseconds since the epoch.
func int96Millis(v deprecated.Int96) int64 {
	const julianEpoch = 2_440_588 // Julian day of 1970-01-01
	nanos := int64(uint64(v[1])<<32 | uint64(v[0]))
	return (int64(v[2])-julianEpoch)*86_400_000 + floorDiv(nanos, 1_000_000)
}
