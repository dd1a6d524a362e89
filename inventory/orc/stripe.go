package orc

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Stream kinds (orc_proto.proto Stream.Kind).
const (
	streamPresent        = 0
	streamData           = 1
	streamLength         = 2
	streamDictionaryData = 3
	streamDictionaryCnt  = 4
	streamSecondary      = 5
	streamRowIndex       = 6
	streamBloomFilter    = 7
	streamBloomUTF8      = 8
)

var streamNames = map[uint64]string{
	streamPresent: "PRESENT", streamData: "DATA", streamLength: "LENGTH",
	streamDictionaryData: "DICTIONARY_DATA", streamDictionaryCnt: "DICTIONARY_COUNT",
	streamSecondary: "SECONDARY", streamRowIndex: "ROW_INDEX", streamBloomFilter: "BLOOM_FILTER",
	streamBloomUTF8: "BLOOM_FILTER_UTF8",
}

func streamName(k uint64) string {
	if s, ok := streamNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind %d", k)
}

// Column encodings (orc_proto.proto ColumnEncoding.Kind).
const (
	encDirect       = 0
	encDictionary   = 1
	encDirectV2     = 2
	encDictionaryV2 = 3
)

// coalesceGap is the largest gap between two wanted streams that is read
// rather than skipped, to save a ReadAt call.
const coalesceGap = 256 << 10

type streamKey struct {
	column int
	kind   uint64
}

type streamLoc struct {
	off, length int64 // absolute file offset and compressed length
}

// stripeReader decodes the projected columns of one stripe into the
// buffers of a stripeScratch.
type stripeReader struct {
	f        *File
	idx      int
	info     StripeInfo
	opts     ReadOptions
	s        *stripeScratch
	t        *transient
	footer   stripeFooterProto
	tsBase   int64 // seconds of 2015-01-01 00:00:00 in the writer's zone
	tsBaseOK bool
}

// stripeScratch holds the memory a Batch keeps from one ReadStripeInto
// call to the next: the decoded values of every column and the streams
// they alias. Nothing in it is shared with another Batch.
type stripeScratch struct {
	footRaw, footBuf []byte
	raw              []byte                  // the wanted streams, when uncompressed (they alias it)
	locs             map[streamKey]streamLoc // every stream of the stripe
	data             map[streamKey][]byte    // decompressed wanted streams of this stripe
	bufs             map[streamKey][]byte    // decompression buffers of the streams values alias
	keys             []streamKey
	cols             []*colScratch // by column id
	columns          []*Column     // backs Batch.Columns
}

// transient holds the memory needed only while a stripe is decoded: the
// compressed streams, the streams no decoded value aliases (presence,
// lengths, integers, dictionary indexes), and intermediate integers. It
// goes back to a pool after each stripe, so that Batches waiting to be
// consumed do not each keep a copy.
type transient struct {
	raw   []byte
	bufs  map[streamKey][]byte
	ints  arena[int64]
	bytes arena[byte]
	ints1 intStream
}

var transients = sync.Pool{New: func() any { return &transient{bufs: map[streamKey][]byte{}} }}

// arena hands out slices that stay valid until reset, carved from chunks
// kept across resets.
type arena[T any] struct {
	chunks [][]T
	cur    int // chunk being carved
	off    int // elements of chunks[cur] handed out
}

// alloc returns a slice of n elements (not cleared).
func (a *arena[T]) alloc(n int) []T {
	for ; a.cur < len(a.chunks); a.cur, a.off = a.cur+1, 0 {
		if c := a.chunks[a.cur]; len(c)-a.off >= n {
			a.off += n
			return c[a.off-n : a.off : a.off]
		}
	}
	size := max(n, 16<<10)
	if k := len(a.chunks); k > 0 {
		size = max(size, 2*len(a.chunks[k-1]))
	}
	a.chunks = append(a.chunks, make([]T, size))
	a.cur, a.off = len(a.chunks)-1, n
	return a.chunks[a.cur][:n:n]
}

// reset makes the arena's memory available again, invalidating every
// slice it handed out. Memory that came in several chunks is replaced by
// one chunk of the size used, so that the next stripe of a file, about
// as large, fits in it without the doubling's waste.
func (a *arena[T]) reset() {
	if len(a.chunks) > 1 {
		used := a.off
		for _, c := range a.chunks[:a.cur] {
			used += len(c)
		}
		a.chunks = append(a.chunks[:0], make([]T, used+used/8))
	}
	a.cur, a.off = 0, 0
}

