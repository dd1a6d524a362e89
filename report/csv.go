package report

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/pctenc"
)

// DefaultBatchRows is the number of rows a Batch holds when the reader is
// given no other size.
const DefaultBatchRows = 4096

// maxRecordBytes bounds one CSV record; a longer one is malformed input
// (a key is at most 1,024 bytes, three times that encoded; result messages
// are short texts or a Lambda's result string).
const maxRecordBytes = 16 << 20

// Column names as report manifests spell them, in the physical order of
// the fields in a result row.
var physicalColumns = [7]string{"Bucket", "Key", "VersionId", "TaskStatus", "HTTPStatusCode", "ErrorCode", "ResultMessage"}

// ColumnOrder tells which order a result file's fields were found in.
type ColumnOrder uint8

const (
	// OrderUnknown: no row read yet.
	OrderUnknown ColumnOrder = iota
	// OrderPhysical: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode,
	// ErrorCode, ResultMessage — what AWS writes (docs/formats.md#rows).
	OrderPhysical
	// OrderSchema: the ReportSchema string's order, with ErrorCode before
	// HTTPStatusCode. Accepted when a file clearly follows it.
	OrderSchema
)

func (o ColumnOrder) String() string {
	switch o {
	case OrderPhysical:
		return "physical"
	case OrderSchema:
		return "report_schema"
	}
	return "unknown"
}

// Row is one task result. Its byte slices point into the Batch that holds
// it and stay valid until that Batch is filled again.
type Row struct {
	Bucket []byte
	Key    []byte // percent-decoded: the real key bytes
	// RawKey is the key as the report (and so the manifest) wrote it:
	// what identifies the task's manifest line.
	RawKey []byte
	// VersionID is the version id as written; empty when the job's
	// manifest had no version ids (S3 then writes "\N", read as empty).
	VersionID  []byte
	Failed     bool // TaskStatus is "failed" (else "succeeded")
	HTTPStatus int
	ErrorCode  []byte
	Message    []byte // unquoted ResultMessage
	Line       int64  // 1-based line the record starts on
}

// rowOff is a parsed row: its fields' bounds in its batch's buffer and
// what the merger needs of it, computed by the reader (in parallel with
// other readers) rather than by the merger.
type rowOff struct {
	off   [5]int32 // start of Bucket, Key (raw), VersionId, ErrorCode, ResultMessage
	ends  [5]int32 // their ends
	pend  int32    // end of the key's prefix (see Merger.prefix)
	http  int32
	fail  bool
	skip  bool // a success whose object never failed (the tracker's filter says so)
	line  int64
	hash  uint64 // objectHash of bucket, key, version
	phash uint64 // prefixHash of bucket and key prefix
}

// Batch is a group of rows of one result file, with their bytes in one
// buffer. The caller owns it; a ResultReader refills it with ReadBatch. A
// Batch may be handed to another goroutine and back.
type Batch struct {
	// Rows are the rows, filled by ResultReader.ReadBatch. (Run's own
	// pipeline leaves them empty and reads the parsed bounds instead.)
	Rows []Row
	// Source tells which job and file the rows come from; set by whoever
	// drives the reader (see Run), not by ReadBatch.
	Source *ResultFile

	buf   []byte
	offs  []rowOff
	keys  []byte // the decoded keys of Rows (fix)
	depth int    // PrefixDepth the rows' pend and phash were computed for
	blk   *block // the pooled block buf belongs to, if any
	plus  bool   // keys are form-decoded ('+' is a space) in Rows
}

// Len returns the number of rows in the batch.
func (b *Batch) Len() int { return len(b.offs) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.release()
	b.Rows = b.Rows[:0]
	b.buf = b.buf[:0]
	b.offs = b.offs[:0]
}

// ReaderOptions configure a ResultReader.
type ReaderOptions struct {
	// BatchRows is the most rows one ReadBatch returns; zero means
	// DefaultBatchRows.
	BatchRows int
	// WantMD5 is the hex MD5 the whole file must have; "" skips the check.
	WantMD5 string
	// PlusAsSpace decodes '+' in keys as a space (form decoding). Off by
	// default: s3batchkit manifests write a literal '+' as %2B and a
	// space as %20, so a '+' in a report of our own shards is a '+'
	// (docs/formats.md#keys, #rows). Turn it on for reports of manifests other
	// tools wrote form-style.
	PlusAsSpace bool
	// Job is the job id named in errors; may be empty.
	Job string

	// prefixDepth is the PrefixDepth rows' key prefixes are computed for;
	// zero means DefaultPrefixDepth.
	prefixDepth int
	// filter, when set, marks successes of objects that never failed
	// (Run's pipeline only).
	filter *hashFilter
	// blockSize is the bytes Run's pipeline reads at once; zero means
	// blockSize (tests make it small).
	blockSize int
	// io opens the result files (Run's pipeline only).
	io *objio.Client
}

