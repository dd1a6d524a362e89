package inventory

import (
	"bytes"
	"errors"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendDecodedKey(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  error
	}{
		{"photos/a.jpg", "photos/a.jpg", nil},
		{"a+b", "a b", nil},
		{"a%2Bb", "a+b", nil},
		{"100%25", "100%", nil},
		{"caf%C3%A9", "café", nil},
		{"dir%2Fkey", "dir/key", nil},
		{"%e6%97%a5", "日", nil},
		{"a%2", "", ErrBadEscape},
		{"a%zz", "", ErrBadEscape},
		{"%", "", ErrBadEscape},
		{"%FF", "", ErrBadKey},
		{"\xff", "", ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := AppendDecodedKey([]byte("x"), []byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != "x"+tt.want {
				t.Errorf("got %q, want %q", got[1:], tt.want)
			}
			if err != nil && string(got) != "x" {
				t.Errorf("on error dst = %q, want it unchanged", got)
			}
		})
	}
}

// FuzzDecodedKey checks AppendDecodedKey against net/url.QueryUnescape,
// the reference form-decoder.
func FuzzDecodedKey(f *testing.F) {
	for _, s := range []string{"a+b", "%2B", "a%2", "caf%C3%A9", "%%", "+%20+"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := AppendDecodedKey(nil, in)
		want, werr := url.QueryUnescape(string(in))
		if werr != nil {
			if err == nil {
				t.Fatalf("%q: accepted, QueryUnescape says %v", in, werr)
			}
			return
		}
		if !utf8.ValidString(want) {
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("%q: err = %v, want ErrBadKey", in, err)
			}
			return
		}
		if err != nil || string(got) != want {
			t.Fatalf("%q: got %q, %v; want %q", in, got, err, want)
		}
	})
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC with millis, "" for invalid
	}{
		{"2024-08-21T15:28:26.000Z", "2024-08-21T15:28:26.000Z"},
		{"2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"},
		{"1969-12-31T23:59:59.001Z", "1969-12-31T23:59:59.001Z"},
		{"2024-08-21T15:28:26Z", "2024-08-21T15:28:26.000Z"},
		{"2024-08-21T17:28:26.5+02:00", "2024-08-21T15:28:26.500Z"},
		{"2024-08-21", "2024-08-21T00:00:00.000Z"},
		{"2023-02-29T00:00:00.000Z", ""},
		{"2024-13-01T00:00:00.000Z", ""},
		{"2024-08-21T24:00:00.000Z", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ms, ok := ParseTimestamp([]byte(tt.in))
			if tt.want == "" {
				if ok {
					t.Fatalf("accepted %q as %d", tt.in, ms)
				}
				return
			}
			if !ok {
				t.Fatalf("rejected %q", tt.in)
			}
			if got := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzParseTimestamp checks the fast path against time.Parse.
func FuzzParseTimestamp(f *testing.F) {
	f.Add([]byte("2024-08-21T15:28:26.000Z"))
	f.Add([]byte("0000-01-01T00:00:00.000Z"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ms, ok := ParseTimestamp(in)
		ref, err := time.Parse(time.RFC3339Nano, string(in))
		if err == nil && !ok {
			t.Fatalf("%q: rejected, time.Parse accepts it", in)
		}
		if err == nil && ms != ref.UnixMilli() {
			t.Fatalf("%q: got %d, want %d", in, ms, ref.UnixMilli())
		}
	})
}

func TestParseBoolAndInt(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "True": true, "false": false, "FALSE": false, "t": true, "0": false} {
		if got, ok := ParseBool([]byte(in)); !ok || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "tru", "yes!", "2"} {
		if _, ok := ParseBool([]byte(in)); ok {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
	for in, want := range map[string]int64{"0": 0, "123": 123, "9223372036854775807": 1<<63 - 1} {
		if got, ok := ParseInt([]byte(in)); !ok || got != want {
			t.Errorf("ParseInt(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-1", "1.5", "12a", "9223372036854775808", "99999999999999999999"} {
		if _, ok := ParseInt([]byte(in)); ok {
			t.Errorf("ParseInt(%q) accepted", in)
		}
	}
}

// The per-row parse paths must not allocate.
func TestValueParsersDoNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 1024)
	key := []byte("photos/2024/my+holiday%2Bpic%C3%A9.jpg")
	ts := []byte("2024-08-21T15:28:26.000Z")
	for name, fn := range map[string]func(){
		"AppendDecodedKey": func() { dst, _ = AppendDecodedKey(dst[:0], key) },
		"ParseTimestamp":   func() { ParseTimestamp(ts) },
		"ParseInt":         func() { ParseInt([]byte("1234567")) },
		"ParseBool":        func() { ParseBool([]byte("TRUE")) },
		"AppendUpperASCII": func() { dst = AppendUpperASCII(dst[:0], []byte("standard_ia")) },
	} {
		if a := testing.AllocsPerRun(1000, fn); a != 0 {
			t.Errorf("%s allocates %.1f times per call, want 0", name, a)
		}
	}
}

// TestPlainKey checks the eight-bytes-at-a-time test of AppendDecodedKey's
// fast path with each special byte at every position of keys of 0 to 20
// bytes, so that both the word loop and the tail see them.
func TestPlainKey(t *testing.T) {
	for n := 0; n <= 20; n++ {
		base := bytes.Repeat([]byte("a/Z9-_.~ ,"), 3)[:n]
		if !plainKey(base) {
			t.Fatalf("plainKey(%q) = false, want true", base)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{'%', '+', 0x80, 0xC3, 0xFF} {
				k := bytes.Clone(base)
				k[i] = c
				if plainKey(k) {
					t.Fatalf("plainKey(%q) = true, want false (byte %#x at %d)", k, c, i)
				}
			}
		}
	}
}

// BenchmarkAppendDecodedKey decodes keys shaped as issue 20's
// (tenantNN/year=YYYY/month=MM/day=DD/obj NNNNNNNNN+vNNN.parquet, as
// S3 Inventory CSV writes them) and plain ones.
func BenchmarkAppendDecodedKey(b *testing.B) {
	for _, tc := range []struct{ name, key string }{
		{"escaped", "tenant07/year=2023/month=04/day=19/obj%20482910377%2Bv041.parquet"},
		{"plain", "tenant07/year=2023/month=04/day=19/obj-482910377-v041.parquet"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			key := []byte(tc.key)
			dst := make([]byte, 0, 256)
			b.SetBytes(int64(len(key)))
			for b.Loop() {
				dst, _ = AppendDecodedKey(dst[:0], key)
			}
		})
	}
}
