package inventory

import "testing"

func TestAppendJSONBytes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain/key.txt", `"plain/key.txt"`},
		{"q\"b\\s", `"q\"b\\s"`},
		{"new\nline\ttab\x01\x7f", `"new\nline\ttab\u0001\u007f"`},
		{"naïve 日本語 🎉 <&>", `"naïve 日本語 🎉 <&>"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
	} {
		if got := string(AppendJSONBytes(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v     int64
		scale int
		want  string
	}{{12345, 2, "123.45"}, {-5, 3, "-0.005"}, {7, 0, "7"}, {-9223372036854775808, 1, "-922337203685477580.8"}} {
		if got := string(appendDecimal(nil, tc.v, tc.scale)); got != tc.want {
			t.Errorf("decimal %d scale %d: got %s, want %s", tc.v, tc.scale, got, tc.want)
		}
	}
}