// ResultReader streams the rows of one result CSV file. It splits RFC
// 4180 records with internal/csvscan (quoted or not, "" escapes,
// multi-line quoted values, LF or CRLF, blank lines skipped, a quote
// inside an unquoted field kept), checks seven fields per row, validates
// the task status and HTTP status, percent-decodes keys, and verifies the
// file's MD5 at its end. Not safe for concurrent use.
type ResultReader struct {
	p   rowParser
	sc  *csvscan.Reader
	md5 hash.Hash

	done bool
	err  error // sticky
}

// NewResultReader reads the result file r, named name in errors.
func NewResultReader(r io.Reader, name string, opt ReaderOptions) *ResultReader {
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	rr := &ResultReader{p: newRowParser(name, opt)}
	if opt.WantMD5 != "" {
		rr.md5 = md5.New()
		r = io.TeeReader(r, rr.md5)
	}
	rr.sc = csvscan.NewReader(r, csvOptions)
	return rr
}

// Order returns the column order the file was found to follow.
func (r *ResultReader) Order() ColumnOrder { return r.p.order }

// Lines returns the number of lines read so far.
func (r *ResultReader) Lines() int64 { return r.sc.Line() - 1 }

// ReadBatch empties b and fills it with up to BatchRows rows. It returns
// io.EOF, possibly together with rows, once the file is read whole and its
// checksum verified; any other error is a *DataError (or an I/O error) and
// sticks: later calls return it again.
func (r *ResultReader) ReadBatch(b *Batch) error {
	b.Reset()
	b.depth = r.p.depth
	b.plus = r.p.opt.PlusAsSpace
	if r.err != nil {
		return r.err
	}
	if r.done {
		return io.EOF
	}
	var o rowOff
	for len(b.offs) < r.p.opt.BatchRows {
		rec, err := r.sc.Next()
		if err == io.EOF {
			if r.md5 != nil {
				if err := r.p.checkMD5(r.md5.Sum(nil)); err != nil {
					r.err = err
					b.fix()
					return err
				}
			}
			r.done = true
			break
		}
		if err == nil {
			err = r.p.row(r.sc.Bytes(), rec, &o)
		} else {
			err = r.p.readErr(err)
		}
		if err != nil {
			r.err = err
			b.Reset()
			return err
		}
		// Copy the row's bytes out of the read buffer, which moves.
		delta := int32(len(b.buf)) - o.off[0]
		b.buf = append(b.buf, r.sc.Bytes()[o.off[0]:o.ends[4]]...)
		for i := range o.off {
			o.off[i] += delta
			o.ends[i] += delta
		}
		o.pend += delta
		b.offs = append(b.offs, o)
	}
	b.fix()
	if r.done {
		return io.EOF
	}
	return nil
}

// fix fills b.Rows from the parsed bounds, decoding the keys.
func (b *Batch) fix() {
	if cap(b.Rows) < len(b.offs) {
		b.Rows = make([]Row, len(b.offs))
	}
	b.Rows = b.Rows[:len(b.offs)]
	buf := b.buf
	size := 0
	for i := range b.offs {
		size += int(b.offs[i].ends[1] - b.offs[i].off[1])
	}
	if cap(b.keys) < size {
		b.keys = make([]byte, 0, size) // never grows: Rows point into it
	}
	b.keys = b.keys[:0]
	for i := range b.offs {
		o := &b.offs[i]
		raw := buf[o.off[1]:o.ends[1]:o.ends[1]]
		k := len(b.keys)
		b.keys = append(b.keys, raw...)
		n, _ := decodeInPlace(b.keys[k:], b.plus) // the parser checked it
		b.keys = b.keys[:k+n]
		b.Rows[i] = Row{
			Bucket:     buf[o.off[0]:o.ends[0]:o.ends[0]],
			Key:        b.keys[k : k+n : k+n],
			RawKey:     raw,
			VersionID:  buf[o.off[2]:o.ends[2]:o.ends[2]],
			ErrorCode:  buf[o.off[3]:o.ends[3]:o.ends[3]],
			Message:    buf[o.off[4]:o.ends[4]:o.ends[4]],
			Failed:     o.fail,
			HTTPStatus: int(o.http),
			Line:       o.line,
		}
	}
}

