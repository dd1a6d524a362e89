package orc

// Column decoding: each projected column of a stripe from its streams,
// by kind — PRESENT bits spread over the parent's rows, integers (RLE v1
// and v2), floats, strings direct and dictionary-encoded, timestamps,
// decimals, and the children of structs, lists and maps — into the
// buffers of the stripe's scratch. stripe.go finds and decompresses the
// streams.

import (
	"math"
	"slices"
	"sync"
	"time"
)

// decode decodes column t for n rows. parentValid (nil or len n) marks the
// rows where the parent is present; rows where it is not have no entries
// in this column's streams and are null.
func (sr *stripeReader) decode(t *Type, n int, parentValid []bool) (*Column, error) {
	cs := sr.s.col(t.ID)
	c := &cs.col
	*c = Column{Type: t, Len: n}
	valid, nv, err := sr.present(cs, t, n, parentValid)
	if err != nil {
		return nil, err
	}
	c.Valid = valid
	enc := sr.footer.encodings[t.ID]
	v2 := enc.kind == encDirectV2 || enc.kind == encDictionaryV2
	id := t.ID
	wrap := func(kind uint64, err error) error {
		if err == nil {
			return nil
		}
		return sr.where(id, kind).wrap(err)
	}
	switch t.Kind {
	case Struct:
		c.Children = sized(&cs.children, len(t.Children))
		for i, ct := range t.Children {
			if c.Children[i], err = sr.decode(ct, n, valid); err != nil {
				return nil, err
			}
		}
	case Boolean:
		data, err := sr.need(id, streamData, nv)
		if err != nil {
			return nil, err
		}
		if err := sr.plausible(id, streamData, nv, data); err != nil {
			return nil, err
		}
		c.Bool = sized(&cs.bools, n)
		if err := wrap(streamData, decodeBoolRLEBuf(data, c.Bool[:nv], &sr.t.bytes)); err != nil {
			return nil, err
		}
		scatter(c.Bool, nv, valid)
	case Byte:
		data, err := sr.need(id, streamData, nv)
		if err != nil {
			return nil, err
		}
		if err := sr.plausible(id, streamData, nv, data); err != nil {
			return nil, err
		}
		tmp := sr.t.bytes.alloc(nv)
		if _, err := decodeByteRLE(data, tmp); err != nil {
			return nil, wrap(streamData, err)
		}
		c.Int64 = sized(&cs.ints, n)
		for i, b := range tmp {
			c.Int64[i] = int64(int8(b))
		}
		scatter(c.Int64, nv, valid)
	case Short, Int, Long, Date:
		c.Int64, err = sr.ints(&cs.ints, id, streamData, n, nv, true, v2)
		if err != nil {
			return nil, err
		}
		scatter(c.Int64, nv, valid)
	case Float, Double:
		width := 4
		if t.Kind == Double {
			width = 8
		}
		data, err := sr.need(id, streamData, nv)
		if err != nil {
			return nil, err
		}
		if uint64(nv)*uint64(width) > uint64(len(data)) {
			return nil, sr.where(id, streamData).errorf(int64(len(data)), "%d %v values need %d bytes, stream has %d", nv, t.Kind, nv*width, len(data))
		}
		if t.Kind == Float {
			c.Float32 = sized(&cs.f32, n)
			for i := range nv {
				b := data[4*i : 4*i+4 : 4*i+4]
				c.Float32[i] = math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
			}
			scatter(c.Float32, nv, valid)
		} else {
			c.Float64 = sized(&cs.f64, n)
			for i := range nv {
				b := data[8*i : 8*i+8 : 8*i+8]
				c.Float64[i] = math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
					uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
			}
			scatter(c.Float64, nv, valid)
		}
	case String, Varchar, Char, Binary:
		if enc.kind == encDictionary || enc.kind == encDictionaryV2 {
			err = sr.dictionary(cs, enc, nv, v2)
		} else {
			err = sr.direct(cs, nv, v2)
		}
		if err != nil {
			return nil, err
		}
	case Timestamp, TimestampInstant:
		if err := sr.timestamps(cs, nv, v2); err != nil {
			return nil, err
		}
	case Decimal:
		if err := sr.decimals(cs, nv, v2); err != nil {
			return nil, err
		}
	case List, Map:
		lengths, err := sr.ints(nil, id, streamLength, nv, nv, false, v2)
		if err != nil {
			return nil, err
		}
		c.Offsets = sized(&cs.offsets, n+1)
		c.Offsets[0] = 0
		var total int64
		j := 0
		for i := range n {
			if valid == nil || valid[i] {
				l := lengths[j]
				j++
				if l < 0 || l > math.MaxInt32-total {
					return nil, sr.where(id, streamLength).errorf(-1, "element count %d at row %d is negative or makes more than 2^31 elements", uint64(l), i)
				}
				total += l
			}
			c.Offsets[i+1] = int32(total)
		}
		c.Children = sized(&cs.children, len(t.Children))
		for i, ct := range t.Children {
			if c.Children[i], err = sr.decode(ct, int(total), nil); err != nil {
				return nil, err
			}
		}
	default:
		return nil, sr.where(id, math.MaxUint64).wrap(unsupportedf(ErrUnsupportedType, "%v columns are not supported", t.Kind))
	}
	return c, nil
}

