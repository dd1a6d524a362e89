package orc

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"

	"github.com/klauspost/compress/flate"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field is one column of a schema built with NewSchema.
type Field struct {
	Name string
	Kind Kind
}

// NewSchema returns a struct type with the given fields, numbered as an
// ORC footer numbers them (root 0, fields 1..n). The Writer accepts fields
// of kind String, Varchar (written as string), Long, Int, Short, Boolean
// and Timestamp.
func NewSchema(fields ...Field) (*Type, error) {
	root := &Type{ID: 0, Kind: Struct}
	seen := map[string]bool{}
	for i, f := range fields {
		if seen[f.Name] {
			return nil, fmt.Errorf("orc: duplicate field name %q", f.Name)
		}
		seen[f.Name] = true
		root.FieldNames = append(root.FieldNames, f.Name)
		root.Children = append(root.Children, &Type{ID: i + 1, Kind: f.Kind})
	}
	return root, nil
}

// WriterOptions configure NewWriter. The zero value (or nil) gives the
// defaults.
type WriterOptions struct {
	// StripeRows is the most rows per stripe. Default (0): 1,000,000.
	StripeRows int
	// StripeBytes flushes a stripe once the buffered, uncompressed column
	// data reaches about this many bytes. Default (0): 64 MiB.
	StripeBytes int
	// Compression is the generic compression: CompressionZlib,
	// CompressionSnappy, CompressionLZ4 or CompressionZstd. The zero value
	// (CompressionNone) also means ZLIB, so that the zero WriterOptions is
	// usable; use NoCompression for none.
	Compression CompressionKind
	// NoCompression writes uncompressed streams; Compression is ignored.
	NoCompression bool
	// CompressionLevel is the zlib level, 1 (fastest) to 9 (smallest).
	// Default (0): 1. Other codecs use their default level.
	CompressionLevel int
	// BlockSize is the compression chunk size. Default (0): 256 KiB.
	// Range 64 bytes .. 4 MiB: small blocks split every stream into many
	// chunks, as a writer with a small compression buffer does.
	BlockSize int
	// DictionaryThreshold: a string column is dictionary encoded when its
	// distinct values are at most this fraction of its values in the
	// stripe, and direct encoded otherwise. Default (0): 0.8; a negative
	// value disables dictionaries, a value of 1 or more makes every string
	// column a dictionary.
	DictionaryThreshold float64
	// EmptyDictionaries writes a string column that has no value in a
	// stripe (null on every row) as DICTIONARY_V2 with an empty
	// dictionary and empty DATA, LENGTH and DICTIONARY_DATA streams, as
	// the Java writer does (S3's ORC inventories hold such columns), rather
	// than as DIRECT_V2 with empty streams. Ignored when dictionaries are
	// disabled.
	EmptyDictionaries bool
	// AlwaysPresent writes a PRESENT stream for every column of every
	// stripe, all true when the column has no null there; by default (as
	// the Java writer does) the stream is left out then.
	AlwaysPresent bool
	// PatchedBase lets integer runs use RLE v2's PATCHED_BASE
	// sub-encoding, as the Java writer does for runs whose few large
	// values would widen every value (object sizes); by default such runs
	// are written DIRECT.
	PatchedBase bool
	// StringStats records each string column's minimum and maximum per
	// stripe (the metadata section) and per file (the footer), as the
	// Java writer does; off by default, which writes no metadata section.
	StringStats bool
}

// minBlockSize is the smallest WriterOptions.BlockSize.
const minBlockSize = 64

