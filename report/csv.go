package report

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
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
	// (formats.md §0.4, §7.3). Turn it on for reports of manifests other
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
}

// ResultReader streams the rows of one result CSV file. It parses RFC 4180
// records (quoted or not, "" escapes, multi-line quoted values, LF or CRLF,
// blank lines skipped), checks seven fields per row, validates the task
// status and HTTP status, percent-decodes keys, and verifies the file's MD5
// at its end. Not safe for concurrent use.
type ResultReader struct {
	p   rowParser
	src io.Reader
	md5 hash.Hash

	buf      []byte
	pos, end int
	eof      bool
	done     bool
	err      error // sticky
}

// NewResultReader reads the result file r, named name in errors.
func NewResultReader(r io.Reader, name string, opt ReaderOptions) *ResultReader {
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	rr := &ResultReader{p: newRowParser(name, opt), src: r, buf: make([]byte, 256<<10)}
	if opt.WantMD5 != "" {
		rr.md5 = md5.New()
	}
	return rr
}

// Order returns the column order the file was found to follow.
func (r *ResultReader) Order() ColumnOrder { return r.p.order }

// Lines returns the number of lines read so far.
func (r *ResultReader) Lines() int64 { return r.p.line - 1 }

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
		next, ok, err := r.p.next(r.buf[:r.end], r.pos, r.eof, &o)
		if err != nil {
			r.err = err
			b.Reset()
			return err
		}
		if !ok {
			r.pos = next
			if !r.eof {
				if err := r.fill(); err != nil {
					r.err = err
					b.Reset()
					return err
				}
				continue
			}
			if err := r.finish(); err != nil {
				r.err = err
				b.fix()
				return err
			}
			r.done = true
			break
		}
		// Copy the row's bytes out of the read buffer, which moves.
		delta := int32(len(b.buf)) - o.off[0]
		b.buf = append(b.buf, r.buf[o.off[0]:o.ends[4]]...)
		for i := range o.off {
			o.off[i] += delta
			o.ends[i] += delta
		}
		o.pend += delta
		b.offs = append(b.offs, o)
		r.pos = next
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

func (r *ResultReader) finish() error {
	if r.md5 != nil {
		return r.p.checkMD5(r.md5.Sum(nil))
	}
	return nil
}

// fill makes room and reads more bytes, keeping buf[r.pos:r.end]. At the
// end of the input it sets r.eof.
func (r *ResultReader) fill() error {
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:r.end])
		r.pos, r.end = 0, n
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxRecordBytes {
			return r.p.tooLong()
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
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", r.p.name, err)
		}
		if n > 0 {
			return nil
		}
	}
}

// rowParser parses the records of one result file in place: quoted
// fields are unescaped and keys percent-decoded within the bytes they
// were read into, and rows point into them. It keeps the line count and
// the column order from record to record.
type rowParser struct {
	name  string
	opt   ReaderOptions
	line  int64 // line number of the next record
	order ColumnOrder
	depth int
	fld   [8]field

	bucket     []byte // the last row's bucket
	bucketHash uint64 // and its bucketHash
	kbuf       []byte // a key being decoded to be checked
}

// field is a field's bounds in the buffer; esc marks a quoted field
// holding doubled quotes still to unescape.
type field struct {
	s, e int32
	esc  bool
}

func newRowParser(name string, opt ReaderOptions) rowParser {
	d := opt.prefixDepth
	if d <= 0 {
		d = DefaultPrefixDepth
	}
	return rowParser{name: name, opt: opt, line: 1, depth: d, bucketHash: bucketHash(nil)}
}

func (p *rowParser) checkMD5(sum []byte) error {
	if got := hex.EncodeToString(sum); got != p.opt.WantMD5 {
		return &DataError{Job: p.opt.Job, File: p.name, Value: got, Expected: "MD5 " + p.opt.WantMD5 + " as the report manifest says", Err: ErrChecksum}
	}
	return nil
}

func (p *rowParser) tooLong() error {
	return &DataError{Job: p.opt.Job, File: p.name, Line: p.line, Expected: fmt.Sprintf("a record shorter than %d bytes", maxRecordBytes), Err: ErrSyntax}
}

// errIncomplete signals that the record runs past the bytes in the buffer.
var errIncomplete = errors.New("incomplete record")