// present decodes the PRESENT stream of column t. It returns the validity
// (nil when every row is valid) and the number of valid rows.
func (sr *stripeReader) present(cs *colScratch, t *Type, n int, parentValid []bool) ([]bool, int, error) {
	parentCount := n
	if parentValid != nil {
		parentCount = countTrue(parentValid)
	}
	p := sr.stream(t.ID, streamPresent)
	if len(p) == 0 {
		return parentValid, parentCount, nil
	}
	if err := sr.plausible(t.ID, streamPresent, parentCount, p); err != nil {
		return nil, 0, err
	}
	bits := sized(&cs.bits, parentCount)
	if err := decodeBoolRLEBuf(p, bits, &sr.t.bytes); err != nil {
		return nil, 0, sr.where(t.ID, streamPresent).wrap(err)
	}
	valid := bits
	if parentValid != nil {
		valid = sized(&cs.valid, n)
		j := 0
		for i, pv := range parentValid {
			if pv {
				valid[i] = bits[j]
				j++
			} else {
				valid[i] = false
			}
		}
	}
	nv := countTrue(valid)
	if nv == n {
		return nil, n, nil
	}
	return valid, nv, nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// scatter spreads the first nv values of vals (len n) to the valid rows,
// zeroing null rows. It works in place from the end.
func scatter[T any](vals []T, nv int, valid []bool) {
	if valid == nil {
		return
	}
	var zero T
	j := nv - 1
	for i := len(vals) - 1; i >= 0; i-- {
		if valid[i] {
			vals[i] = vals[j]
			j--
		} else {
			vals[i] = zero
		}
	}
}

// ints decodes nv integers of a stream into *buf, resized to size, or,
// when buf is nil, into transient memory.
func (sr *stripeReader) ints(buf *[]int64, col int, kind uint64, size, nv int, signed, v2 bool) ([]int64, error) {
	data, err := sr.need(col, kind, nv)
	if err != nil {
		return nil, err
	}
	if err := sr.plausible(col, kind, nv, data); err != nil {
		return nil, err
	}
	var out []int64
	if buf != nil {
		out = sized(buf, size)
	} else {
		out = sr.t.ints.alloc(size)
	}
	if err := decodeInts(data, out[:nv], signed, v2); err != nil {
		return nil, sr.where(col, kind).wrap(err)
	}
	return out, nil
}

// direct decodes a DIRECT / DIRECT_V2 string or binary column.
func (sr *stripeReader) direct(cs *colScratch, nv int, v2 bool) error {
	c := &cs.col
	id := c.Type.ID
	lengths, err := sr.intStream(id, streamLength, nv, false, v2)
	if err != nil {
		return err
	}
	data := sr.stream(id, streamData)
	c.Offsets = sized(&cs.offsets, c.Len+1)
	c.Offsets[0] = 0
	var off int64
	limit := int64(min(len(data), math.MaxInt32))
	for i := range c.Len {
		if c.Valid == nil || c.Valid[i] {
			l, err := lengths.next()
			if err != nil {
				return err
			}
			if l < 0 || l > limit-off {
				if l >= 0 && int64(len(data)) > limit {
					return lengths.check(sr.where(id, streamData).wrap(unsupportedf(ErrTooLarge, "more than 2 GiB of string data in one stripe")))
				}
				return lengths.check(sr.where(id, streamLength).errorf(-1, "length %d at row %d overruns the %d-byte DATA stream (at %d)", uint64(l), i, len(data), off))
			}
			off += l
		}
		c.Offsets[i+1] = int32(off)
	}
	c.Bytes = data[:off:off]
	return nil
}

// intStreamChunk is how many values an intStream decodes at a time.
const intStreamChunk = 1024

// intStream hands out the values of an integer stream one at a time,
// decoding them intStreamChunk at a time, for callers that check or
// convert each value once: no buffer of the whole stream's values.
type intStream struct {
	sr   *stripeReader
	col  int
	kind uint64
	rd   intReader
	left int // values not decoded yet
	i, n int // next value of buf, values in buf
	buf  [intStreamChunk]int64
}

// intStream starts reading the nv values of a stream, after the checks
// ints makes. The stripe reader has one intStream: a new call ends the
// previous one.
func (sr *stripeReader) intStream(col int, kind uint64, nv int, signed, v2 bool) (*intStream, error) {
	data, err := sr.need(col, kind, nv)
	if err != nil {
		return nil, err
	}
	if err := sr.plausible(col, kind, nv, data); err != nil {
		return nil, err
	}
	s := &sr.t.ints1
	s.sr, s.col, s.kind, s.left, s.i, s.n = sr, col, kind, nv, 0, 0
	s.rd.reset(data, signed, v2, nv)
	return s, nil
}

// next returns the next value; the caller reads at most the nv values.
func (s *intStream) next() (int64, error) {
	if s.i < s.n {
		s.i++
		return s.buf[s.i-1], nil
	}
	return s.refill()
}

func (s *intStream) refill() (int64, error) {
	m := min(len(s.buf), s.left)
	if m == 0 {
		return 0, s.sr.where(s.col, s.kind).errorf(-1, "read past the stream's values")
	}
	if err := s.rd.read(s.buf[:m]); err != nil {
		return 0, s.sr.where(s.col, s.kind).wrap(err)
	}
	s.left -= m
	s.i, s.n = 1, m
	return s.buf[0], nil
}

// check returns the error to report when a value read failed a check
// with verr: an error decoding a later value of the stream, if there is
// one, as when the whole stream was decoded before any check; else verr.
func (s *intStream) check(verr error) error {
	for s.left > 0 {
		m := min(len(s.buf), s.left)
		if err := s.rd.read(s.buf[:m]); err != nil {
			return s.sr.where(s.col, s.kind).wrap(err)
		}
		s.left -= m
	}
	return verr
}

// dictionary decodes a DICTIONARY / DICTIONARY_V2 string column: into
// Bytes and Offsets, or, with ReadOptions.Dictionaries, into Dict and
// Index.
func (sr *stripeReader) dictionary(cs *colScratch, enc encodingProto, nv int, v2 bool) error {
	c := &cs.col
	id := c.Type.ID
	lenStream := sr.stream(id, streamLength)
	if enc.dictSize > math.MaxInt32 {
		return sr.where(id, streamLength).errorf(-1, "dictionary size %d out of range", enc.dictSize)
	}
	dictSize := int(enc.dictSize)
	if err := sr.plausible(id, streamLength, dictSize, lenStream); err != nil {
		return err
	}
	if dictSize == 0 && nv > 0 {
		return sr.where(id, streamData).errorf(-1, "%d values refer to an empty dictionary", nv)
	}
	dictLens, err := sr.intStream(id, streamLength, dictSize, false, v2)
	if err != nil {
		return err
	}
	dict := sr.stream(id, streamDictionaryData)
	keep := sr.opts.Dictionaries
	var dictOff []int64
	var dictOffs []int32
	if keep {
		dictOffs = sized(&cs.dictOffs, dictSize+1)
		dictOffs[0] = 0
	} else {
		dictOff = sr.t.ints.alloc(dictSize + 1)
		dictOff[0] = 0
	}
	var off int64
	for i := range dictSize {
		l, err := dictLens.next()
		if err != nil {
			return err
		}
		if l < 0 || l > int64(len(dict))-off {
			return dictLens.check(sr.where(id, streamLength).errorf(-1, "dictionary entry %d has length %d, overrunning the %d-byte DICTIONARY_DATA stream (at %d)", i, l, len(dict), off))
		}
		off += l
		if keep {
			if off > math.MaxInt32 {
				return dictLens.check(sr.where(id, streamDictionaryData).wrap(unsupportedf(ErrTooLarge, "more than 2 GiB of dictionary data in one stripe")))
			}
			dictOffs[i+1] = int32(off)
		} else {
			dictOff[i+1] = off
		}
	}
	if keep {
		idx, err := sr.intStream(id, streamData, nv, false, v2)
		if err != nil {
			return err
		}
		d := &cs.dict
		*d = Column{Type: c.Type, Len: dictSize, Bytes: dict[:off:off], Offsets: dictOffs}
		c.Dict = d
		c.Index = sized(&cs.index, c.Len)
		j := 0
		for i := range c.Len {
			if c.Valid != nil && !c.Valid[i] {
				c.Index[i] = 0
				continue
			}
			x, err := idx.next()
			if err != nil {
				return err
			}
			if x < 0 || x >= int64(dictSize) {
				return idx.check(sr.where(id, streamData).errorf(-1, "dictionary index %d at value %d out of range (dictionary has %d entries)", uint64(x), j, dictSize))
			}
			j++
			c.Index[i] = int32(x)
		}
		return nil
	}
	idx, err := sr.ints(nil, id, streamData, nv, nv, false, v2)
	if err != nil {
		return err
	}
	var total int64
	for j, x := range idx {
		if x < 0 || x >= int64(dictSize) {
			return sr.where(id, streamData).errorf(-1, "dictionary index %d at value %d out of range (dictionary has %d entries)", uint64(x), j, dictSize)
		}
		total += dictOff[x+1] - dictOff[x]
		if total > math.MaxInt32 {
			return sr.where(id, streamData).wrap(unsupportedf(ErrTooLarge, "more than 2 GiB of string data in one stripe"))
		}
	}
	c.Bytes = sized(&cs.bytes, int(total))
	c.Offsets = sized(&cs.offsets, c.Len+1)
	c.Offsets[0] = 0
	pos := 0
	j := 0
	for i := range c.Len {
		if c.Valid == nil || c.Valid[i] {
			x := idx[j]
			j++
			pos += copy(c.Bytes[pos:], dict[dictOff[x]:dictOff[x+1]])
		}
		c.Offsets[i+1] = int32(pos)
	}
	return nil
}

// tsEpoch is 2015-01-01 00:00:00 UTC, the base of ORC timestamps.
const tsEpoch = 1420070400

var tzCache sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := tzCache.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	tzCache.Store(name, l)
	return l, nil
}