func (o *WriterOptions) withDefaults() (WriterOptions, error) {
	var out WriterOptions
	if o != nil {
		out = *o
	}
	if out.StripeRows == 0 {
		out.StripeRows = 1_000_000
	}
	if out.StripeBytes == 0 {
		out.StripeBytes = 64 << 20
	}
	if out.CompressionLevel == 0 {
		out.CompressionLevel = flate.BestSpeed
	}
	if out.BlockSize == 0 {
		out.BlockSize = 256 << 10
	}
	if out.DictionaryThreshold == 0 {
		out.DictionaryThreshold = 0.8
	}
	if out.NoCompression {
		out.Compression = CompressionNone
	} else if out.Compression == CompressionNone {
		out.Compression = CompressionZlib
	}
	switch {
	case out.StripeRows < 1:
		return out, fmt.Errorf("orc: WriterOptions.StripeRows %d must be positive", out.StripeRows)
	case out.StripeBytes < 1:
		return out, fmt.Errorf("orc: WriterOptions.StripeBytes %d must be positive", out.StripeBytes)
	case out.BlockSize < minBlockSize || out.BlockSize > 4<<20:
		return out, fmt.Errorf("orc: WriterOptions.BlockSize %d out of range %d bytes..4 MiB", out.BlockSize, minBlockSize)
	case out.CompressionLevel < 1 || out.CompressionLevel > 9:
		return out, fmt.Errorf("orc: WriterOptions.CompressionLevel %d out of range 1..9", out.CompressionLevel)
	}
	switch out.Compression {
	case CompressionNone, CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd:
	default:
		return out, fmt.Errorf("%w: writer supports NONE, ZLIB, SNAPPY, LZ4 and ZSTD, not %v", ErrUnsupportedCompression, out.Compression)
	}
	return out, nil
}

// Writer writes an ORC file whose root is a struct of string, integer,
// boolean and timestamp columns. Rows are buffered per stripe and written
// when a stripe is full; Close writes the last stripe and the file tail
// and must be called. A Writer is not safe for concurrent use. After an
// error, every later Write and Close returns that error; the output is
// then incomplete.
type Writer struct {
	w       io.Writer
	opts    WriterOptions
	schema  *Type
	comp    *compressor
	cols    []*colWriter
	offset  int64 // bytes written so far
	stripes []stripeInfo
	rows    int64 // rows in finished stripes
	pending int   // rows buffered for the current stripe
	err     error
	closed  bool
	buf     []byte
	enc     rleV2Encoder
	uenc    rleV2Encoder

	stripeStat [][]colStat // per finished stripe (StringStats)
	fileStr    []strStat   // per column, over the file (StringStats)
}

// NewWriter returns a Writer writing to w. schema must be a struct whose
// fields have kinds the Writer supports (see NewSchema). opts may be nil.
func NewWriter(w io.Writer, schema *Type, opts *WriterOptions) (*Writer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if schema == nil || schema.Kind != Struct || len(schema.Children) == 0 {
		return nil, fmt.Errorf("%w: writer schema must be a non-empty struct", ErrUnsupportedType)
	}
	wr := &Writer{w: w, opts: o, schema: schema}
	wr.enc.signed = true
	wr.enc.patched, wr.uenc.patched = o.PatchedBase, o.PatchedBase
	for i, c := range schema.Children {
		switch c.Kind {
		case String, Varchar, Long, Int, Short, Boolean, Timestamp:
		default:
			return nil, fmt.Errorf("%w: writer cannot write field %q of kind %v", ErrUnsupportedType, schema.FieldNames[i], c.Kind)
		}
		if c.ID != i+1 || len(c.Children) > 0 {
			return nil, fmt.Errorf("%w: field %q has column id %d, want %d (build the schema with NewSchema)", ErrUnsupportedType, schema.FieldNames[i], c.ID, i+1)
		}
		wr.cols = append(wr.cols, &colWriter{t: c})
	}
	wr.comp, err = newCompressor(o.Compression, o.BlockSize, o.CompressionLevel)
	if err != nil {
		return nil, err
	}
	return wr, nil
}

// colWriter buffers one column's values for the current stripe. Only
// non-null values are kept; valid records nulls once one was seen.
type colWriter struct {
	t        *Type
	valid    []bool // nil until the first null of the stripe
	n        int    // rows in the stripe
	ints     []int64
	nanos    []int64
	bools    []bool
	bytes    []byte
	lengths  []int64
	hasNull  bool  // in the whole file, for statistics
	nonNulls int64 // in the whole file
}

func (c *colWriter) size() int {
	return len(c.ints)*8 + len(c.nanos)*8 + len(c.bools) + len(c.bytes) + len(c.lengths)*8 + len(c.valid)
}

