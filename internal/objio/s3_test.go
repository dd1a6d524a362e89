package objio_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// small parts so that the read-ahead and multipart paths run on small data
func smallParts(c *objio.Config) {
	c.PartSize = 5 << 20
	c.MultipartThreshold = 6 << 20
	c.Concurrency = 3
}

func TestS3WriteReadStatList(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	base := "s3://" + bucket + "/dir"
	data := []byte("hello, s3batchkit\n")
	loc := objio.Join(base, "a/b.txt")
	if err := oc.WriteFileAtomic(ctx, loc, data); err != nil {
		t.Fatal(err)
	}
	got, err := oc.ReadAll(ctx, loc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %q, %v; want %q", got, err, data)
	}
	info, err := oc.Stat(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || info.ETag != md5hex(data) {
		t.Errorf("Stat = %+v, want size %d and ETag %s (unquoted MD5)", info, len(data), md5hex(data))
	}
	if ok, err := oc.Exists(ctx, loc); !ok || err != nil {
		t.Errorf("Exists(%s) = %v, %v", loc, ok, err)
	}
	for _, k := range []string{"a/c.txt", "job-1/manifest.json", "job-2/manifest.json", "job-2/results/x.csv"} {
		if err := oc.WriteFileAtomic(ctx, objio.Join(base, k), []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := oc.List(ctx, objio.Join(base, "job-"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, strings.TrimPrefix(o.Name, base+"/"))
	}
	want := "job-1/manifest.json job-2/manifest.json job-2/results/x.csv"
	if strings.Join(names, " ") != want {
		t.Errorf("List(job-) = %v, want %s", names, want)
	}
	if list, err := oc.List(ctx, objio.Join(base, "nothing-here/")); err != nil || len(list) != 0 {
		t.Errorf("List(empty prefix) = %v, %v; want empty", list, err)
	}
}

func TestS3NotFound(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	missing := "s3://" + bucket + "/no/such/key"
	if _, err := oc.Open(ctx, missing); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if _, err := oc.ReadAll(ctx, missing); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("ReadAll(missing) = %v, want ErrNotFound", err)
	}
	if _, err := oc.Stat(ctx, missing); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("Stat(missing) = %v, want ErrNotFound", err)
	}
	if ok, err := oc.Exists(ctx, missing); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v; want false, nil", ok, err)
	}
	if _, err := oc.Open(ctx, "s3://s3bk-no-such-bucket-xyz/k"); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("Open(missing bucket) = %v, want ErrNotFound", err)
	}
}

func TestS3MultipartAndRangedReads(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	data := randomBytes(17<<20+12345, 1) // 4 parts of 5 MiB, the last short
	loc := "s3://" + bucket + "/big.bin"
	info, err := oc.Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-4") {
		t.Errorf("multipart ETag %q, want one ending in -4", info.ETag)
	}
	st, err := oc.Stat(ctx, loc)
	if err != nil || st.ETag != info.ETag || st.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, %v; want ETag %s, size %d", st, err, info.ETag, len(data))
	}

	o, err := oc.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", o.Size(), len(data))
	}
	// Streaming read with read-ahead, in odd-sized reads.
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{o}, make([]byte, 77777)); err != nil {
		t.Fatal(err)
	}
	if md5hex(got.Bytes()) != md5hex(data) {
		t.Fatal("streamed bytes differ from the uploaded ones")
	}
	// Concurrent random ReadAts: small (block cache), large (one GET),
	// across part boundaries, at the end.
	cases := []struct{ off, n int64 }{
		{0, 4}, {int64(len(data)) - 8, 8}, {5<<20 - 3, 10}, {1 << 20, 3 << 20}, {123, 1}, {7 << 20, 6 << 20}, {int64(len(data)) - 100, 100},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() {
			b := make([]byte, c.n)
			n, err := o.ReadAt(b, c.off)
			if err != nil && !(err == io.EOF && c.off+c.n == int64(len(data))) {
				t.Errorf("ReadAt(%d, %d): %v", c.off, c.n, err)
			}
			if int64(n) != c.n || !bytes.Equal(b, data[c.off:c.off+c.n]) {
				t.Errorf("ReadAt(%d, %d): wrong bytes (n=%d)", c.off, c.n, n)
			}
		})
	}
	wg.Wait()
	// Past the end: short read with io.EOF.
	b := make([]byte, 10)
	if n, err := o.ReadAt(b, int64(len(data))-4); n != 4 || err != io.EOF {
		t.Errorf("ReadAt over the end = %d, %v; want 4, EOF", n, err)
	}
	// Sequential ReadAt through a SectionReader (how checksums are
	// verified) uses the second read-ahead stream.
	h := md5.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(o, 0, o.Size()), make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h.Sum(nil)) != md5hex(data) {
		t.Error("sequential ReadAt bytes differ from the uploaded ones")
	}
}

func TestS3SinglePartMD5(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	data := randomBytes(7<<20, 2) // above the multipart threshold
	loc := "s3://" + bucket + "/manifest.csv"
	info, err := oc.Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{SinglePart: true, MD5: md5hex(data)})
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag != md5hex(data) {
		t.Errorf("single-part ETag %s, want the MD5 %s", info.ETag, md5hex(data))
	}
	// A wrong MD5 is rejected by the server: nothing is written.
	bad := "s3://" + bucket + "/bad.csv"
	if _, err := oc.Upload(ctx, bad, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{SinglePart: true, MD5: md5hex([]byte("x"))}); err == nil {
		t.Error("upload with a wrong Content-MD5 succeeded")
	}
	if ok, _ := oc.Exists(ctx, bad); ok {
		t.Error("upload with a wrong Content-MD5 left an object")
	}
}

// BenchmarkRead compares reading one object whole, in order, from the
// test S3 server and from local disk (S3BATCHKIT_BENCH_MB sets the size,
// default 256).
func BenchmarkRead(b *testing.B) {
	oc, bucket := objiotest.Setup(b)
	ctx := context.Background()
	size := 256 << 20
	if s := os.Getenv("S3BATCHKIT_BENCH_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		size = n << 20
	}
	data := randomBytes(size, 3)
	local := filepath.Join(b.TempDir(), "obj")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		b.Fatal(err)
	}
	remote := "s3://" + bucket + "/obj"
	if _, err := oc.Upload(ctx, remote, bytes.NewReader(data), int64(size), objio.UploadOptions{}); err != nil {
		b.Fatal(err)
	}
	want := md5hex(data)
	data = nil
	for _, loc := range []struct{ name, loc string }{{"local", local}, {"s3", remote}} {
		b.Run(loc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				o, err := oc.Open(ctx, loc.loc)
				if err != nil {
					b.Fatal(err)
				}
				h := md5.New()
				if _, err := io.CopyBuffer(h, struct{ io.Reader }{o}, make([]byte, 256<<10)); err != nil {
					b.Fatal(err)
				}
				o.Close()
				if hex.EncodeToString(h.Sum(nil)) != want {
					b.Fatal("wrong bytes")
				}
			}
		})
	}
}
