package manifest

// The line parser as it was before it split lines with internal/csvscan,
// kept to check that the new one reads every line the same way
// (FuzzLineMatchesLegacy).

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unicode/utf8"
)

// legacyLineParser splits one line into its fields and decodes the bucket, key
// and version id; its buffers are reused from line to line.
type legacyLineParser struct {
	fields [][]byte  // raw fields, quotes removed: into the line or esc
	esc    []byte    // quoted fields whose doubled quotes were undone
	dbuf   []byte    // decoded values
	dec    [3][]byte // decoded bucket, key, version id, into dbuf
}

// split finds the fields of line. It checks the syntax only: NUL bytes,
// quotes, an empty line; f names the columns in errors. It returns the
// number of fields.
func (p *legacyLineParser) split(line []byte, f Fields) (int, error) {
	p.fields = p.fields[:0]
	if cap(p.esc) < len(line) {
		p.esc = make([]byte, 0, len(line)) // never grows: fields point into it
	}
	p.esc = p.esc[:0]
	if len(line) == 0 {
		return 0, &RowError{Err: ErrEmptyLine, Msg: "one object per line: " + f.String()}
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return 0, &RowError{Field: f.column(bytes.Count(line[:i], []byte{','})), Err: ErrNUL, Msg: fmt.Sprintf("at byte %d of the line (a NUL can only be written percent-encoded, and no S3 name holds one)", i+1)}
	}
	i := 0
	for {
		col := len(p.fields)
		var v []byte
		if i < len(line) && line[i] == '"' {
			j, seg := i+1, i+1
			start, escaped := len(p.esc), false
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return 0, &RowError{Field: f.column(col), Value: shortValue(line[i:]), Err: ErrUnterminatedQuote, Msg: "a closing quote on the same line"}
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					p.esc = append(p.esc, line[seg:j+1]...)
					escaped = true
					j += 2
					seg = j
					continue
				}
				break
			}
			if escaped {
				p.esc = append(p.esc, line[seg:j]...)
				v = p.esc[start:len(p.esc):len(p.esc)]
			} else {
				v = line[i+1 : j : j]
			}
			j++
			if j < len(line) && line[j] != ',' {
				return 0, &RowError{Field: f.column(col), Value: shortValue(line[i:]), Err: ErrStrayQuote, Msg: "a comma or the line end after a closing quote"}
			}
			i = j
		} else {
			end := len(line)
			if k := bytes.IndexByte(line[i:], ','); k >= 0 {
				end = i + k
			}
			v = line[i:end:end]
			if bytes.IndexByte(v, '"') >= 0 {
				return 0, &RowError{Field: f.column(col), Value: shortValue(v), Err: ErrStrayQuote, Msg: "no quote inside an unquoted field (quote the whole field, or write the quote as %22)"}
			}
			i = end
		}
		p.fields = append(p.fields, v)
		if i == len(line) {
			return len(p.fields), nil
		}
		i++ // the comma; a comma at the end gives one more, empty, field
	}
}

// decode checks the field count against f and decodes the bucket, key
// and version id.
func (p *legacyLineParser) decode(f Fields) error {
	if len(p.fields) != f.Len() {
		return &RowError{Err: ErrFieldCount, Value: fmt.Sprintf("%d fields", len(p.fields)), Msg: fmt.Sprintf("%d fields as Spec.Fields says: %s", f.Len(), f)}
	}
	size := 0
	for _, v := range p.fields {
		size += len(v)
	}
	if cap(p.dbuf) < size {
		p.dbuf = make([]byte, 0, size) // never grows: dec points into it
	}
	p.dbuf = p.dbuf[:0]
	p.dec = [3][]byte{}
	cols := [3]int{f.bucket, f.key, f.version}
	for i, c := range cols {
		if c < 0 {
			continue
		}
		raw := p.fields[c]
		start := len(p.dbuf)
		var at int
		var ok bool
		p.dbuf, at, ok = appendDecoded(p.dbuf, raw)
		if !ok {
			return &RowError{Field: f.column(c), Value: shortValue(raw), Err: ErrBadEscape, Msg: fmt.Sprintf("two hex digits after the '%%' at byte %d", at+1)}
		}
		d := p.dbuf[start:len(p.dbuf):len(p.dbuf)]
		if !utf8.Valid(d) {
			return &RowError{Field: f.column(c), Value: shortValue(raw), Err: ErrBadUTF8, Msg: "a value that decodes to UTF-8"}
		}
		if len(d) == 0 && i < 2 {
			return &RowError{Field: f.column(c), Err: ErrEmptyField, Msg: "a bucket name and a key on every line"}
		}
		p.dec[i] = d
	}
	return nil
}