// Write appends the rows of b. b.Columns must match the schema's fields in
// order, with the value slices Column documents for each kind (Int64 for
// integers, Bool, Bytes+Offsets for strings, Int64 seconds + Nanos for
// timestamps) and Len == b.NumRows; Valid may be nil. The values are
// copied: b may be reused once Write returns.
func (wr *Writer) Write(b *Batch) error {
	if wr.err != nil {
		return wr.err
	}
	if wr.closed {
		return ErrWriterClosed
	}
	if err := wr.check(b); err != nil {
		return err
	}
	start := 0
	for start < b.NumRows {
		// Chunks of at most 8192 rows, so StripeBytes is checked often.
		n := min(b.NumRows-start, wr.opts.StripeRows-wr.pending, 8192)
		for k, c := range wr.cols {
			c.append(b.Columns[k], start, start+n)
		}
		wr.pending += n
		start += n
		if wr.pending >= wr.opts.StripeRows || wr.bufferedBytes() >= wr.opts.StripeBytes {
			if err := wr.flushStripe(); err != nil {
				wr.err = err
				return err
			}
		}
	}
	return nil
}

func (wr *Writer) bufferedBytes() int {
	s := 0
	for _, c := range wr.cols {
		s += c.size()
	}
	return s
}

func (wr *Writer) check(b *Batch) error {
	if b == nil || len(b.Columns) != len(wr.cols) {
		return fmt.Errorf("%w: want %d columns", ErrSchemaMismatch, len(wr.cols))
	}
	for k, c := range wr.cols {
		col := b.Columns[k]
		name := wr.schema.FieldNames[k]
		if col == nil || col.Len != b.NumRows || (col.Valid != nil && len(col.Valid) != b.NumRows) {
			return fmt.Errorf("%w: column %q must have %d rows", ErrSchemaMismatch, name, b.NumRows)
		}
		ok := false
		switch c.t.Kind {
		case String, Varchar:
			ok = len(col.Offsets) == b.NumRows+1
			if ok {
				for i := range b.NumRows {
					if col.Offsets[i] > col.Offsets[i+1] {
						ok = false
						break
					}
				}
				ok = ok && col.Offsets[0] >= 0 && int(col.Offsets[b.NumRows]) <= len(col.Bytes)
			}
		case Long, Int, Short:
			ok = len(col.Int64) == b.NumRows
		case Boolean:
			ok = len(col.Bool) == b.NumRows
		case Timestamp:
			ok = len(col.Int64) == b.NumRows && len(col.Nanos) == b.NumRows
			if ok {
				for i, ns := range col.Nanos {
					if col.IsNull(i) {
						continue
					}
					if ns < 0 || ns > 999_999_999 {
						return fmt.Errorf("%w: column %q row %d: nanoseconds %d out of range", ErrSchemaMismatch, name, i, ns)
					}
					if s := col.Int64[i]; s > math.MaxInt64/2 || s < math.MinInt64/2 {
						return fmt.Errorf("%w: column %q row %d: seconds %d out of range", ErrSchemaMismatch, name, i, s)
					}
				}
			}
		}
		if !ok {
			return fmt.Errorf("%w: column %q (%v) lacks the value slices for %d rows", ErrSchemaMismatch, name, c.t.Kind, b.NumRows)
		}
	}
	return nil
}

