package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
)

// awsVersionExample is the version id of AWS's versioning documentation:
// it holds '/', '+' and '=' besides letters and digits.
const awsVersionExample = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"

func TestAppendVersionID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{awsVersionExample, awsVersionExample},
		{"kGg.8H_73_cdxO2Ey4bwYmT8.DupPK4x", "kGg.8H_73_cdxO2Ey4bwYmT8.DupPK4x"},
		{"a=b+c/d~e-f", "a=b+c/d~e-f"},
		{"null", "null"},
		{"100%", "100%25"},
		{"a,b", "a%2Cb"},
		{`q"`, "q%22"},
		{"sp ace", "sp%20ace"},
		{`\N`, "%5CN"},
		{"é", "%C3%A9"},
	} {
		got := string(AppendVersionID(nil, []byte(tt.in)))
		if got != tt.want {
			t.Errorf("AppendVersionID(%q) = %q, want %q", tt.in, got, tt.want)
		}
		dec, err := DecodeField([]byte(got))
		if err != nil || string(dec) != tt.in {
			t.Errorf("DecodeField(%q) = %q, %v; want %q", got, dec, err, tt.in)
		}
	}
}

func TestAppendRowVersionPlus(t *testing.T) {
	got := string(AppendRow(nil, []byte("b"), []byte("k+1"), []byte(awsVersionExample), true))
	if want := "b,k%2B1," + awsVersionExample + "\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestParseFields(t *testing.T) {
	for _, tt := range []struct {
		in        []string
		ok        bool
		versioned bool
		n         int
	}{
		{nil, true, false, 2},
		{[]string{"Bucket", "Key"}, true, false, 2},
		{[]string{"Bucket", "Key", "VersionId"}, true, true, 3},
		{[]string{"Ignore", "Bucket", "Key"}, true, false, 3},
		{[]string{"Key", "Ignore", "VersionId", "Bucket", "Ignore"}, true, true, 5},
		{[]string{"Bucket"}, false, false, 0},
		{[]string{"Key", "VersionId"}, false, false, 0},
		{[]string{"Bucket", "Key", "Key"}, false, false, 0},
		{[]string{"Bucket", "Key", "VersionId", "VersionId"}, false, false, 0},
		{[]string{"Bucket", "key"}, false, false, 0},
	} {
		f, err := ParseFields(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseFields(%v): %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrFields) {
				t.Errorf("ParseFields(%v): %v does not wrap ErrFields", tt.in, err)
			}
			continue
		}
		if f.Versioned() != tt.versioned || f.Len() != tt.n {
			t.Errorf("ParseFields(%v) = %v (versioned %v, %d columns), want %v, %d", tt.in, f, f.Versioned(), f.Len(), tt.versioned, tt.n)
		}
	}
}

// readAll reads every line of data, collecting the lines (as decoded
// rows and raw fields) and the row errors.
func readAll(t *testing.T, data string, f Fields) (rows []Row, raws [][3]string, errs []*RowError) {
	t.Helper()
	r := NewReader(strings.NewReader(data), "m.csv", f)
	for {
		l, err := r.Next()
		if err == io.EOF {
			return
		}
		var re *RowError
		if errors.As(err, &re) {
			errs = append(errs, re)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, l.Row())
		raws = append(raws, [3]string{string(l.Bucket), string(l.Key), string(l.VersionID)})
	}
}

