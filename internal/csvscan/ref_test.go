package csvscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// refRecord is a record as the reference splitter reads it.
type refRecord struct {
	Fields []string
	Line   int64
	Offset int64
}

// refSplit is the grammar of the package comment written the plain way,
// byte by byte: the reference the Splitter is checked against. It returns
// the records before the first error, and the error (nil at the end).
func refSplit(data []byte, o Options) ([]refRecord, *SyntaxError) {
	var recs []refRecord
	n := len(data)
	i, line := 0, int64(1)
	for {
		for i < n && (data[i] == '\n' || data[i] == '\r') {
			if data[i] == '\n' {
				line++
			}
			i++
		}
		if i == n {
			return recs, nil
		}
		rec := refRecord{Line: line, Offset: int64(i)}
		var nl int64
		bad := func(err error, at, field int, near int) *SyntaxError {
			return &SyntaxError{StartLine: line, Line: line + nl, Column: field, Offset: int64(at), FieldOffset: int64(near),
				Near: string(data[at:min(at+nearLen, n)]), Err: err}
		}
	fields:
		for {
			fs := i
			if i < n && data[i] == '"' {
				i++
				var v []byte
				fnl := int64(0)
				for {
					if i == n {
						return recs, bad(ErrUnterminated, fs, len(rec.Fields)+1, fs)
					}
					c := data[i]
					if c == '"' {
						if i+1 < n && data[i+1] == '"' {
							v = append(v, '"')
							i += 2
							continue
						}
						i++
						break
					}
					if c == '\n' {
						fnl++
					}
					v = append(v, c)
					i++
				}
				nl += fnl
				rec.Fields = append(rec.Fields, string(v))
				if i == n {
					break fields
				}
				switch data[i] {
				case ',':
					i++
					continue
				case '\n':
					i++
					break fields
				case '\r':
					switch {
					case i+1 == n:
						i++
						break fields
					case data[i+1] == '\n':
						i += 2
						break fields
					case o.CRAfterQuote:
						i++
						break fields
					}
				}
				return recs, bad(ErrAfterQuote, i, len(rec.Fields), fs)
			}
			j := i
			for j < n && data[j] != ',' && data[j] != '\n' {
				if data[j] == '"' && !o.LazyQuotes {
					return recs, bad(ErrBareQuote, j, len(rec.Fields)+1, fs)
				}
				j++
			}
			v := data[i:j]
			if (j == n || data[j] == '\n') && len(v) > 0 && v[len(v)-1] == '\r' {
				v = v[:len(v)-1]
			}
			rec.Fields = append(rec.Fields, string(v))
			if j == n {
				i = n
				break
			}
			i = j + 1
			if data[j] == '\n' {
				break
			}
		}
		recs = append(recs, rec)
		line += nl + 1
	}
}

// refLine is refSplit for Splitter.SplitLine: line is one record, '\r' and
// '\n' plain characters.
func refLine(line []byte, o Options) ([]string, *SyntaxError) {
	var fields []string
	n := len(line)
	i := 0
	bad := func(err error, at, field, fs int) *SyntaxError {
		return &SyntaxError{Column: field, Offset: int64(at), FieldOffset: int64(fs), Near: string(line[at:min(at+nearLen, n)]), Err: err}
	}
	for {
		fs := i
		if i < n && line[i] == '"' {
			i++
			var v []byte
			for {
				if i == n {
					return nil, bad(ErrUnterminated, fs, len(fields)+1, fs)
				}
				if line[i] == '"' {
					if i+1 < n && line[i+1] == '"' {
						v = append(v, '"')
						i += 2
						continue
					}
					i++
					break
				}
				v = append(v, line[i])
				i++
			}
			fields = append(fields, string(v))
			if i == n {
				return fields, nil
			}
			if line[i] != ',' {
				return nil, bad(ErrAfterQuote, i, len(fields), fs)
			}
			i++
			continue
		}
		j := i
		for j < n && line[j] != ',' {
			if line[j] == '"' && !o.LazyQuotes {
				return nil, bad(ErrBareQuote, j, len(fields)+1, fs)
			}
			j++
		}
		fields = append(fields, string(line[i:j]))
		if j == n {
			return fields, nil
		}
		i = j + 1
	}
}

