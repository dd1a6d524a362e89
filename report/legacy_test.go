package report

// The result reader as it was before the in-place parser, kept to check
// that the new one reads every input the same way (FuzzReaderMatchesLegacy).

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// legacyBatch is the old Batch.
type legacyBatch struct {
	Rows []Row
	buf  []byte
	offs []legacyRowOff
}

func (b *legacyBatch) Reset() {
	b.Rows = b.Rows[:0]
	b.buf = b.buf[:0]
	b.offs = b.offs[:0]
}

// legacyRowOff holds a parsed row's bounds in its batch's buffer until the
// buffer stops growing (see fix).
type legacyRowOff struct {
	off  [5]int32 // start of Bucket, Key, VersionId, ErrorCode, ResultMessage
	ends [5]int32 // their ends
	fail bool
	http int
	line int64
	raw  []byte // the key before decoding
}

// legacyReader streams the rows of one result CSV file. It parses RFC 4180
// records (quoted or not, "" escapes, multi-line quoted values, LF or CRLF,
// blank lines skipped), checks seven fields per row, validates the task
// status and HTTP status, percent-decodes keys, and verifies the file's MD5
// at its end. Not safe for concurrent use.
type legacyReader struct {
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

// newLegacyReader reads the result file r, named name in errors.
func newLegacyReader(r io.Reader, name string, opt ReaderOptions) *legacyReader {
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	rr := &legacyReader{name: name, opt: opt, src: r, buf: make([]byte, 256<<10), line: 1}
	if opt.WantMD5 != "" {
		rr.md5 = md5.New()
	}
	return rr
}

// Order returns the column order the file was found to follow.
func (r *legacyReader) Order() ColumnOrder { return r.order }

// Lines returns the number of lines read so far.
func (r *legacyReader) Lines() int64 { return r.line - 1 }

// ReadBatch empties b and fills it with up to BatchRows rows. It returns
// io.EOF, possibly together with rows, once the file is read whole and its
// checksum verified; any other error is a *DataError (or an I/O error) and
// sticks: later calls return it again.
func (r *legacyReader) ReadBatch(b *legacyBatch) error {
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
func (r *legacyReader) fix(b *legacyBatch) {
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
			RawKey:     o.raw,
			VersionID:  buf[o.off[2]:o.ends[2]:o.ends[2]],
			ErrorCode:  buf[o.off[3]:o.ends[3]:o.ends[3]],
			Message:    buf[o.off[4]:o.ends[4]:o.ends[4]],
			Failed:     o.fail,
			HTTPStatus: o.http,
			Line:       o.line,
		}
	}
}

func (r *legacyReader) finish() error {
	if r.md5 != nil {
		got := hex.EncodeToString(r.md5.Sum(nil))
		if got != r.opt.WantMD5 {
			return &DataError{Job: r.opt.Job, File: r.name, Value: got, Expected: "MD5 " + r.opt.WantMD5 + " as the report manifest says", Err: ErrChecksum}
		}
	}
	return nil
}

