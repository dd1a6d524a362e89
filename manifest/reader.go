package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
	"github.com/s3batchkit/s3batchkit/internal/pctenc"
)

// Field names of JobManifestSpec.Fields (docs/formats.md#manifest-fields): the role of
// each column of a S3BatchOperations_CSV_20180820 manifest.
const (
	FieldIgnore    = "Ignore"
	FieldBucket    = "Bucket"
	FieldKey       = "Key"
	FieldVersionID = "VersionId"
)

// Fields is the column layout of a CSV manifest: which column holds the
// bucket, the key and (optionally) the version id; every other column is
// an Ignore column. The zero value is not valid; use ParseFields or
// DefaultFields.
type Fields struct {
	names                []string
	bucket, key, version int // column indexes; version is -1 without one
}

// DefaultFields is the layout s3batchkit writes: Bucket, Key and, when
// versioned, VersionId.
func DefaultFields(versioned bool) Fields {
	if versioned {
		return Fields{names: []string{FieldBucket, FieldKey, FieldVersionID}, bucket: 0, key: 1, version: 2}
	}
	return Fields{names: []string{FieldBucket, FieldKey}, bucket: 0, key: 1, version: -1}
}

// ParseFields checks a Spec.Fields list: names from Ignore, Bucket, Key
// and VersionId in any order, exactly one Bucket and one Key, at most one
// VersionId, any number of Ignore. An empty list is DefaultFields(false)
// (the API makes Fields optional; what AWS assumes without it is
// UNCONFIRMED). Errors wrap ErrFields.
func ParseFields(names []string) (Fields, error) {
	if len(names) == 0 {
		return DefaultFields(false), nil
	}
	f := Fields{names: append([]string(nil), names...), bucket: -1, key: -1, version: -1}
	for i, n := range names {
		var at *int
		switch n {
		case FieldIgnore:
			continue
		case FieldBucket:
			at = &f.bucket
		case FieldKey:
			at = &f.key
		case FieldVersionID:
			at = &f.version
		default:
			return Fields{}, fmt.Errorf("%w: %q at position %d: expected Ignore, Bucket, Key or VersionId", ErrFields, n, i+1)
		}
		if *at >= 0 {
			return Fields{}, fmt.Errorf("%w: %s appears twice (positions %d and %d)", ErrFields, n, *at+1, i+1)
		}
		*at = i
	}
	switch {
	case f.bucket < 0:
		return Fields{}, fmt.Errorf("%w: %s: no Bucket column", ErrFields, strings.Join(names, ","))
	case f.key < 0:
		return Fields{}, fmt.Errorf("%w: %s: no Key column", ErrFields, strings.Join(names, ","))
	}
	return f, nil
}

// Len returns the number of columns every line has.
func (f Fields) Len() int { return len(f.names) }

// Versioned tells whether a column holds version ids.
func (f Fields) Versioned() bool { return f.version >= 0 }

// Names returns the layout as Spec.Fields spells it.
func (f Fields) Names() []string { return append([]string(nil), f.names...) }

func (f Fields) String() string { return strings.Join(f.names, ",") }