// values returns the values of rec's fields in buf, unescaped.
func values(rec *Record, buf []byte) []string {
	out := make([]string, len(rec.Fields))
	esc := false
	for _, f := range rec.Fields {
		esc = esc || f.Escaped
	}
	if esc != rec.Escaped {
		panic(fmt.Sprintf("record Escaped %v, its fields %v", rec.Escaped, esc))
	}
	for i, f := range rec.Fields {
		out[i] = string(f.AppendValue(nil, buf))
		var g = f
		cp := bytes.Clone(buf)
		g.Unescape(cp)
		if string(cp[g.Start:g.End]) != out[i] {
			panic(fmt.Sprintf("Unescape %q, AppendValue %q", cp[g.Start:g.End], out[i]))
		}
	}
	return out
}

// splitAll splits data with Next, handing it over in blocks of the given
// sizes (cycled; none: all at once) as a caller that carries the start of
// a cut record into the next block would.
func splitAll(t *testing.T, data []byte, o Options, blocks ...int) ([]refRecord, error) {
	t.Helper()
	s := NewSplitter(o)
	var recs []refRecord
	var buf []byte
	fed, k := 0, 0
	at := 0
	for {
		final := fed == len(data)
		rec, next, err := s.Next(buf, at, final)
		if err != nil {
			return recs, err
		}
		if rec != nil {
			if rec.Start < at || rec.End != next || rec.N < len(rec.Fields) {
				t.Fatalf("record bounds %d..%d (next %d, at %d), %d of %d fields", rec.Start, rec.End, next, at, len(rec.Fields), rec.N)
			}
			if rec.N != len(rec.Fields) {
				return recs, fmt.Errorf("%d fields, over MaxFields", rec.N)
			}
			recs = append(recs, refRecord{Fields: values(rec, buf), Line: rec.Line, Offset: rec.Offset})
			at = next
			continue
		}
		if final {
			if next != len(buf) {
				t.Fatalf("end at %d of %d bytes", next, len(buf))
			}
			return recs, nil
		}
		// Keep buf[next:], add a block.
		size := len(data) - fed
		if len(blocks) > 0 {
			size = min(size, blocks[k%len(blocks)])
			k++
		}
		buf = append(bytes.Clone(buf[next:]), data[fed:fed+size]...)
		fed += size
		at = 0
	}
}

// readAll splits data with a Reader fed n bytes per read.
func readAll(data []byte, o Options, n int) ([]refRecord, error) {
	r := NewReader(&chunkReader{data: data, n: n}, o)
	var recs []refRecord
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, refRecord{Fields: values(rec, r.Bytes()), Line: rec.Line, Offset: rec.Offset})
	}
}

type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// sameSplit fails t unless got (records, error) is what the reference
// says for data.
func sameSplit(t *testing.T, name string, data []byte, got []refRecord, err error, want []refRecord, werr *SyntaxError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %q: %d records %+v, reference %d %+v (error %v, reference %v)", name, data, len(got), got, len(want), want, err, werr)
	}
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Fatalf("%s: %q: record %d = %+v, reference %+v", name, data, i, got[i], want[i])
		}
	}
	if werr == nil {
		if err != nil {
			t.Fatalf("%s: %q: error %v, reference none", name, data, err)
		}
		return
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%s: %q: error %v, reference %v", name, data, err, werr)
	}
	if !errors.Is(se, ErrSyntax) || !errors.Is(se, werr.Err) {
		t.Fatalf("%s: %q: error %v does not unwrap to ErrSyntax and %v", name, data, se, werr.Err)
	}
	g := *se
	g.Expected = ""
	// A block-wise split sees only the bytes read so far.
	if len(g.Near) < len(werr.Near) && werr.Near[:len(g.Near)] == g.Near && name != "whole" {
		g.Near = werr.Near
	}
	if g != *werr {
		t.Fatalf("%s: %q: error\n%+v\nreference\n%+v", name, data, g, *werr)
	}
}
