package objio_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

func TestDirJoin(t *testing.T) {
	tests := []struct{ in, dir string }{
		{"s3://b/a/b/manifest.json", "s3://b/a/b"},
		{"s3://b/a", "s3://b"},
		{"s3://b", "s3://b"},
		{"s3://b/", "s3://b"},
		{"s3://b/a/", "s3://b"},
		{"/x/y", "/x"},
	}
	for _, tc := range tests {
		if got := objio.Dir(tc.in); got != tc.dir {
			t.Errorf("Dir(%q) = %q, want %q", tc.in, got, tc.dir)
		}
	}
	if got := objio.Join("s3://b/p/", "/q/r.csv"); got != "s3://b/p/q/r.csv" {
		t.Errorf("Join = %q", got)
	}
}

func TestParseS3(t *testing.T) {
	tests := []struct {
		in, bucket, key string
		wantErr         bool
	}{
		{"s3://b/k/x", "b", "k/x", false},
		{"s3://b", "b", "", false},
		{"s3://b/", "b", "", false},
		{"s3:///k", "", "", true},
		{"/local", "", "", true},
	}
	for _, tc := range tests {
		b, k, err := objio.ParseS3(tc.in)
		if (err != nil) != tc.wantErr || b != tc.bucket || k != tc.key {
			t.Errorf("ParseS3(%q) = %q, %q, %v", tc.in, b, k, err)
		}
	}
}

func TestLocalListStatUpload(t *testing.T) {
	ctx := context.Background()
	var local *objio.Client // nil: a zero-Config client per call (see the package documentation)
	dir := t.TempDir()
	for _, k := range []string{"job-1/manifest.json", "job-2/results/a.csv", "job-2/manifest.json", "other/x", "job-3.txt"} {
		p := filepath.Join(dir, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := local.WriteFileAtomic(ctx, p, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	names := func(prefix string) string {
		l, err := local.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, o := range l {
			s = append(s, filepath.ToSlash(strings.TrimPrefix(o.Name, dir+string(filepath.Separator))))
		}
		return strings.Join(s, " ")
	}
	if got, want := names(filepath.Join(dir, "job-")), "job-1/manifest.json job-2/manifest.json job-2/results/a.csv job-3.txt"; got != want {
		t.Errorf("List(job-) = %s, want %s", got, want)
	}
	if got, want := names(dir), "job-1/manifest.json job-2/manifest.json job-2/results/a.csv job-3.txt other/x"; got != want {
		t.Errorf("List(dir) = %s, want %s", got, want)
	}
	if got := names(filepath.Join(dir, "nope", "x")); got != "" {
		t.Errorf("List(missing) = %s, want nothing", got)
	}
	if _, err := local.Stat(ctx, filepath.Join(dir, "nope")); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("Stat(missing) = %v, want ErrNotFound", err)
	}
	data := []byte("abc")
	info, err := local.Upload(ctx, filepath.Join(dir, "up"), bytes.NewReader(data), 3, objio.UploadOptions{})
	if err != nil || info.ETag != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("Upload = %+v, %v", info, err)
	}
	if _, err := local.Upload(ctx, filepath.Join(dir, "bad"), bytes.NewReader(data), 3, objio.UploadOptions{MD5: "00000000000000000000000000000000"}); err == nil {
		t.Error("Upload with a wrong MD5 succeeded")
	}
	if ok, _ := local.Exists(ctx, filepath.Join(dir, "bad")); ok {
		t.Error("a failed Upload left its file")
	}
}
