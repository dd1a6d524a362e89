package csvscan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// fastSplit runs the fast path that Next would pick for line (one line
// without its line end) with room for n fields, and returns the values,
// or nil when it declines.
func fastSplit(line []byte, n int) []string {
	s := NewSplitter(Options{MaxFields: n})
	s.fld = make([]Field, n)
	var ok bool
	if len(line) > 0 && line[0] == '"' {
		ok = s.quoted(line, 0, len(line))
	} else if len(line) > 0 {
		ok = s.plain(line, 0, len(line))
	}
	if !ok {
		return nil
	}
	return values(s.done(0, len(line), 1), line)
}

func TestFastPaths(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		want []string // nil: the fast path must decline
	}{
		{`"a","b","c"`, 3, []string{"a", "b", "c"}},
		{`"","",""`, 3, []string{"", "", ""}},
		{`"x"`, 1, []string{"x"}},
		{`""`, 1, []string{""}},
		{`"a,b","c"`, 2, []string{"a,b", "c"}},
		{`"example-source-bucket","tmp/hourly/obj-0-1","7589","2022-10-05T08:55:48.201Z"`, 4,
			[]string{"example-source-bucket", "tmp/hourly/obj-0-1", "7589", "2022-10-05T08:55:48.201Z"}},
		{`"longer than eight bytes","and, with commas,","x"`, 3, []string{"longer than eight bytes", "and, with commas,", "x"}},
		{`"1234567","9"`, 2, []string{"1234567", "9"}},   // separator straddles the first word
		{`"123456","89"`, 2, []string{"123456", "89"}},   // separator at the word's last bytes
		{`"12345678","9"`, 2, []string{"12345678", "9"}}, // separator starts the second word
		{`"a","b"`, 3, []string{"a", "b"}},               // fewer fields than room
		{`"a","b","c"`, 2, nil},                          // more
		{`"a""b","c"`, 2, nil},                           // escape
		{`a,"b"`, 2, nil},                                // unquoted field
		{`"a",b`, 2, nil},
		{`"a" ,"b"`, 2, nil},
		{`"a",""b"`, 2, nil},
		{`"a","b"x`, 2, nil},
		{`"`, 1, nil},
		{`"a`, 1, nil},
		{`",","`, 2, nil},
		{`","`, 1, []string{","}},
		{`""","`, 2, nil},
		{`"a","",","`, 3, []string{"a", "", ","}},
		{`"a","b,"`, 2, []string{"a", "b,"}},
		{`a,b,c`, 3, []string{"a", "b", "c"}},
		{`a,,`, 3, []string{"a", "", ""}},
		{`a,b,c`, 2, nil},
		{`a,b"c`, 3, nil},
		{strings.Repeat("x", 70) + "," + strings.Repeat("y", 70), 2, []string{strings.Repeat("x", 70), strings.Repeat("y", 70)}},
	} {
		got := fastSplit([]byte(tc.line), tc.n)
		if (got != nil) != (tc.want != nil) {
			t.Errorf("fast path (%q, %d) = %q, want %q", tc.line, tc.n, got, tc.want)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("fast path (%q, %d) = %q, want %q", tc.line, tc.n, got, tc.want)
		}
	}
}

// TestFastPathsRandom builds lines of random quote-free fields, quoted
// and not (which the fast paths must take), and random mutations of them
// (which they must either split exactly as the reference does or
// decline).
func TestFastPathsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab,\"\r x%")
	for iter := 0; iter < 20000; iter++ {
		n := 1 + rng.IntN(20)
		quote := iter%2 == 0
		fields := make([]string, n)
		for i := range fields {
			b := make([]byte, rng.IntN(30))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
				if b[j] == '"' || !quote && b[j] == ',' {
					b[j] = 'q'
				}
			}
			fields[i] = string(b)
		}
		line := []byte(strings.Join(fields, ","))
		if quote {
			line = []byte(`"` + strings.Join(fields, `","`) + `"`)
		}
		if len(line) == 0 {
			continue
		}
		got := fastSplit(line, n)
		if got == nil {
			t.Fatalf("fast path declined %q (%d fields)", line, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(fields) || len(got) != n {
			t.Fatalf("fast path(%q) = %q, want %q", line, got, fields)
		}
		for k := 0; k < 3; k++ {
			m := bytes.Clone(line)
			for c := 0; c <= rng.IntN(2); c++ {
				m[rng.IntN(len(m))] = alphabet[rng.IntN(len(alphabet))]
			}
			checkFast(t, m, n)
		}
	}
}

