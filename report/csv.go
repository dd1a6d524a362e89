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
	// ErrorCode, ResultMessage — what AWS writes (formats.md §7.3).
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
	Bucket     []byte
	Key        []byte // percent-decoded: the real key bytes
	VersionID  []byte // empty when the job's manifest had no version ids
	Failed     bool   // TaskStatus is "failed" (else "succeeded")
	HTTPStatus int
	ErrorCode  []byte
	Message    []byte // unquoted ResultMessage
	Line       int64  // 1-based line the record starts on
}

// rowOff holds a parsed row's bounds in its batch's buffer until the
// buffer stops growing (see fix).
type rowOff struct {
	off  [5]int32 // start of Bucket, Key, VersionId, ErrorCode, ResultMessage
	ends [5]int32 // their ends
	fail bool
	http int
	line int64
}

// Batch is a group of rows of one result file, with their bytes in one
// flat buffer. The caller owns it; a ResultReader refills it with
// ReadBatch. A Batch may be handed to another goroutine and back.
type Batch struct {
	Rows []Row
	// Source tells which job and file the rows come from; set by whoever
	// drives the reader (see Run), not by ReadBatch.
	Source *ResultFile

	buf  []byte
	offs []rowOff
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
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
	// (formats.md §0.4, §7.3). Turn it on for reports of manifests other
	// tools wrote form-style.
	PlusAsSpace bool
	// Job is the job id named in errors; may be empty.
	Job string
}

// ResultReader streams the rows of one result CSV file. It parses RFC 4180
// records (quoted or not, "" escapes, multi-line quoted values, LF or CRLF,
// blank lines skipped), checks seven fields per row, validates the task
// status and HTTP status, percent-decodes keys, and verifies the file's MD5
// at its end. Not safe for concurrent use.
type ResultReader struct {
	name string
	opt  ReaderOptions
	src  io.Reader
	md5  hash.Hash

	buf      []byte
	pos, end int
	eof      bool
	line     int64 // line number of the next record
	done     bool
	err      error // sticky

	order ColumnOrder
	fld   [8][2]int32 // per field: start, end in the batch buffer
}

// NewResultReader reads the result file r, named name in errors.
func NewResultReader(r io.Reader, name string, opt ReaderOptions) *ResultReader {
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	rr := &ResultReader{name: name, opt: opt, src: r, buf: make([]byte, 256<<10), line: 1}
	if opt.WantMD5 != "" {
		rr.md5 = md5.New()
	}
	return rr
}

// Order returns the column order the file was found to follow.
func (r *ResultReader) Order() ColumnOrder { return r.order }

// Lines returns the number of lines read so far.
func (r *ResultReader) Lines() int64 { return r.line - 1 }

// ReadBatch empties b and fills it with up to BatchRows rows. It returns
// io.EOF, possibly together with rows, once the file is read whole and its
// checksum verified; any other error is a *DataError (or an I/O error) and
// sticks: later calls return it again.
func (r *ResultReader) ReadBatch(b *Batch) error {
	b.Reset()
	if r.err != nil {
		return r.err
	}
	if r.done {
		return io.EOF
	}
	for len(b.offs) < r.opt.BatchRows {
		ok, err := r.record(b)
		if err != nil {
			r.err = err
			b.Reset()
			return err
		}
		if !ok {
			if err := r.finish(); err != nil {
				r.err = err
				r.fix(b)
				return err
			}
			r.done = true
			break
		}
	}
	r.fix(b)
	if r.done {
		return io.EOF
	}
	return nil
}

// fix turns the batch's offsets into slices once its buffer stops growing.
func (r *ResultReader) fix(b *Batch) {
	if cap(b.Rows) < len(b.offs) {
		b.Rows = make([]Row, len(b.offs))
	}
	b.Rows = b.Rows[:len(b.offs)]
	buf := b.buf
	for i := range b.offs {
		o := &b.offs[i]
		b.Rows[i] = Row{
			Bucket:     buf[o.off[0]:o.ends[0]:o.ends[0]],
			Key:        buf[o.off[1]:o.ends[1]:o.ends[1]],
			VersionID:  buf[o.off[2]:o.ends[2]:o.ends[2]],
			ErrorCode:  buf[o.off[3]:o.ends[3]:o.ends[3]],
			Message:    buf[o.off[4]:o.ends[4]:o.ends[4]],
			Failed:     o.fail,
			HTTPStatus: o.http,
			Line:       o.line,
		}
	}
}