func newStripeScratch() *stripeScratch {
	return &stripeScratch{locs: map[streamKey]streamLoc{}, data: map[streamKey][]byte{}, bufs: map[streamKey][]byte{}}
}

// col returns the buffers of column id.
func (s *stripeScratch) col(id int) *colScratch {
	if id >= len(s.cols) {
		s.cols = append(s.cols, make([]*colScratch, id+1-len(s.cols))...)
	}
	cs := s.cols[id]
	if cs == nil {
		cs = &colScratch{}
		s.cols[id] = cs
	}
	return cs
}

// colScratch holds the reusable buffers of one column. The exported
// fields of col are views of them (or of the stripe's streams).
type colScratch struct {
	col      Column
	dict     Column // the dictionary, with ReadOptions.Dictionaries
	children []*Column
	valid    []bool  // validity spread over the parent's rows
	bits     []bool  // the PRESENT stream's bits
	bools    []bool  // boolean values
	ints     []int64 // Int64
	dictOffs []int32 // dictionary entry offsets (kept dictionaries)
	nanos    []int32
	f32      []float32
	f64      []float64
	offsets  []int32
	bytes    []byte // materialised dictionary values
	index    []int32
}

// sized returns *b resized to n elements, reallocating only when its
// capacity is too small. The contents are not cleared: callers write
// every element.
func sized[T any](b *[]T, n int) []T {
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return *b
}

// ReadOptions tune ReadStripeInto. The zero value decodes as ReadStripe
// does.
type ReadOptions struct {
	// Dictionaries keeps every dictionary-encoded string, varchar, char
	// or binary column as its dictionary (Column.Dict) and one index per
	// row (Column.Index), instead of copying each row's value into Bytes
	// and Offsets. A reader that copies the values anyway (into Arrow
	// arrays, say) saves one copy, and can transform each distinct value
	// once. Default: false.
	Dictionaries bool
}

