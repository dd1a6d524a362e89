package csvscan

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNext(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		opt  Options
		want [][]string
		err  error // after the records of want
	}{
		{name: "plain", in: "a,b,c\nd,e,f\n", want: [][]string{{"a", "b", "c"}, {"d", "e", "f"}}},
		{name: "no final newline", in: "a,b\nc,d", want: [][]string{{"a", "b"}, {"c", "d"}}},
		{name: "crlf", in: "a,b\r\nc,d\r\n", want: [][]string{{"a", "b"}, {"c", "d"}}},
		{name: "cr at the end", in: "a,b\r", want: [][]string{{"a", "b"}}},
		{name: "cr inside a field", in: "a\rb,c\n", want: [][]string{{"a\rb", "c"}}},
		{name: "blank lines", in: "\n\r\n\na\n\n\nb\n\n", want: [][]string{{"a"}, {"b"}}},
		{name: "empty fields", in: ",\n,,x,\n", want: [][]string{{"", ""}, {"", "", "x", ""}}},
		{name: "quoted", in: `"a","b,c",""` + "\n", want: [][]string{{"a", "b,c", ""}}},
		{name: "quoted crlf", in: "\"a\",\"b\"\r\n\"c\"\r\n", want: [][]string{{"a", "b"}, {"c"}}},
		{name: "doubled quotes", in: `"a""b","""",x` + "\n", want: [][]string{{`a"b`, `"`, "x"}}},
		{name: "line breaks in quotes", in: "\"a\nb\",\"c\r\nd\"\ne,f\n", want: [][]string{{"a\nb", "c\r\nd"}, {"e", "f"}}},
		{name: "mixed", in: `a,"b",c` + "\n", want: [][]string{{"a", "b", "c"}}},
		{name: "quoted last, no newline", in: `a,"b"`, want: [][]string{{"a", "b"}}},
		{name: "comma in the first quoted field", in: `",","x"` + "\n", want: [][]string{{",", "x"}}},
		{name: "long", in: strings.Repeat(`"0123456789abcdef",`, 20) + `"z"` + "\n",
			want: [][]string{append(strings.Split(strings.Repeat("0123456789abcdef,", 20), ",")[:20], "z")}},
		{name: "bare quote", in: "a,b\"c\n", want: nil, err: ErrBareQuote},
		{name: "bare quote after a record", in: "x\na,b\"c\n", want: [][]string{{"x"}}, err: ErrBareQuote},
		{name: "lazy quote", in: "a,b\"c\n", opt: Options{LazyQuotes: true}, want: [][]string{{"a", `b"c`}}},
		{name: "text after quote", in: `"a"b` + "\n", err: ErrAfterQuote},
		{name: "space after quote", in: `"a" ,b` + "\n", err: ErrAfterQuote},
		{name: "lone cr after quote", in: "\"a\"\r\"b\"\n", err: ErrAfterQuote},
		{name: "lone cr after quote, inventory", in: "\"a\"\r\"b\"\n", opt: Options{CRAfterQuote: true}, want: [][]string{{"a"}, {"b"}}},
		{name: "unterminated", in: "a\n\"b,c\n", want: [][]string{{"a"}}, err: ErrUnterminated},
		{name: "unterminated doubled", in: `"a""`, err: ErrUnterminated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := splitAll(t, []byte(tt.in), tt.opt)
			var got [][]string
			for _, r := range recs {
				got = append(got, r.Fields)
			}
			if len(got) != len(tt.want) || !equal2(got, tt.want) {
				t.Errorf("records %q, want %q", got, tt.want)
			}
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			checkSplit(t, []byte(tt.in), tt.opt)
		})
	}
}

func equal2(a, b [][]string) bool {
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

// TestSyntaxErrorPlace checks the lines, offsets and columns of errors.
func TestSyntaxErrorPlace(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want SyntaxError
	}{
		{"a,b\n\"x\ny\",\"z\"q\n", SyntaxError{StartLine: 2, Line: 3, Column: 2, Offset: 13, FieldOffset: 10, Near: "q\n", Err: ErrAfterQuote}},
		{"a,b\nc,d\"e\n", SyntaxError{StartLine: 2, Line: 2, Column: 2, Offset: 7, FieldOffset: 6, Near: "\"e\n", Err: ErrBareQuote}},
		{"\n\na,\"b\nc", SyntaxError{StartLine: 3, Line: 3, Column: 2, Offset: 4, FieldOffset: 4, Near: "\"b\nc", Err: ErrUnterminated}},
	} {
		_, err := splitAll(t, []byte(tt.in), Options{})
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: error %v", tt.in, err)
		}
		got := *se
		got.Expected = ""
		if got != tt.want {
			t.Errorf("%q: error\n%+v, want\n%+v", tt.in, got, tt.want)
		}
	}
}

