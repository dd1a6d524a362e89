package partition

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// A row goes through the sort as one byte string, its sort key, whose
// byte order (bytes.Compare) is the order of the sorted output:
//
//  1. bucket, then key: escaped strings (a NUL byte as 00 FF), each
//     ended by 00 00, so that a string sorts before its extensions; a
//     null is the empty string, as the shards and the dedupe take it.
//     The bucket is dictionary-coded (see dict);
//  2. last modified date, newest first, unknown last (see appendDesc);
//  3. is latest, current first: 00 true, 01 false, 02 null;
//  4. version id, escaped and ended like the key (null is empty);
//  5. every other carried column, in field order, null first: strings
//     00 for null, else 01 and the string escaped and ended, or a
//     dictionary code; integers as appendInt; booleans 00 null, 01
//     false, 02 true.
//
// Parts 2 to 4 are there only when the sort carries their column. Rows
// that are duplicates of one object version (equal in 1 to 4) are thus
// ordered by their other columns, so that the row kept does not depend
// on the order rows were added in; rows whose keys are equal are equal in
// every carried column. The key is the whole row: decode gives it back.
// Integers take as many bytes as their value needs, since memory is what
// decides whether a sort spills: a typical row takes about 55 bytes.

// sortCodec encodes and decodes the sort keys of rows carrying fields.
// dicts are set up from the first rows encoded (setup), before any key is
// made, and never change after.
type sortCodec struct {
	fields              inventory.FieldSet
	list                []inventory.Field
	lm, latest, version bool
	rest                []inventory.Field // the other carried fields, in field order
	restKinds           []inventory.Kind  // their kinds
	dicts               [inventory.NumFields]*dict
	ready               bool
}

// dict codes the frequent values of a string column in one or two bytes
// (wide), in an order-preserving way: values[i] (sorted) is base+2i+1;
// any other value x is base+2p, p the number of values below x, followed
// by x escaped and ended. base is 1 for a column that may be null (code
// 0), else 0. Codes compare as the values do, and a row's sort key
// shrinks by the bytes of its bucket name and storage class, which every
// row repeats.
type dict struct {
	values [][]byte
	base   int
	wide   bool
	// heads holds each value's length and first 8 bytes (zero-padded);
	// slots maps a hash of those to the value's index + 1 (0: none), so
	// that a lookup costs a multiplication and two integer comparisons.
	// A value whose slot another took is found by binary search.
	heads []dictHead
	slots [dictSlots]uint16
	last  int // the index found last, tried first
}

// dictSlots is the size of a dictionary's hash table.
const dictSlots = 1024

func (h dictHead) slot() int {
	return int((h.head*0x9E3779B97F4A7C15 ^ uint64(h.n)*0xC2B2AE3D27D4EB4F) >> (64 - 10))
}

type dictHead struct {
	n    int
	head uint64
}

// headOf returns v's first 8 bytes, zero-padded, as an integer.
func headOf(v []byte) uint64 {
	if len(v) >= 8 {
		return binary.LittleEndian.Uint64(v)
	}
	var b [8]byte
	copy(b[:], v)
	return binary.LittleEndian.Uint64(b[:])
}

// maxDict is the most values a dictionary holds.
const maxDict = 256

func newSortCodec(fields inventory.FieldSet) *sortCodec {
	c := &sortCodec{fields: fields, list: fields.List(),
		lm: fields.Has(inventory.LastModifiedDate), latest: fields.Has(inventory.IsLatest), version: fields.Has(inventory.VersionID)}
	for _, f := range c.list {
		switch f {
		case inventory.Bucket, inventory.Key, inventory.LastModifiedDate, inventory.IsLatest, inventory.VersionID:
		default:
			c.rest = append(c.rest, f)
			c.restKinds = append(c.restKinds, f.Kind())
		}
	}
	return c
}