// TestReaderMalformed: every fault is a *RowError with its sentinel, its
// line and its field, and the lines after it are still read.
func TestReaderMalformed(t *testing.T) {
	v3 := DefaultFields(true)
	v2 := DefaultFields(false)
	for _, tt := range []struct {
		name  string
		line  string // the second of three lines
		f     Fields
		want  error
		field string
	}{
		{"empty line", "", v2, ErrEmptyLine, ""},
		{"CR only", "\r", v2, ErrEmptyLine, ""},
		{"NUL in key", "b,k\x00x", v2, ErrNUL, "Key"},
		{"NUL in bucket", "\x00b,k", v2, ErrNUL, "Bucket"},
		{"unterminated quote", `"lsrc,key`, v2, ErrUnterminatedQuote, "Bucket"},
		{"unterminated quote in key", `b,"k""`, v2, ErrUnterminatedQuote, "Key"},
		{"quote inside field", `b,k"x`, v2, ErrStrayQuote, "Key"},
		{"text after closing quote", `b,"k"x`, v2, ErrStrayQuote, "Key"},
		{"bad escape", "b,k%zz", v2, ErrBadEscape, "Key"},
		{"escape cut short", "b,k%4", v2, ErrBadEscape, "Key"},
		{"bad escape in version", "b,k,v%G1", v3, ErrBadEscape, "VersionId"},
		{"invalid UTF-8", "b,k%FF", v2, ErrBadUTF8, "Key"},
		{"raw invalid UTF-8", "b,k\xff", v2, ErrBadUTF8, "Key"},
		{"too many fields", "b,k,v", v2, ErrFieldCount, ""},
		{"too few fields", "b,k", v3, ErrFieldCount, ""},
		{"trailing comma", "b,k,", v2, ErrFieldCount, ""},
		{"empty key", "b,", v2, ErrEmptyField, "Key"},
		{"empty bucket", ",k", v2, ErrEmptyField, "Bucket"},
		{"too long", "b," + strings.Repeat("k", MaxLineBytes), v2, ErrLineTooLong, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			good := "b,first"
			last := "b,last"
			if tt.f.Versioned() {
				good, last = good+",v1", last+",v2"
			}
			rows, _, errs := readAll(t, good+"\n"+tt.line+"\n"+last+"\n", tt.f)
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			e := errs[0]
			if !errors.Is(e, tt.want) || !errors.Is(e, ErrBadRow) {
				t.Fatalf("error %v, want %v", e, tt.want)
			}
			if e.Line != 2 || e.File != "m.csv" || e.Field != tt.field {
				t.Fatalf("error at %s:%d field %q (%v), want m.csv:2 field %q", e.File, e.Line, e.Field, e, tt.field)
			}
			if len(rows) != 2 || rows[0].Key != "first" || rows[1].Key != "last" {
				t.Fatalf("rows %+v, want first and last", rows)
			}
		})
	}
}

// TestReaderQuoteErrors: a quoting error names the offending value as
// the line wrote it and carries the scanner's *csvscan.SyntaxError.
func TestReaderQuoteErrors(t *testing.T) {
	for _, tt := range []struct {
		line, value string
		want        error
		column      int
	}{
		{`"lsrc,key`, `"lsrc,key`, ErrUnterminatedQuote, 1},
		{`b,k"x,y`, `k"x`, ErrStrayQuote, 2},
		{`b,"k"x`, `"k"x`, ErrStrayQuote, 2},
		{`"b""q",k"`, `k"`, ErrStrayQuote, 2},
	} {
		_, _, errs := readAll(t, tt.line+"\n", DefaultFields(false))
		if len(errs) != 1 || !errors.Is(errs[0], tt.want) {
			t.Fatalf("%q: errors %v, want %v", tt.line, errs, tt.want)
		}
		var se *csvscan.SyntaxError
		if e := errs[0]; e.Value != tt.value || !errors.As(e, &se) || se.Column != tt.column {
			t.Errorf("%q: value %q, column %+v; want %q, %d", tt.line, e.Value, se, tt.value, tt.column)
		}
	}
}

// TestReaderWideLayout reads a layout of more columns than the scanner
// notes by default.
func TestReaderWideLayout(t *testing.T) {
	names := make([]string, 100)
	for i := range names {
		names[i] = FieldIgnore
	}
	names[97], names[98] = FieldBucket, FieldKey
	f, err := ParseFields(names)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x,", 97) + "src,a%20b,z"
	rows, _, errs := readAll(t, line+"\n"+line+",extra\n", f)
	if len(rows) != 1 || rows[0].Key != "a b" || len(errs) != 1 || !errors.Is(errs[0], ErrFieldCount) || errs[0].Value != "101 fields" {
		t.Fatalf("rows %+v, errors %v", rows, errs)
	}
}

