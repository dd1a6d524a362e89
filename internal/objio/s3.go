package objio

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// maxSinglePut is the largest object one PUT may write (5 GiB).
const maxSinglePut = 5 << 30

// maxParts is the S3 limit on the parts of a multipart upload.
const maxParts = 10000

// ParseS3 splits s3://bucket/key into its bucket and key. The key may be
// empty (a bucket root) and keeps a trailing slash.
func ParseS3(loc string) (bucket, key string, err error) {
	if !IsS3(loc) {
		return "", "", fmt.Errorf("%s: not an s3:// URL", loc)
	}
	rest := strings.TrimPrefix(loc, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: no bucket name: expected s3://bucket/key", loc)
	}
	return bucket, key, nil
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

func (c *Client) s3Stat(ctx context.Context, loc string) (ObjectInfo, *s3.Client, error) {
	bucket, key, err := ParseS3(loc)
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return ObjectInfo{}, nil, fmt.Errorf("%s: is a prefix, expected an object key", loc)
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	out, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return ObjectInfo{}, nil, c.headError(ctx, cl, loc, bucket, key, err)
	}
	info := ObjectInfo{Name: loc, Size: aws.ToInt64(out.ContentLength), ETag: unquote(aws.ToString(out.ETag))}
	if out.LastModified != nil {
		info.ModTime = *out.LastModified
	}
	return info, cl, nil
}

// headError classifies a failed HeadObject. An answer to HEAD has no
// body, so a 403 or 404 carries no error code: a refused request, a
// wrong secret (SignatureDoesNotMatch), an unknown access key
// (InvalidAccessKeyId; versitygw answers that with 404) and a missing key
// all look alike. One GET of the first byte asks again, and its answer
// has the code.
func (c *Client) headError(ctx context.Context, cl *s3.Client, loc, bucket, key string, err error) error {
	if st := httpStatus(err); st != http.StatusForbidden && st != http.StatusNotFound {
		return c.classify("reading", "HeadObject", loc, err)
	}
	if code, _ := apiCode(err); code != "" && code != "Forbidden" && code != "NotFound" {
		return c.classify("reading", "HeadObject", loc, err)
	}
	out, gerr := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String("bytes=0-0")})
	if gerr == nil {
		// The object is there now (a HEAD that raced a PUT): report the
		// HEAD's answer as it was.
		out.Body.Close()
		return c.classify("reading", "HeadObject", loc, err)
	}
	if code, _ := apiCode(gerr); code == "InvalidRange" {
		return c.classify("reading", "HeadObject", loc, err)
	}
	return c.classify("reading", "GetObject", loc, gerr)
}

func (c *Client) s3Open(ctx context.Context, loc string) (Object, error) {
	info, cl, err := c.s3Stat(ctx, loc)
	if err != nil {
		return nil, err
	}
	bucket, key, _ := ParseS3(loc)
	cfg := c.cfg
	o := &s3Object{
		ctx: ctx, c: c, cl: cl, bucket: bucket, key: key, loc: loc,
		etag: `"` + info.ETag + `"`, size: info.Size,
		part: cfg.PartSize, conc: cfg.Concurrency,
	}
	return o, nil
}

// s3Object reads an object by ranged GETs pinned to the ETag seen at Open
// (If-Match), so a concurrent overwrite fails the read instead of mixing
// two versions.
//
// Read streams with read-ahead: Concurrency ranged GETs of PartSize in
// flight, consumed in order. ReadAt is safe for concurrent use: a ReadAt
// of at least 1 MiB at offset 0 starts a second read-ahead stream, which
// ReadAt calls continuing where the last one ended keep using (a
// whole-file hash through io.SectionReader reads at GET speed ×
// Concurrency). A read-ahead reads Concurrency parts beyond what was
// asked, so a large read elsewhere (a Parquet column chunk, an ORC
// stripe) is one ranged GET of exactly its bytes: when one started a
// read-ahead, decoding a few columns of a Parquet file read 1.8 times
// the whole file. Smaller reads go through a cache of aligned blocks
// (footers, page headers). All requests use the context given to Open.
type s3Object struct {
	ctx                    context.Context
	c                      *Client
	cl                     *s3.Client
	bucket, key, loc, etag string
	size                   int64
	part                   int64
	conc                   int

	rd     *prefetcher // Read's stream; only Read touches it
	seqMu  sync.Mutex
	seq    *prefetcher // ReadAt's sequential stream
	blocks blockCache
	once   sync.Once
}

const blockSize = 1 << 20

func (o *s3Object) Size() int64  { return o.size }
func (o *s3Object) Name() string { return o.loc }

func (o *s3Object) Read(p []byte) (int, error) {
	if o.rd == nil {
		o.rd = newPrefetcher(o.ctx, o.get, 0, o.size, o.part, o.conc)
	}
	return o.rd.Read(p)
}