// timestampBase returns the Unix seconds of 2015-01-01 00:00:00 in the
// writer's time zone.
func (sr *stripeReader) timestampBase(t *Type) (int64, error) {
	if t.Kind == TimestampInstant {
		return tsEpoch, nil
	}
	if sr.tsBaseOK {
		return sr.tsBase, nil
	}
	loc := sr.f.opts.DefaultTimezone
	if name := sr.footer.writerTimezone; name != "" {
		var err error
		loc, err = loadLocation(name)
		if err != nil {
			return 0, sr.where(t.ID, math.MaxUint64).wrap(unsupportedf(ErrUnknownTimezone, "writer time zone %q: %v", name, err))
		}
	}
	sr.tsBase = time.Date(2015, 1, 1, 0, 0, 0, 0, loc).Unix()
	sr.tsBaseOK = true
	return sr.tsBase, nil
}

func (sr *stripeReader) timestamps(cs *colScratch, nv int, v2 bool) error {
	c := &cs.col
	id := c.Type.ID
	base, err := sr.timestampBase(c.Type)
	if err != nil {
		return err
	}
	secs, err := sr.ints(&cs.ints, id, streamData, c.Len, nv, true, v2)
	if err != nil {
		return err
	}
	nanos, err := sr.intStream(id, streamSecondary, nv, false, v2)
	if err != nil {
		return err
	}
	c.Nanos = sized(&cs.nanos, c.Len)
	for i := range nv {
		v, err := nanos.next()
		if err != nil {
			return err
		}
		ns := uint64(v)
		z := ns & 7
		ns >>= 3
		if z != 0 { // 1..7 mean 2..8 trailing zeros were removed
			ns *= uint64(pow10[z+1])
		}
		if ns > 999_999_999 {
			return nanos.check(sr.where(id, streamSecondary).errorf(-1, "nanoseconds %d at value %d out of range", ns, i))
		}
		s := secs[i]
		if (s > 0 && base > math.MaxInt64-s) || (s < 0 && base < math.MinInt64-s) {
			return nanos.check(sr.where(id, streamData).errorf(-1, "seconds %d at value %d out of range", s, i))
		}
		s += base
		// Writers truncate toward zero when splitting a pre-1970 time
		// into seconds and nanoseconds; readers compensate (Java and C++).
		if s < 0 && ns > 999_999 {
			s--
		}
		secs[i] = s
		c.Nanos[i] = int32(ns)
	}
	c.Int64 = secs
	scatter(c.Int64, nv, c.Valid)
	scatter(c.Nanos, nv, c.Valid)
	return nil
}