func (c *colWriter) append(col *Column, from, to int) {
	if col.Valid != nil {
		for i := from; i < to; i++ {
			if !col.Valid[i] {
				if c.valid == nil {
					c.valid = make([]bool, c.n, max(c.n*2, 1024))
					for k := range c.valid {
						c.valid[k] = true
					}
				}
				c.hasNull = true
				break
			}
		}
	}
	if c.valid != nil {
		if col.Valid == nil {
			for range to - from {
				c.valid = append(c.valid, true)
			}
		} else {
			c.valid = append(c.valid, col.Valid[from:to]...)
		}
	}
	c.n += to - from
	ok := func(i int) bool { return col.Valid == nil || col.Valid[i] }
	switch c.t.Kind {
	case String, Varchar:
		if col.Valid == nil {
			base := col.Offsets[from]
			c.bytes = append(c.bytes, col.Bytes[base:col.Offsets[to]]...)
			for i := from; i < to; i++ {
				c.lengths = append(c.lengths, int64(col.Offsets[i+1]-col.Offsets[i]))
			}
			c.nonNulls += int64(to - from)
			return
		}
		for i := from; i < to; i++ {
			if ok(i) {
				c.bytes = append(c.bytes, col.Bytes[col.Offsets[i]:col.Offsets[i+1]]...)
				c.lengths = append(c.lengths, int64(col.Offsets[i+1]-col.Offsets[i]))
				c.nonNulls++
			}
		}
	case Long, Int, Short:
		if col.Valid == nil {
			c.ints = append(c.ints, col.Int64[from:to]...)
			c.nonNulls += int64(to - from)
			return
		}
		for i := from; i < to; i++ {
			if ok(i) {
				c.ints = append(c.ints, col.Int64[i])
				c.nonNulls++
			}
		}
	case Boolean:
		for i := from; i < to; i++ {
			if ok(i) {
				c.bools = append(c.bools, col.Bool[i])
				c.nonNulls++
			}
		}
	case Timestamp:
		for i := from; i < to; i++ {
			if ok(i) {
				s, ns := col.Int64[i], int64(col.Nanos[i])
				// Readers add back the second that Java's writer loses by
				// truncating pre-1970 times toward zero (see
				// stripeReader.timestamps); mirror that truncation.
				if s < 0 && ns > 999_999 {
					s++
				}
				c.ints = append(c.ints, s-tsEpoch)
				c.nanos = append(c.nanos, int64(encodeNanos(ns)))
				c.nonNulls++
			}
		}
	}
}

// encodeNanos removes trailing decimal zeros as the spec describes.
func encodeNanos(ns int64) uint64 {
	if ns == 0 {
		return 0
	}
	if ns%100 != 0 {
		return uint64(ns) << 3
	}
	ns /= 100
	z := 1
	for ns%10 == 0 && z < 7 {
		ns /= 10
		z++
	}
	return uint64(ns)<<3 | uint64(z)
}

// stream is one encoded (uncompressed) stream of the current stripe.
type wstream struct {
	kind   uint64
	column int
	data   []byte
}

func (wr *Writer) flushStripe() error {
	if wr.pending == 0 {
		return nil
	}
	if wr.opts.StringStats {
		wr.stripeStats()
	}
	var streams []wstream
	encodings := make([]encodingProto, len(wr.cols)+1) // root: DIRECT
	for k, c := range wr.cols {
		id := k + 1
		switch {
		case c.valid != nil:
			streams = append(streams, wstream{streamPresent, id, appendBoolRLE(nil, c.valid)})
		case wr.opts.AlwaysPresent:
			all := make([]bool, c.n)
			for i := range all {
				all[i] = true
			}
			streams = append(streams, wstream{streamPresent, id, appendBoolRLE(nil, all)})
		}
		switch c.t.Kind {
		case Long, Int, Short:
			encodings[id] = encodingProto{kind: encDirectV2}
			streams = append(streams, wstream{streamData, id, wr.enc.appendInts(nil, c.ints)})
		case Boolean:
			encodings[id] = encodingProto{kind: encDirect}
			streams = append(streams, wstream{streamData, id, appendBoolRLE(nil, c.bools)})
		case Timestamp:
			encodings[id] = encodingProto{kind: encDirectV2}
			streams = append(streams,
				wstream{streamData, id, wr.enc.appendInts(nil, c.ints)},
				wstream{streamSecondary, id, wr.uenc.appendInts(nil, c.nanos)})
		case String, Varchar:
			enc, ss := wr.encodeStrings(c, id)
			encodings[id] = enc
			streams = append(streams, ss...)
		}
	}
	// Stream data, compressed, back to back, after the file header.
	if err := wr.write(nil); err != nil {
		return err
	}
	stripeOff := wr.offset
	var footer []byte
	var dataLen int64
	for _, s := range streams {
		wr.buf = wr.buf[:0]
		var err error
		wr.buf, err = wr.comp.appendCompressed(wr.buf, s.data)
		if err != nil {
			return err
		}
		if err := wr.write(wr.buf); err != nil {
			return err
		}
		dataLen += int64(len(wr.buf))
		var sp []byte
		sp = appendVarintField(sp, stKind, s.kind)
		sp = appendVarintField(sp, stColumn, uint64(s.column))
		sp = appendVarintField(sp, stLength, uint64(len(wr.buf)))
		footer = appendBytesField(footer, sfStreams, sp)
	}
	for _, e := range encodings {
		var ep []byte
		ep = appendVarintField(ep, ceKind, e.kind)
		if e.kind == encDictionaryV2 {
			ep = appendVarintField(ep, ceDictionarySize, e.dictSize)
		}
		footer = appendBytesField(footer, sfColumns, ep)
	}
	footer = appendStringField(footer, sfWriterTimezone, "UTC")
	wr.buf = wr.buf[:0]
	var err error
	wr.buf, err = wr.comp.appendCompressed(wr.buf, footer)
	if err != nil {
		return err
	}
	if err := wr.write(wr.buf); err != nil {
		return err
	}
	wr.stripes = append(wr.stripes, stripeInfo{offset: uint64(stripeOff), dataLength: uint64(dataLen),
		footerLength: uint64(len(wr.buf)), numRows: uint64(wr.pending)})
	wr.rows += int64(wr.pending)
	wr.pending = 0
	for _, c := range wr.cols {
		c.valid = nil
		c.n = 0
		c.ints = c.ints[:0]
		c.nanos = c.nanos[:0]
		c.bools = c.bools[:0]
		c.bytes = c.bytes[:0]
		c.lengths = c.lengths[:0]
	}
	return nil
}