// ReadStripe decodes stripe i (0 <= i < NumStripes()). columns names the
// top-level columns to decode, in the order wanted in the Batch; nil means
// all of them. Only the streams of those columns are read (index and bloom
// filter streams never are), so memory is bounded by the projected part of
// one stripe.
//
// ReadStripe is safe for concurrent use, on the same or different stripes.
// The returned Batch is owned by the caller. Errors: ErrStripeRange,
// ErrColumnNotFound, and *CorruptError values that unwrap to ErrCorrupt,
// ErrUnsupportedType (union columns, decimals wider than 64 bits),
// ErrUnsupportedEncoding, ErrUnknownTimezone or ErrTooLarge.
func (f *File) ReadStripe(i int, columns []string) (*Batch, error) {
	b := &Batch{}
	if err := f.readStripe(b, newStripeScratch(), i, columns, ReadOptions{}); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadStripeInto decodes stripe i as ReadStripe does, into dst, reusing
// the memory dst kept from an earlier ReadStripeInto call: decoding stripe
// after stripe into the same Batch allocates next to nothing once its
// buffers have grown to the largest stripe. o may be nil.
//
// Every value dst held before the call is overwritten, so no slice taken
// from dst's Columns may be used after it; a Batch from ReadStripe (or the
// zero Batch) starts with no memory to reuse. After an error, dst's
// contents are unspecified, but it may be used again. ReadStripeInto is
// safe for concurrent use with distinct Batches; the errors are
// ReadStripe's.
func (f *File) ReadStripeInto(dst *Batch, i int, columns []string, o *ReadOptions) error {
	if dst.scratch == nil {
		dst.scratch = newStripeScratch()
	}
	var opts ReadOptions
	if o != nil {
		opts = *o
	}
	if err := f.readStripe(dst, dst.scratch, i, columns, opts); err != nil {
		dst.NumRows, dst.Names, dst.Columns = 0, nil, nil
		return err
	}
	return nil
}

func (f *File) readStripe(b *Batch, s *stripeScratch, i int, columns []string, opts ReadOptions) error {
	if i < 0 || i >= len(f.stripes) {
		return fmt.Errorf("%w: %d (file has %d stripes)", ErrStripeRange, i, len(f.stripes))
	}
	names, types, err := f.project(columns)
	if err != nil {
		return err
	}
	t := transients.Get().(*transient)
	t.ints.reset()
	t.bytes.reset()
	defer func() {
		t.ints1.sr, t.ints1.rd.src = nil, nil // keep nothing of this stripe alive
		transients.Put(t)
	}()
	sr := &stripeReader{f: f, idx: i, info: f.stripes[i], opts: opts, s: s, t: t}
	if err := sr.readFooter(); err != nil {
		return err
	}
	if err := sr.readStreams(types); err != nil {
		return err
	}
	n := int(sr.info.NumRows)
	cols := sized(&s.columns, len(types))
	for k, t := range types {
		c, err := sr.decode(t, n, nil)
		if err != nil {
			return err
		}
		cols[k] = c
	}
	b.NumRows, b.Names, b.Columns = n, names, cols
	return nil
}

// project resolves top-level column names to types.
func (f *File) project(columns []string) ([]string, []*Type, error) {
	root := f.types[0]
	if root.Kind != Struct {
		if len(columns) > 1 || (len(columns) == 1 && columns[0] != "") {
			return nil, nil, fmt.Errorf("%w: %q (the root of this file is a %v, its only column is \"\")", ErrColumnNotFound, columns, root.Kind)
		}
		return []string{""}, []*Type{root}, checkSupported(root)
	}
	if columns == nil {
		columns = root.FieldNames
	}
	names := make([]string, len(columns))
	types := make([]*Type, len(columns))
	for k, name := range columns {
		t := root.Field(name)
		if t == nil {
			return nil, nil, fmt.Errorf("%w: %q (columns: %q)", ErrColumnNotFound, name, root.FieldNames)
		}
		if err := checkSupported(t); err != nil {
			return nil, nil, err
		}
		names[k], types[k] = name, t
	}
	return names, types, nil
}

func checkSupported(t *Type) error {
	if t.Kind == Union {
		return where{section: "schema", stripe: -1, column: t.ID}.wrap(unsupportedf(ErrUnsupportedType, "%v columns are not supported", t.Kind))
	}
	for _, c := range t.Children {
		if err := checkSupported(c); err != nil {
			return err
		}
	}
	return nil
}

func (sr *stripeReader) where(column int, kind uint64) where {
	w := where{section: "stripe", stripe: sr.idx, column: column, base: -1}
	if kind != math.MaxUint64 {
		w.section = "stream"
		w.stream = streamName(kind)
	}
	return w
}

func (sr *stripeReader) readFooter() error {
	s := sr.s
	off := sr.info.Offset + sr.info.IndexLength + sr.info.DataLength
	w := where{section: "stripe footer", stripe: sr.idx, column: -1, base: off}
	raw := sized(&s.footRaw, int(sr.info.FooterLength))
	if err := sr.f.readAt(raw, off); err != nil {
		return err
	}
	buf, err := sr.f.codec.decompressTo(s.footBuf, raw)
	if err != nil {
		return w.wrap(err)
	}
	if sr.f.codec.kind != CompressionNone {
		s.footBuf = buf
	}
	sr.footer, err = parseStripeFooter(buf)
	if err != nil {
		w.base = -1
		return w.wrap(err)
	}
	if sr.footer.encrypted {
		return w.wrap(unsupportedf(ErrUnsupportedEncoding, "encrypted stripe"))
	}
	// Streams are laid out back to back from the start of the stripe, in
	// footer order, index streams first.
	clear(s.locs)
	pos := sr.info.Offset
	end := sr.info.Offset + sr.info.IndexLength + sr.info.DataLength
	for _, st := range sr.footer.streams {
		if st.length > uint64(end-pos) {
			return w.errorf(off, "stream %s of column %d (%d bytes at offset %d) overruns the stripe's data, which ends at %d",
				streamName(st.kind), st.column, st.length, pos, end)
		}
		k := streamKey{column: int(min(st.column, math.MaxInt32)), kind: st.kind}
		if _, dup := s.locs[k]; dup && st.length > 0 {
			return w.errorf(off, "stream %s of column %d appears twice", streamName(st.kind), st.column)
		}
		s.locs[k] = streamLoc{off: pos, length: int64(st.length)}
		pos += int64(st.length)
	}
	return nil
}

// dataStreamKinds are the streams a column's values may use.
var dataStreamKinds = [...]uint64{streamPresent, streamData, streamLength, streamDictionaryData, streamSecondary}

// readStreams reads and decompresses the streams of the given columns and
// their descendants, coalescing nearby reads.
func (sr *stripeReader) readStreams(types []*Type) error {
	s := sr.s
	keys := s.keys[:0]
	var add func(t *Type) error
	add = func(t *Type) error {
		if t.ID >= len(sr.footer.encodings) {
			return sr.where(t.ID, math.MaxUint64).errorf(-1, "stripe footer has %d column encodings, column %d has none", len(sr.footer.encodings), t.ID)
		}
		if err := checkEncoding(t, sr.footer.encodings[t.ID]); err != nil {
			return sr.where(t.ID, math.MaxUint64).wrap(err)
		}
		for _, kind := range dataStreamKinds {
			k := streamKey{t.ID, kind}
			if l, ok := s.locs[k]; ok && l.length > 0 {
				keys = append(keys, k)
			}
		}
		for _, c := range t.Children {
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range types {
		if err := add(t); err != nil {
			return err
		}
	}
	s.keys = keys
	slices.SortFunc(keys, func(a, b streamKey) int {
		return int(s.locs[a].off - s.locs[b].off)
	})
	// One buffer holds every coalesced range, read back to back: without
	// compression the streams alias it.
	total := int64(0)
	for i := 0; i < len(keys); {
		first, end, j := sr.coalesce(keys, i)
		total += end - first.off
		i = j
	}
	// Uncompressed streams alias the read buffer, which the Batch then
	// keeps; compressed ones are decompressed into the Batch's buffers
	// when decoded values alias them, else into transient ones.
	var raw []byte
	compressed := sr.f.codec.kind != CompressionNone
	if compressed {
		raw = sized(&sr.t.raw, int(total))
	} else {
		raw = sized(&s.raw, int(total))
	}
	clear(s.data)
	at := int64(0)
	for i := 0; i < len(keys); {
		first, end, j := sr.coalesce(keys, i)
		buf := raw[at : at+end-first.off]
		at += end - first.off
		if err := sr.f.readAt(buf, first.off); err != nil {
			return err
		}
		for _, k := range keys[i:j] {
			l := s.locs[k]
			raw := buf[l.off-first.off : l.off-first.off+l.length : l.off-first.off+l.length]
			bufs := sr.t.bufs
			if sr.aliased(k) {
				bufs = s.bufs
			}
			dec, err := sr.f.codec.decompressTo(bufs[k], raw)
			if err != nil {
				w := sr.where(k.column, k.kind)
				w.base = l.off
				return w.wrap(err)
			}
			if compressed {
				bufs[k] = dec
			}
			s.data[k] = dec
		}
		i = j
	}
	return nil
}

// aliased says whether decoded values alias stream k (the DATA of a
// direct string column, a kept dictionary's DICTIONARY_DATA), which must
// then live as long as the Batch.
func (sr *stripeReader) aliased(k streamKey) bool {
	switch k.kind {
	case streamData:
		switch sr.f.types[k.column].Kind {
		case String, Varchar, Char, Binary:
			enc := sr.footer.encodings[k.column].kind
			return enc == encDirect || enc == encDirectV2
		}
	case streamDictionaryData:
		return sr.opts.Dictionaries
	}
	return false
}

// coalesce returns the range from the stream keys[i] through the last of
// the following streams whose gaps are at most coalesceGap, and the index
// of the first stream after the range.
func (sr *stripeReader) coalesce(keys []streamKey, i int) (first streamLoc, end int64, j int) {
	first = sr.s.locs[keys[i]]
	end = first.off + first.length
	for j = i + 1; j < len(keys); j++ {
		l := sr.s.locs[keys[j]]
		if l.off-end > coalesceGap {
			break
		}
		end = max(end, l.off+l.length)
	}
	return first, end, j
}

func checkEncoding(t *Type, e encodingProto) error {
	switch t.Kind {
	case String, Varchar, Char:
		if e.kind > encDictionaryV2 {
			return corruptf(-1, "encoding kind %d is not valid for a %v column", e.kind, t.Kind)
		}
	default:
		if e.kind != encDirect && e.kind != encDirectV2 {
			return corruptf(-1, "encoding kind %d is not valid for a %v column", e.kind, t.Kind)
		}
	}
	return nil
}

func (sr *stripeReader) stream(col int, kind uint64) []byte { return sr.s.data[streamKey{col, kind}] }

// need returns the stream, or an error if it is missing while values are
// expected.
func (sr *stripeReader) need(col int, kind uint64, values int) ([]byte, error) {
	b := sr.stream(col, kind)
	if len(b) == 0 && values > 0 {
		return nil, sr.where(col, kind).errorf(-1, "missing %s stream for %d values", streamName(kind), values)
	}
	return b, nil
}

// plausible rejects a value count that the given streams cannot hold, so
// that a lying count never causes a large allocation.
func (sr *stripeReader) plausible(col int, kind uint64, values int, stream []byte) error {
	if values > 0 && uint64(values) > uint64(len(stream))*maxValuesPerByte {
		return sr.where(col, kind).errorf(-1, "%d values cannot fit in %d bytes", values, len(stream))
	}
	return nil
}

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