var pow10 = [19]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

func (sr *stripeReader) decimals(cs *colScratch, nv int, v2 bool) error {
	c := &cs.col
	id := c.Type.ID
	if c.Type.Scale > 18 {
		return sr.where(id, math.MaxUint64).wrap(unsupportedf(ErrUnsupportedType, "decimal scale %d > 18", c.Type.Scale))
	}
	data, err := sr.need(id, streamData, nv)
	if err != nil {
		return err
	}
	if nv > len(data) {
		return sr.where(id, streamData).errorf(-1, "%d decimals cannot fit in %d bytes", nv, len(data))
	}
	scales, err := sr.ints(nil, id, streamSecondary, nv, nv, true, v2)
	if err != nil {
		return err
	}
	c.Int64 = sized(&cs.ints, c.Len)
	pos := 0
	for i := range nv {
		u, p, err := readUvarint(data, pos)
		if err != nil {
			if slices.ContainsFunc(data[pos:], func(b byte) bool { return b < 0x80 }) {
				return sr.where(id, streamData).wrap(unsupportedf(ErrUnsupportedType, "decimal value at %d does not fit in 64 bits", pos))
			}
			return sr.where(id, streamData).wrap(err)
		}
		pos = p
		v := unzigzag(u)
		d := c.Type.Scale - int(scales[i])
		switch {
		case d > 0:
			if d > 18 {
				return sr.where(id, streamSecondary).errorf(-1, "scale %d out of range", scales[i])
			}
			m := pow10[d]
			if v > math.MaxInt64/m || v < math.MinInt64/m {
				return sr.where(id, streamData).wrap(unsupportedf(ErrUnsupportedType, "decimal value does not fit in 64 bits at scale %d", c.Type.Scale))
			}
			v *= m
		case d < 0:
			if d < -18 {
				v = 0
			} else {
				v /= pow10[-d]
			}
		}
		c.Int64[i] = v
	}
	scatter(c.Int64, nv, c.Valid)
	return nil
}