// next parses the record at buf[at:], after any blank lines. It returns
// the position after it, with the row in *o, or ok false with the position the
// record starts at when buf ends before the record does, or holds no more
// record. final says that no byte follows buf: a last record without a
// final newline is then complete. A record is modified in place only once
// it is known complete, so an incomplete one can be parsed again later
// with more bytes after it.
func (p *rowParser) next(buf []byte, at int, final bool, o *rowOff) (next int, ok bool, err error) {
	for at < len(buf) && (buf[at] == '\n' || buf[at] == '\r') {
		if buf[at] == '\n' {
			p.line++
		}
		at++
	}
	if at == len(buf) {
		return at, false, nil
	}
	if len(buf) > math.MaxInt32 {
		return at, false, p.tooLong()
	}
	nf, next, nl, err := p.scan(buf, at, final)
	if err == errIncomplete {
		return at, false, nil
	}
	if err != nil {
		return at, false, err
	}
	line := p.line
	p.line += nl
	if err := p.row(buf, nf, line, o); err != nil {
		return at, false, err
	}
	return next, true, nil
}

// scan finds the fields of the record at buf[p:] (not blank) and notes
// them in p.fld. It returns the number of fields, the position after the
// record and the newlines it spans.
func (p *rowParser) scan(buf []byte, at int, final bool) (nf int, next int, nl int64, err error) {
	if buf[at] != '"' {
		if nf, next, ok := p.scanPlain(buf, at); ok {
			return nf, next, 1, nil
		}
	}
	n := len(buf)
	for {
		if at < n && buf[at] == '"' {
			q := at + 1
			esc := false
			for {
				i := bytes.IndexByte(buf[q:], '"')
				if i < 0 {
					if final {
						return 0, 0, 0, &DataError{Job: p.opt.Job, File: p.name, Line: p.line, Expected: "a closing quote before the end of the file", Err: ErrSyntax}
					}
					return 0, 0, 0, errIncomplete
				}
				q += i + 1
				if q < n && buf[q] == '"' { // a doubled quote
					esc = true
					q++
					continue
				}
				if q == n && !final {
					return 0, 0, 0, errIncomplete // the next byte may be a quote
				}
				break
			}
			if bytes.IndexByte(buf[at+1:q-1], '\n') >= 0 {
				nl += int64(bytes.Count(buf[at+1:q-1], nlByte))
			}
			if nf < len(p.fld) {
				p.fld[nf] = field{int32(at + 1), int32(q - 1), esc}
			}
			nf++
			switch {
			case q == n: // final
				return nf, n, nl + 1, nil
			case buf[q] == ',':
				at = q + 1
				continue
			case buf[q] == '\n':
				return nf, q + 1, nl + 1, nil
			case buf[q] == '\r':
				if q+1 == n {
					if final {
						return nf, n, nl + 1, nil
					}
					return 0, 0, 0, errIncomplete
				}
				if buf[q+1] == '\n' {
					return nf, q + 2, nl + 1, nil
				}
			}
			return 0, 0, 0, &DataError{Job: p.opt.Job, File: p.name, Line: p.line + nl, Field: fieldName(nf - 1), Value: shorten(buf[q:min(q+16, n)]), Expected: "a comma or line end after a closing quote", Err: ErrSyntax}
		}
		// Unquoted field: up to the next comma or newline. A quote inside
		// is kept as a character (lenient, as most CSV writers expect).
		e := indexCommaNL(buf, at)
		last := e < 0
		if last {
			if !final {
				return 0, 0, 0, errIncomplete
			}
			e = n
		}
		fe := e
		if (last || buf[e] == '\n') && fe > at && buf[fe-1] == '\r' {
			fe--
		}
		if nf < len(p.fld) {
			p.fld[nf] = field{int32(at), int32(fe), false}
		}
		nf++
		if last {
			return nf, n, nl + 1, nil
		}
		if buf[e] == '\n' {
			return nf, e + 1, nl + 1, nil
		}
		at = e + 1
	}
}

// scanPlain notes the fields of the record at buf[at:] when it holds no
// quote and ends with a '\n' within buf (ok false otherwise: scan's
// general path takes it). It looks for commas, newlines and quotes 8
// bytes at a time, in one pass.
func (p *rowParser) scanPlain(buf []byte, at int) (nf int, next int, ok bool) {
	const (
		ones  = 0x0101010101010101
		lo7   = 0x7f7f7f7f7f7f7f7f
		comma = ',' * ones
		nl    = '\n' * ones
		quote = '"' * ones
	)
	// zero marks the zero bytes of c with their top bit, exactly:
	// nothing carries from byte to byte.
	zero := func(c uint64) uint64 { return ^((c&lo7 + lo7) | c | lo7) }
	start, i, n := at, at, len(buf)
	field := func(e int) {
		if nf < len(p.fld) {
			p.fld[nf] = field{int32(start), int32(e), false}
		}
		nf++
		start = e + 1
	}
	end := -1
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(buf[i:])
		mc := zero(x ^ comma)
		if stop := zero(x^nl) | zero(x^quote); stop != 0 {
			k := bits.TrailingZeros64(stop)
			mc &= 1<<k - 1 // the commas before it
			for ; mc != 0; mc &= mc - 1 {
				field(i + bits.TrailingZeros64(mc)/8)
			}
			end = i + k/8
			break
		}
		for ; mc != 0; mc &= mc - 1 {
			field(i + bits.TrailingZeros64(mc)/8)
		}
	}
	if end < 0 {
		for ; i < n; i++ {
			if c := buf[i]; c == ',' {
				field(i)
			} else if c == '\n' || c == '"' {
				end = i
				break
			}
		}
	}
	if end < 0 || buf[end] == '"' {
		return 0, 0, false
	}
	fe := end
	if fe > start && buf[fe-1] == '\r' {
		fe--
	}
	field(fe)
	return nf, end + 1, true
}

