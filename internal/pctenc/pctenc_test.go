package pctenc

import (
	"bytes"
	"net/url"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in        string
		form      bool
		want      string
		badAt     int // -1: decodes
		truncated bool
	}{
		{"plain/key.txt", false, "plain/key.txt", -1, false},
		{"", true, "", -1, false},
		{"a%20b+c", false, "a b+c", -1, false},
		{"a%20b+c", true, "a b c", -1, false},
		{"3/L4kq+rm%2FSp=", false, "3/L4kq+rm/Sp=", -1, false},
		{"%e2%82%AC", true, "€", -1, false},
		{"++%2B", true, "  +", -1, false},
		{"obj%20000000042%2Bv007.parquet", true, "obj 000000042+v007.parquet", -1, false},
		{"a%2", false, "", 1, true},
		{"a%", true, "", 1, true},
		{"a%zz", false, "", 1, false},
		{"ok%41%4g", true, "", 5, false},
	}
	for _, tt := range tests {
		got, at, ok := Append([]byte("pre:"), []byte(tt.in), tt.form)
		if tt.badAt < 0 {
			if !ok || string(got) != "pre:"+tt.want {
				t.Errorf("Append(%q, %v) = %q, %v; want %q", tt.in, tt.form, got, ok, "pre:"+tt.want)
			}
		} else if ok || at != tt.badAt || string(got) != "pre:" || Truncated([]byte(tt.in), at) != tt.truncated {
			t.Errorf("Append(%q, %v) = %q, %d, %v; want the error at %d (truncated %v)", tt.in, tt.form, got, at, ok, tt.badAt, tt.truncated)
		}
		v := []byte(tt.in)
		n, at, ok := InPlace(v, tt.form)
		if tt.badAt < 0 {
			if !ok || string(v[:n]) != tt.want {
				t.Errorf("InPlace(%q, %v) = %q, %v; want %q", tt.in, tt.form, v[:n], ok, tt.want)
			}
		} else if ok || at != tt.badAt {
			t.Errorf("InPlace(%q, %v) = %d, %v; want the error at %d", tt.in, tt.form, at, ok, tt.badAt)
		}
	}
}

func TestAppendNoAlloc(t *testing.T) {
	src := []byte("tenant07/year=2024/obj%20000000042%2Bv007.parquet")
	dst := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { dst, _, _ = Append(dst[:0], src, true) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}

// FuzzDecode checks both functions against net/url's decoders, which
// follow the same rules: QueryUnescape ('+' is a space) and PathUnescape.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"a%20b+c", "%", "%4", "%zz", "+%2B+", "€%e2%82%ac", "obj%20000000042%2Bv007"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, form bool) {
		want, werr := url.PathUnescape(s)
		if form {
			want, werr = url.QueryUnescape(s)
		}
		got, at, ok := Append(nil, []byte(s), form)
		if ok != (werr == nil) || ok && string(got) != want {
			t.Fatalf("Append(%q, %v) = %q, %v; net/url: %q, %v", s, form, got, ok, want, werr)
		}
		if !ok && (at < 0 || at >= len(s) || s[at] != '%') {
			t.Fatalf("Append(%q, %v): error at %d, not at a '%%'", s, form, at)
		}
		v := []byte(s)
		n, at2, ok2 := InPlace(v, form)
		if ok2 != ok || ok && !bytes.Equal(v[:n], got) || !ok && at2 != at {
			t.Fatalf("InPlace(%q, %v) = %q, %d, %v; Append: %q, %d, %v", s, form, v[:max(n, 0)], at2, ok2, got, at, ok)
		}
	})
}
