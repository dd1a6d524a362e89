package inventory

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
)

// maxRecordBytes bounds one CSV record; a longer one is malformed input
// (S3 keys are at most 1,024 bytes, URL-encoded at most three times that).
const maxRecordBytes = 16 << 20

// csvOptions is how the reader splits a file of n columns: strict
// quotes, and a lone '\r' after a closing quote taken as a line end, as
// this reader always did.
func csvOptions(n int) csvscan.Options {
	return csvscan.Options{CRAfterQuote: true, MaxFields: n}
}

// The reader splits the decompressed blocks where the gunzip goroutine
// wrote them (csvBlock bytes each), without copying them: the start of a
// record that a block cuts is copied into the room kept before the next
// block's bytes (csvHead), or, for a longer one, joined with them in a
// buffer of its own.
const (
	csvBlock = 1 << 20
	csvHead  = 64 << 10
)

// csvColumn is one column of the CSV file in file order.
type csvColumn struct {
	name  string
	field Field
}

// CSVReader streams one gzip-compressed S3 Inventory CSV data file as
// record batches. It splits RFC 4180 records with internal/csvscan
// (quoted or not, "" escapes, CRLF or LF, blank lines skipped), checks
// that each has the fields fileSchema names, decodes keys form-style, and converts
// values by field kind. Values of fields outside the projection are not
// converted. It verifies the file's size and MD5 when the manifest gives
// them and reports a mismatch at the end of the file.
//
// Batches returned by Next are owned by the caller. Not safe for
// concurrent use; Close must be called.
type CSVReader struct {
	name    string
	obj     io.Closer
	ra      *readAhead // decompressed bytes
	raw     *readAhead // compressed bytes, hashed and counted
	md5     hash.Hash
	wantMD5 string
	counted *countingReader
	want    int64 // expected compressed size, -1 if unknown

	s     *csvscan.Splitter
	blk   []byte // the block of ra that buf is in; nil when none is
	buf   []byte // the bytes being split
	at    int    // where the next record starts in buf
	final bool   // buf holds the end of the stream
	read  int64  // decompressed bytes taken from ra
	head  int    // the room before each block's bytes

	cols      []csvColumn
	conv      []csvConv // the projected columns, in file order
	b         *BatchBuilder
	batchRows int
	done      bool
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewCSVReader reads the gzip CSV stream r (named name in errors), whose
// columns are cols in order, projecting to set. wantMD5 (hex) and wantSize
// (-1 for unknown) are checked at the end of the stream when given. closer,
// if not nil, is closed by Close.
func NewCSVReader(r io.Reader, closer io.Closer, name string, cols []Column, set FieldSet, batchRows int, wantMD5 string, wantSize int64) *CSVReader {
	return newCSVReader(r, closer, name, cols, set, batchRows, wantMD5, wantSize, csvBlock, csvHead)
}

// newCSVReader is NewCSVReader with decompressed blocks of block bytes
// and head bytes of room before each (tests make them small).
func newCSVReader(r io.Reader, closer io.Closer, name string, cols []Column, set FieldSet, batchRows int, wantMD5 string, wantSize int64, block, head int) *CSVReader {
	cr := &CSVReader{name: name, obj: closer, wantMD5: wantMD5, want: wantSize, batchRows: batchRows, head: head}
	if batchRows <= 0 {
		cr.batchRows = DefaultBatchRows
	}
	var proj FieldSet
	for _, c := range cols {
		want := c.Known && set.Has(c.Field)
		cr.cols = append(cr.cols, csvColumn{name: c.Name, field: c.Field})
		if want {
			proj |= Fields(c.Field)
			cr.conv = append(cr.conv, csvConv{col: len(cr.cols) - 1, field: c.Field, kind: c.Field.Kind(), key: c.Field == Key})
		}
	}
	cr.b = NewBatchBuilder(proj, cr.batchRows)
	src := r
	if wantMD5 != "" {
		cr.md5 = md5.New()
		src = io.TeeReader(src, cr.md5)
	}
	cr.counted = &countingReader{r: src}
	// Two stages ahead of the parser: raw reads (with MD5 and byte count)
	// in one goroutine, gunzip in another, so that hashing does not slow
	// the decompressor, the usual bottleneck.
	// (Compressed blocks of 256 KiB; tests with small blocks take smaller
	// ones, down to 4 KiB, so that a reader costs them little memory.)
	rawBlock := min(256<<10, max(block, 4<<10))
	cr.raw = newReadAhead(func() (io.Reader, error) { return cr.counted, nil }, 0, rawBlock, 4)
	cr.ra = newReadAhead(func() (io.Reader, error) {
		return newGunzip(bufio.NewReaderSize(cr.raw, rawBlock))
	}, head, block, 4)
	cr.s = csvscan.NewSplitter(csvOptions(len(cols)))
	return cr
}

// Fields returns the projection of the batches Next returns.
func (r *CSVReader) Fields() FieldSet { return r.b.Fields() }

// Close releases the reader's resources.
func (r *CSVReader) Close() error {
	r.ra.Close()
	r.raw.Close()
	if r.obj != nil {
		return r.obj.Close()
	}
	return nil
}

// Next returns the next batch of at most batchRows rows, or (nil, io.EOF)
// after the last one.
func (r *CSVReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.done {
		return nil, io.EOF
	}
	for r.b.Len() < r.batchRows {
		more, err := r.record()
		if err != nil {
			return nil, err
		}
		if !more {
			if err := r.finish(); err != nil {
				return nil, err
			}
			r.done = true
			break
		}
		if r.b.Len()&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rec := r.b.Build()
	if rec == nil {
		return nil, io.EOF
	}
	return rec, nil
}

func (r *CSVReader) finish() error {
	if r.want >= 0 && r.counted.n != r.want {
		return &DataError{File: r.name, Offset: r.counted.n, Value: fmt.Sprint(r.counted.n), Expected: fmt.Sprintf("%d bytes as manifest.json says", r.want), Err: ErrTruncated}
	}
	if r.md5 != nil {
		got := hex.EncodeToString(r.md5.Sum(nil))
		if got != r.wantMD5 {
			return &DataError{File: r.name, Offset: -1, Value: got, Expected: "MD5 " + r.wantMD5 + " as manifest.json says", Err: ErrChecksum}
		}
	}
	return nil
}

// errAt builds a DataError for the record rec, at column col (-1:
// none) of the file's columns.
func (r *CSVReader) errAt(rec *csvscan.Record, col int, val []byte, expected string, err error) error {
	e := &DataError{File: r.name, Line: rec.Line, Offset: rec.Offset, Expected: expected, Err: err}
	if col >= 0 && col < len(r.cols) {
		e.Field = r.cols[col].name
	}
	if val != nil {
		e.Value = shorten(val)
	}
	return e
}

// readErr maps an error of the scanner or of the decompressed stream to
// a DataError.
func (r *CSVReader) readErr(err error) error {
	var se *csvscan.SyntaxError
	if errors.As(err, &se) && se.Column > len(r.cols) && !errors.Is(se, csvscan.ErrTooLong) {
		// The record has more fields than fileSchema names, whatever is
		// wrong past them: that is what this reader reports.
		return &DataError{File: r.name, Line: se.StartLine, Offset: r.s.Offset(),
			Expected: fmt.Sprintf("%d fields as fileSchema names, got more", len(r.cols)), Err: ErrFieldCount}
	}
	if se != nil {
		e := &DataError{File: r.name, Line: se.Line, Offset: se.Offset, Value: se.Near, Err: se.Tag(ErrSyntax)}
		if c := se.Column - 1; c >= 0 && c < len(r.cols) {
			e.Field = r.cols[c].name
		}
		switch {
		case errors.Is(se, csvscan.ErrUnterminated):
			e.Expected, e.Offset = "a closing quote before the end of the file", se.FieldOffset
		case errors.Is(se, csvscan.ErrTooLong):
			e.Field, e.Expected = "", fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes)
		default:
			e.Expected = se.Expected
		}
		return e
	}
	off := r.read
	var corrupt flate.CorruptInputError
	if errors.Is(err, errCorruptGzip) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) {
		return &DataError{File: r.name, Offset: off, Expected: "valid gzip data", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &DataError{File: r.name, Offset: off, Expected: "a complete gzip stream", Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
	}
	return &DataError{File: r.name, Offset: off, Err: err}
}

// record splits and converts one record. It returns false at the end of
// the stream.
func (r *CSVReader) record() (bool, error) {
	for {
		rec, next, err := r.s.Next(r.buf, r.at, r.final)
		r.at = next
		if rec != nil {
			if rec.End-rec.Start > maxRecordBytes { // joined from blocks
				return false, r.readErr(&csvscan.SyntaxError{StartLine: rec.Line, Line: rec.Line, Column: 1,
					Offset: rec.Offset, FieldOffset: rec.Offset, Err: csvscan.ErrTooLong})
			}
			if n := len(r.cols); rec.N < n {
				return false, r.errAt(rec, rec.N, nil, fmt.Sprintf("%d fields as fileSchema names, got %d", n, rec.N), ErrFieldCount)
			} else if rec.N > n {
				return false, r.errAt(rec, -1, nil, fmt.Sprintf("%d fields as fileSchema names, got more", n), ErrFieldCount)
			}
			return true, r.convert(rec, r.buf)
		}
		if err != nil {
			return false, r.readErr(err)
		}
		if r.final {
			return false, nil
		}
		if err := r.more(); err != nil {
			return false, r.readErr(err)
		}
	}
}

// more takes the next block of decompressed bytes and puts the start of
// the record buf cuts, buf[at:], before them. At the end of the stream it
// sets final.
func (r *CSVReader) more() error {
	tail := r.buf[r.at:]
	if len(tail) >= maxRecordBytes {
		return r.s.TooLong(maxRecordBytes)
	}
	b, err := r.ra.Next()
	if err == io.EOF {
		r.final = true
		return nil
	}
	if err != nil {
		return err
	}
	head := r.head
	r.read += int64(len(b) - head)
	if len(tail) <= head {
		start := head - copy(b[head-len(tail):], tail)
		r.release()
		r.blk, r.buf = b, b[start:]
	} else {
		buf := make([]byte, len(tail)+len(b)-head)
		copy(buf[copy(buf, tail):], b[head:])
		r.ra.Release(b)
		r.release()
		r.buf = buf
	}
	r.at = 0
	return nil
}

// release hands back the block buf is in, if any.
func (r *CSVReader) release() {
	if r.blk != nil {
		r.ra.Release(r.blk)
		r.blk = nil
	}
}

// csvConv is one column the reader converts: its index in the file and
// its field, with the key singled out (it is form-decoded).
type csvConv struct {
	col   int
	field Field
	kind  Kind
	key   bool
}

// convert appends the split record, in buf, to the batch. It writes the
// builder's column buffers directly: this is the per-row inner loop of
// every CSV read.
func (r *CSVReader) convert(rec *csvscan.Record, buf []byte) error {
	b := r.b
	row := b.n
	fields := rec.Fields
	if rec.Escaped {
		for i := range fields {
			fields[i].Unescape(buf)
		}
	}
	for _, c := range r.conv {
		fld := fields[c.col]
		v := buf[fld.Start:fld.End]
		f := c.field
		if len(v) == 0 {
			if f == Bucket || f == Key {
				b.Truncate()
				return r.errAt(rec, c.col, v, "a non-empty value", ErrBadValue)
			}
			b.AppendNull(f)
			continue
		}
		col := &b.cols[f]
		switch c.kind {
		case KindString:
			if c.key {
				d, err := AppendDecodedKey(col.data, v)
				if err != nil {
					b.Truncate()
					exp := "valid %XX escapes"
					if errors.Is(err, ErrBadKey) {
						exp = "a key that decodes to valid UTF-8"
					}
					return r.errAt(rec, c.col, v, exp, err)
				}
				col.data = d
			} else {
				col.data = append(col.data, v...)
			}
			col.offsets = append(col.offsets, int32(len(col.data)))
		case KindEnum:
			col.data = AppendUpperASCII(col.data, v)
			col.offsets = append(col.offsets, int32(len(col.data)))
		case KindBool:
			x, ok := ParseBool(v)
			if !ok {
				b.Truncate()
				return r.errAt(rec, c.col, v, "true or false", ErrBadValue)
			}
			if row&7 == 0 {
				col.bools = append(col.bools, 0)
			}
			if x {
				col.bools[row>>3] |= 1 << (row & 7)
			}
		case KindInt64:
			x, ok := ParseInt(v)
			if !ok {
				b.Truncate()
				return r.errAt(rec, c.col, v, "a non-negative integer", ErrBadValue)
			}
			col.ints = append(col.ints, x)
		case KindTimestamp:
			x, ok := ParseTimestamp(v)
			if !ok {
				b.Truncate()
				return r.errAt(rec, c.col, v, "an RFC 3339 timestamp such as 2024-08-21T15:28:26.000Z", ErrBadValue)
			}
			col.ints = append(col.ints, x)
		}
		col.setValid(row, true)
	}
	b.EndRow()
	return nil
}

// openCSV opens one CSV.gz data file of a report.
func openCSV(ctx context.Context, m *Manifest, df *DataFile, set FieldSet, o *ReaderOptions) (FileReader, error) {
	obj, err := o.IO.Open(ctx, df.Location)
	if err != nil {
		return nil, err
	}
	md5 := ""
	size := int64(-1)
	if !o.SkipChecksums {
		md5 = wantMD5(df)
		if df.Size > 0 {
			size = df.Size
		}
	}
	var src io.Reader = obj
	if o.progress != nil {
		src = &progressReader{r: obj, p: o.progress}
	}
	return NewCSVReader(src, obj, df.Location, m.Columns, set, o.BatchRows, md5, size), nil
}
