package orc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

const magic = "ORC"

// tailReadSize is how much of the end of the file Open reads at first,
// hoping to find postscript and footer in one read.
const tailReadSize = 16 << 10

// Options configure Open. The zero value (or a nil *Options) gives the
// defaults.
type Options struct {
	// DefaultTimezone is the writer time zone assumed for TIMESTAMP columns
	// of stripes that do not record one (files written before ORC 1.x /
	// Hive 1.2 do not). Default (nil): UTC. Set it to the zone the file was
	// written in to get the instants the writer meant.
	DefaultTimezone *time.Location

	// MaxStripeRows rejects stripes that claim more rows than this, before
	// anything is allocated for them. Default (0): 1<<28. Range 1..1<<31-1.
	MaxStripeRows int
}

func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if out.DefaultTimezone == nil {
		out.DefaultTimezone = time.UTC
	}
	if out.MaxStripeRows == 0 {
		out.MaxStripeRows = 1 << 28
	}
	if out.MaxStripeRows < 0 || out.MaxStripeRows > math.MaxInt32 {
		return out, fmt.Errorf("orc: Options.MaxStripeRows %d out of range 1..%d", out.MaxStripeRows, math.MaxInt32)
	}
	return out, nil
}

// KeyValue is one item of user metadata from the file footer.
type KeyValue struct {
	Key   string
	Value []byte
}

// ColumnStats are the file-level statistics kept for a column (only the
// fields common to all types).
type ColumnStats struct {
	NumValues uint64 // number of non-null values
	HasNull   bool
	// String holds a string column's minimum and maximum, when the
	// writer recorded them (see StringStats).
	String *StringStats
}

// StripeInfo locates one stripe in the file.
type StripeInfo struct {
	Offset       int64 // start of the stripe in the file
	IndexLength  int64 // bytes of index streams (skipped by the reader)
	DataLength   int64 // bytes of data streams
	FooterLength int64 // bytes of the stripe footer
	NumRows      int64
}

// File is an open ORC file. Its methods are safe for concurrent use: the
// file's metadata is read once by Open and never changes, and ReadStripe
// only issues ReadAt calls (io.ReaderAt allows parallel calls) on the
// underlying reader. File holds no resources; there is nothing to close,
// but the io.ReaderAt must stay usable while stripes are read.
type File struct {
	r       io.ReaderAt
	size    int64
	opts    Options
	codec   codec
	ps      postScript
	types   []*Type
	stripes []StripeInfo
	numRows int64
	meta    []KeyValue
	stats   []ColumnStats
	writer  uint64
	// metaOff is where the metadata section (stripe statistics) starts.
	metaOff int64
}

// Open reads the file tail (postscript and footer) of the ORC file of the
// given size read through r. opts may be nil. Errors wrap ErrCorrupt for
// malformed tails and ErrUnsupportedCompression for LZO or unknown codecs.
func Open(r io.ReaderAt, size int64, opts *Options) (*File, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &File{r: r, size: size, opts: o}
	if err := f.readTail(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) readAt(p []byte, off int64) error {
	n, err := f.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return &CorruptError{Section: "file", Stripe: -1, Column: -1, Offset: off + int64(n),
			Msg: fmt.Sprintf("file ends after %d of %d bytes read at offset %d", n, len(p), off), Err: io.ErrUnexpectedEOF}
	}
	return fmt.Errorf("orc: reading %d bytes at offset %d: %w", len(p), off, err)
}