// row returns the decoded fields of the last line as a Row.
func (p *legacyLineParser) row(f Fields) Row {
	r := Row{Bucket: string(p.dec[0]), Key: string(p.dec[1]), HasVersion: f.Versioned()}
	if f.Versioned() {
		r.VersionID = string(p.dec[2])
	}
	return r
}

// FuzzLineMatchesLegacy checks that a line gives the same fields, decoded
// values and errors (sentinel, field, value, message) as with the old
// parser, for several layouts, and through ParseRow.
func FuzzLineMatchesLegacy(f *testing.F) {
	for _, s := range []string{"b,k", "b,k,v", `"b","k""x",""`, `"lsrc,key`, `b,"k""`, `b,k"x`, `b,"k"x`, "b,k%zz", "b,k%FF",
		"b,", ",k", "b,k,", "", "\r", "b,k\x00", `"a,b",c,"d"`, "x,src,a%20b"} {
		f.Add([]byte(s))
	}
	ign, _ := ParseFields([]string{FieldIgnore, FieldBucket, FieldKey})
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, fl := range []Fields{DefaultFields(false), DefaultFields(true), ign} {
			var old legacyLineParser
			_, werr := old.split(line, fl)
			if werr == nil {
				werr = old.decode(fl)
			}
			p := newLineParser(fl.Len())
			_, err := p.split(line, fl)
			if err == nil {
				err = p.decode(fl)
			}
			sameRowError(t, line, err, werr)
			if err == nil && !reflect.DeepEqual(p.dec, old.dec) {
				t.Fatalf("%q: decoded %q, want %q", line, p.dec, old.dec)
			}
			if err == nil {
				cols := [3]int{fl.bucket, fl.key, fl.version}
				for i, c := range cols {
					if c >= 0 && !bytes.Equal(p.raw[i], old.fields[c]) {
						t.Fatalf("%q: raw field %d = %q, want %q", line, c, p.raw[i], old.fields[c])
					}
				}
			}
		}
		row, err := ParseRow(line)
		wrow, werr := legacyParseRow(line)
		sameRowError(t, line, err, werr)
		if row != wrow {
			t.Fatalf("%q: ParseRow = %+v, want %+v", line, row, wrow)
		}
	})
}

func legacyParseRow(line []byte) (Row, error) {
	var p legacyLineParser
	n, err := p.split(line, DefaultFields(true))
	if err != nil {
		return Row{}, err
	}
	if n < 2 || n > 3 {
		return Row{}, &RowError{Err: ErrFieldCount, Value: fmt.Sprintf("%d fields", n), Msg: "bucket,key[,version_id]"}
	}
	f := DefaultFields(n == 3)
	if err := p.decode(f); err != nil {
		return Row{}, err
	}
	return p.row(f), nil
}

func sameRowError(t *testing.T, line []byte, err, want error) {
	t.Helper()
	if (err == nil) != (want == nil) {
		t.Fatalf("%q: error %v, want %v", line, err, want)
	}
	if err == nil {
		return
	}
	var g, w *RowError
	if !errors.As(err, &g) || !errors.As(want, &w) {
		t.Fatalf("%q: error %v, want %v", line, err, want)
	}
	if g.Err != w.Err || g.Field != w.Field || g.Value != w.Value || g.Msg != w.Msg || g.Line != w.Line || g.File != w.File {
		t.Fatalf("%q: error\n got %+v\nwant %+v", line, g, w)
	}
	if g.Error() != w.Error() {
		t.Fatalf("%q: message\n got %s\nwant %s", line, g, w)
	}
}

// BenchmarkLineParser splits and decodes manifest lines with the parser
// and with the legacy one, in one binary (one line in ten quoted).
func BenchmarkLineParser(b *testing.B) {
	var lines [][]byte
	for i := range 10_000 {
		if i%10 == 3 {
			lines = append(lines, fmt.Appendf(nil, "\"example-source-bucket\",\"photos/%04d/%02d/object,%%20%d.jpg\",\"v%d\"", 2000+i%25, i%12, i, i))
			continue
		}
		lines = append(lines, fmt.Appendf(nil, "example-source-bucket,photos/%04d/%02d/object%%20%d.jpg,v%d", 2000+i%25, i%12, i, i))
	}
	f := DefaultFields(true)
	b.Run("csvscan", func(b *testing.B) {
		p := newLineParser(f.Len())
		for b.Loop() {
			for _, l := range lines {
				if _, err := p.split(l, f); err != nil {
					b.Fatal(err)
				}
				if err := p.decode(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("legacy", func(b *testing.B) {
		var p legacyLineParser
		for b.Loop() {
			for _, l := range lines {
				if _, err := p.split(l, f); err != nil {
					b.Fatal(err)
				}
				if err := p.decode(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