// column names column i in errors: its role, or "column N (Ignore)".
func (f Fields) column(i int) string {
	if i < len(f.names) && f.names[i] != FieldIgnore {
		return f.names[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// MaxLineBytes bounds a manifest line. A key is at most 1,024 bytes, three
// times that percent-encoded; a longer line is not a manifest line.
const MaxLineBytes = 1 << 20

// Line is one manifest line as a Reader returns it. Its slices are valid
// until the next call of Reader.Next.
type Line struct {
	// Number is the 1-based line number.
	Number int64
	// Raw is the line as written, without its "\n" or "\r\n": what a
	// re-run manifest copies.
	Raw []byte
	// Bucket, Key and VersionID are the raw fields (quotes removed, not
	// percent-decoded): what a completion report echoes. VersionID is nil
	// when the layout has no VersionId column.
	Bucket, Key, VersionID []byte
	// DecodedBucket, DecodedKey and DecodedVersionID are the fields
	// percent-decoded: the real bucket, key and version id.
	DecodedBucket, DecodedKey, DecodedVersionID []byte
	versioned                                   bool
}

// Row returns the decoded fields as a Row (it allocates).
func (l *Line) Row() Row {
	return Row{Bucket: string(l.DecodedBucket), Key: string(l.DecodedKey), VersionID: string(l.DecodedVersionID), HasVersion: l.versioned}
}

// Reader reads a CSV manifest line by line, strictly: every line has the
// columns its Fields name, RFC 4180 quoting within the line (split by
// internal/csvscan), no NUL byte,
// no empty line (a final "\n" ends the last line, it does not start an
// empty one), "\n" or "\r\n" line ends, the bucket, key and version id
// percent-decoded to UTF-8, bucket and key not empty. A line that breaks
// a rule is a *RowError naming the file, the line and the field; the
// reader then goes on with the next line. Not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	name   string
	fields Fields
	p      lineParser
	line   Line
	n      int64
	long   []byte
	err    error // sticky: an I/O error, or io.EOF
}

// NewReader reads the manifest r, named name in errors, laid out as f.
func NewReader(r io.Reader, name string, f Fields) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), name: name, fields: f, p: newLineParser(f.Len())}
}

// Lines returns the number of lines read so far, bad ones included.
func (r *Reader) Lines() int64 { return r.n }

// Next returns the next line. At the end it returns io.EOF; a line that
// breaks a rule gives a *RowError (and reading can go on); any other
// error is the underlying reader's and sticks.
func (r *Reader) Next() (*Line, error) {
	if r.err != nil {
		return nil, r.err
	}
	raw, err := r.readLine()
	if err != nil {
		if !errors.As(err, new(*RowError)) {
			r.err = err
		}
		return nil, err
	}
	if err := r.parse(raw); err != nil {
		return nil, err
	}
	return &r.line, nil
}

// readLine returns the next line without its line end, counting it.
func (r *Reader) readLine() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	r.n++
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = r.br.ReadSlice('\n')
			if len(r.long)+len(b) > MaxLineBytes+2 {
				for err == bufio.ErrBufferFull { // skip the rest of the line
					_, err = r.br.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, fmt.Errorf("reading %s: %w", r.name, err)
				}
				return nil, &RowError{File: r.name, Line: r.n, Err: ErrLineTooLong, Msg: fmt.Sprintf("a line of at most %d bytes", MaxLineBytes)}
			}
			r.long = append(r.long, b...)
		}
		b = r.long
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", r.name, err)
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if len(b) > MaxLineBytes {
		return nil, &RowError{File: r.name, Line: r.n, Err: ErrLineTooLong, Msg: fmt.Sprintf("a line of at most %d bytes", MaxLineBytes)}
	}
	return b, nil
}

func (r *Reader) parse(raw []byte) error {
	fail := func(err error) error {
		var re *RowError
		if errors.As(err, &re) {
			re.File, re.Line = r.name, r.n
		}
		return err
	}
	if _, err := r.p.split(raw, r.fields); err != nil {
		return fail(err)
	}
	if err := r.p.decode(r.fields); err != nil {
		return fail(err)
	}
	f := r.fields
	l := &r.line
	*l = Line{Number: r.n, Raw: raw, versioned: f.Versioned(),
		Bucket: r.p.raw[0], Key: r.p.raw[1],
		DecodedBucket: r.p.dec[0], DecodedKey: r.p.dec[1]}
	if f.Versioned() {
		l.VersionID, l.DecodedVersionID = r.p.raw[2], r.p.dec[2]
	}
	return nil
}

// lineParser splits one line into its fields and decodes the bucket, key
// and version id; its buffers are reused from line to line.
type lineParser struct {
	s    csvscan.Splitter
	line []byte          // the last line
	rec  *csvscan.Record // its fields
	n    int             // and their number
	raw  [3][]byte       // raw bucket, key, version id, quotes removed: into line or esc
	esc  []byte          // quoted fields whose doubled quotes were undone
	dbuf []byte          // decoded values
	dec  [3][]byte       // decoded bucket, key, version id, into dbuf
}

