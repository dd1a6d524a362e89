package manifest

import (
	"bytes"
	"net/url"
	"testing"
	"unicode/utf8"
)

func TestAppendEncoded(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "photos/2024/a.jpg", "photos/2024/a.jpg"},
		{"space", "object key with spaces", "object%20key%20with%20spaces"},
		{"plus", "a+b", "a%2Bb"},
		{"percent", "100%", "100%25"},
		{"comma and quote", `a,"b"`, "a%2C%22b%22"},
		{"newline and tab", "a\nb\tc\r", "a%0Ab%09c%0D"},
		{"unicode", "café/日本", "caf%C3%A9/%E6%97%A5%E6%9C%AC"},
		{"json in key", `{"a":1}`, "%7B%22a%22%3A1%7D"},
		{"unreserved kept", "A-Z_a.z~0/9", "A-Z_a.z~0/9"},
		{"reserved", "?#&=;:@$!'()*[]", "%3F%23%26%3D%3B%3A%40%24%21%27%28%29%2A%5B%5D"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendEncoded(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("AppendEncoded(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendRow(t *testing.T) {
	tests := []struct {
		name        string
		key, ver    string
		withVersion bool
		want        string
	}{
		{"no version column", "a b", "", false, "bkt,a%20b\n"},
		{"version", "k", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", true, "bkt,k,3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\n"},
		{"null version", "k", "", true, "bkt,k,null\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendRow(nil, []byte("bkt"), []byte(tt.key), []byte(tt.ver), tt.withVersion))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendRowAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	bucket, key, ver := []byte("bucket"), []byte("some key/with+plus/é"), []byte("v1")
	allocs := testing.AllocsPerRun(1000, func() {
		buf = AppendRow(buf[:0], bucket, key, ver, true)
	})
	if allocs != 0 {
		t.Errorf("AppendRow allocates %.1f times per row, want 0", allocs)
	}
}

func TestParseRow(t *testing.T) {
	tests := []struct {
		line    string
		want    Row
		wantErr bool
	}{
		{"b,a%20b", Row{Bucket: "b", Key: "a b"}, false},
		{"b,a%2Bb,null", Row{Bucket: "b", Key: "a+b", VersionID: "null", HasVersion: true}, false},
		{`"b","k%2C1",v`, Row{Bucket: "b", Key: "k,1", VersionID: "v", HasVersion: true}, false},
		{"b", Row{}, true},
		{"b,k,v,x", Row{}, true},
		{"b,%zz", Row{}, true},
		{"b,%4", Row{}, true},
		{"b,", Row{}, true},
		{"b,%FF", Row{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseRow([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"photos/a%20b+c.jpg", "photos/a b+c.jpg", false},
		{"k%2C%22q%22%E2%82%AC", `k,"q"€`, false},
		{`"quoted"`, `"quoted"`, false}, // no CSV unquoting: the quotes are the key's
		{"", "", false},
		{"%zz", "", true},
		{"a%4", "", true},
		{"%FF", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DecodeKey(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeKey(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DecodeKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err == nil {
				enc := string(AppendEncoded(nil, []byte(got)))
				if back, err := DecodeKey(enc); err != nil || back != got {
					t.Errorf("DecodeKey(AppendEncoded(%q)) = %q, %v", got, back, err)
				}
			}
		})
	}
}

// FuzzKeyRoundTrip checks that every key survives the manifest encoding
// under percent-decoding (net/url.PathUnescape), form-decoding
// (QueryUnescape, which reads '+' as a space) and our own ParseRow, and
// that an encoded key holds only the characters a CSV manifest can carry
// unquoted.
func FuzzKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "a b", "a+b", "100%", "x,y", `q"`, "n\nl", "é", "日本/語", "%2B", "~._-/", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		if len(key) == 0 {
			return
		}
		enc := AppendEncoded(nil, key)
		for _, c := range enc {
			if !keepByte[c] && c != '%' && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'F') {
				t.Fatalf("encoded %q holds %q", enc, c)
			}
		}
		if bytes.ContainsAny(enc, ", \"\n\r+") {
			t.Fatalf("encoded %q holds a CSV-special byte or '+'", enc)
		}
		if got, err := url.PathUnescape(string(enc)); err != nil || got != string(key) {
			t.Fatalf("PathUnescape(%q) = %q, %v; want %q", enc, got, err, key)
		}
		if got, err := url.QueryUnescape(string(enc)); err != nil || got != string(key) {
			t.Fatalf("QueryUnescape(%q) = %q, %v; want %q", enc, got, err, key)
		}
		line := AppendRow(nil, []byte("bucket"), key, nil, false)
		row, err := ParseRow(bytes.TrimSuffix(line, []byte("\n")))
		if !utf8.Valid(key) {
			if err == nil {
				t.Fatalf("ParseRow accepted invalid UTF-8 key %q", key)
			}
			return
		}
		if err != nil || row.Key != string(key) || row.Bucket != "bucket" {
			t.Fatalf("ParseRow(%q) = %+v, %v; want key %q", line, row, err, key)
		}
	})
}

// FuzzParseRow checks that ParseRow never panics and that what it accepts
// re-encodes to a line it parses to the same row.
func FuzzParseRow(f *testing.F) {
	for _, s := range []string{"b,k", "b,k,v", "b,a%20b,null", `"b","k"`, "b,%", "b,k,v,x", ","} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		row, err := ParseRow(line)
		if err != nil {
			return
		}
		again := AppendRow(nil, []byte(row.Bucket), []byte(row.Key), []byte(row.VersionID), row.HasVersion)
		row2, err := ParseRow(bytes.TrimSuffix(again, []byte("\n")))
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", again, err)
		}
		if row.HasVersion && row.VersionID == "" {
			row.VersionID = "null" // an empty version id is written as null
		}
		if row2 != row {
			t.Fatalf("round trip %q → %+v → %q → %+v", line, row, again, row2)
		}
	})
}

// BenchmarkAppendRow encodes manifest lines of keys shaped as gen makes
// them: mostly plain paths, some with spaces, '+' and non-ASCII bytes.
func BenchmarkAppendRow(b *testing.B) {
	keys := [][]byte{
		[]byte("tmp/hourly/obj-0-1"),
		[]byte("home/2019/eu-west-1/25/2022/prod/01/obj-0-2.jpg"),
		[]byte("backups/2022/eu-west-1/staging/obj-0-3"),
		[]byte("logs/2024/us-east-1/app server/part+0001 (copy).log"),
		[]byte("media/ünïcödé/fïlé-42.png"),
		[]byte("data/warehouse/2023/11/05/part-00017-3f2a9c1e.snappy.parquet"),
	}
	bucket := []byte("example-source-bucket")
	buf := make([]byte, 0, 1024)
	var n int64
	for _, k := range keys {
		n += int64(len(k))
	}
	b.SetBytes(n / int64(len(keys)))
	for i := 0; i < b.N; i++ {
		buf = AppendRow(buf[:0], bucket, keys[i%len(keys)], nil, false)
	}
}
