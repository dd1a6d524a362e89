package orc

import (
	"fmt"
	"math"
	"slices"
	"sync"
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
