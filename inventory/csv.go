package inventory

import (
	"bufio"
	"bytes"
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

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// maxRecordBytes bounds one CSV record; a longer one is malformed input
// (S3 keys are at most 1,024 bytes, URL-encoded at most three times that).
const maxRecordBytes = 16 << 20

// csvColumn is one column of the CSV file in file order.
type csvColumn struct {
	name  string
	field Field
}

// CSVReader streams one gzip-compressed S3 Inventory CSV data file as
// record batches. It parses RFC 4180 records (quoted or not, "" escapes,
// CRLF or LF, blank lines skipped), decodes keys form-style, and converts
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

	buf       []byte
	pos, end  int
	eof       bool
	lines     int64 // newlines in bytes discarded before buf[0]
	discarded int64 // bytes discarded before buf[0]
	recStart  int

	cols      []csvColumn
	conv      []csvConv // the projected columns, in file order
	vals      [][]byte
	scratch   []byte
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
	cr := &CSVReader{name: name, obj: closer, wantMD5: wantMD5, want: wantSize, batchRows: batchRows}
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
	cr.vals = make([][]byte, len(cols))
	cr.b = NewBatchBuilder(proj, cr.batchRows)
	cr.buf = make([]byte, 1<<20)
	src := r
	if wantMD5 != "" {
		cr.md5 = md5.New()
		src = io.TeeReader(src, cr.md5)
	}
	cr.counted = &countingReader{r: src}
	// Two stages ahead of the parser: raw reads (with MD5 and byte count)
	// in one goroutine, gunzip in another, so that hashing does not slow
	// the decompressor, the usual bottleneck.
	cr.raw = newReadAhead(func() (io.Reader, error) { return cr.counted, nil }, 256<<10, 4)
	cr.ra = newReadAhead(func() (io.Reader, error) {
		return newGunzip(bufio.NewReaderSize(cr.raw, 256<<10))
	}, 1<<20, 4)
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

// errAt builds a DataError for the record being parsed.
func (r *CSVReader) errAt(col int, val []byte, expected string, err error) error {
	line := r.lines + int64(bytes.Count(r.buf[:r.recStart], []byte{'\n'})) + 1
	e := &DataError{File: r.name, Line: line, Offset: r.discarded + int64(r.recStart), Expected: expected, Err: err}
	if col >= 0 && col < len(r.cols) {
		e.Field = r.cols[col].name
	}
	if val != nil {
		e.Value = shorten(val)
	}
	return e
}

// fill makes room and reads more decompressed bytes. It keeps the bytes
// of the record being parsed (from recStart).
func (r *CSVReader) fill() error {
	if r.recStart > 0 {
		r.lines += int64(bytes.Count(r.buf[:r.recStart], []byte{'\n'}))
		r.discarded += int64(r.recStart)
		n := copy(r.buf, r.buf[r.recStart:r.end])
		r.pos -= r.recStart
		r.end = n
		r.recStart = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxRecordBytes {
			return r.errAt(-1, nil, fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes), ErrSyntax)
		}
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := r.ra.Read(r.buf[r.end:])
	r.end += n
	if err != nil {
		if err == io.EOF {
			r.eof = true
			return nil
		}
		off := r.discarded + int64(r.end)
		var corrupt flate.CorruptInputError
		if errors.Is(err, errCorruptGzip) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) {
			return &DataError{File: r.name, Offset: off, Expected: "valid gzip data", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &DataError{File: r.name, Offset: off, Expected: "a complete gzip stream", Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
		}
		return &DataError{File: r.name, Offset: off, Err: err}
	}
	return nil
}

// record parses and converts one record. It returns false at the end of
// the stream.
func (r *CSVReader) record() (bool, error) {
	for {
		status, err := r.tokenize()
		if err != nil {
			return false, err
		}
		switch status {
		case tokDone:
			return false, nil
		case tokRecord:
			return true, r.convert()
		}
		if r.eof {
			return false, r.errAt(-1, nil, "a closing quote before the end of the file", fmt.Errorf("%w: unterminated quoted field", ErrSyntax))
		}
		if err := r.fill(); err != nil {
			return false, err
		}
	}
}

const (
	tokRecord = iota
	tokMore
	tokDone
)

// tokenize splits the record at r.pos into r.vals. It returns tokMore when
// the buffer holds only part of the record and more input may follow.
func (r *CSVReader) tokenize() (int, error) {
	buf := r.buf[:r.end]
	p := r.pos
	for p < len(buf) && (buf[p] == '\n' || buf[p] == '\r') {
		p++
	}
	r.pos = p
	r.recStart = p
	if p == len(buf) {
		if r.eof {
			return tokDone, nil
		}
		return tokMore, nil
	}
	// Fast path: a whole line of quoted fields without escapes.
	if nl := bytes.IndexByte(buf[p:], '\n'); nl >= 0 {
		line := buf[p : p+nl]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if splitQuoted(line, r.vals) {
			r.pos = p + nl + 1
			return tokRecord, nil
		}
	}
	r.scratch = r.scratch[:0]
	n := len(r.cols)
	for i := 0; i < n; i++ {
		if p >= len(buf) {
			if r.eof {
				return 0, r.errAt(i, nil, fmt.Sprintf("%d fields as fileSchema names, got %d", n, i), ErrFieldCount)
			}
			return tokMore, nil
		}
		var val []byte
		if buf[p] == '"' {
			q := p + 1
			escaped := false
			for {
				j := indexQuote(buf[q:])
				if j < 0 {
					return tokMore, nil
				}
				q += j
				if q+1 < len(buf) && buf[q+1] == '"' {
					escaped = true
					q += 2
					continue
				}
				if q+1 >= len(buf) && !r.eof {
					return tokMore, nil
				}
				break
			}
			val = buf[p+1 : q]
			if escaped {
				start := len(r.scratch)
				for k := 0; k < len(val); k++ {
					r.scratch = append(r.scratch, val[k])
					if val[k] == '"' {
						k++
					}
				}
				val = r.scratch[start:]
			}
			p = q + 1
		} else {
			j := p
			for j < len(buf) && buf[j] != ',' && buf[j] != '\n' {
				if buf[j] == '"' {
					return 0, r.errAt(i, buf[p:j+1], "no quote inside an unquoted field", fmt.Errorf("%w: stray quote", ErrSyntax))
				}
				j++
			}
			if j == len(buf) && !r.eof {
				return tokMore, nil
			}
			val = buf[p:j]
			if len(val) > 0 && val[len(val)-1] == '\r' && (j == len(buf) || buf[j] == '\n') {
				val = val[:len(val)-1]
			}
			p = j
		}
		r.vals[i] = val
		if i < n-1 {
			if p >= len(buf) {
				if r.eof {
					return 0, r.errAt(i+1, nil, fmt.Sprintf("%d fields as fileSchema names, got %d", n, i+1), ErrFieldCount)
				}
				return tokMore, nil
			}
			switch buf[p] {
			case ',':
				p++
			case '\n', '\r':
				return 0, r.errAt(i+1, nil, fmt.Sprintf("%d fields as fileSchema names, got %d", n, i+1), ErrFieldCount)
			default:
				return 0, r.errAt(i, buf[p:p+1], "a comma after a closing quote", fmt.Errorf("%w: text after closing quote", ErrSyntax))
			}
			continue
		}
		if p >= len(buf) {
			if !r.eof {
				return tokMore, nil
			}
			break
		}
		switch buf[p] {
		case '\n':
			p++
		case '\r':
			if p+1 >= len(buf) && !r.eof {
				return tokMore, nil
			}
			p++
			if p < len(buf) && buf[p] == '\n' {
				p++
			}
		case ',':
			return 0, r.errAt(-1, nil, fmt.Sprintf("%d fields as fileSchema names, got more", n), ErrFieldCount)
		default:
			return 0, r.errAt(i, buf[p:p+1], "a comma or line end after a closing quote", fmt.Errorf("%w: text after closing quote", ErrSyntax))
		}
	}
	r.pos = p
	return tokRecord, nil
}

// indexQuote is bytes.IndexByte(b, '"') tuned for inventory fields, most
// of which are short: a plain loop over the first bytes avoids the call
// and setup cost of the vectorised scan, which takes over for long values.
func indexQuote(b []byte) int {
	n := min(len(b), 16)
	for i := 0; i < n; i++ {
		if b[i] == '"' {
			return i
		}
	}
	if n == len(b) {
		return -1
	}
	if j := bytes.IndexByte(b[n:], '"'); j >= 0 {
		return n + j
	}
	return -1
}

// csvConv is one column the reader converts: its index in the file and
// its field, with the key singled out (it is form-decoded).
type csvConv struct {
	col   int
	field Field
	kind  Kind
	key   bool
}

// convert appends the tokenized record to the batch. It writes the
// builder's column buffers directly: this is the per-row inner loop of
// every CSV read.
func (r *CSVReader) convert() error {
	b := r.b
	row := b.n
	for _, c := range r.conv {
		v := r.vals[c.col]
		f := c.field
		if len(v) == 0 {
			if f == Bucket || f == Key {
				b.Truncate()
				return r.errAt(c.col, v, "a non-empty value", ErrBadValue)
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
					return r.errAt(c.col, v, exp, err)
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
				return r.errAt(c.col, v, "true or false", ErrBadValue)
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
				return r.errAt(c.col, v, "a non-negative integer", ErrBadValue)
			}
			col.ints = append(col.ints, x)
		case KindTimestamp:
			x, ok := ParseTimestamp(v)
			if !ok {
				b.Truncate()
				return r.errAt(c.col, v, "an RFC 3339 timestamp such as 2024-08-21T15:28:26.000Z", ErrBadValue)
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
	obj, err := objio.Open(ctx, df.Location)
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
