package inventory

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// refSplit parses line as RFC 4180 fields (quoted with "" escapes, or
// unquoted), the general tokenizer's grammar for one line.
func refSplit(line string) ([]string, bool) {
	var out []string
	for {
		if strings.HasPrefix(line, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(line[i:], '"')
				if j < 0 {
					return nil, false
				}
				b.WriteString(line[i : i+j])
				i += j + 1
				if i < len(line) && line[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			out = append(out, b.String())
			line = line[i:]
		} else {
			j := strings.IndexByte(line, ',')
			if j < 0 {
				j = len(line)
			}
			if strings.IndexByte(line[:j], '"') >= 0 {
				return nil, false
			}
			out = append(out, line[:j])
			line = line[j:]
		}
		if line == "" {
			return out, true
		}
		if line[0] != ',' {
			return nil, false
		}
		line = line[1:]
	}
}

func TestSplitQuoted(t *testing.T) {
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
		{`"a","b"`, 3, nil},                              // too few fields
		{`"a","b","c"`, 2, nil},                          // too many
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
	} {
		vals := make([][]byte, tc.n)
		ok := splitQuoted([]byte(tc.line), vals)
		if ok != (tc.want != nil) {
			t.Errorf("splitQuoted(%q, %d) = %v, want %v", tc.line, tc.n, ok, tc.want != nil)
			continue
		}
		for i := range tc.want {
			if string(vals[i]) != tc.want[i] {
				t.Errorf("splitQuoted(%q): field %d = %q, want %q", tc.line, i, vals[i], tc.want[i])
			}
		}
	}
}

// TestSplitQuotedRandom builds lines of random quote-free fields (which the
// fast path must take) and random mutations of them (which it must either
// parse exactly as the reference does or decline).
func TestSplitQuotedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab,\"\r x%")
	for iter := 0; iter < 20000; iter++ {
		n := 1 + rng.IntN(20)
		fields := make([]string, n)
		for i := range fields {
			b := make([]byte, rng.IntN(30))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
				if b[j] == '"' {
					b[j] = 'q'
				}
			}
			fields[i] = string(b)
		}
		line := []byte(`"` + strings.Join(fields, `","`) + `"`)
		vals := make([][]byte, n)
		if !splitQuoted(line, vals) {
			t.Fatalf("splitQuoted(%q, %d) declined a plain line", line, n)
		}
		for i := range fields {
			if string(vals[i]) != fields[i] {
				t.Fatalf("splitQuoted(%q): field %d = %q, want %q", line, i, vals[i], fields[i])
			}
		}
		// Mutate a byte or two and compare with the reference.
		for k := 0; k < 3; k++ {
			m := bytes.Clone(line)
			for c := 0; c <= rng.IntN(2); c++ {
				if len(m) > 0 {
					m[rng.IntN(len(m))] = alphabet[rng.IntN(len(alphabet))]
				}
			}
			checkSplitQuoted(t, m, n)
		}
	}
}

func checkSplitQuoted(t *testing.T, line []byte, n int) {
	t.Helper()
	vals := make([][]byte, n)
	if !splitQuoted(line, vals) {
		return
	}
	want, ok := refSplit(string(line))
	if !ok || len(want) != n {
		t.Fatalf("splitQuoted(%q, %d) accepted a line the reference parses as %q (ok %v)", line, n, want, ok)
	}
	for i := range want {
		if string(vals[i]) != want[i] {
			t.Fatalf("splitQuoted(%q): field %d = %q, reference %q", line, i, vals[i], want[i])
		}
	}
	if bytes.ContainsAny(line, "\n") {
		t.Fatalf("splitQuoted accepted a line break in %q", line)
	}
}

func FuzzSplitQuoted(f *testing.F) {
	f.Add([]byte(`"a","b","c"`), uint8(3))
	f.Add([]byte(`"a""b","c"`), uint8(2))
	f.Add([]byte(`"1234567","9"`), uint8(2))
	f.Add([]byte(`",","`), uint8(2))
	f.Fuzz(func(t *testing.T, line []byte, n uint8) {
		if n == 0 || bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		checkSplitQuoted(t, line, int(n))
	})
}

// BenchmarkSplitQuoted measures the fast path on lines as gen writes them
// (15 quoted fields, about 210 bytes).
func BenchmarkSplitQuoted(b *testing.B) {
	lines := [][]byte{
		[]byte(`"example-source-bucket","tmp/hourly/obj-0-1","7589","2022-10-05T08:55:48.201Z","cdafed80a6abc9ee6ab9e02443ee9c0b","STANDARD","false","","SSE-S3","","","OFF","","DISABLED","CRC64NVME"`),
		[]byte(`"example-source-bucket","home/2019/eu-west-1/25/2022/prod/01/obj-0-2.jpg","1856692","2023-12-24T03:24:30.725Z","92c5fca08482d4e6b19c31151df3a2f8","INTELLIGENT_TIERING","false","","SSE-S3","","","OFF","FREQUENT","DISABLED","CRC32"`),
		[]byte(`"example-source-bucket","backups/2022/eu-west-1/staging/obj-0-3","67523602","2024-11-01T20:28:50.777Z","98b5de7fdcf33a886cf9e3f612cb8bb6-3","STANDARD","true","FAILED","DSSE-KMS","","","OFF","","DISABLED","CRC64NVME"`),
	}
	vals := make([][]byte, 15)
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(lines)))
	for i := 0; i < b.N; i++ {
		if !splitQuoted(lines[i%len(lines)], vals) {
			b.Fatal("declined")
		}
	}
}