// indexCommaNL returns the position of the first ',' or '\n' in buf at or
// after p, or -1. It tests 8 bytes at a time.
func indexCommaNL(buf []byte, p int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; p+8 <= len(buf); p += 8 {
		x := binary.LittleEndian.Uint64(buf[p:])
		c := x ^ (',' * lo)
		n := x ^ ('\n' * lo)
		// A zero byte of c or n marks a match; the lowest is exact.
		if m := ((c-lo)&^c | (n-lo)&^n) & hi; m != 0 {
			return p + bits.TrailingZeros64(m)/8
		}
	}
	for ; p < len(buf); p++ {
		if buf[p] == ',' || buf[p] == '\n' {
			return p
		}
	}
	return -1
}

var nlByte = []byte{'\n'}

func fieldName(i int) string {
	if i >= 0 && i < len(physicalColumns) {
		return physicalColumns[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// unescape removes the doubled quotes of f in place.
func unescape(buf []byte, f *field) {
	w := f.s
	for r := f.s; r < f.e; r++ {
		buf[w] = buf[r]
		if buf[r] == '"' {
			r++
		}
		w++
	}
	f.e = w
}

// row validates the scanned record, unescapes and decodes it in place and
// sets *o to its bounds and what the merger needs of it.
func (p *rowParser) row(buf []byte, nf int, line int64, o *rowOff) error {
	if nf != 7 {
		return &DataError{Job: p.opt.Job, File: p.name, Line: line, Value: fmt.Sprintf("%d fields", nf), Expected: "7 fields: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage", Err: ErrFieldCount}
	}
	f := &p.fld
	for i := range 7 {
		if f[i].esc {
			unescape(buf, &f[i])
		}
	}
	val := func(i int) []byte { return buf[f[i].s:f[i].e] }
	bad := func(i int, name, expected string, err error) error {
		return &DataError{Job: p.opt.Job, File: p.name, Line: line, Field: name, Value: shorten(val(i)), Expected: expected, Err: err}
	}
	if f[0].s == f[0].e {
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
	ks, ke := f[1].s, f[1].e
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
	vs, ve := f[2].s, f[2].e
	if ve-vs == 2 && buf[vs] == '\\' && buf[vs+1] == 'N' {
		ve = vs
	}
	cf := &f[codeCol&7]
	o.off[0], o.ends[0] = f[0].s, f[0].e
	o.off[1], o.ends[1] = ks, ke
	o.off[2], o.ends[2] = vs, ve
	o.off[3], o.ends[3] = cf.s, cf.e
	o.off[4], o.ends[4] = f[6].s, f[6].e
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

// decodeInPlace percent-decodes v into itself and returns the new length.
func decodeInPlace(v []byte, plusAsSpace bool) (int, error) {
	if plusAsSpace {
		return decodeFormInPlace(v)
	}
	i := bytes.IndexByte(v, '%')
	if i < 0 {
		return len(v), nil
	}
	w := i
	for {
		// v[i] is '%'; v[w:] is free.
		if i+2 >= len(v) {
			return 0, fmt.Errorf("a complete %%XX escape at byte %d", i)
		}
		h, ok1 := unhex(v[i+1])
		l, ok2 := unhex(v[i+2])
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("a valid %%XX escape at byte %d", i)
		}
		v[w] = h<<4 | l
		w++
		i += 3
		j := bytes.IndexByte(v[i:], '%')
		if j < 0 {
			return w + copy(v[w:], v[i:]), nil
		}
		w += copy(v[w:], v[i:i+j])
		i += j
	}
}

// decodeFormInPlace is decodeInPlace with '+' decoded as a space.
func decodeFormInPlace(v []byte) (int, error) {
	w := 0
	for r := 0; r < len(v); r++ {
		c := v[r]
		switch c {
		case '%':
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
		case '+':
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