func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", o.loc, off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := p
	var eof error
	if rem := o.size - off; int64(len(p)) > rem {
		want, eof = p[:rem], io.EOF
	}
	if o.seqMu.TryLock() {
		if (o.seq != nil && o.seq.pos == off) || (o.seq == nil && len(want) >= blockSize && off == 0) {
			if o.seq == nil {
				o.seq = newPrefetcher(o.ctx, o.get, off, o.size, o.part, o.conc)
			}
			n, err := io.ReadFull(o.seq, want)
			o.seqMu.Unlock()
			if err != nil {
				return n, err
			}
			return n, eof
		}
		o.seqMu.Unlock()
	}
	if len(want) >= blockSize {
		b, err := o.get(o.ctx, off, int64(len(want)))
		if err != nil {
			return 0, err
		}
		n := copy(want, b)
		putBuf(b)
		return n, eof
	}
	n := 0
	for n < len(want) {
		at := off + int64(n)
		start := at - at%blockSize
		blk, err := o.blocks.get(start, func() ([]byte, error) {
			b, err := o.get(o.ctx, start, min(blockSize, o.size-start))
			if err != nil {
				return nil, err
			}
			c := bytes.Clone(b)
			putBuf(b)
			return c, nil
		})
		if err != nil {
			return n, err
		}
		n += copy(want[n:], blk[at-start:])
	}
	return n, eof
}

func (o *s3Object) Close() error {
	o.once.Do(func() {
		if o.rd != nil {
			o.rd.Close()
		}
		o.seqMu.Lock()
		if o.seq != nil {
			o.seq.Close()
		}
		o.seqMu.Unlock()
	})
	return nil
}

// get reads n bytes at off with a ranged GET into a pooled buffer
// (return it with putBuf). The answer must be exactly the range asked
// for; a body that ends early (a connection dropped mid-body) is not
// accepted: the rest of the range is read again, after the policy's
// backoff, up to Config.RetryMaxAttempts GETs in all.
func (o *s3Object) get(ctx context.Context, off, n int64) ([]byte, error) {
	buf := getBuf(n)
	var got int64 // bytes of the range in buf
	for attempt := 1; ; attempt++ {
		from := off + got
		rng := fmt.Sprintf("bytes=%d-%d", from, off+n-1)
		out, err := o.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &o.bucket, Key: &o.key, Range: &rng, IfMatch: &o.etag})
		if err != nil {
			putBuf(buf)
			return nil, o.c.classify("reading", "GetObject", o.loc, err)
		}
		if out.ContentLength != nil && *out.ContentLength != n-got {
			out.Body.Close()
			putBuf(buf)
			return nil, fmt.Errorf("reading %s: asked for bytes %d-%d, the server answered %d bytes", o.loc, from, off+n-1, *out.ContentLength)
		}
		m, err := io.ReadFull(out.Body, buf[got:])
		out.Body.Close()
		got += int64(m)
		o.c.stats.bytesRead.Add(int64(m))
		if err == nil {
			return buf, nil
		}
		if ctx.Err() != nil {
			putBuf(buf)
			return nil, fmt.Errorf("reading %s: %w", o.loc, ctx.Err())
		}
		if attempt >= o.c.cfg.RetryMaxAttempts {
			putBuf(buf)
			return nil, fmt.Errorf("reading %s: bytes %d-%d: the answer ended after %d of %d bytes, %d times: %w", o.loc, off, off+n-1, m, off+n-from, attempt, err)
		}
		o.c.stats.truncated.Add(1)
		if err := Sleep(ctx, o.c.cfg.policy().Delay(attempt, err)); err != nil {
			putBuf(buf)
			return nil, fmt.Errorf("reading %s: %w", o.loc, err)
		}
	}
}

// bufPool recycles read-ahead buffers of the default part size.
var bufPool sync.Pool

func getBuf(n int64) []byte {
	if n > DefaultPartSize {
		return make([]byte, n)
	}
	if b, ok := bufPool.Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, DefaultPartSize)
}

func putBuf(b []byte) {
	if cap(b) == DefaultPartSize {
		bufPool.Put(&b)
	}
}

// blockCache keeps the last few aligned blocks read by small ReadAts.
type blockCache struct {
	mu    sync.Mutex
	clock int
	ents  [8]struct {
		off  int64
		data []byte
		used int
	}
}

func (c *blockCache) get(off int64, fill func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	for i := range c.ents {
		if e := &c.ents[i]; e.data != nil && e.off == off {
			c.clock++
			e.used = c.clock
			d := e.data
			c.mu.Unlock()
			return d, nil
		}
	}
	c.mu.Unlock()
	d, err := fill()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	lru := 0
	for i := range c.ents {
		if c.ents[i].used < c.ents[lru].used {
			lru = i
		}
	}
	c.clock++
	c.ents[lru].off, c.ents[lru].data, c.ents[lru].used = off, d, c.clock
	c.mu.Unlock()
	return d, nil
}