// TestTag checks the error a caller builds around a SyntaxError with its
// own sentinel.
func TestTag(t *testing.T) {
	mine := errors.New("malformed thing")
	_, err := splitAll(t, []byte(`"a"b`), Options{})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v", err)
	}
	tagged := se.Tag(mine)
	var got *SyntaxError
	if !errors.Is(tagged, mine) || !errors.Is(tagged, ErrAfterQuote) || !errors.Is(tagged, ErrSyntax) || !errors.As(tagged, &got) || got != se {
		t.Errorf("%v does not unwrap to its sentinel and the SyntaxError", tagged)
	}
}

func TestLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  error
	}{
		{"", []string{""}, nil},
		{"b,k", []string{"b", "k"}, nil},
		{"b,k,", []string{"b", "k", ""}, nil},
		{"b,k\r", []string{"b", "k\r"}, nil},
		{"b,k\nx", []string{"b", "k\nx"}, nil},
		{`"b","k""x"`, []string{"b", `k"x`}, nil},
		{`"b","k"` + "\r", nil, ErrAfterQuote},
		{`"lsrc,key`, nil, ErrUnterminated},
		{`b,"k""`, nil, ErrUnterminated},
		{`b,k"x`, nil, ErrBareQuote},
		{`b,"k"x`, nil, ErrAfterQuote},
	} {
		s := NewSplitter(Options{})
		rec, err := s.SplitLine([]byte(tt.in))
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("SplitLine(%q): error %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("SplitLine(%q): %v", tt.in, err)
		}
		if got := values(rec, []byte(tt.in)); strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("SplitLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkLine(t, []byte(tt.in), Options{})
	}
}

// TestMaxFields checks that fields past MaxFields are counted, not noted.
func TestMaxFields(t *testing.T) {
	for _, in := range []string{"a,b,c,d,e\n", `"a","b","c","d","e"` + "\n", `a,"b",c,d,e` + "\n"} {
		s := NewSplitter(Options{MaxFields: 3})
		rec, _, err := s.Next([]byte(in), 0, true)
		if err != nil || rec.N != 5 || len(rec.Fields) != 3 {
			t.Fatalf("%q: %+v, %v", in, rec, err)
		}
		if got := values(rec, []byte(in)); strings.Join(got, "") != "abc" {
			t.Errorf("%q: %q", in, got)
		}
	}
}

func TestReaderTooLong(t *testing.T) {
	in := "a,b\n" + strings.Repeat("x", 5000) + "\nc\n"
	r := NewReader(strings.NewReader(in), Options{BufferSize: 512, MaxRecordBytes: 4096})
	if rec, err := r.Next(); err != nil || rec.N != 2 {
		t.Fatalf("first record: %v, %v", rec, err)
	}
	_, err := r.Next()
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrTooLong) || se.Line != 2 || se.Offset != 4 {
		t.Fatalf("error %v, want ErrTooLong at line 2, byte 4", err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("the error did not stick: %v", err2)
	}
	// Under the limit, the buffer grows.
	r = NewReader(strings.NewReader(in), Options{BufferSize: 16, MaxRecordBytes: 8192})
	var n int
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || r.BytesRead() != int64(len(in)) || r.Line() != 4 {
		t.Errorf("%d records, %d bytes read, next line %d", n, r.BytesRead(), r.Line())
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("a\nb"), errReader{boom}), Options{})
	if rec, err := r.Next(); err != nil || rec.N != 1 {
		t.Fatalf("%v, %v", rec, err)
	}
	if _, err := r.Next(); err != boom {
		t.Fatalf("error %v, want the reader's", err)
	}
	r = NewReader(errReader{nil}, Options{})
	if _, err := r.Next(); err != io.ErrNoProgress {
		t.Fatalf("error %v, want io.ErrNoProgress", err)
	}
}

