package diff

import (
	"errors"
	"slices"
	"testing"
)

func obj(size int64, etag string, mtime int64) *Object {
	return &Object{Size: size, HasSize: true, ETag: []byte(etag), LastModified: mtime, HasLastModified: true}
}

const (
	md5a = "0cc175b9c0f1b6a831c399e269772661"
	md5b = "92eb5ffee6ae2fec3ad71c777531578f"
	mpa  = "0cc175b9c0f1b6a831c399e269772661-3"
	mpb  = "92eb5ffee6ae2fec3ad71c777531578f-2"
)

func TestCompareDecisionTable(t *testing.T) {
	with := func(o *Object, f func(*Object)) *Object { f(o); return o }
	algo := func(a string) func(*Object) { return func(o *Object) { o.ChecksumAlgorithm = []byte(a) } }
	tests := []struct {
		name    string
		rule    string
		s, t    *Object
		changed bool
		reasons []string
		notes   Verdict
	}{
		{"equal", "size,etag", obj(10, md5a, 1), obj(10, md5a, 2), false, nil, 0},
		{"size differs", "size,etag", obj(10, md5a, 1), obj(11, md5a, 1), true, []string{"size"}, 0},
		{"etag differs", "size,etag", obj(10, md5a, 1), obj(10, md5b, 1), true, []string{"etag"}, 0},
		{"etag quotes and case ignored", "etag", obj(10, md5a, 1), obj(10, `"0CC175B9C0F1B6A831C399E269772661"`, 1), false, nil, 0},
		{"multipart etag differs: changed, noted", "size,etag", obj(10, mpa, 1), obj(10, md5a, 1), true, []string{"etag"}, MultipartETag},
		{"multipart etag differs, size only: unchanged", "size", obj(10, mpa, 1), obj(10, mpb, 1), false, nil, 0},
		{"kms etag differs: noted", "etag", with(obj(10, md5a, 1), func(o *Object) { o.EncryptionStatus = []byte("SSE-KMS") }), obj(10, md5b, 1), true, []string{"etag"}, MultipartETag},
		{"missing size on one side", "size", &Object{}, obj(0, "", 0), true, []string{"size"}, 0},
		{"missing size on both sides", "size", &Object{}, &Object{}, false, nil, 0},
		{"mtime: target older", "mtime", obj(10, md5a, 100), obj(10, md5a, 99), true, []string{"mtime"}, 0},
		{"mtime: target newer (a copy)", "mtime", obj(10, md5a, 100), obj(10, md5a, 200), false, nil, 0},
		{"mtime: same", "mtime", obj(10, md5a, 100), obj(10, md5a, 100), false, nil, 0},
		{"checksum: same algo and md5", "checksum", with(obj(10, md5a, 1), algo("SHA256")), with(obj(10, md5a, 1), algo("SHA-256")), false, nil, 0},
		{"checksum: algo differs", "checksum", with(obj(10, md5a, 1), algo("SHA256")), with(obj(10, md5a, 1), algo("CRC32")), true, []string{"checksum"}, 0},
		{"checksum: algo lost in copy", "checksum", with(obj(10, md5a, 1), algo("CRC32C")), obj(10, md5a, 1), true, []string{"checksum"}, 0},
		{"checksum: single-part md5 differs", "checksum", with(obj(10, md5a, 1), algo("CRC32")), with(obj(10, md5b, 1), algo("CRC32")), true, []string{"checksum"}, 0},
		{"checksum: multipart is unverified", "checksum", with(obj(10, mpa, 1), algo("CRC32")), with(obj(10, md5b, 1), algo("CRC32")), false, nil, Unverified},
		{"checksum: multipart flag beats etag shape", "checksum", with(obj(10, md5a, 1), func(o *Object) { o.Multipart, o.HasMultipart = true, true; o.ChecksumAlgorithm = []byte("CRC32") }),
			with(obj(10, md5b, 1), algo("CRC32")), false, nil, Unverified},
		{"checksum: size differs", "checksum", with(obj(10, mpa, 1), algo("CRC32")), with(obj(11, mpa, 1), algo("CRC32")), true, []string{"checksum"}, 0},
		{"several tests", "size,etag,mtime", obj(10, md5a, 100), obj(11, md5b, 50), true, []string{"size", "etag", "mtime"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCompare(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			v := c.Changed(tt.s, tt.t)
			if v.Changed() != tt.changed || !slices.Equal(v.Reasons(), tt.reasons) || v&(MultipartETag|Unverified) != tt.notes {
				t.Errorf("got changed %v reasons %v notes %b; want %v %v %b", v.Changed(), v.Reasons(), v&(MultipartETag|Unverified), tt.changed, tt.reasons, tt.notes)
			}
		})
	}
}

func TestParseCompare(t *testing.T) {
	tests := []struct {
		in      string
		want    Compare
		wantErr error
	}{
		{"", DefaultCompare, nil},
		{"size,etag", DefaultCompare, nil},
		{" SIZE , mtime ", Compare{Size: true, MTime: true}, nil},
		{"checksum", Compare{Checksum: true}, nil},
		{"size,md5", Compare{}, ErrCompare},
		{",", Compare{}, ErrCompare},
	}
	for _, tt := range tests {
		got, err := ParseCompare(tt.in)
		if !errors.Is(err, tt.wantErr) || err == nil && got != tt.want {
			t.Errorf("ParseCompare(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if s := (Compare{}).String(); s != "size,etag" {
		t.Errorf("zero Compare is %q", s)
	}
}

func TestMultipartETag(t *testing.T) {
	for etag, want := range map[string]bool{md5a: false, mpa: true, `"` + mpa + `"`: true, "abc-": false, "-3": false, "abc-x1": false, "": false} {
		if got := multipartETag([]byte(etag)); got != want {
			t.Errorf("multipartETag(%q) = %v", etag, got)
		}
	}
}