// csvOptions is how result files are split: a quote inside an unquoted
// field is a character (lenient, as most CSV writers expect), and a row
// has seven fields (more are counted).
var csvOptions = csvscan.Options{LazyQuotes: true, MaxFields: 7, MaxRecordBytes: maxRecordBytes}

// rowParser parses the records of one result file in place: quoted
// fields are unescaped and keys percent-decoded within the bytes they
// were read into, and rows point into them. It keeps the column order
// from record to record, and for Run's pipeline the splitter (with the
// line count).
type rowParser struct {
	name  string
	opt   ReaderOptions
	s     *csvscan.Splitter
	order ColumnOrder
	depth int

	bucket     []byte // the last row's bucket
	bucketHash uint64 // and its bucketHash
	kbuf       []byte // a key being decoded to be checked
}

func newRowParser(name string, opt ReaderOptions) rowParser {
	d := opt.prefixDepth
	if d <= 0 {
		d = DefaultPrefixDepth
	}
	return rowParser{name: name, opt: opt, s: csvscan.NewSplitter(csvOptions), depth: d, bucketHash: bucketHash(nil)}
}

func (p *rowParser) checkMD5(sum []byte) error {
	if got := hex.EncodeToString(sum); got != p.opt.WantMD5 {
		return &DataError{Job: p.opt.Job, File: p.name, Value: got, Expected: "MD5 " + p.opt.WantMD5 + " as the report manifest says", Err: ErrChecksum}
	}
	return nil
}

// tooLong is the error of a record that starts on line and is longer than
// maxRecordBytes.
func (p *rowParser) tooLong(line int64) error {
	return &DataError{Job: p.opt.Job, File: p.name, Line: line, Expected: fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes), Err: ErrSyntax}
}

// readErr maps an error of the splitter, or of reading, to the error
// ReadBatch and Run return.
func (p *rowParser) readErr(err error) error {
	var se *csvscan.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("reading %s: %w", p.name, err)
	}
	switch {
	case errors.Is(se, csvscan.ErrTooLong):
		return p.tooLong(se.StartLine)
	case errors.Is(se, csvscan.ErrUnterminated):
		return &DataError{Job: p.opt.Job, File: p.name, Line: se.StartLine, Expected: "a closing quote before the end of the file", Err: se.Tag(ErrSyntax)}
	}
	return &DataError{Job: p.opt.Job, File: p.name, Line: se.Line, Field: fieldName(se.Column - 1), Value: shorten([]byte(se.Near)), Expected: se.Expected, Err: se.Tag(ErrSyntax)}
}

// next parses the record at buf[at:], after any blank lines, with the
// pipeline's splitter. It returns the position after it, with the row in
// *o, or ok false with the position the record starts at when buf ends
// before the record does, or holds no more record. final says that no
// byte follows buf: a last record without a final newline is then
// complete. A record is modified in place only once it is known complete,
// so an incomplete one can be parsed again later with more bytes after it.
func (p *rowParser) next(buf []byte, at int, final bool, o *rowOff) (next int, ok bool, err error) {
	rec, next, err := p.s.Next(buf, at, final)
	if err != nil {
		return next, false, p.readErr(err)
	}
	if rec == nil {
		return next, false, nil
	}
	if err := p.row(buf, rec, o); err != nil {
		return next, false, err
	}
	return next, true, nil
}