// checkSplit compares Next (whole, in blocks) and Reader with the
// reference on data, and with encoding/csv where they agree.
func checkSplit(t *testing.T, data []byte, o Options) {
	t.Helper()
	o.MaxFields = 1 << 20 // count every field
	want, werr := refSplit(data, o)
	got, err := splitAll(t, data, o)
	sameSplit(t, "whole", data, got, err, want, werr)
	for _, blocks := range [][]int{{1}, {3, 1, 7}, {64}, {200, 5}} {
		if blocks[0] < 64 && len(data) > 4096 {
			continue // each block copies the record cut so far
		}
		got, err := splitAll(t, data, o, blocks...)
		sameSplit(t, "blocks", data, got, err, want, werr)
	}
	for _, n := range []int{1, 5, 1000} {
		if n == 1 && len(data) > 4096 {
			continue
		}
		got, err := readAll(data, Options{LazyQuotes: o.LazyQuotes, CRAfterQuote: o.CRAfterQuote, MaxFields: o.MaxFields, BufferSize: 7}, n)
		sameSplit(t, "reader", data, got, err, want, werr)
	}
	if !o.CRAfterQuote && bytes.IndexByte(data, '\r') < 0 {
		checkStd(t, data, o, want, werr)
	}
}

// checkStd compares the reference with encoding/csv, on inputs without
// '\r' (encoding/csv turns "\r\n" inside quotes into "\n").
func checkStd(t *testing.T, data []byte, o Options, want []refRecord, werr *SyntaxError) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = o.LazyQuotes
	var got [][]string
	var err error
	for {
		var rec []string
		rec, err = r.Read()
		if err != nil {
			break
		}
		got = append(got, rec)
	}
	if o.LazyQuotes && werr == nil && err != io.EOF {
		return // encoding/csv's lazy quotes also take quotes inside quoted fields
	}
	if len(got) < len(want) || werr == nil && len(got) != len(want) {
		t.Fatalf("encoding/csv: %q: %d records, reference %d (%v, %v)", data, len(got), len(want), err, werr)
	}
	for i := range want {
		if strings.Join(got[i], "\x00") != strings.Join(want[i].Fields, "\x00") || len(got[i]) != len(want[i].Fields) {
			t.Fatalf("encoding/csv: %q: record %d = %q, reference %q", data, i, got[i], want[i].Fields)
		}
	}
	if (werr == nil) != (err == io.EOF) && !o.LazyQuotes {
		t.Fatalf("encoding/csv: %q: error %v, reference %v", data, err, werr)
	}
}

// checkLine compares SplitLine with the reference on line.
func checkLine(t *testing.T, line []byte, o Options) {
	t.Helper()
	o.MaxFields = 1 << 20
	want, werr := refLine(line, o)
	s := NewSplitter(o)
	rec, err := s.SplitLine(line)
	var got []refRecord
	if err == nil {
		got = []refRecord{{Fields: values(rec, line)}}
	}
	var wrecs []refRecord
	if werr == nil {
		wrecs = []refRecord{{Fields: want}}
	}
	sameSplit(t, "whole", line, got, err, wrecs, werr)
}

// seeds are the CSV files of the repository's test data.
func seeds(f *testing.F) {
	for _, root := range []string{"../../testdata", "../../report/testdata", "../../inventory/testdata", "../../manifest/testdata"} {
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.HasSuffix(p, ".csv") {
				if raw, err := os.ReadFile(p); err == nil && len(raw) < 1<<16 {
					f.Add(raw)
				}
			}
			return nil
		})
	}
	for _, s := range []string{"", "\n", "a,b\r\n", `"a","b"` + "\n", "\"a\"\"b\",\"c\nd\"\r\n", `a,b"c`, `"a"b`, `"a`,
		"\"a\"\r\"b\"", strings.Repeat(`"0123456789",`, 10) + "\n"} {
		f.Add([]byte(s))
	}
}

// FuzzSplit checks the Splitter against the reference splitter (and
// encoding/csv where they agree) on any input, at once, in blocks and
// through a Reader, strict and lazy, and each line of it with SplitLine.
func FuzzSplit(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []Options{{}, {LazyQuotes: true}, {CRAfterQuote: true}} {
			checkSplit(t, data, o)
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			checkLine(t, line, Options{})
			checkLine(t, line, Options{LazyQuotes: true})
		}
	})
}