// setup builds the dictionaries of the bucket (seeded with buckets) and of
// the other string columns with at most maxDict values among the rows
// sel of c, seeded with the values the column is known to take
// (inventory.KnownValues).
func (sc *sortCodec) setup(c *cols, sel []int32, buckets []string) {
	sc.ready = true
	fields := append([]inventory.Field{inventory.Bucket}, sc.rest...)
	for _, f := range fields {
		if k := f.Kind(); k != inventory.KindString && k != inventory.KindEnum {
			continue
		}
		seen := map[string]bool{}
		if f == inventory.Bucket {
			for _, b := range buckets {
				seen[b] = true
			}
		}
		for _, v := range inventory.KnownValues(f) {
			seen[v] = true
		}
		for _, r := range sel {
			if v := c.str(f, int(r)); v != nil || f == inventory.Bucket {
				seen[string(v)] = true
			}
			if len(seen) > maxDict {
				break
			}
		}
		if len(seen) == 0 || len(seen) > maxDict {
			continue
		}
		d := &dict{}
		for v := range seen {
			d.values = append(d.values, []byte(v))
		}
		slices.SortFunc(d.values, bytes.Compare)
		for i, v := range d.values {
			h := dictHead{len(v), headOf(v)}
			d.heads = append(d.heads, h)
			if d.slots[h.slot()] == 0 {
				d.slots[h.slot()] = uint16(i + 1)
			}
		}
		if f != inventory.Bucket {
			d.base = 1
		}
		d.wide = d.base+2*len(d.values)+1 > 0xff
		sc.dicts[f] = d
	}
}

func (d *dict) appendRaw(dst []byte, code int) []byte {
	if d.wide {
		return binary.BigEndian.AppendUint16(dst, uint16(code))
	}
	return append(dst, byte(code))
}

// appendCode appends v's code.
func (d *dict) appendCode(dst, v []byte) []byte {
	h := dictHead{len(v), headOf(v)}
	if i := d.last; d.heads[i] == h && (h.n <= 8 || string(d.values[i][8:]) == string(v[8:])) {
		return d.appendRaw(dst, d.base+2*i+1)
	}
	if i := int(d.slots[h.slot()]) - 1; i >= 0 && d.heads[i] == h && (h.n <= 8 || string(d.values[i][8:]) == string(v[8:])) {
		d.last = i
		return d.appendRaw(dst, d.base+2*i+1)
	}
	p, found := slices.BinarySearchFunc(d.values, v, bytes.Compare)
	if found {
		return d.appendRaw(dst, d.base+2*p+1)
	}
	return appendEscaped(d.appendRaw(dst, d.base+2*p), v)
}

// take cuts a coded value off the front of k; valid is false when the
// value is null (code 0 of a column that may be null).
func (d *dict) take(k []byte, row *sortRow) (v, rest []byte, valid bool, err error) {
	if len(k) == 0 {
		return nil, nil, false, errBadSortKey
	}
	code := int(k[0])
	k = k[1:]
	if d.wide {
		if len(k) == 0 {
			return nil, nil, false, errBadSortKey
		}
		code = code<<8 | int(k[0])
		k = k[1:]
	}
	switch code -= d.base; {
	case code < 0:
		return nil, k, false, nil
	case code&1 == 1:
		if i := code >> 1; i < len(d.values) {
			return d.values[i], k, true, nil
		}
		return nil, nil, false, errBadSortKey
	}
	v, k, err = row.takeString(k)
	return v, k, true, err
}

// appendEscaped appends s escaped and ended.
func appendEscaped(dst, s []byte) []byte {
	if bytes.IndexByte(s, 0) < 0 {
		dst = append(dst, s...)
	} else {
		for _, b := range s {
			dst = append(dst, b)
			if b == 0 {
				dst = append(dst, 0xff)
			}
		}
	}
	return append(dst, 0, 0)
}

// orderedInt maps v to an unsigned value in the same order.
func orderedInt(v int64) uint64 { return uint64(v) ^ 1<<63 }

// byteLen is the number of bytes of v without its leading zero bytes.
func byteLen(v uint64) int { return (bits.Len64(v) + 7) / 8 }

// appendInt appends a nullable integer in ascending order: 00 null, 01
// and 8 bytes (orderedInt) when negative, else 02+n and v's n bytes
// (big-endian, no leading zero byte): longer means larger.
func appendInt(dst []byte, v int64, ok bool) []byte {
	switch {
	case !ok:
		return append(dst, 0)
	case v < 0:
		return binary.BigEndian.AppendUint64(append(dst, 1), orderedInt(v))
	}
	n := byteLen(uint64(v))
	// All 8 bytes, shifted to the front, then the n wanted kept.
	dst = binary.BigEndian.AppendUint64(append(dst, byte(2+n)), uint64(v)<<(64-8*n))
	return dst[:len(dst)-8+n]
}

// leading reads the n (≤ 8) big-endian bytes at the front of k as an
// unsigned value.
func leading(k []byte, n int) uint64 {
	if n == 0 {
		return 0
	}
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k) >> (64 - 8*n)
	}
	var u uint64
	for _, b := range k[:n] {
		u = u<<8 | uint64(b)
	}
	return u
}