// checkFast fails t when a fast path accepts line and splits it otherwise
// than the reference.
func checkFast(t *testing.T, line []byte, n int) {
	t.Helper()
	got := fastSplit(line, n)
	if got == nil {
		return
	}
	want, err := refLine(line, Options{})
	if err != nil || len(want) > n {
		t.Fatalf("fast path(%q, %d) = %q, reference %q, %v", line, n, got, want, err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("fast path(%q) = %q, reference %q", line, got, want)
	}
}

// FuzzFastPaths checks the fast paths alone against the reference (Next
// and SplitLine reach them only on some lines).
func FuzzFastPaths(f *testing.F) {
	f.Add([]byte(`"a","b","c"`), uint8(3))
	f.Add([]byte(`"a""b","c"`), uint8(2))
	f.Add([]byte(`"1234567","9"`), uint8(2))
	f.Add([]byte(`",","`), uint8(2))
	f.Add([]byte(`a,b,,c`), uint8(4))
	f.Fuzz(func(t *testing.T, line []byte, n uint8) {
		if n == 0 || len(line) == 0 {
			return
		}
		checkFast(t, line, int(n))
	})
}

// sampleInventory is n lines as S3 Inventory writes them (15 quoted
// fields, about 210 bytes).
func sampleInventory(n int) []byte {
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, `"example-source-bucket","home/2019/eu-west-1/25/2022/prod/%02d/obj-0-%d.jpg","%d","2023-12-24T03:24:30.725Z","92c5fca08482d4e6b19c31151df3a2f8","INTELLIGENT_TIERING","false","","SSE-S3","","","OFF","FREQUENT","DISABLED","CRC32"`+"\n", i%60, i, 1000+i*7)
	}
	return b
}

// sampleResults is n result-file lines, one in 50 failed with a quoted,
// escaped, two-line message.
func sampleResults(n int) []byte {
	var b []byte
	for i := range n {
		if i%50 == 7 {
			b = fmt.Appendf(b, "src,docs/%d/gone%%20%d.txt,v%d,failed,404,NoSuchKey,\"The key \"\"%d\"\" does not exist.\n(Request ID: %X)\"\n", i%9, i, i, i, i*7919)
			continue
		}
		b = fmt.Appendf(b, "src,photos/%04d/%02d/object%%20%d%%2Bv.dat,,succeeded,200,,Successful\n", 2000+i%25, i%12, i)
	}
	return b
}

// sampleManifest is n manifest lines.
func sampleManifest(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, fmt.Appendf(nil, "example-source-bucket,photos/%04d/%02d/object%%20%d.jpg,v%d", 2000+i%25, i%12, i, i))
	}
	return out
}

// TestAllocs checks that splitting allocates nothing once the field
// table is grown: Next over a buffer, a Reader, and SplitLine.
func TestAllocs(t *testing.T) {
	for name, data := range map[string][]byte{"inventory": sampleInventory(500), "results": sampleResults(500)} {
		s := NewSplitter(Options{})
		split := func() {
			at := 0
			for {
				rec, next, err := s.Next(data, at, true)
				if err != nil || rec == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				at = next
			}
		}
		split()
		if n := testing.AllocsPerRun(20, split); n != 0 {
			t.Errorf("%s: Next: %v allocations per run, want 0", name, n)
		}
		r := NewReader(bytes.NewReader(data), Options{BufferSize: 4096})
		for range 10 { // grows the buffer to the longest record
			r.Next()
		}
		if n := testing.AllocsPerRun(100, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Reader.Next: %v allocations per record, want 0", name, n)
		}
	}
	lines := sampleManifest(100)
	s := NewSplitter(Options{})
	if n := testing.AllocsPerRun(20, func() {
		for _, l := range lines {
			if _, err := s.SplitLine(l); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("SplitLine: %v allocations per run, want 0", n)
	}
}

func BenchmarkNext(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"inventory", sampleInventory(10000)},
		{"results", sampleResults(10000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := NewSplitter(Options{})
			b.SetBytes(int64(len(tc.data)))
			b.ReportAllocs()
			for b.Loop() {
				at := 0
				for {
					rec, next, err := s.Next(tc.data, at, true)
					if err != nil {
						b.Fatal(err)
					}
					if rec == nil {
						break
					}
					at = next
				}
			}
		})
	}
	b.Run("manifest-lines", func(b *testing.B) {
		lines := sampleManifest(10000)
		s := NewSplitter(Options{})
		var n int64
		for _, l := range lines {
			n += int64(len(l)) + 1
		}
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			for _, l := range lines {
				if _, err := s.SplitLine(l); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