func TestReaderLayouts(t *testing.T) {
	for _, tt := range []struct {
		fields []string
		data   string
		rows   []Row
		raws   [][3]string
	}{
		{[]string{"Ignore", "Bucket", "Key"}, "x,src,a%20b\r\n\"y,z\",src,\"c,d\"",
			[]Row{{Bucket: "src", Key: "a b"}, {Bucket: "src", Key: "c,d"}},
			[][3]string{{"src", "a%20b", ""}, {"src", "c,d", ""}}},
		{[]string{"Bucket", "Key", "VersionId"}, "src,k%2B1," + awsVersionExample + "\nsrc,k2,null\n",
			[]Row{{Bucket: "src", Key: "k+1", VersionID: awsVersionExample, HasVersion: true}, {Bucket: "src", Key: "k2", VersionID: "null", HasVersion: true}},
			[][3]string{{"src", "k%2B1", awsVersionExample}, {"src", "k2", "null"}}},
		{[]string{"Key", "VersionId", "Ignore", "Bucket"}, `k,"v""1",,b` + "\n",
			[]Row{{Bucket: "b", Key: "k", VersionID: `v"1`, HasVersion: true}},
			[][3]string{{"b", "k", `v"1`}}},
	} {
		f, err := ParseFields(tt.fields)
		if err != nil {
			t.Fatal(err)
		}
		rows, raws, errs := readAll(t, tt.data, f)
		if len(errs) > 0 {
			t.Fatalf("%v: %v", tt.fields, errs)
		}
		if fmt.Sprint(rows) != fmt.Sprint(tt.rows) || fmt.Sprint(raws) != fmt.Sprint(tt.raws) {
			t.Fatalf("%v:\n rows %+v\n want %+v\n raws %q\n want %q", tt.fields, rows, tt.rows, raws, tt.raws)
		}
	}
}

// TestReaderRawLine: Raw is the line as written, quoting included, and
// line numbers count every line.
func TestReaderRawLine(t *testing.T) {
	data := "b,\"k,1\"\r\nb,k%202\nb,k3"
	r := NewReader(strings.NewReader(data), "m", DefaultFields(false))
	var got []string
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", l.Number, l.Raw))
	}
	if want := []string{`1:b,"k,1"`, "2:b,k%202", "3:b,k3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if r.Lines() != 3 {
		t.Fatalf("Lines() = %d", r.Lines())
	}
}

// TestReader100kFaults writes a 100,000-line manifest with one fault of
// each kind at a random line, and checks that each is reported at its
// line and no other line is refused or lost.
func TestReader100kFaults(t *testing.T) {
	const n = 100_000
	faults := []struct {
		line string
		want error
	}{
		{`"lsrc,key`, ErrUnterminatedQuote},
		{"src,a\x00b", ErrNUL},
		{"", ErrEmptyLine},
		{"src,%zz", ErrBadEscape},
		{"src,k,extra", ErrFieldCount},
		{"src,k%C3", ErrBadUTF8},
	}
	rng := rand.New(rand.NewPCG(17, 22))
	at := map[int]int{} // line (1-based) → fault
	for i := range faults {
		for {
			l := 1 + rng.IntN(n)
			if _, taken := at[l]; !taken {
				at[l] = i
				break
			}
		}
	}
	var buf bytes.Buffer
	for l := 1; l <= n; l++ {
		if fi, ok := at[l]; ok {
			buf.WriteString(faults[fi].line)
		} else {
			fmt.Fprintf(&buf, "src,obj%%20%d%%2B", l)
		}
		buf.WriteByte('\n')
	}
	r := NewReader(&buf, "big.csv", DefaultFields(false))
	good := 0
	seen := map[int64]error{}
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			seen[re.Line] = re
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("obj %d+", l.Number); string(l.DecodedKey) != want {
			t.Fatalf("line %d: key %q, want %q", l.Number, l.DecodedKey, want)
		}
		good++
	}
	if good != n-len(faults) || len(seen) != len(faults) || r.Lines() != n {
		t.Fatalf("%d good lines, %d faults, %d lines; want %d, %d, %d", good, len(seen), r.Lines(), n-len(faults), len(faults), n)
	}
	for l, fi := range at {
		if err := seen[int64(l)]; !errors.Is(err, faults[fi].want) {
			t.Errorf("line %d: %v, want %v", l, err, faults[fi].want)
		}
	}
}