func (c *Client) s3List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	bucket, key, err := ParseS3(prefix)
	if err != nil {
		return nil, err
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return nil, err
	}
	var out []ObjectInfo
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &key})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.classify("listing", "ListObjectsV2", prefix, err)
		}
		for _, o := range page.Contents {
			info := ObjectInfo{Name: "s3://" + bucket + "/" + aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: unquote(aws.ToString(o.ETag))}
			if o.LastModified != nil {
				info.ModTime = *o.LastModified
			}
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *Client) s3ListFolders(ctx context.Context, loc string) ([]string, error) {
	bucket, key, err := ParseS3(loc)
	if err != nil {
		return nil, err
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &key, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.classify("listing", "ListObjectsV2", "s3://"+bucket+"/"+key, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), key), "/")
			if name != "" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *Client) s3Remove(ctx context.Context, loc string) error {
	bucket, key, err := ParseS3(loc)
	if err != nil {
		return err
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return err
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return c.classify("removing", "DeleteObject", loc, err)
}

// s3Upload writes size bytes of r to loc: one PUT with Content-MD5 below
// the multipart threshold (or when o.SinglePart), else a multipart upload
// with Concurrency parts in flight, each with its Content-MD5. The object
// appears whole when the PUT or CompleteMultipartUpload returns, never in
// part; a failed multipart upload is aborted.
func (c *Client) s3Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o UploadOptions) (ObjectInfo, error) {
	bucket, key, err := ParseS3(loc)
	if err != nil {
		return ObjectInfo{}, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return ObjectInfo{}, fmt.Errorf("%s: is a prefix, expected an object key", loc)
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return ObjectInfo{}, err
	}
	cfg := c.cfg
	if o.SinglePart || size < cfg.MultipartThreshold {
		if size > maxSinglePut {
			return ObjectInfo{}, fmt.Errorf("writing %s: %d bytes is over the 5 GiB limit of one PUT", loc, size)
		}
		sum := o.MD5
		if sum == "" {
			if sum, err = md5Section(r, 0, size); err != nil {
				return ObjectInfo{}, fmt.Errorf("writing %s: %w", loc, err)
			}
		}
		raw, err := hex.DecodeString(sum)
		if err != nil || len(raw) != md5.Size {
			return ObjectInfo{}, fmt.Errorf("writing %s: MD5 %q is not 32 hex digits", loc, sum)
		}
		in := &s3.PutObjectInput{
			Bucket: &bucket, Key: &key,
			Body:          io.NewSectionReader(r, 0, size),
			ContentLength: aws.Int64(size),
			ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(raw)),
		}
		if o.ContentType != "" {
			in.ContentType = &o.ContentType
		}
		out, err := cl.PutObject(ctx, in)
		if err != nil {
			return ObjectInfo{}, c.classify("writing", "PutObject", loc, err)
		}
		return ObjectInfo{Name: loc, Size: size, ETag: unquote(aws.ToString(out.ETag))}, nil
	}

	partSize := max(cfg.PartSize, (size+maxParts-1)/maxParts)
	cin := &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key}
	if o.ContentType != "" {
		cin.ContentType = &o.ContentType
	}
	mu, err := cl.CreateMultipartUpload(ctx, cin)
	if err != nil {
		return ObjectInfo{}, c.classify("writing", "CreateMultipartUpload", loc, err)
	}
	nparts := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, nparts)
	sums := make([][]byte, nparts) // each part's MD5
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Concurrency)
	for i := range nparts {
		off := int64(i) * partSize
		n := min(partSize, size-off)
		g.Go(func() error {
			sum, err := md5Section(r, off, n)
			if err != nil {
				return err
			}
			raw, _ := hex.DecodeString(sum)
			sums[i] = raw
			num := int32(i + 1)
			out, err := cl.UploadPart(gctx, &s3.UploadPartInput{
				Bucket: &bucket, Key: &key, UploadId: mu.UploadId, PartNumber: &num,
				Body: io.NewSectionReader(r, off, n), ContentLength: aws.Int64(n),
				ContentMD5: aws.String(base64.StdEncoding.EncodeToString(raw)),
			})
			if err != nil {
				return c.classify(fmt.Sprintf("writing part %d of", num), "UploadPart", loc, err)
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: &num}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		abortUpload(ctx, cl, bucket, key, mu.UploadId)
		return ObjectInfo{}, err
	}
	out, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: mu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
			// A retry of a CompleteMultipartUpload whose answer was lost
			// finds the upload gone: the first call made the object,
			// which has the ETag of exactly these parts.
			if info, _, serr := c.s3Stat(ctx, loc); serr == nil && info.ETag == multipartETag(sums) && info.Size == size {
				return info, nil
			}
		}
		abortUpload(ctx, cl, bucket, key, mu.UploadId)
		return ObjectInfo{}, c.classify("completing upload of", "CompleteMultipartUpload", loc, err)
	}
	return ObjectInfo{Name: loc, Size: size, ETag: unquote(aws.ToString(out.ETag))}, nil
}

// multipartETag is S3's ETag of a multipart object: the MD5 of its
// parts' MD5s, a dash and the number of parts.
func multipartETag(sums [][]byte) string {
	h := md5.New()
	for _, s := range sums {
		h.Write(s)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(sums))
}

// abortUpload frees the parts of a failed upload, also when ctx is
// already canceled.
func abortUpload(ctx context.Context, cl *s3.Client, bucket, key string, id *string) {
	_, _ = cl.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: id})
}

func md5Section(r io.ReaderAt, off, n int64) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, off, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