func (r *ResultReader) finish() error {
	if r.md5 != nil {
		got := hex.EncodeToString(r.md5.Sum(nil))
		if got != r.opt.WantMD5 {
			return &DataError{Job: r.opt.Job, File: r.name, Value: got, Expected: "MD5 " + r.opt.WantMD5 + " as the report manifest says", Err: ErrChecksum}
		}
	}
	return nil
}

// fill makes room and reads more bytes, keeping buf[r.pos:r.end].
func (r *ResultReader) fill() error {
	if r.eof {
		return io.EOF
	}
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:r.end])
		r.pos, r.end = 0, n
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxRecordBytes {
			return &DataError{Job: r.opt.Job, File: r.name, Line: r.line, Expected: fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes), Err: ErrSyntax}
		}
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for {
		n, err := r.src.Read(r.buf[r.end:])
		if n > 0 {
			if r.md5 != nil {
				r.md5.Write(r.buf[r.end : r.end+n])
			}
			r.end += n
		}
		if err == io.EOF {
			r.eof = true
			if n > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", r.name, err)
		}
		if n > 0 {
			return nil
		}
	}
}

// errIncomplete signals that the record runs past the bytes in the buffer.
var errIncomplete = errors.New("incomplete record")

// record parses the next record into b. It returns false at the end of
// the file.
func (r *ResultReader) record(b *Batch) (bool, error) {
	for {
		// Skip blank lines.
		for r.pos < r.end && (r.buf[r.pos] == '\n' || r.buf[r.pos] == '\r') {
			if r.buf[r.pos] == '\n' {
				r.line++
			}
			r.pos++
		}
		if r.pos == r.end {
			if err := r.fill(); err == io.EOF {
				return false, nil
			} else if err != nil {
				return false, err
			}
			continue
		}
		mark := len(b.buf)
		n, next, nl, err := r.parse(b)
		if err == errIncomplete {
			b.buf = b.buf[:mark]
			if ferr := r.fill(); ferr == io.EOF {
				if r.pos < r.end {
					// The file ends without a final newline: parse what is
					// left as the last record.
					n, next, nl, err = r.parseFinal(b, mark)
					if err != nil {
						return false, err
					}
					return true, r.emit(b, n, next, nl)
				}
				return false, nil
			} else if ferr != nil {
				return false, ferr
			}
			continue
		}
		if err != nil {
			return false, err
		}
		return true, r.emit(b, n, next, nl)
	}
}

// parseFinal parses the last record of a file that lacks a final newline,
// by appending a virtual one.
func (r *ResultReader) parseFinal(b *Batch, mark int) (int, int, int64, error) {
	if r.end == len(r.buf) {
		nb := make([]byte, len(r.buf)+1)
		copy(nb, r.buf)
		r.buf = nb
	}
	r.buf[r.end] = '\n'
	r.end++
	n, next, nl, err := r.parse(b)
	if err == errIncomplete {
		b.buf = b.buf[:mark]
		// Only an unterminated quoted field can still be incomplete.
		return 0, 0, 0, &DataError{Job: r.opt.Job, File: r.name, Line: r.line, Expected: "a closing quote before the end of the file", Err: ErrSyntax}
	}
	return n, next, nl, err
}

// parse parses one record starting at r.pos, appending its unquoted fields
// to b.buf and their bounds to r.fld. It returns the number of fields, the
// buffer position after the record, and the newlines it spans.
func (r *ResultReader) parse(b *Batch) (nf int, next int, nl int64, err error) {
	buf := r.buf[:r.end]
	p := r.pos
	for {
		start := int32(len(b.buf))
		if p < len(buf) && buf[p] == '"' {
			p++
			for {
				q := bytes.IndexByte(buf[p:], '"')
				if q < 0 {
					return 0, 0, 0, errIncomplete
				}
				seg := buf[p : p+q]
				nl += int64(bytes.Count(seg, nlByte))
				b.buf = append(b.buf, seg...)
				p += q + 1
				if p == len(buf) {
					return 0, 0, 0, errIncomplete
				}
				if buf[p] == '"' { // doubled quote
					b.buf = append(b.buf, '"')
					p++
					continue
				}
				break
			}
			if nf < len(r.fld) {
				r.fld[nf] = [2]int32{start, int32(len(b.buf))}
			}
			nf++
			switch {
			case buf[p] == ',':
				p++
				continue
			case buf[p] == '\n':
				return nf, p + 1, nl + 1, nil
			case buf[p] == '\r':
				if p+1 == len(buf) {
					return 0, 0, 0, errIncomplete
				}
				if buf[p+1] == '\n' {
					return nf, p + 2, nl + 1, nil
				}
			}
			return 0, 0, 0, &DataError{Job: r.opt.Job, File: r.name, Line: r.line + nl, Field: fieldName(nf - 1), Value: shorten(buf[p:min(p+16, len(buf))]), Expected: "a comma or line end after a closing quote", Err: ErrSyntax}
		}
		// Unquoted field: up to the next comma or newline. A quote inside
		// is kept as a character (lenient, as most CSV writers expect).
		e := p
		for e < len(buf) && buf[e] != ',' && buf[e] != '\n' {
			e++
		}
		if e == len(buf) {
			return 0, 0, 0, errIncomplete
		}
		fe := e
		if buf[e] == '\n' && fe > p && buf[fe-1] == '\r' {
			fe--
		}
		b.buf = append(b.buf, buf[p:fe]...)
		if nf < len(r.fld) {
			r.fld[nf] = [2]int32{start, int32(len(b.buf))}
		}
		nf++
		if buf[e] == '\n' {
			return nf, e + 1, nl + 1, nil
		}
		p = e + 1
	}
}

