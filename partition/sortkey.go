package partition

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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
//  2. last modified date, newest first, unknown last: 00 and the 8-byte
//     big-endian complement of the order-preserving value, or 01;
//  3. is latest, current first: 00 true, 01 false, 02 null;
//  4. version id, escaped and ended like the key (null is empty);
//  5. every other carried column, in field order, null first: 00 for
//     null, else 01 and the value (strings escaped and ended, or
//     dictionary-coded; integers 8 bytes big-endian with the sign bit
//     flipped; booleans 00/01).
//
// Parts 2 to 4 are there only when the sort carries their column. Rows
// that are duplicates of one object version (equal in 1 to 4) are thus
// ordered by their other columns, so that the row kept does not depend
// on the order rows were added in; rows whose keys are equal are equal in
// every carried column. The key is the whole row: decode gives it back.

// sortCodec encodes and decodes the sort keys of rows carrying fields.
// dicts are set up from the first rows encoded (setup), before any key is
// made, and never change after.
type sortCodec struct {
	fields              inventory.FieldSet
	list                []inventory.Field
	lm, latest, version bool
	rest                []inventory.Field // the other carried fields, in field order
	dicts               [inventory.NumFields]*dict
	ready               bool
}

// dict codes the frequent values of a string column in two bytes, in an
// order-preserving way: values[i] (sorted) is 2i+1; any other value x is
// 2p, p the number of values below x, followed by x escaped and ended.
// Codes then compare as the values do, and a row's sort key shrinks by
// the bytes of its bucket name and storage class, which every row
// repeats.
type dict struct {
	values [][]byte
	last   int // index of the value found last, tried first
}

// maxDict is the most values a dictionary holds.
const maxDict = 256

// setup builds the dictionaries of the bucket (seeded with buckets) and of
// the other string columns with at most maxDict values among the rows
// sel of c.
func (sc *sortCodec) setup(c *cols, sel []int32, buckets []string) {
	sc.ready = true
	fields := append([]inventory.Field{inventory.Bucket}, sc.rest...)
	for _, f := range fields {
		if f.Kind() != inventory.KindString {
			continue
		}
		seen := map[string]bool{}
		if f == inventory.Bucket {
			for _, b := range buckets {
				seen[b] = true
			}
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
		sc.dicts[f] = d
	}
}

// appendCode appends v's code.
func (d *dict) appendCode(dst, v []byte) []byte {
	if bytes.Equal(d.values[d.last], v) {
		return binary.BigEndian.AppendUint16(dst, uint16(2*d.last+1))
	}
	p, found := slices.BinarySearchFunc(d.values, v, bytes.Compare)
	if found {
		d.last = p
		return binary.BigEndian.AppendUint16(dst, uint16(2*p+1))
	}
	return appendEscaped(binary.BigEndian.AppendUint16(dst, uint16(2*p)), v)
}

// take cuts a coded value off the front of k.
func (d *dict) take(k []byte, row *sortRow) (v, rest []byte, err error) {
	if len(k) < 2 {
		return nil, nil, errBadSortKey
	}
	code := int(binary.BigEndian.Uint16(k))
	if code&1 == 1 {
		if code/2 >= len(d.values) {
			return nil, nil, errBadSortKey
		}
		return d.values[code/2], k[2:], nil
	}
	return row.takeString(k[2:])
}

func newSortCodec(fields inventory.FieldSet) *sortCodec {
	c := &sortCodec{fields: fields, list: fields.List(),
		lm: fields.Has(inventory.LastModifiedDate), latest: fields.Has(inventory.IsLatest), version: fields.Has(inventory.VersionID)}
	for _, f := range c.list {
		switch f {
		case inventory.Bucket, inventory.Key, inventory.LastModifiedDate, inventory.IsLatest, inventory.VersionID:
		default:
			c.rest = append(c.rest, f)
		}
	}
	return c
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

// encode appends the sort key of row r of c.
func (sc *sortCodec) encode(dst []byte, c *cols, r int) []byte {
	if d := sc.dicts[inventory.Bucket]; d != nil {
		dst = d.appendCode(dst, c.str(inventory.Bucket, r))
	} else {
		dst = appendEscaped(dst, c.str(inventory.Bucket, r))
	}
	dst = appendEscaped(dst, c.str(inventory.Key, r))
	if sc.lm {
		if v, ok := c.int(inventory.LastModifiedDate, r); ok {
			dst = binary.BigEndian.AppendUint64(append(dst, 0), ^orderedInt(v))
		} else {
			dst = append(dst, 1)
		}
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
	for _, f := range sc.rest {
		switch f.Kind() {
		case inventory.KindBool:
			if v, ok := c.boolean(f, r); !ok {
				dst = append(dst, 0)
			} else if v {
				dst = append(dst, 1, 1)
			} else {
				dst = append(dst, 1, 0)
			}
		case inventory.KindInt64, inventory.KindTimestamp:
			if v, ok := c.int(f, r); ok {
				dst = binary.BigEndian.AppendUint64(append(dst, 1), orderedInt(v))
			} else {
				dst = append(dst, 0)
			}
		default:
			if col := &c.sc[f]; col.offs == nil || !col.valid.valid(r) {
				dst = append(dst, 0)
			} else if d := sc.dicts[f]; d != nil {
				dst = d.appendCode(append(dst, 1), col.data[col.offs[r]:col.offs[r+1]])
			} else {
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
		s, k, err = bd.take(k, d)
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
		switch {
		case len(k) >= 9 && k[0] == 0:
			d.ints[inventory.LastModifiedDate] = int64(^binary.BigEndian.Uint64(k[1:]) ^ 1<<63)
			d.valid[inventory.LastModifiedDate] = true
			k = k[9:]
		case len(k) >= 1 && k[0] == 1:
			d.valid[inventory.LastModifiedDate] = false
			k = k[1:]
		default:
			return errBadSortKey
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
	for _, f := range sc.rest {
		if len(k) < 1 || k[0] > 1 {
			return errBadSortKey
		}
		d.valid[f] = k[0] == 1
		k = k[1:]
		if !d.valid[f] {
			continue
		}
		switch f.Kind() {
		case inventory.KindBool:
			if len(k) < 1 {
				return errBadSortKey
			}
			d.bools[f] = k[0] == 1
			k = k[1:]
		case inventory.KindInt64, inventory.KindTimestamp:
			if len(k) < 8 {
				return errBadSortKey
			}
			d.ints[f] = int64(binary.BigEndian.Uint64(k) ^ 1<<63)
			k = k[8:]
		default:
			if fd := sc.dicts[f]; fd != nil {
				d.str[f], k, err = fd.take(k, d)
			} else {
				d.str[f], k, err = d.takeString(k)
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
