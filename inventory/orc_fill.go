package inventory

// The ORC reader's fills: the rows of a decoded stripe's columns appended
// to the batch being built, by kind, strings copied in one piece per run
// or from the dictionary (with fixed-size copies for short entries), and
// the checks inventory values need (non-empty bucket and key, keys of
// valid UTF-8, sizes not negative, dates in range).

import (
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// valueErr reports bad value v of column c at row k of the current run.
func (r *ORCReader) valueErr(c *orcColumn, k int, v []byte, expected string, sentinel error) error {
	return &DataError{File: r.name, Line: r.rowBase + int64(r.pos+k) + 1, Offset: -1, Field: c.name,
		Value: shorten(v), Expected: expected, Err: fmt.Errorf("stripe %d: %w", r.stripe, sentinel)}
}

// fill appends rows pos..pos+n-1 of the current stripe's column col (nil
// when the file lacks the field) at rows row.. of the batch.
func (r *ORCReader) fill(c *orcColumn, col *orc.Column, row, n int) error {
	cb := r.b.column(c.field)
	if col == nil {
		for i := 0; i < n; i++ {
			r.b.ColNull(c.field, row+i)
		}
		return nil
	}
	switch c.field.Kind() {
	case KindString, KindEnum:
		return r.fillStrings(c, cb, col, row, n)
	case KindBool:
		bools, valid := cb.bools, cb.valid
		vs, ok := col.Bool[r.pos:r.pos+n], col.Valid
		for k, v := range vs {
			if ok != nil && !ok[r.pos+k] {
				cb.nulls++
				continue
			}
			i := row + k
			bit := byte(1) << (i & 7)
			if v {
				bools[i>>3] |= bit
			}
			valid[i>>3] |= bit
		}
		return nil
	}
	// Integers and timestamps.
	ints, valid, nulls := cb.ints, cb.valid, cb.nulls
	defer func() { cb.ints, cb.nulls = ints, nulls }()
	vs, ok := col.Int64[r.pos:r.pos+n], col.Valid
	var nanos []int32
	mul := int64(1)
	if c.field.Kind() == KindTimestamp {
		switch c.kind {
		case orc.Timestamp, orc.TimestampInstant:
			nanos = col.Nanos[r.pos : r.pos+n]
			mul = 1000
		case orc.Date:
			mul = 86_400_000
		}
	}
	isSize := c.field.Kind() == KindInt64
	if ok == nil && mul == 1 {
		// No nulls, no conversion: one copy and one pass of checks.
		if isSize {
			for k, v := range vs {
				if v < 0 {
					return r.valueErr(c, k, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
				}
			}
		}
		ints = append(ints, vs...)
		setValidRange(valid, row, n)
		return nil
	}
	for k, v := range vs {
		if ok != nil && !ok[r.pos+k] {
			ints = append(ints, 0)
			nulls++
			continue
		}
		if mul != 1 {
			ms := v * mul
			if ms/mul != v {
				return r.valueErr(c, k, fmt.Append(nil, v), "a date between the years -292 million and 292 million", ErrBadValue)
			}
			if nanos != nil {
				// Nanos are 0..999,999,999 after the seconds, so adding
				// them rounds down before 1970 too.
				ms += int64(nanos[k]) / 1_000_000
			}
			v = ms
		} else if isSize && v < 0 {
			return r.valueErr(c, k, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
		}
		ints = append(ints, v)
		i := row + k
		valid[i>>3] |= 1 << (i & 7)
	}
	return nil
}

// fillStrings copies the run's bytes in one piece (upper-cased for enum
// fields) and rebases its offsets. Empty values (nulls included: their
// slots are empty) are null; bucket and key must not be.
func (r *ORCReader) fillStrings(c *orcColumn, cb *colBuf, col *orc.Column, row, n int) error {
	if col.Dict != nil {
		return r.fillDict(c, cb, col, row, n)
	}
	offs := col.Offsets[r.pos : r.pos+n+1]
	src := col.Bytes[offs[0]:offs[n]]
	if int64(len(cb.data))+int64(len(src)) > math.MaxInt32 {
		return r.valueErr(c, 0, nil, "at most 2 GiB of text per batch (use smaller batches)", ErrBadValue)
	}
	start := len(cb.data)
	data := reserveBytes(cb.data, len(src))
	if c.isEnum {
		data = AppendUpperASCII(data, src)
	} else {
		data = append(data, src...)
	}
	base := int32(start) - offs[0]
	offsets, valid, nulls := cb.offsets, cb.valid, cb.nulls
	contStart := false
	for k := 0; k < n; k++ {
		lo, hi := offs[k], offs[k+1]
		if hi == lo {
			if c.nonEmpty {
				return r.valueErr(c, k, nil, "a non-empty value (bucket and key are required)", emptyORCSentinel(c))
			}
			nulls++
		} else {
			if c.isKey && src[lo-offs[0]]&0xc0 == 0x80 {
				contStart = true
			}
			i := row + k
			valid[i>>3] |= 1 << (i & 7)
		}
		offsets = append(offsets, hi+base)
	}
	// One pass over the run: if it is valid UTF-8 as a whole and no key
	// starts inside a multi-byte sequence, every key is valid UTF-8.
	if c.isKey && (contStart || !utf8.Valid(src)) {
		for k := 0; k < n; k++ {
			if v := src[offs[k]-offs[0] : offs[k+1]-offs[0]]; !utf8.Valid(v) {
				return r.valueErr(c, k, v, "a key of valid UTF-8", ErrBadKey)
			}
		}
	}
	cb.data, cb.offsets, cb.nulls = data, offsets, nulls
	return nil
}

// useDict prepares column c for the current stripe, whose values come
// from dictionary d: enum entries are upper-cased once, key entries
// checked for valid UTF-8 once, and short entries padded for fillDict's
// fixed-size copies.
func (c *orcColumn) useDict(d *orc.Column) {
	offs := d.Offsets
	c.dictData, c.badUTF8, c.maxLen, c.wide = d.Bytes, nil, 0, false
	for x := range d.Len {
		c.maxLen = max(c.maxLen, int(offs[x+1]-offs[x]))
	}
	if c.isEnum || (!c.isKey && c.maxLen <= wideCopy && len(d.Bytes) <= 64<<10) {
		buf := c.upper[:0]
		if c.isEnum {
			buf = AppendUpperASCII(buf, d.Bytes)
		} else {
			buf = append(buf, d.Bytes...)
		}
		c.upper = append(buf, make([]byte, wideCopy)...)
		c.dictData = c.upper
		c.wide = c.maxLen <= wideCopy // and not the key: wide copies skip its UTF-8 check
	}
	if !c.isKey {
		return
	}
	// As in fillStrings: if the entries are valid UTF-8 as a whole and
	// none starts inside a multi-byte sequence, each one is valid.
	valid := utf8.Valid(d.Bytes)
	for x := 0; valid && x < d.Len; x++ {
		if lo := offs[x]; lo < offs[x+1] && d.Bytes[lo]&0xc0 == 0x80 {
			valid = false
		}
	}
	if valid {
		return
	}
	c.badBuf = slices.Grow(c.badBuf[:0], d.Len)[:d.Len]
	for x := range d.Len {
		c.badBuf[x] = !utf8.Valid(d.Bytes[offs[x]:offs[x+1]])
	}
	c.badUTF8 = c.badBuf
}

// wideCopy is the size of the fixed-size copies fillDict makes for
// dictionaries whose entries are all at most this long (storage classes,
// tiers, statuses): one pair of 16-byte moves instead of a call to memmove
// per row, writing past the value into room that the next value (or the
// buffer's spare capacity) overwrites.
const wideCopy = 32

// fillDict is fillStrings for a column kept as a dictionary: each row's
// value is copied from the dictionary (upper-cased there for enum
// fields). Errors are those of fillStrings, in the same order: an empty
// bucket or key at once, an invalid key after the run.
func (r *ORCReader) fillDict(c *orcColumn, cb *colBuf, col *orc.Column, row, n int) error {
	offs, src := col.Dict.Offsets, c.dictData
	idx := col.Index[r.pos : r.pos+n]
	var ok []bool
	if col.Valid != nil {
		ok = col.Valid[r.pos : r.pos+n]
	}
	// The run's bytes: exact when the dictionary is small (its entries
	// stay in cache) or the run might not fit in 2 GiB, otherwise
	// estimated from the dictionary's average entry (a large dictionary is
	// read at random; a second pass over it costs as much as the copies).
	need := 0
	if c.wide || int64(len(cb.data))+int64(n)*int64(c.maxLen) > math.MaxInt32 {
		for k, x := range idx {
			if ok == nil || ok[k] {
				need += int(offs[x+1] - offs[x])
			}
		}
		if int64(len(cb.data))+int64(need) > math.MaxInt32 {
			return r.valueErr(c, 0, nil, "at most 2 GiB of text per batch (use smaller batches)", ErrBadValue)
		}
	} else if d := col.Dict; d.Len > 0 {
		need = n * ((len(d.Bytes) + d.Len - 1) / d.Len)
	}
	if col.Dict.Len == 1 && ok == nil && offs[1] > 0 && c.badUTF8 == nil {
		return r.fillRepeat(cb, src[:offs[1]], row, n)
	}
	if c.wide {
		need += wideCopy
	}
	data := reserveBytes(cb.data, need)
	offsets, valid, nulls := cb.offsets, cb.valid, cb.nulls
	bad := -1
	if c.wide {
		// Fixed-size copies into data's spare capacity, which holds the
		// run and wideCopy bytes more; src is padded likewise.
		end := len(data)
		buf := data[:cap(data)]
		for k, x := range idx {
			// A null row's index means nothing: the dictionary may be
			// empty (a column null on every row, as S3 writes it).
			var lo, hi int32
			if ok == nil || ok[k] {
				lo, hi = offs[x], offs[x+1]
			}
			if hi == lo {
				if c.nonEmpty {
					return r.valueErr(c, k, nil, "a non-empty value (bucket and key are required)", emptyORCSentinel(c))
				}
				nulls++
			} else {
				*(*[wideCopy]byte)(buf[end:]) = *(*[wideCopy]byte)(src[lo:])
				end += int(hi - lo)
				i := row + k
				valid[i>>3] |= 1 << (i & 7)
			}
			offsets = append(offsets, int32(end))
		}
		clear(buf[end:min(end+wideCopy, len(buf))])
		data = data[:end]
	} else {
		for k, x := range idx {
			var lo, hi int32
			if ok == nil || ok[k] {
				lo, hi = offs[x], offs[x+1]
			}
			if hi == lo {
				if c.nonEmpty {
					return r.valueErr(c, k, nil, "a non-empty value (bucket and key are required)", emptyORCSentinel(c))
				}
				nulls++
			} else {
				if c.badUTF8 != nil && bad < 0 && c.badUTF8[x] {
					bad = k
				}
				data = append(data, src[lo:hi]...)
				i := row + k
				valid[i>>3] |= 1 << (i & 7)
			}
			offsets = append(offsets, int32(len(data)))
		}
	}
	if bad >= 0 {
		x := idx[bad]
		return r.valueErr(c, bad, col.Dict.Bytes[offs[x]:offs[x+1]], "a key of valid UTF-8", ErrBadKey)
	}
	cb.data, cb.offsets, cb.nulls = data, offsets, nulls
	return nil
}

// fillRepeat appends n rows of the non-empty value v (a one-entry
// dictionary and no nulls: the bucket), doubling the copied region.
func (r *ORCReader) fillRepeat(cb *colBuf, v []byte, row, n int) error {
	start := len(cb.data)
	data := reserveBytes(cb.data, n*len(v))
	data = append(data, v...)
	for total := n * len(v); len(data)-start < total; {
		data = append(data, data[start:start+min(len(data)-start, total-(len(data)-start))]...)
	}
	offsets := cb.offsets
	for k := 1; k <= n; k++ {
		offsets = append(offsets, int32(start+k*len(v)))
	}
	setValidRange(cb.valid, row, n)
	cb.data, cb.offsets = data, offsets
	return nil
}

// reserveBytes makes room for n more bytes in b, growing it once to what
// is needed plus a quarter rather than by doubling while appending (the
// builder sizes each batch's buffer to the last batch's bytes, so a run
// that does not fit usually needs a little more).
func reserveBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n+(len(b)+n)/4)
	copy(nb, b)
	return nb
}

// setValidRange sets the validity bits of rows from..from+n-1.
func setValidRange(valid []byte, from, n int) {
	end := from + n
	for ; from < end && from&7 != 0; from++ {
		valid[from>>3] |= 1 << (from & 7)
	}
	for ; from+8 <= end; from += 8 {
		valid[from>>3] = 0xff
	}
	for ; from < end; from++ {
		valid[from>>3] |= 1 << (from & 7)
	}
}

func emptyORCSentinel(c *orcColumn) error {
	if c.isKey {
		return ErrBadKey
	}
	return ErrBadValue
}
