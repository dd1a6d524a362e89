package csvscan

import (
	"bytes"
	"math"
)

// Field is where one field's value lies in the buffer its record was
// split from: buf[Start:End], without the enclosing quotes of a quoted
// field. When Escaped, the value still holds its doubled quotes ("" for
// each "); Unescape or AppendValue undo them.
type Field struct {
	Start, End int32
	Quoted     bool // the field was written in quotes
	Escaped    bool // it holds doubled quotes still to undo
}

// Raw returns the field's bytes in buf as written (doubled quotes kept),
// capped so that appending to it cannot overwrite what follows.
func (f Field) Raw(buf []byte) []byte { return buf[f.Start:f.End:f.End] }

// Len returns the length of the field's raw bytes.
func (f Field) Len() int { return int(f.End - f.Start) }

// AppendValue appends the field's value to dst, doubled quotes undone.
func (f Field) AppendValue(dst, buf []byte) []byte {
	v := buf[f.Start:f.End]
	if !f.Escaped {
		return append(dst, v...)
	}
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:i+1]...)
		v = v[i+2:] // the quote's double
	}
}

// Unescape undoes the field's doubled quotes within buf, moving its bytes
// left, and shortens the field to its value. Call it once the record is
// complete: it changes buf.
func (f *Field) Unescape(buf []byte) {
	if !f.Escaped {
		return
	}
	w := f.Start
	for r := f.Start; r < f.End; r++ {
		buf[w] = buf[r]
		if buf[r] == '"' {
			r++
		}
		w++
	}
	f.End, f.Escaped = w, false
}

// Record is one split record. Its fields index the buffer it was split
// from; it stays valid until the Splitter (or Reader) splits the next one.
type Record struct {
	// Fields are the bounds of the record's first min(N, MaxFields)
	// fields.
	Fields []Field
	// N is the number of fields the record has.
	N int
	// Escaped tells that some field of Fields is Escaped: a caller may
	// skip looking at each field's flag when it is false.
	Escaped bool
	// Line is the 1-based line the record starts on (0 for Splitter.SplitLine).
	Line int64
	// Offset is the input offset of its first byte.
	Offset int64
	// Start and End bound the record in the buffer, End after its line
	// end.
	Start, End int
}