func fieldName(i int) string {
	if i >= 0 && i < len(physicalColumns) {
		return physicalColumns[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// row validates the split record rec, in buf, unescapes and decodes it
// in place and sets *o to its bounds and what the merger needs of it.
func (p *rowParser) row(buf []byte, rec *csvscan.Record, o *rowOff) error {
	line := rec.Line
	if rec.N != 7 {
		return &DataError{Job: p.opt.Job, File: p.name, Line: line, Value: fmt.Sprintf("%d fields", rec.N), Expected: "7 fields: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage", Err: ErrFieldCount}
	}
	f := rec.Fields[:7]
	for i := range f {
		f[i].Unescape(buf)
	}
	val := func(i int) []byte { return buf[f[i].Start:f[i].End] }
	bad := func(i int, name, expected string, err error) error {
		return &DataError{Job: p.opt.Job, File: p.name, Line: line, Field: name, Value: shorten(val(i)), Expected: expected, Err: err}
	}
	if f[0].Start == f[0].End {
		return bad(0, "Bucket", "a bucket name", ErrBadValue)
	}
	o.line = line
	o.fail, o.skip = false, false
	switch st := val(3); {
	case string(st) == "succeeded":
	case string(st) == "failed":
		o.fail = true
	case bytes.EqualFold(st, []byte("succeeded")):
	case bytes.EqualFold(st, []byte("failed")):
		o.fail = true
	default:
		return bad(3, "TaskStatus", "succeeded or failed", ErrBadValue)
	}
	httpCol, codeCol := 4, 5
	order := p.order
	if order == OrderUnknown {
		// Column 5 decides unless it is not a status and column 6 is.
		order = OrderPhysical
		if _, ok := parseHTTP(val(4)); !ok {
			if _, ok := parseHTTP(val(5)); ok {
				order = OrderSchema
			}
		}
	}
	if order == OrderSchema {
		httpCol, codeCol = 5, 4
	}
	code, ok := parseHTTP(val(httpCol))
	if !ok {
		exp := "a numeric HTTP status (column 5 in the physical order)"
		if order == OrderSchema {
			exp = "a numeric HTTP status (column 6: this file follows the ReportSchema order)"
		}
		return bad(httpCol, "HTTPStatusCode", exp, ErrBadValue)
	}
	p.order = order
	o.http = int32(code)
	// The key stays as written (it identifies the manifest line); it
	// must decode to UTF-8, as S3 keys are.
	ks, ke := f[1].Start, f[1].End
	if ks == ke {
		return bad(1, "Key", "a non-empty key", ErrBadValue)
	}
	key := buf[ks:ke]
	if bytes.IndexByte(key, '%') >= 0 || p.opt.PlusAsSpace && bytes.IndexByte(key, '+') >= 0 {
		p.kbuf = append(p.kbuf[:0], key...)
		n, derr := decodeInPlace(p.kbuf, p.opt.PlusAsSpace)
		if derr != nil {
			return &DataError{Job: p.opt.Job, File: p.name, Line: line, Field: "Key", Value: shorten(val(1)), Expected: derr.Error(), Err: ErrBadEscape}
		}
		if !utf8.Valid(p.kbuf[:n]) {
			// S3 keys are UTF-8; a re-run manifest could not carry this one.
			return &DataError{Job: p.opt.Job, File: p.name, Line: line, Field: "Key", Value: shorten(val(1)), Expected: "a key that decodes to UTF-8", Err: ErrBadValue}
		}
	} else if !utf8.Valid(key) {
		return &DataError{Job: p.opt.Job, File: p.name, Line: line, Field: "Key", Value: shorten(val(1)), Expected: "a key that decodes to UTF-8", Err: ErrBadValue}
	}
	// S3 writes "\N" for the version id of a manifest without one.
	vs, ve := f[2].Start, f[2].End
	if ve-vs == 2 && buf[vs] == '\\' && buf[vs+1] == 'N' {
		ve = vs
	}
	cf := &f[codeCol]
	o.off[0], o.ends[0] = f[0].Start, f[0].End
	o.off[1], o.ends[1] = ks, ke
	o.off[2], o.ends[2] = vs, ve
	o.off[3], o.ends[3] = cf.Start, cf.End
	o.off[4], o.ends[4] = f[6].Start, f[6].End
	// Rows of a file mostly share their bucket: hash it once.
	bucket := val(0)
	if string(bucket) != string(p.bucket) {
		p.bucket = append(p.bucket[:0], bucket...)
		p.bucketHash = bucketHash(bucket)
	}
	o.hash = objectHashFrom(p.bucketHash, key, buf[vs:ve])
	pl := prefixLen(key, p.depth)
	o.pend = ks + int32(pl)
	o.phash = prefixHashFrom(p.bucketHash, key[:pl])
	return nil
}

// prefixLen returns the length of key's prefix at depth: the key up to its
// depth-th '/', or up to its last '/' when it has fewer.
func prefixLen(key []byte, depth int) int {
	end, n := 0, 0
	for {
		i := bytes.IndexByte(key[end:], '/')
		if i < 0 {
			return end
		}
		end += i + 1
		if n++; n == depth {
			return end
		}
	}
}

// parseHTTP parses a 3-digit HTTP status, or "0": no HTTP answer (a
// connection refused, reset or timed out before a status line), as an
// engine may record a transport failure.
func parseHTTP(v []byte) (int, bool) {
	if len(v) == 1 && v[0] == '0' {
		return 0, true
	}
	if len(v) != 3 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 100
}

// decodeInPlace percent-decodes v into itself ('+' a space when
// plusAsSpace) and returns the new length.
func decodeInPlace(v []byte, plusAsSpace bool) (int, error) {
	n, at, ok := pctenc.InPlace(v, plusAsSpace)
	if !ok {
		if pctenc.Truncated(v, at) {
			return 0, fmt.Errorf("a complete %%XX escape at byte %d", at)
		}
		return 0, fmt.Errorf("a valid %%XX escape at byte %d", at)
	}
	return n, nil
}
