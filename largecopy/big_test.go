//go:build unix

package largecopy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// pattern is a deterministic object of any size: block k (of 1 MiB) is a
// seeded 1 MiB noise block rotated by k*7919 bytes, so that every block
// differs and a part copied to the wrong place shows. It is read with
// copies only (cheap under the race detector).
type pattern struct {
	base []byte
	size int64
}

const patternBlock = 1 << 20

func newPattern(size int64) *pattern { return &pattern{base: payload(patternBlock, 42), size: size} }

func (p *pattern) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) && off < p.size {
		k, in := off/patternBlock, off%patternBlock
		rot := (k * 7919) % patternBlock
		i := (in + rot) % patternBlock
		m := copy(b[n:], p.base[i:])
		if left := patternBlock - in; int64(m) > left {
			m = int(left)
		}
		if left := p.size - off; int64(m) > left {
			m = int(left)
		}
		n += m
		off += int64(m)
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// TestCopyOver5GiB copies an object larger than S3PutObjectCopy can (5 GiB
// and a bit) with the default part size: 21 parts of 256 MiB, ranges past
// 4 GiB included. It needs about three times the object's size free on
// the disk (source, parts, copy); without that it skips, also in CI.
func TestCopyOver5GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the copy of a 5 GiB object is left out")
	}
	ep := endpoint(t)
	const size = int64(5<<30 + 3<<20 + 12345)
	const need = 3*size + 1<<30
	var st unix.Statfs_t
	dir := os.TempDir()
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < need {
		t.Skipf("disk short: copying a %.1f GiB object needs about %.0f GiB free where the test server keeps its data (checked: %s), %.1f GiB are: skipped (in CI too)",
			float64(size)/(1<<30), float64(need)/(1<<30), dir, float64(free)/(1<<30))
	}
	cl := newClient(t, ep, nil, 3)
	srcB, dstB := newBucket(t, cl, "src"), newBucket(t, cl, "dst")
	const key = "backups/db dump.tar"
	src := newPattern(size)
	start := time.Now()
	putLarge(t, ep, srcB, key, src)
	t.Logf("source of %d bytes written in %.1fs", size, time.Since(start).Seconds())

	start = time.Now()
	h := mustHandler(t, Options{Client: cl})
	r := invoke(t, context.Background(), h, event2(map[string]string{"TargetResource": "arn:aws:s3:::" + dstB}, srcB, enc(key)))
	wantResult(t, r, 0, Succeeded, fmt.Sprintf("%d bytes in 21 parts of %d bytes", size, DefaultPartSize))
	t.Logf("copied in %.1fs: %s", time.Since(start).Seconds(), r.Results[0].ResultString)

	head, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &dstB, Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != size || !strings.Contains(r.Results[0].ResultString, aws.ToString(head.ETag)) {
		t.Errorf("the copy is %d bytes, ETag %s; want %d bytes and the ETag of the result", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), size)
	}
	// Bytes at the ends and around part boundaries, past 4 GiB too.
	for _, off := range []int64{0, DefaultPartSize - 4096, 8*DefaultPartSize - 4096, 1<<32 - 4096, 20*DefaultPartSize - 4096, size - 65536} {
		want := make([]byte, 65536)
		n, _ := src.ReadAt(want, off)
		want = want[:n]
		out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &dstB, Key: aws.String(key),
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(n)-1))})
		if err != nil {
			t.Fatalf("GET at %d: %v", off, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("bytes %d to %d of the copy differ from the source's (%v)", off, off+int64(n), err)
		}
	}
	noUploads(t, cl, dstB)
}

// putLarge writes an object over 5 GiB (more than one PUT takes) as a
// multipart upload of 1 GiB parts, unsigned and without checksums, so
// that the body is read once.
func putLarge(t *testing.T, ep, bucket, key string, p *pattern) {
	t.Helper()
	ctx := context.Background()
	cl := newClient(t, ep, nil, 3)
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	const part = int64(1 << 30)
	n := int((p.size + part - 1) / part)
	done := make([]s3types.CompletedPart, n)
	var g errgroup.Group
	g.SetLimit(3)
	for i := range n {
		g.Go(func() error {
			off := int64(i) * part
			body := io.NewSectionReader(p, off, min(part, p.size-off))
			out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: body, ContentLength: aws.Int64(body.Size())},
				s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware),
				func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
			if err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
			done[i] = s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId})
		t.Fatalf("writing the source: %v", err)
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
}