func takeInt(k []byte) (v int64, ok bool, rest []byte, err error) {
	if len(k) < 1 {
		return 0, false, nil, errBadSortKey
	}
	switch t := int(k[0]); {
	case t == 0:
		return 0, false, k[1:], nil
	case t == 1 && len(k) >= 9:
		return int64(binary.BigEndian.Uint64(k[1:]) ^ 1<<63), true, k[9:], nil
	case t >= 2 && t <= 10 && len(k) >= t-1:
		return int64(leading(k[1:], t-2)), true, k[t-1:], nil
	}
	return 0, false, nil, errBadSortKey
}

// appendDesc appends a nullable integer in descending order, null last:
// 0x20-n and the complement of v's n bytes when v ≥ 0 (longer means
// larger, so first), 0x21 and the complement of 8 bytes (orderedInt)
// when negative, 0x22 for null.
func appendDesc(dst []byte, v int64, ok bool) []byte {
	switch {
	case !ok:
		return append(dst, 0x22)
	case v < 0:
		return binary.BigEndian.AppendUint64(append(dst, 0x21), ^orderedInt(v))
	}
	n := byteLen(uint64(v))
	dst = binary.BigEndian.AppendUint64(append(dst, byte(0x20-n)), ^uint64(v)<<(64-8*n))
	return dst[:len(dst)-8+n]
}

func takeDesc(k []byte) (v int64, ok bool, rest []byte, err error) {
	if len(k) < 1 {
		return 0, false, nil, errBadSortKey
	}
	switch t := int(k[0]); {
	case t == 0x22:
		return 0, false, k[1:], nil
	case t == 0x21 && len(k) >= 9:
		return int64(^binary.BigEndian.Uint64(k[1:]) ^ 1<<63), true, k[9:], nil
	case t >= 0x18 && t <= 0x20 && len(k) >= 1+0x20-t:
		n := 0x20 - t
		// The complement of n bytes, read back.
		return int64(^leading(k[1:], n) & (1<<(8*n) - 1)), true, k[1+n:], nil
	}
	return 0, false, nil, errBadSortKey
}

// encode appends the sort key of row r of c.
func (sc *sortCodec) encode(dst []byte, c *cols, r int) []byte {
	if d := sc.dicts[inventory.Bucket]; d != nil {
		dst = d.appendCode(dst, c.str(inventory.Bucket, r))
	} else {
		dst = appendEscaped(dst, c.str(inventory.Bucket, r))
	}
	dst = appendEscaped(dst, c.str(inventory.Key, r))
	if sc.lm {
		v, ok := c.int(inventory.LastModifiedDate, r)
		dst = appendDesc(dst, v, ok)
	}
	if sc.latest {
		switch v, ok := c.boolean(inventory.IsLatest, r); {
		case ok && v:
			dst = append(dst, 0)
		case ok:
			dst = append(dst, 1)
		default:
			dst = append(dst, 2)
		}
	}
	if sc.version {
		dst = appendEscaped(dst, c.str(inventory.VersionID, r))
	}
	for i, f := range sc.rest {
		switch sc.restKinds[i] {
		case inventory.KindBool:
			switch v, ok := c.boolean(f, r); {
			case !ok:
				dst = append(dst, 0)
			case v:
				dst = append(dst, 2)
			default:
				dst = append(dst, 1)
			}
		case inventory.KindInt64, inventory.KindTimestamp:
			v, ok := c.int(f, r)
			dst = appendInt(dst, v, ok)
		default:
			col := &c.sc[f]
			null := col.offs == nil || !col.valid.valid(r)
			switch d := sc.dicts[f]; {
			case d != nil && null:
				dst = d.appendRaw(dst, 0)
			case d != nil:
				dst = d.appendCode(dst, col.data[col.offs[r]:col.offs[r+1]])
			case null:
				dst = append(dst, 0)
			default:
				dst = appendEscaped(append(dst, 1), col.data[col.offs[r]:col.offs[r+1]])
			}
		}
	}
	return dst
}

// sortRow is a decoded sort key: the value of each carried field. Its
// slices point into the key, or into buf where a string had to be
// unescaped; they are valid until the next decode into the same row.
type sortRow struct {
	str   [inventory.NumFields][]byte
	ints  [inventory.NumFields]int64
	bools [inventory.NumFields]bool
	valid [inventory.NumFields]bool
	buf   []byte
	// ident is the key's bytes up to the end of the key part (bucket
	// and key, escaped), the first half of an object version's identity.
	ident []byte
}