func (f *File) readTail() error {
	wPS := where{section: "postscript", stripe: -1, column: -1}
	if f.size < int64(len(magic))+1 {
		return wPS.errorf(0, "file of %d bytes is too small to be ORC", f.size)
	}
	n := min(f.size, tailReadSize)
	tail := make([]byte, n)
	if err := f.readAt(tail, f.size-n); err != nil {
		return err
	}
	psLen := int(tail[n-1])
	if psLen == 0 || int64(psLen)+1 > n {
		return wPS.errorf(f.size-1, "postscript length %d does not fit in a %d-byte file", psLen, f.size)
	}
	psOff := f.size - 1 - int64(psLen)
	ps, err := parsePostScript(tail[n-1-int64(psLen) : n-1])
	if err != nil {
		return wPS.withBase(psOff).wrap(err)
	}
	if ps.magic != magic {
		// Files from Hive 0.11 may lack the magic in the postscript; then
		// the file must start with it.
		head := make([]byte, len(magic))
		if err := f.readAt(head, 0); err != nil || string(head) != magic {
			return wPS.errorf(psOff, "no ORC magic in postscript or file header")
		}
	}
	f.ps = ps
	f.codec, err = newCodec(CompressionKind(ps.compression), ps.blockSize)
	if err != nil {
		return wPS.withBase(psOff).wrap(err)
	}
	// footer and metadata precede the postscript
	if ps.footerLength == 0 || ps.footerLength > uint64(psOff) || ps.metadataLength > uint64(psOff)-ps.footerLength {
		return wPS.errorf(psOff, "footer length %d + metadata length %d exceed the %d bytes before the postscript", ps.footerLength, ps.metadataLength, psOff)
	}
	footerOff := psOff - int64(ps.footerLength)
	var raw []byte
	if footerOff >= f.size-n {
		raw = tail[footerOff-(f.size-n) : psOff-(f.size-n)]
	} else {
		raw = make([]byte, ps.footerLength)
		if err := f.readAt(raw, footerOff); err != nil {
			return err
		}
	}
	wF := where{section: "footer", stripe: -1, column: -1, base: footerOff}
	buf, err := f.codec.decompress(raw)
	if err != nil {
		return wF.wrap(err)
	}
	ft, err := parseFooter(buf)
	if err != nil {
		return where{section: "footer", stripe: -1, column: -1}.wrap(err)
	}
	if ft.encrypted {
		return wF.wrap(unsupportedf(ErrUnsupportedEncoding, "column encryption"))
	}
	f.types, err = buildTypes(ft.types)
	if err != nil {
		return where{section: "footer", stripe: -1, column: -1}.wrap(err)
	}
	if ft.numRows > math.MaxInt64/2 {
		return wF.errorf(-1, "row count %d out of range", ft.numRows)
	}
	f.numRows = int64(ft.numRows)
	f.meta = ft.metadata
	f.stats = ft.stats
	f.writer = ft.writer
	limit := uint64(footerOff) - ps.metadataLength
	f.metaOff = int64(limit)
	var sum uint64
	f.stripes = make([]StripeInfo, len(ft.stripes))
	for i, s := range ft.stripes {
		end := s.offset
		ok := true
		for _, l := range []uint64{s.indexLength, s.dataLength, s.footerLength} {
			if l > limit || end > limit-l {
				ok = false
				break
			}
			end += l
		}
		if !ok || s.footerLength == 0 {
			return where{section: "footer", stripe: i, column: -1}.errorf(-1,
				"stripe at offset %d (index %d, data %d, footer %d bytes) does not fit before the file tail at %d",
				s.offset, s.indexLength, s.dataLength, s.footerLength, limit)
		}
		if s.numRows > uint64(f.opts.MaxStripeRows) {
			return where{section: "footer", stripe: i, column: -1}.wrap(unsupportedf(ErrTooLarge,
				"stripe has %d rows, more than Options.MaxStripeRows (%d)", s.numRows, f.opts.MaxStripeRows))
		}
		sum += s.numRows
		f.stripes[i] = StripeInfo{Offset: int64(s.offset), IndexLength: int64(s.indexLength), DataLength: int64(s.dataLength),
			FooterLength: int64(s.footerLength), NumRows: int64(s.numRows)}
	}
	if sum != ft.numRows {
		return wF.errorf(-1, "stripes hold %d rows, footer says %d", sum, ft.numRows)
	}
	return nil
}

func (w where) withBase(b int64) where { w.base = b; return w }

// Schema returns the root type. For files written by Hive and the Java
// and C++ tools the root is a struct whose fields are the table's columns.
func (f *File) Schema() *Type { return f.types[0] }

// Type returns the type with the given column id, or nil.
func (f *File) Type(id int) *Type {
	if id < 0 || id >= len(f.types) {
		return nil
	}
	return f.types[id]
}

// NumRows is the number of rows in the file.
func (f *File) NumRows() int64 { return f.numRows }

// NumStripes is the number of stripes; ReadStripe takes 0..NumStripes()-1.
func (f *File) NumStripes() int { return len(f.stripes) }

// Stripe describes stripe i (0 <= i < NumStripes()).
func (f *File) Stripe(i int) StripeInfo { return f.stripes[i] }

// Compression is the file's generic compression.
func (f *File) Compression() CompressionKind { return f.codec.kind }

// CompressionBlockSize is the maximum decompressed size of a compression
// chunk (0 without compression).
func (f *File) CompressionBlockSize() int { return f.codec.blockSize }

// Version is the file format version from the postscript, such as "0.12".
func (f *File) Version() string {
	if len(f.ps.version) >= 2 {
		return fmt.Sprintf("%d.%d", f.ps.version[0], f.ps.version[1])
	}
	return "0.11"
}

// Metadata returns the user metadata of the footer. The slice is shared;
// do not modify it.
func (f *File) Metadata() []KeyValue { return f.meta }

// Stats returns the file statistics per column id (may be empty).
func (f *File) Stats() []ColumnStats { return f.stats }

// ColumnNames returns the top-level column names: the field names of a
// struct root, or a single "" for a file whose root is not a struct.
func (f *File) ColumnNames() []string {
	root := f.types[0]
	if root.Kind != Struct {
		return []string{""}
	}
	return append([]string(nil), root.FieldNames...)
}