// newLineParser returns a parser of lines of up to n fields (more are
// counted: ErrFieldCount).
func newLineParser(n int) lineParser {
	return lineParser{s: *csvscan.NewSplitter(csvscan.Options{MaxFields: max(n, 3)})}
}

// split finds the fields of line with internal/csvscan, without changing
// it (Line.Raw is the line as written). It checks the syntax only: NUL
// bytes, quotes, an empty line; f names the columns in errors. It returns
// the number of fields.
func (p *lineParser) split(line []byte, f Fields) (int, error) {
	p.line, p.rec, p.n = line, nil, 0
	if len(line) == 0 {
		return 0, &RowError{Err: ErrEmptyLine, Msg: "one object per line: " + f.String()}
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return 0, &RowError{Field: f.column(bytes.Count(line[:i], []byte{','})), Err: ErrNUL, Msg: fmt.Sprintf("at byte %d of the line (a NUL can only be written percent-encoded, and no S3 name holds one)", i+1)}
	}
	rec, err := p.s.SplitLine(line)
	if err != nil {
		return 0, syntaxError(line, err, f)
	}
	p.rec, p.n = rec, rec.N
	return rec.N, nil
}

// syntaxError is the RowError of a line that csvscan refused.
func syntaxError(line []byte, err error, f Fields) error {
	var se *csvscan.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	fs := int(se.FieldOffset)
	re := &RowError{Field: f.column(se.Column - 1), Value: shortValue(line[fs:]), syntax: se}
	switch {
	case errors.Is(se, csvscan.ErrUnterminated):
		re.Err, re.Msg = ErrUnterminatedQuote, "a closing quote on the same line"
	case errors.Is(se, csvscan.ErrAfterQuote):
		re.Err, re.Msg = ErrStrayQuote, "a comma or the line end after a closing quote"
	case errors.Is(se, csvscan.ErrBareQuote):
		v := line[fs:]
		if k := bytes.IndexByte(v, ','); k >= 0 {
			v = v[:k]
		}
		re.Value = shortValue(v)
		re.Err, re.Msg = ErrStrayQuote, "no quote inside an unquoted field (quote the whole field, or write the quote as %22)"
	default:
		re.Field, re.Value = "", ""
		re.Err, re.Msg = ErrLineTooLong, fmt.Sprintf("a line of at most %d bytes", MaxLineBytes)
	}
	return re
}

// decode checks the field count against f and decodes the bucket, key
// and version id.
func (p *lineParser) decode(f Fields) error {
	if p.n != f.Len() {
		return &RowError{Err: ErrFieldCount, Value: fmt.Sprintf("%d fields", p.n), Msg: fmt.Sprintf("%d fields as Spec.Fields says: %s", f.Len(), f)}
	}
	if cap(p.dbuf) < len(p.line) {
		p.dbuf = make([]byte, 0, len(p.line)) // never grows: dec points into it
	}
	if cap(p.esc) < len(p.line) {
		p.esc = make([]byte, 0, len(p.line)) // never grows: raw points into it
	}
	p.dbuf, p.esc = p.dbuf[:0], p.esc[:0]
	cols := [3]int{f.bucket, f.key, f.version}
	for i, c := range cols {
		if c < 0 {
			p.raw[i], p.dec[i] = nil, nil
			continue
		}
		fl := p.rec.Fields[c]
		raw := fl.Raw(p.line)
		if fl.Escaped {
			start := len(p.esc)
			p.esc = fl.AppendValue(p.esc, p.line)
			raw = p.esc[start:len(p.esc):len(p.esc)]
		}
		p.raw[i] = raw
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
func (p *lineParser) row(f Fields) Row {
	r := Row{Bucket: string(p.dec[0]), Key: string(p.dec[1]), HasVersion: f.Versioned()}
	if f.Versioned() {
		r.VersionID = string(p.dec[2])
	}
	return r
}

// appendDecoded is AppendDecoded without an error value: on a bad escape
// it returns dst unchanged, the offset of the '%' and false.
func appendDecoded(dst, f []byte) ([]byte, int, bool) {
	return pctenc.Append(dst, f, false)
}