var nlByte = []byte{'\n'}

func fieldName(i int) string {
	if i >= 0 && i < len(physicalColumns) {
		return physicalColumns[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// emit validates the parsed record and adds it to the batch.
func (r *ResultReader) emit(b *Batch, nf, next int, nl int64) error {
	line := r.line
	r.pos = next
	r.line += nl
	if nf != 7 {
		b.buf = b.buf[:r.fld[0][0]]
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Value: fmt.Sprintf("%d fields", nf), Expected: "7 fields: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage", Err: ErrFieldCount}
	}
	f := &r.fld
	val := func(i int) []byte { return b.buf[f[i][0]:f[i][1]] }
	bad := func(i int, name, expected string, err error) error {
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Field: name, Value: shorten(val(i)), Expected: expected, Err: err}
	}
	if f[0][0] == f[0][1] {
		return bad(0, "Bucket", "a bucket name", ErrBadValue)
	}
	var o rowOff
	o.line = line
	switch st := val(3); {
	case string(st) == "failed" || bytes.EqualFold(st, []byte("failed")):
		o.fail = true
	case string(st) == "succeeded" || bytes.EqualFold(st, []byte("succeeded")):
	default:
		return bad(3, "TaskStatus", "succeeded or failed", ErrBadValue)
	}
	httpCol, codeCol := 4, 5
	order := r.order
	if order == OrderUnknown {
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
	r.order = order
	o.http = code
	// Key: decode in place (decoding only shrinks).
	ks, ke := f[1][0], f[1][1]
	if ks == ke {
		return bad(1, "Key", "a non-empty key", ErrBadValue)
	}
	n, derr := decodeInPlace(b.buf[ks:ke], r.opt.PlusAsSpace)
	if derr != nil {
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Field: "Key", Value: shorten(val(1)), Expected: derr.Error(), Err: ErrBadEscape}
	}
	if !utf8.Valid(b.buf[ks : ks+int32(n)]) {
		// S3 keys are UTF-8; a re-run manifest could not carry this one.
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Field: "Key", Value: shorten(val(1)), Expected: "a key that decodes to UTF-8", Err: ErrBadValue}
	}
	o.off = [5]int32{f[0][0], ks, f[2][0], f[codeCol][0], f[6][0]}
	o.ends = [5]int32{f[0][1], ks + int32(n), f[2][1], f[codeCol][1], f[6][1]}
	b.offs = append(b.offs, o)
	return nil
}

// parseHTTP parses a 3-digit HTTP status.
func parseHTTP(v []byte) (int, bool) {
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

// decodeInPlace percent-decodes v into itself and returns the new length.
func decodeInPlace(v []byte, plusAsSpace bool) (int, error) {
	i := bytes.IndexByte(v, '%')
	if i < 0 && !plusAsSpace {
		return len(v), nil
	}
	if i < 0 || (plusAsSpace && bytes.IndexByte(v[:i], '+') >= 0) {
		i = 0
	}
	w := i
	for r := i; r < len(v); r++ {
		c := v[r]
		switch {
		case c == '%':
			if r+2 >= len(v) {
				return 0, fmt.Errorf("a complete %%XX escape at byte %d", r)
			}
			h, ok1 := unhex(v[r+1])
			l, ok2 := unhex(v[r+2])
			if !ok1 || !ok2 {
				return 0, fmt.Errorf("a valid %%XX escape at byte %d", r)
			}
			c = h<<4 | l
			r += 2
		case c == '+' && plusAsSpace:
			c = ' '
		}
		v[w] = c
		w++
	}
	return w, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