// errBadSortKey reports a sort key that does not decode: an internal
// error (the keys are the sort's own), never the input's fault.
var errBadSortKey = errors.New("internal error: a sort key does not decode")

// takeString cuts an escaped, ended string off the front of k.
func (d *sortRow) takeString(k []byte) (s, rest []byte, err error) {
	i := bytes.IndexByte(k, 0)
	if i >= 0 && i+1 < len(k) && k[i+1] == 0 {
		return k[:i:i], k[i+2:], nil
	}
	// Escaped NUL bytes: unescape into buf.
	start := len(d.buf)
	for j := 0; j+1 < len(k); j++ {
		if k[j] != 0 {
			d.buf = append(d.buf, k[j])
			continue
		}
		switch k[j+1] {
		case 0:
			return d.buf[start:len(d.buf):len(d.buf)], k[j+2:], nil
		case 0xff:
			d.buf = append(d.buf, 0)
			j++
		default:
			return nil, nil, errBadSortKey
		}
	}
	return nil, nil, errBadSortKey
}

// decode fills d with the row whose sort key is k.
func (sc *sortCodec) decode(k []byte, d *sortRow) error {
	d.buf = d.buf[:0]
	d.str[inventory.VersionID] = nil
	whole := k
	var err error
	var s []byte
	if bd := sc.dicts[inventory.Bucket]; bd != nil {
		s, k, _, err = bd.take(k, d)
	} else {
		s, k, err = d.takeString(k)
	}
	if err != nil {
		return err
	}
	d.str[inventory.Bucket], d.valid[inventory.Bucket] = s, true
	if s, k, err = d.takeString(k); err != nil {
		return err
	}
	d.str[inventory.Key], d.valid[inventory.Key] = s, true
	d.ident = whole[: len(whole)-len(k) : len(whole)-len(k)]
	if sc.lm {
		f := inventory.LastModifiedDate
		if d.ints[f], d.valid[f], k, err = takeDesc(k); err != nil {
			return err
		}
	}
	if sc.latest {
		if len(k) < 1 || k[0] > 2 {
			return errBadSortKey
		}
		d.bools[inventory.IsLatest], d.valid[inventory.IsLatest] = k[0] == 0, k[0] < 2
		k = k[1:]
	}
	if sc.version {
		if s, k, err = d.takeString(k); err != nil {
			return err
		}
		d.str[inventory.VersionID], d.valid[inventory.VersionID] = s, true
	}
	for i, f := range sc.rest {
		switch sc.restKinds[i] {
		case inventory.KindBool:
			if len(k) < 1 || k[0] > 2 {
				return errBadSortKey
			}
			d.bools[f], d.valid[f] = k[0] == 2, k[0] > 0
			k = k[1:]
		case inventory.KindInt64, inventory.KindTimestamp:
			if d.ints[f], d.valid[f], k, err = takeInt(k); err != nil {
				return err
			}
		default:
			if fd := sc.dicts[f]; fd != nil {
				d.str[f], k, d.valid[f], err = fd.take(k, d)
			} else {
				if len(k) < 1 || k[0] > 1 {
					return errBadSortKey
				}
				d.valid[f] = k[0] == 1
				if k = k[1:]; d.valid[f] {
					d.str[f], k, err = d.takeString(k)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	if len(k) != 0 {
		return fmt.Errorf("%w: %d bytes left over", errBadSortKey, len(k))
	}
	return nil
}

// strOrNil returns string field f, nil when the row has none.
func (d *sortRow) strOrNil(f inventory.Field) []byte {
	if !d.valid[f] {
		return nil
	}
	return d.str[f]
}

// int returns integer field f and whether the row has it.
func (d *sortRow) int(f inventory.Field) (int64, bool) { return d.ints[f], d.valid[f] }

// appendTo appends the row to b, every field of list (nulls where the
// row has none).
func (d *sortRow) appendTo(b *inventory.BatchBuilder, list []inventory.Field) {
	for _, f := range list {
		if !d.valid[f] {
			b.AppendNull(f)
			continue
		}
		switch f.Kind() {
		case inventory.KindBool:
			b.AppendBool(f, d.bools[f])
		case inventory.KindInt64, inventory.KindTimestamp:
			b.AppendInt(f, d.ints[f])
		default:
			b.AppendString(f, d.str[f])
		}
	}
	b.EndRow()
}