// FuzzFieldRoundTrip writes a bucket, key and version id with AppendRow,
// reads the line back with a Reader, and checks the raw fields are the
// bytes written and the decoded ones the values given; a version id of
// letters, digits and "-._~/+=" is written as it is (so it reads the same
// whether Batch Operations percent-decodes it or not); no encoded field
// holds a byte a CSV line cannot carry unquoted.
func FuzzFieldRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"a b+c", awsVersionExample}, {"100%", "null"}, {"x,y\"z", "v%2B"}, {"é/日本", `\N`}, {"n\nl\r", "a=b"}} {
		f.Add([]byte(s[0]), []byte(s[1]), true)
	}
	f.Add([]byte("k"), []byte(""), false)
	f.Fuzz(func(t *testing.T, key, version []byte, versioned bool) {
		if len(key) == 0 || !utf8.Valid(key) || !utf8.Valid(version) {
			return
		}
		line := AppendRow(nil, []byte("bucket"), key, version, versioned)
		body := bytes.TrimSuffix(line, []byte("\n"))
		if bytes.ContainsAny(body, "\"\n\r\x00") || bytes.Count(body, []byte(",")) != 1+b2i(versioned) {
			t.Fatalf("line %q holds a byte a CSV manifest cannot carry unquoted", line)
		}
		r := NewReader(bytes.NewReader(line), "fuzz", DefaultFields(versioned))
		l, err := r.Next()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if string(l.Raw) != string(body) {
			t.Fatalf("raw %q, want %q", l.Raw, body)
		}
		if string(l.DecodedKey) != string(key) || string(l.Key) != string(AppendEncoded(nil, key)) {
			t.Fatalf("key %q (raw %q), want %q", l.DecodedKey, l.Key, key)
		}
		if got, err := url.PathUnescape(string(l.Key)); err != nil || got != string(key) {
			t.Fatalf("PathUnescape(%q) = %q, %v", l.Key, got, err)
		}
		if versioned {
			want := version
			if len(want) == 0 {
				want = []byte("null")
			}
			if string(l.DecodedVersionID) != string(want) {
				t.Fatalf("version %q (raw %q), want %q", l.DecodedVersionID, l.VersionID, want)
			}
			literal := true
			for _, c := range want {
				literal = literal && keepVersionByte[c]
			}
			if literal != (string(l.VersionID) == string(want)) {
				t.Fatalf("version %q written %q", want, l.VersionID)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("after the line: %v, want EOF", err)
		}
	})
}

// FuzzReader checks that the reader never panics, that every error is a
// *RowError naming a line it read, and that a line it accepts, written
// again from its decoded fields, reads back to the same values.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"b,k\n", "b,k,v\r\nb,\"k,\"\"q\",null", "\n\n", "b,\"k", "b,k\x00", "x,b,k%2B\n", "b,k,v,x\n"} {
		f.Add([]byte(s), uint8(0))
	}
	// The shards of the plan golden tests.
	matches, _ := filepath.Glob("../cmd/s3batchkit/testdata/plan/*/want.txt")
	for _, m := range matches {
		raw, _ := os.ReadFile(m)
		for _, sec := range strings.Split(string(raw), "\n== ")[1:] {
			if name, body, ok := strings.Cut(sec, "\n"); ok && strings.HasPrefix(name, "out/shards/") {
				f.Add([]byte(body), uint8(strings.Count(strings.SplitN(body, "\n", 2)[0], ",")-1))
			}
		}
	}
	layouts := [][]string{{"Bucket", "Key"}, {"Bucket", "Key", "VersionId"}, {"Ignore", "Bucket", "Key"}, {"Key", "Ignore", "VersionId", "Bucket"}}
	f.Fuzz(func(t *testing.T, data []byte, layout uint8) {
		fields, err := ParseFields(layouts[int(layout)%len(layouts)])
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(data), "fuzz", fields)
		for {
			l, err := r.Next()
			if err == io.EOF {
				return
			}
			var re *RowError
			if errors.As(err, &re) {
				if re.Line < 1 || re.Line > r.Lines() || !errors.Is(err, ErrBadRow) {
					t.Fatalf("error %v at line %d of %d", err, re.Line, r.Lines())
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			row := l.Row()
			again := AppendRow(nil, []byte(row.Bucket), []byte(row.Key), []byte(row.VersionID), row.HasVersion)
			got, err := ParseRow(bytes.TrimSuffix(again, []byte("\n")))
			if row.HasVersion && row.VersionID == "" {
				row.VersionID = "null"
			}
			if err != nil || got != row {
				t.Fatalf("line %q → %+v → %q → %+v, %v", l.Raw, row, again, got, err)
			}
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkReader measures reading manifest lines: splitting, checking
// and percent-decoding, one in ten quoted.
func BenchmarkReader(b *testing.B) {
	var data []byte
	const lines = 100_000
	for i := range lines {
		if i%10 == 3 {
			data = fmt.Appendf(data, "\"example-source-bucket\",\"photos/%04d/%02d/object,%%20%d.jpg\",\"v%d\"\n", 2000+i%25, i%12, i, i)
			continue
		}
		data = fmt.Appendf(data, "example-source-bucket,photos/%04d/%02d/object%%20%d.jpg,v%d\n", 2000+i%25, i%12, i, i)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), "bench.csv", DefaultFields(true))
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != lines {
			b.Fatalf("%d lines", n)
		}
	}
}