// encodeStrings picks dictionary or direct encoding for a string column.
func (wr *Writer) encodeStrings(c *colWriter, id int) (encodingProto, []wstream) {
	n := len(c.lengths)
	if n == 0 && wr.opts.EmptyDictionaries && wr.opts.DictionaryThreshold > 0 {
		return wr.dictionaryStreams(c, id, &stringDict{})
	}
	if wr.opts.DictionaryThreshold > 0 && n > 0 {
		limit := int(wr.opts.DictionaryThreshold * float64(n))
		// Probe the first values before hashing the whole stripe.
		probe := min(n, 10_000)
		if dict := buildDict(c, probe, int(wr.opts.DictionaryThreshold*float64(probe))); dict != nil {
			if dict = buildDict(c, n, limit); dict != nil {
				return wr.dictionaryStreams(c, id, dict)
			}
		}
	}
	return encodingProto{kind: encDirectV2}, []wstream{
		{streamData, id, c.bytes},
		{streamLength, id, wr.uenc.appendInts(nil, c.lengths)},
	}
}

// stringDict maps each of the first n values to a dictionary entry.
type stringDict struct {
	keys []string // distinct values, first-seen order
	idx  []int64  // per value, index into keys
}

// buildDict returns nil when more than limit distinct values occur among
// the first n.
func buildDict(c *colWriter, n, limit int) *stringDict {
	d := &stringDict{idx: make([]int64, n)}
	m := make(map[string]int64)
	var off int64
	for i := range n {
		l := c.lengths[i]
		b := c.bytes[off : off+l]
		off += l
		k, ok := m[unsafeString(b)]
		if !ok {
			if len(d.keys) >= limit {
				return nil
			}
			k = int64(len(d.keys))
			s := string(b)
			m[s] = k
			d.keys = append(d.keys, s)
		}
		d.idx[i] = k
	}
	return d
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (wr *Writer) dictionaryStreams(c *colWriter, id int, d *stringDict) (encodingProto, []wstream) {
	// Sort the dictionary, as the specification describes.
	order := make([]int, len(d.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(d.keys[a], d.keys[b]) })
	remap := make([]int64, len(order))
	var blob bytes.Buffer
	lens := make([]int64, len(order))
	for newIdx, old := range order {
		remap[old] = int64(newIdx)
		blob.WriteString(d.keys[old])
		lens[newIdx] = int64(len(d.keys[old]))
	}
	for i, x := range d.idx {
		d.idx[i] = remap[x]
	}
	return encodingProto{kind: encDictionaryV2, dictSize: uint64(len(order))}, []wstream{
		{streamData, id, wr.uenc.appendInts(nil, d.idx)},
		{streamDictionaryData, id, blob.Bytes()},
		{streamLength, id, wr.uenc.appendInts(nil, lens)},
	}
}

func (wr *Writer) write(p []byte) error {
	if wr.offset == 0 {
		if _, err := wr.w.Write([]byte(magic)); err != nil {
			return err
		}
		wr.offset = int64(len(magic))
	}
	n, err := wr.w.Write(p)
	wr.offset += int64(n)
	return err
}

// Close flushes the last stripe and writes the footer and postscript. It
// does not close the underlying io.Writer.
func (wr *Writer) Close() error {
	if wr.err != nil {
		return wr.err
	}
	if wr.closed {
		return ErrWriterClosed
	}
	wr.closed = true
	if err := wr.flushStripe(); err != nil {
		wr.err = err
		return err
	}
	if err := wr.writeTail(); err != nil {
		wr.err = err
		return err
	}
	return nil
}

func (wr *Writer) writeTail() error {
	if wr.offset == 0 { // no stripes: the header still comes first
		if err := wr.write(nil); err != nil {
			return err
		}
	}
	var ft []byte
	ft = appendVarintField(ft, ftHeaderLength, uint64(len(magic)))
	ft = appendVarintField(ft, ftContentLength, uint64(wr.offset))
	for _, s := range wr.stripes {
		var sp []byte
		sp = appendVarintField(sp, siOffset, s.offset)
		sp = appendVarintField(sp, siIndexLength, 0)
		sp = appendVarintField(sp, siDataLength, s.dataLength)
		sp = appendVarintField(sp, siFooterLength, s.footerLength)
		sp = appendVarintField(sp, siNumberOfRows, s.numRows)
		ft = appendBytesField(ft, ftStripes, sp)
	}
	// types: root struct, then the fields
	var root []byte
	root = appendVarintField(root, tyKind, uint64(Struct))
	ids := make([]uint32, len(wr.cols))
	for i := range ids {
		ids[i] = uint32(i + 1)
	}
	root = appendPackedUint32s(root, tySubtypes, ids)
	for _, name := range wr.schema.FieldNames {
		root = appendStringField(root, tyFieldNames, name)
	}
	ft = appendBytesField(ft, ftTypes, root)
	for _, c := range wr.cols {
		kind := c.t.Kind
		if kind == Varchar {
			kind = String
		}
		ft = appendBytesField(ft, ftTypes, appendVarintField(nil, tyKind, uint64(kind)))
	}
	ft = appendVarintField(ft, ftNumberOfRows, uint64(wr.rows))
	// statistics: number of values and hasNull per column
	var rs []byte
	rs = appendVarintField(rs, csNumberOfValues, uint64(wr.rows))
	rs = appendVarintField(rs, csHasNull, 0)
	ft = appendBytesField(ft, ftStatistics, rs)
	for k, c := range wr.cols {
		var cs []byte
		cs = appendVarintField(cs, csNumberOfValues, uint64(c.nonNulls))
		hn := uint64(0)
		if c.hasNull {
			hn = 1
		}
		cs = appendVarintField(cs, csHasNull, hn)
		if wr.opts.StringStats && k < len(wr.fileStr) {
			cs = appendStringStats(cs, wr.fileStr[k])
		}
		ft = appendBytesField(ft, ftStatistics, cs)
	}
	var metaLen uint64
	if wr.opts.StringStats && len(wr.stripeStat) > 0 {
		md, err := wr.comp.appendCompressed(nil, wr.metadataSection())
		if err != nil {
			return err
		}
		if err := wr.write(md); err != nil {
			return err
		}
		metaLen = uint64(len(md))
	}
	ft = appendVarintField(ft, ftRowIndexStride, 0)
	compressed, err := wr.comp.appendCompressed(nil, ft)
	if err != nil {
		return err
	}
	if err := wr.write(compressed); err != nil {
		return err
	}
	var ps []byte
	ps = appendVarintField(ps, psFooterLength, uint64(len(compressed)))
	ps = appendVarintField(ps, psCompression, uint64(wr.opts.Compression))
	if wr.opts.Compression != CompressionNone {
		ps = appendVarintField(ps, psCompressionBlockSize, uint64(wr.opts.BlockSize))
	}
	ps = appendPackedUint32s(ps, psVersion, []uint32{0, 12})
	ps = appendVarintField(ps, psMetadataLength, metaLen)
	ps = appendVarintField(ps, psWriterVersion, 6) // ORC-135: timestamps in UTC
	ps = appendStringField(ps, protowire.Number(psMagic), magic)
	if len(ps) > 255 {
		return fmt.Errorf("orc: postscript of %d bytes", len(ps))
	}
	ps = append(ps, byte(len(ps)))
	return wr.write(ps)
}