// Options configure a Splitter or a Reader. The zero value is the strict
// grammar of the package comment.
type Options struct {
	// LazyQuotes keeps a '"' inside an unquoted field as a character
	// instead of refusing it (ErrBareQuote). A field that starts with '"'
	// is quoted either way.
	LazyQuotes bool
	// CRAfterQuote takes a lone '\r' after a closing quote as a line end,
	// as the S3 Inventory reader always did; without it only "\r\n" is.
	CRAfterQuote bool
	// MaxFields is how many fields of a record are noted in
	// Record.Fields; the others are only counted (Record.N). Zero means
	// DefaultMaxFields.
	MaxFields int
	// BufferSize is the Reader's first buffer size; zero means
	// DefaultBufferSize.
	BufferSize int
	// MaxRecordBytes bounds one record a Reader reads (ErrTooLong); zero
	// means DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// Defaults of Options.
const (
	DefaultMaxFields      = 64
	DefaultBufferSize     = 256 << 10
	DefaultMaxRecordBytes = 16 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxFields <= 0 {
		o.MaxFields = DefaultMaxFields
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	return o
}

// Splitter splits records out of a caller's buffer, one at a time, and
// keeps the line number and input offset from call to call. Not safe for
// concurrent use.
type Splitter struct {
	opt  Options
	rec  Record
	fld  []Field // grows up to MaxFields
	esc  bool    // some field of the record being split is Escaped
	line int64   // line number of the next record
	off  int64   // input offset of the next byte to split
}

// NewSplitter returns a Splitter at the start of an input (line 1,
// offset 0). The zero Splitter is one with the zero Options.
func NewSplitter(o Options) *Splitter {
	s := &Splitter{opt: o}
	s.init()
	return s
}

// init readies a zero Splitter, or a new one.
func (s *Splitter) init() {
	s.opt = s.opt.withDefaults()
	s.fld = make([]Field, min(s.opt.MaxFields, 16))
	s.line = 1
}

// Reset puts the Splitter back at the start of an input (line 1, offset
// 0), keeping its options and memory.
func (s *Splitter) Reset() {
	if s.fld == nil {
		s.init()
	}
	s.line, s.off = 1, 0
}

// Line returns the number of the line the next record starts on, or
// would: blank lines skipped so far count.
func (s *Splitter) Line() int64 { return max(s.line, 1) }

// Offset returns the input offset of the next byte to split.
func (s *Splitter) Offset() int64 { return s.off }

// Next splits the record at buf[at:], after any blank lines. buf[at] must
// be the byte at Offset() of the input: the position Next last returned,
// in the same buffer or in a new one that starts with the bytes from
// there. final says that no byte follows buf: a last record without a line
// end is then complete.
//
// It returns the record and the position after it; or a nil record with
// the position the record starts at when buf ends before the record does
// (call again with more input after buf[next:]) or, if final, holds no
// more record; or a nil record and a *SyntaxError. buf is not modified.
func (s *Splitter) Next(buf []byte, at int, final bool) (*Record, int, error) {
	if s.fld == nil {
		s.init()
	}
	n := len(buf)
	start := at
	for at < n {
		if c := buf[at]; c == '\n' {
			s.line++
		} else if c != '\r' {
			break
		}
		at++
	}
	s.off += int64(at - start)
	if at == n {
		return nil, at, nil
	}
	if n > math.MaxInt32 {
		return nil, at, s.TooLong(math.MaxInt32)
	}
	if i := bytes.IndexByte(buf[at+1:], '\n'); i >= 0 {
		end := at + 1 + i
		e := end
		if buf[e-1] == '\r' {
			e-- // buf[at] is not '\r': e > at
		}
		var ok bool
		s.esc = false
		if buf[at] == '"' {
			ok = s.quoted(buf, at, e)
		} else {
			ok = s.plain(buf, at, e)
		}
		if ok {
			return s.done(at, end+1, 1), end + 1, nil
		}
	}
	return s.slow(buf, at, final, false)
}

// SplitLine splits line, a whole record the caller has cut (without its line
// end): '\r' and '\n' are plain characters in it. The record's Line is 0
// and its offsets count from the start of line; so do a SyntaxError's,
// with lines 0. It does not change Line() or Offset().
func (s *Splitter) SplitLine(line []byte) (*Record, error) {
	if len(line) > math.MaxInt32 {
		return nil, &SyntaxError{Column: 1, Err: ErrTooLong, Expected: "a line shorter than 2 GiB"}
	}
	if s.fld == nil {
		s.init()
	}
	if len(line) > 0 {
		var ok bool
		if line[0] == '"' {
			ok = s.quoted(line, 0, len(line))
		} else {
			ok = s.plain(line, 0, len(line))
		}
		if ok {
			r := &s.rec
			r.Fields = s.fld[:min(r.N, len(s.fld))]
			r.Line, r.Offset, r.Start, r.End, r.Escaped = 0, 0, 0, len(line), false
			return r, nil
		}
	}
	saveLine, saveOff := s.line, s.off
	s.line, s.off = 0, 0
	rec, _, err := s.slow(line, 0, true, true)
	s.line, s.off = saveLine, saveOff
	if rec != nil {
		rec.Line = 0
	}
	return rec, err
}

// TooLong returns the ErrTooLong error of a record that starts at
// Offset() and is longer than limit bytes.
func (s *Splitter) TooLong(limit int) *SyntaxError {
	return &SyntaxError{StartLine: s.line, Line: s.line, Column: 1, Offset: s.off, FieldOffset: s.off, Err: ErrTooLong,
		Expected: "a record shorter than " + itoa(limit) + " bytes"}
}

// done completes the record the fast or slow path split: it spans
// buf[at:next] and lines lines. The path has set s.rec.N and s.fld.
func (s *Splitter) done(at, next int, lines int64) *Record {
	r := &s.rec
	r.Escaped = s.esc
	r.Fields = s.fld[:min(r.N, len(s.fld))]
	r.Line, r.Offset, r.Start, r.End = s.line, s.off, at, next
	s.line += lines
	s.off += int64(next - at)
	return r
}

// slow splits the record at buf[at:] (not blank) byte by byte, as Next
// and Line do (line: Line's rules), and names what is wrong.
func (s *Splitter) slow(buf []byte, at int, final, line bool) (*Record, int, error) {
	n := len(buf)
	fld := s.fld
	nf := 0
	s.esc = false
	var nl int64 // line ends inside the quoted fields so far
	p := at
	for {
		if p < n && buf[p] == '"' {
			q := p + 1
			esc := false
			for {
				i := bytes.IndexByte(buf[q:], '"')
				if i < 0 {
					if final {
						return nil, at, s.errAt(buf, at, p, p, nf+1, nl, ErrUnterminated, expectUnterminted)
					}
					return nil, at, nil
				}
				q += i + 1
				if q < n && buf[q] == '"' {
					esc = true
					q++
					continue
				}
				if q == n && !final {
					return nil, at, nil // the next byte may be a quote
				}
				break
			}
			if !line {
				if v := buf[p+1 : q-1]; bytes.IndexByte(v, '\n') >= 0 {
					nl += int64(bytes.Count(v, nlByte))
				}
			}
			fld = s.note(fld, nf, Field{Start: int32(p + 1), End: int32(q - 1), Quoted: true, Escaped: esc})
			s.esc = s.esc || esc && nf < len(fld)
			nf++
			if q == n { // final
				s.rec.N = nf
				return s.done(at, n, nl+1), n, nil
			}
			switch buf[q] {
			case ',':
				p = q + 1
				continue
			case '\n':
				if !line {
					s.rec.N = nf
					return s.done(at, q+1, nl+1), q + 1, nil
				}
			case '\r':
				if line {
					break
				}
				switch {
				case q+1 == n:
					if !final {
						return nil, at, nil
					}
					s.rec.N = nf
					return s.done(at, n, nl+1), n, nil
				case buf[q+1] == '\n':
					s.rec.N = nf
					return s.done(at, q+2, nl+1), q + 2, nil
				case s.opt.CRAfterQuote:
					s.rec.N = nf
					return s.done(at, q+1, nl+1), q + 1, nil
				}
			}
			return nil, at, s.errAt(buf, at, p, q, nf, nl, ErrAfterQuote, expectAfterQuote)
		}
		// An unquoted field: up to the next comma or line end.
		e := s.indexStop(buf, p, line)
		if e >= 0 && buf[e] == '"' {
			return nil, at, s.errAt(buf, at, p, e, nf+1, nl, ErrBareQuote, expectBareQuote)
		}
		last := e < 0
		if last {
			if !final {
				return nil, at, nil
			}
			e = n
		}
		fe := e
		if !line && (last || buf[e] == '\n') && fe > p && buf[fe-1] == '\r' {
			fe--
		}
		fld = s.note(fld, nf, Field{Start: int32(p), End: int32(fe)})
		nf++
		if last {
			s.rec.N = nf
			return s.done(at, n, nl+1), n, nil
		}
		if buf[e] == '\n' {
			s.rec.N = nf
			return s.done(at, e+1, nl+1), e + 1, nil
		}
		p = e + 1
	}
}

var nlByte = []byte{'\n'}

// note sets field i of the record to f, if i < MaxFields, and returns
// the field table, grown if need be (fields are noted in order).
func (s *Splitter) note(fld []Field, i int, f Field) []Field {
	if i < len(fld) {
		fld[i] = f
	} else if i < s.opt.MaxFields {
		s.fld = append(s.fld, f)
		s.fld = s.fld[:min(cap(s.fld), s.opt.MaxFields)]
		fld = s.fld
	}
	return fld
}

// indexStop returns the position of the byte that ends the unquoted field
// at buf[p:], or -1: a comma; a line feed unless line; a quote unless
// LazyQuotes.
func (s *Splitter) indexStop(buf []byte, p int, line bool) int {
	var nl, quote byte = '\n', '"'
	if line {
		nl = ','
	}
	if s.opt.LazyQuotes {
		quote = ','
	}
	return indexAny3(buf, p, ',', nl, quote)
}

// errAt builds the error at buf[pos], in the field that starts at
// buf[fieldPos], column col, nl line ends into the record at buf[at].
func (s *Splitter) errAt(buf []byte, at, fieldPos, pos, col int, nl int64, err error, expected string) *SyntaxError {
	return &SyntaxError{
		StartLine:   s.line,
		Line:        s.line + nl,
		Column:      col,
		Offset:      s.off + int64(pos-at),
		FieldOffset: s.off + int64(fieldPos-at),
		Near:        string(buf[pos:min(pos+nearLen, len(buf))]),
		Expected:    expected,
		Err:         err,
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