// fill makes room and reads more bytes, keeping buf[r.pos:r.end].
func (r *legacyReader) fill() error {
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

// errLegacyIncomplete signals that the record runs past the bytes in the buffer.
var errLegacyIncomplete = errors.New("incomplete record")

// record parses the next record into b. It returns false at the end of
// the file.
func (r *legacyReader) record(b *legacyBatch) (bool, error) {
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
		if err == errLegacyIncomplete {
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
func (r *legacyReader) parseFinal(b *legacyBatch, mark int) (int, int, int64, error) {
	if r.end == len(r.buf) {
		nb := make([]byte, len(r.buf)+1)
		copy(nb, r.buf)
		r.buf = nb
	}
	r.buf[r.end] = '\n'
	r.end++
	n, next, nl, err := r.parse(b)
	if err == errLegacyIncomplete {
		b.buf = b.buf[:mark]
		// Only an unterminated quoted field can still be incomplete.
		return 0, 0, 0, &DataError{Job: r.opt.Job, File: r.name, Line: r.line, Expected: "a closing quote before the end of the file", Err: ErrSyntax}
	}
	return n, next, nl, err
}

// parse parses one record starting at r.pos, appending its unquoted fields
// to b.buf and their bounds to r.fld. It returns the number of fields, the
// buffer position after the record, and the newlines it spans.
func (r *legacyReader) parse(b *legacyBatch) (nf int, next int, nl int64, err error) {
	buf := r.buf[:r.end]
	p := r.pos
	for {
		start := int32(len(b.buf))
		if p < len(buf) && buf[p] == '"' {
			p++
			for {
				q := bytes.IndexByte(buf[p:], '"')
				if q < 0 {
					return 0, 0, 0, errLegacyIncomplete
				}
				seg := buf[p : p+q]
				nl += int64(bytes.Count(seg, legacyNL))
				b.buf = append(b.buf, seg...)
				p += q + 1
				if p == len(buf) {
					return 0, 0, 0, errLegacyIncomplete
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
					return 0, 0, 0, errLegacyIncomplete
				}
				if buf[p+1] == '\n' {
					return nf, p + 2, nl + 1, nil
				}
			}
			return 0, 0, 0, &DataError{Job: r.opt.Job, File: r.name, Line: r.line + nl, Field: legacyFieldName(nf - 1), Value: shorten(buf[p:min(p+16, len(buf))]), Expected: "a comma or line end after a closing quote", Err: ErrSyntax}
		}
		// Unquoted field: up to the next comma or newline. A quote inside
		// is kept as a character (lenient, as most CSV writers expect).
		e := p
		for e < len(buf) && buf[e] != ',' && buf[e] != '\n' {
			e++
		}
		if e == len(buf) {
			return 0, 0, 0, errLegacyIncomplete
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

var legacyNL = []byte{'\n'}

func legacyFieldName(i int) string {
	if i >= 0 && i < len(physicalColumns) {
		return physicalColumns[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// emit validates the parsed record and adds it to the batch.
func (r *legacyReader) emit(b *legacyBatch, nf, next int, nl int64) error {
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
	var o legacyRowOff
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
	o.raw = append([]byte(nil), b.buf[ks:ke]...)
	n, derr := legacyDecode(b.buf[ks:ke], r.opt.PlusAsSpace)
	if derr != nil {
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Field: "Key", Value: shorten(o.raw), Expected: derr.Error(), Err: ErrBadEscape}
	}
	if !utf8.Valid(b.buf[ks : ks+int32(n)]) {
		// S3 keys are UTF-8; a re-run manifest could not carry this one.
		return &DataError{Job: r.opt.Job, File: r.name, Line: line, Field: "Key", Value: shorten(o.raw), Expected: "a key that decodes to UTF-8", Err: ErrBadValue}
	}
	o.off = [5]int32{f[0][0], ks, f[2][0], f[codeCol][0], f[6][0]}
	o.ends = [5]int32{f[0][1], ks + int32(n), f[2][1], f[codeCol][1], f[6][1]}
	if string(val(2)) == `\N` { // S3's spelling of no version id
		o.ends[2] = o.off[2]
	}
	b.offs = append(b.offs, o)
	return nil
}

// legacyDecode percent-decodes v into itself and returns the new length.
func legacyDecode(v []byte, plusAsSpace bool) (int, error) {
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

// FuzzReaderMatchesLegacy checks that the in-place parser reads every
// input as the reader it replaced did: the same rows, field by field, and
// the same error (sentinel, line and field), at several batch sizes, and
// through Run's block pipeline as well as ResultReader.
func FuzzReaderMatchesLegacy(f *testing.F) {
	seedFiles(f, ".csv")
	for _, s := range []string{"", "\n", "a,b,,failed,503,X,\"m\"\"q\"\r\n", "a,b,,succeeded,200,,\"", `a,b,c,d,e,f,"g`, "b,k,,failed,Code,404,m\n",
		"b,k%20x,,succeeded,200,,ok\r\n\r\nb,\"k,\"\"q\",v,FAILED,503,SlowDown,\"a\nb\"\rb,k,,failed,500,,x",
		"b,k+%2B%zz,,succeeded,200,,m\n", "b,k\"x,,succeeded,200,,m\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, plus := range []bool{false, true} {
			want, wantOrder, wantErr := legacyRows(data, plus)
			for _, br := range []int{1, 3, 4096} {
				rr := NewResultReader(bytes.NewReader(data), "fuzz.csv", ReaderOptions{BatchRows: br, PlusAsSpace: plus})
				var got []Row
				var b Batch
				var err error
				for {
					err = rr.ReadBatch(&b)
					for _, r := range b.Rows {
						got = append(got, cloneRow(r))
					}
					if err != nil {
						break
					}
				}
				compareLegacy(t, fmt.Sprintf("ReadBatch %d rows, plus %v", br, plus), got, err, rr.Order(), want, wantErr, wantOrder)
			}
			for _, bs := range []int{0, 64, 5} {
				got, order, err := pipelineRows(t, data, plus, bs)
				compareLegacy(t, fmt.Sprintf("pipeline, %d-byte blocks, plus %v", bs, plus), got, err, order, want, wantErr, wantOrder)
			}
		}
	})
}

func legacyRows(data []byte, plus bool) ([]Row, ColumnOrder, error) {
	rr := newLegacyReader(bytes.NewReader(data), "fuzz.csv", ReaderOptions{BatchRows: 1, PlusAsSpace: plus})
	var rows []Row
	var b legacyBatch
	for {
		err := rr.ReadBatch(&b)
		for _, r := range b.Rows {
			rows = append(rows, cloneRow(r))
		}
		if err != nil {
			return rows, rr.Order(), err
		}
	}
}

// pipelineRows reads data as Run does, with blocks of bs bytes (zero:
// blockSize; 5 is smaller than blockHead, so that records longer than
// blockHead are carried into blocks of their own).
func pipelineRows(t *testing.T, data []byte, plus bool, bs int) ([]Row, ColumnOrder, error) {
	f := &ResultFile{Job: &Job{ID: "j"}, Location: "fuzz.csv"}
	items := make(chan item, 1000)
	ro := ReaderOptions{BatchRows: 2, PlusAsSpace: plus, prefixDepth: DefaultPrefixDepth, blockSize: bs}
	var rows []Row
	var ferr error
	var order ColumnOrder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for it := range items {
			if it.batch != nil {
				it.batch.fix()
				for _, r := range it.batch.Rows {
					rows = append(rows, cloneRow(r))
				}
				it.batch.release()
			}
			if it.done {
				ferr, order = it.err, it.order
			}
		}
	}()
	if err := readStream(context.Background(), f, bytes.NewReader(data), ro, items, make(chan *Batch, 4)); err != nil {
		t.Fatal(err)
	}
	close(items)
	<-done
	if ferr == nil {
		ferr = io.EOF
	}
	return rows, order, ferr
}

func compareLegacy(t *testing.T, name string, got []Row, err error, order ColumnOrder, want []Row, wantErr error, wantOrder ColumnOrder) {
	t.Helper()
	// The old reader dropped the batch a bad row was in; compare the rows
	// both kept.
	if wantErr == io.EOF && !reflect.DeepEqual(got, want) || wantErr != io.EOF && len(got) > len(want) {
		t.Fatalf("%s: rows\n got %+v\nwant %+v", name, got, want)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: row %d\n got %+v\nwant %+v", name, i, got[i], want[i])
		}
	}
	if wantErr == io.EOF {
		if err != io.EOF {
			t.Fatalf("%s: error %v, want none", name, err)
		}
		if order != wantOrder {
			t.Fatalf("%s: order %v, want %v", name, order, wantOrder)
		}
		return
	}
	var gd, wd *DataError
	if !errors.As(err, &gd) || !errors.As(wantErr, &wd) {
		t.Fatalf("%s: error %v, want %v", name, err, wantErr)
	}
	// What follows a stray quote is shown up to 16 bytes, of those read
	// so far: tiny blocks show fewer.
	sameValue := gd.Value == wd.Value || errors.Is(gd, ErrSyntax) && strings.HasPrefix(wd.Value, gd.Value)
	if !errors.Is(gd, wd.Err) || gd.Line != wd.Line || gd.Field != wd.Field || !sameValue || gd.Expected != wd.Expected {
		t.Fatalf("%s: error\n got %+v\nwant %+v", name, gd, wd)
	}
}

// TestPipelineLongRecords reads records longer than the room before a
// block (blockHead), cut by many blocks, as the old reader did.
func TestPipelineLongRecords(t *testing.T) {
	var data []byte
	for i := 0; i < 5; i++ {
		data = fmt.Appendf(data, "b,k%d,,succeeded,200,,ok\n", i)
		msg := bytes.Repeat([]byte(`x""y,`), (blockHead+i*7000)/5)
		data = fmt.Appendf(data, "b,long%d,,failed,500,InternalError,\"%s\nend\"\r\n", i, msg)
	}
	data = append(data, "b,last,,succeeded,200,,\"no final newline\""...)
	want, wantOrder, wantErr := legacyRows(data, false)
	if wantErr != io.EOF || len(want) != 11 {
		t.Fatalf("legacy reader: %d rows, %v", len(want), wantErr)
	}
	for _, bs := range []int{0, 1000, 4093} {
		got, order, err := pipelineRows(t, data, false, bs)
		compareLegacy(t, fmt.Sprintf("%d-byte blocks", bs), got, err, order, want, wantErr, wantOrder)
	}
}

func TestDecodeInPlace(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		plus     bool
		bad      bool
	}{
		{in: "plain", want: "plain"},
		{in: "a%20b%2Fc%2b", want: "a b/c+"},
		{in: "%41%42%43", want: "ABC"},
		{in: "x+%2B", want: "x++"},
		{in: "x+%2B", want: "x +", plus: true},
		{in: "a%2", bad: true},
		{in: "a%", bad: true},
		{in: "a%zz", bad: true},
		{in: "a%20%g0", bad: true},
	} {
		v := []byte(tt.in)
		n, err := decodeInPlace(v, tt.plus)
		if tt.bad {
			if err == nil {
				t.Errorf("decode(%q) = %q, want an error", tt.in, v[:n])
			}
			continue
		}
		if err != nil || string(v[:n]) != tt.want {
			t.Errorf("decode(%q, %v) = %q, %v; want %q", tt.in, tt.plus, v[:n], err, tt.want)
		}
	}
}
