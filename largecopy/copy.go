package largecopy

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// object is a bucket, key and version ("" for none).
type object struct{ bucket, key, version string }

func (o object) String() string {
	s := "s3://" + o.bucket + "/" + o.key
	if o.version != "" {
		s += " (version " + o.version + ")"
	}
	return s
}

// copySource is the x-amz-copy-source value: bucket/key percent-encoded
// as manifests encode keys, and the version.
func (o object) copySource() string {
	b := manifest.AppendEncoded(nil, []byte(o.bucket))
	b = append(b, '/')
	b = manifest.AppendEncoded(b, []byte(o.key))
	if o.version != "" {
		b = append(b, "?versionId="...)
		b = append(b, url.QueryEscape(o.version)...)
	}
	return string(b)
}

func versionPtr(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// copier copies one object. Its fields are set in the order of run.
type copier struct {
	h        *Handler
	args     *Args
	src, dst object

	head    *s3.HeadObjectOutput
	size    int64
	etag    string // as S3 gives it, quoted
	tagging string // the x-amz-tagging header; "" for no tags

	partSize int64
	nParts   int

	uploadID  string // the destination's multipart upload, once started or found
	companion string // key of the upload that marks it as this task's; "" for none
	compID    string // its upload id
	parts     []s3types.CompletedPart
	have      []bool
	resumed   int
	copied    atomic.Int64
}

// A step of the copy: what a failure message says was being done, and
// what the function's role needs for it (said on AccessDenied).
type step struct{ what, needs string }

func (c *copier) payer() s3types.RequestPayer {
	if c.args.Op.RequesterPays {
		return s3types.RequestPayerRequester
	}
	return ""
}

// run copies the object: it returns the result code and string.
func (c *copier) run(ctx, work context.Context) (string, string) {
	srcGet := "s3:GetObject"
	if c.src.version != "" {
		srcGet = "s3:GetObjectVersion"
	}
	if err := c.h.sourceCall(c.src.bucket, func(opts ...func(*s3.Options)) error {
		var err error
		c.head, err = c.h.o.Client.HeadObject(work, &s3.HeadObjectInput{Bucket: &c.src.bucket, Key: &c.src.key,
			VersionId: versionPtr(c.src.version), RequestPayer: c.payer()}, opts...)
		return err
	}); err != nil {
		return c.failed(ctx, work, step{"reading the source (HeadObject)", srcGet + " on the source object"}, err)
	}
	c.size, c.etag = aws.ToInt64(c.head.ContentLength), aws.ToString(c.head.ETag)
	if msg := c.checkSource(); msg != "" {
		return PermanentFailure, c.prefix() + msg
	}
	if err := c.readTags(work); err != nil {
		needs := "s3:GetObjectTagging"
		if c.src.version != "" {
			needs = "s3:GetObjectVersionTagging"
		}
		return c.failed(ctx, work, step{"reading the source's tags (GetObjectTagging)", needs + " on the source object, or NewObjectTagging in the arguments to replace the tags"}, err)
	}
	c.layout()
	if code, msg, ok := c.resumeOrStart(ctx, work); !ok {
		return code, msg
	}
	if err := c.copyParts(work); err != nil {
		return c.failed(ctx, work, step{"copying parts (UploadPartCopy)", srcGet + " on the source and s3:PutObject on the destination" + c.kmsNeeds()}, err)
	}
	return c.complete(ctx, work)
}

// prefix starts every message.
func (c *copier) prefix() string {
	return fmt.Sprintf("copy of %s to s3://%s/%s failed: ", c.src, c.dst.bucket, c.dst.key)
}

// checkSource checks what HeadObject told against the arguments; it
// returns why the copy cannot be made, "" when it can.
func (c *copier) checkSource() string {
	if c.size < 0 || c.size > MaxObject {
		return fmt.Sprintf("the source is %d bytes, more than a multipart upload can hold (%d parts of %d bytes)", c.size, MaxParts, MaxPartSize)
	}
	lm := aws.ToTime(c.head.LastModified)
	op := &c.args.Op
	if t := op.ModifiedSinceConstraint; t != nil && !lm.After(*t) {
		return fmt.Sprintf("PreconditionFailed: the source was last modified %s, not after %s (ModifiedSinceConstraint)", lm.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	if t := op.UnModifiedSinceConstraint; t != nil && lm.After(*t) {
		return fmt.Sprintf("PreconditionFailed: the source was modified %s, after %s (UnModifiedSinceConstraint)", lm.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	return ""
}

// readTags sets the tags the copy gets: NewObjectTagging, or the
// source's own (as S3PutObjectCopy copies them).
func (c *copier) readTags(ctx context.Context) error {
	if tags := c.args.Op.NewObjectTagging; tags != nil {
		c.tagging = taggingHeader(tags)
		return nil
	}
	var out *s3.GetObjectTaggingOutput
	err := c.h.sourceCall(c.src.bucket, func(opts ...func(*s3.Options)) error {
		var err error
		out, err = c.h.o.Client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &c.src.bucket, Key: &c.src.key,
			VersionId: versionPtr(c.src.version), RequestPayer: c.payer()}, opts...)
		return err
	})
	if err != nil {
		return err
	}
	tags := make([]types.S3Tag, len(out.TagSet))
	for i, t := range out.TagSet {
		tags[i] = types.S3Tag{Key: t.Key, Value: t.Value}
	}
	c.tagging = taggingHeader(tags)
	return nil
}

// layout sizes the parts: Options.PartSize, or more when the object
// would need more than MaxParts parts (rounded up to whole MiB).
func (c *copier) layout() {
	ps := c.h.o.PartSize
	if c.size > ps*MaxParts {
		ps = (c.size + MaxParts - 1) / MaxParts
		ps = (ps + 1<<20 - 1) &^ (1<<20 - 1)
	}
	c.partSize = ps
	c.nParts = max(1, int((c.size+ps-1)/ps))
	c.parts = make([]s3types.CompletedPart, c.nParts)
	c.have = make([]bool, c.nParts)
}

// partRange returns the first byte and the length of part n (1-based).
func (c *copier) partRange(n int) (int64, int64) {
	off := int64(n-1) * c.partSize
	return off, min(c.partSize, c.size-off)
}

// kmsNeeds is the KMS permission a copy into SSE-KMS needs.
func (c *copier) kmsNeeds() string {
	if c.args.Op.SSEAwsKmsKeyId != nil {
		return ", and kms:GenerateDataKey and kms:Decrypt on " + *c.args.Op.SSEAwsKmsKeyId
	}
	return ""
}

// createInput is the destination's CreateMultipartUpload: what
// S3PutObjectCopy would give the copy — the source's metadata and content
// headers (MetadataDirective COPY, the default) or NewObjectMetadata
// (REPLACE), the source's tags or NewObjectTagging, and the storage class,
// ACL, encryption, checksum and object lock the arguments name.
func (c *copier) createInput() *s3.CreateMultipartUploadInput {
	in := &s3.CreateMultipartUploadInput{Bucket: &c.dst.bucket, Key: &c.dst.key, RequestPayer: c.payer()}
	op := &c.args.Op
	if op.MetadataDirective == types.S3MetadataDirectiveReplace {
		if m := op.NewObjectMetadata; m != nil {
			in.CacheControl, in.ContentDisposition, in.ContentEncoding = m.CacheControl, m.ContentDisposition, m.ContentEncoding
			in.ContentLanguage, in.ContentType, in.Expires = m.ContentLanguage, m.ContentType, m.HttpExpiresDate
			in.Metadata = m.UserMetadata
			switch m.SSEAlgorithm {
			case types.S3SSEAlgorithmAes256:
				in.ServerSideEncryption = s3types.ServerSideEncryptionAes256
			case types.S3SSEAlgorithmKms:
				in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
			}
		}
	} else {
		h := c.head
		in.CacheControl, in.ContentDisposition, in.ContentEncoding = h.CacheControl, h.ContentDisposition, h.ContentEncoding
		in.ContentLanguage, in.ContentType, in.Expires = h.ContentLanguage, h.ContentType, headExpires(h)
		in.Metadata = h.Metadata
		in.WebsiteRedirectLocation = h.WebsiteRedirectLocation
	}
	if op.RedirectLocation != nil {
		in.WebsiteRedirectLocation = op.RedirectLocation
	}
	if c.tagging != "" {
		in.Tagging = aws.String(c.tagging)
	}
	in.StorageClass = s3types.StorageClass(op.StorageClass)
	in.ACL = s3types.ObjectCannedACL(op.CannedAccessControlList)
	if len(op.AccessControlGrants) > 0 {
		g, _ := grantHeaders(op.AccessControlGrants) // checked by ParseArguments
		in.GrantFullControl, in.GrantRead, in.GrantReadACP, in.GrantWriteACP = g.fullControl, g.read, g.readACP, g.writeACP
	}
	if op.SSEAwsKmsKeyId != nil {
		in.ServerSideEncryption, in.SSEKMSKeyId = s3types.ServerSideEncryptionAwsKms, op.SSEAwsKmsKeyId
	}
	if op.BucketKeyEnabled {
		in.BucketKeyEnabled = aws.Bool(true)
	}
	if op.ChecksumAlgorithm != "" {
		in.ChecksumAlgorithm = s3types.ChecksumAlgorithm(op.ChecksumAlgorithm)
		if op.ChecksumAlgorithm == types.S3ChecksumAlgorithmCrc64nvme {
			in.ChecksumType = s3types.ChecksumTypeFullObject // CRC64NVME has no composite form
		}
	}
	if op.ObjectLockMode != "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = s3types.ObjectLockMode(op.ObjectLockMode), op.ObjectLockRetainUntilDate
	}
	in.ObjectLockLegalHoldStatus = s3types.ObjectLockLegalHoldStatus(op.ObjectLockLegalHoldStatus)
	return in
}

// headExpires is the source's Expires header, if it is a valid HTTP
// date (another value cannot be given to CreateMultipartUpload).
func headExpires(h *s3.HeadObjectOutput) *time.Time {
	if s := aws.ToString(h.ExpiresString); s != "" {
		if t, err := http.ParseTime(s); err == nil {
			return &t
		}
	}
	return nil
}

// copyParts copies the parts not yet done, Concurrency at a time, each
// on the condition that the source still has the ETag the copy started
// from. The first failure stops the others.
func (c *copier) copyParts(work context.Context) error {
	g, gctx := errgroup.WithContext(work)
	g.SetLimit(c.h.o.Concurrency)
	src := c.src.copySource()
	for n := 1; n <= c.nParts; n++ {
		if c.have[n-1] {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			in := &s3.UploadPartCopyInput{Bucket: &c.dst.bucket, Key: &c.dst.key, UploadId: &c.uploadID,
				PartNumber: aws.Int32(int32(n)), CopySource: &src, CopySourceIfMatch: &c.etag, RequestPayer: c.payer()}
			if c.size > 0 {
				off, l := c.partRange(n)
				in.CopySourceRange = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+l-1, 10))
			}
			out, err := c.copyPart(gctx, in)
			if err != nil {
				return err
			}
			if out.CopyPartResult == nil || aws.ToString(out.CopyPartResult.ETag) == "" {
				return fmt.Errorf("part %d: UploadPartCopy answered without an ETag", n)
			}
			c.parts[n-1] = completedFromCopy(int32(n), out.CopyPartResult)
			c.have[n-1] = true // each goroutine writes its own index; read after Wait
			c.copied.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, ok := range c.have {
		if !ok { // the loop stopped early
			return work.Err()
		}
	}
	return nil
}

// partAttempts is how many times a part is tried when it fails in a way
// worth another try. The client retries too, but not everything: a
// success whose answer was cut short is an error the SDK does not retry.
// UploadPartCopy can be repeated: the part is copied again.
const partAttempts = 3

// copyPart copies one part, trying again after temporary failures.
func (c *copier) copyPart(ctx context.Context, in *s3.UploadPartCopyInput) (*s3.UploadPartCopyOutput, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := c.h.o.Client.UploadPartCopy(ctx, in)
		if err == nil || attempt == partAttempts {
			return out, err
		}
		if e := classify(err); !e.temporary || e.timeout || e.code == "NoSuchUpload" {
			return out, err
		}
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
		wait *= 4
	}
}

// done is the number of parts the upload holds.
func (c *copier) done() int { return c.resumed + int(c.copied.Load()) }

// complete assembles the parts into the object.
func (c *copier) complete(ctx, work context.Context) (string, string) {
	if work.Err() != nil {
		return c.failed(ctx, work, step{}, work.Err())
	}
	in := &s3.CompleteMultipartUploadInput{Bucket: &c.dst.bucket, Key: &c.dst.key, UploadId: &c.uploadID,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: c.parts}, RequestPayer: c.payer()}
	if c.args.Op.ChecksumAlgorithm == types.S3ChecksumAlgorithmCrc64nvme {
		in.ChecksumType = s3types.ChecksumTypeFullObject
	}
	// The reserve is there for this call: it runs on the invocation's
	// own deadline.
	out, err := c.h.o.Client.CompleteMultipartUpload(ctx, in)
	etag, version := "", ""
	if err == nil {
		etag, version = aws.ToString(out.ETag), aws.ToString(out.VersionId)
	} else if e := classify(err); e.code == "NoSuchUpload" {
		// An earlier answer may have been lost: the upload is then
		// complete already. Look at what the destination holds.
		if etag, version = c.completedBefore(ctx); etag == "" {
			return c.failed(ctx, work, step{"completing the upload (CompleteMultipartUpload)", "s3:PutObject on the destination"}, err)
		}
	} else {
		return c.failed(ctx, work, step{"completing the upload (CompleteMultipartUpload)", "s3:PutObject on the destination" + c.kmsNeeds()}, err)
	}
	c.dropCompanion(ctx)
	parts := "parts"
	if c.nParts == 1 {
		parts = "part"
	}
	msg := fmt.Sprintf("Copied to s3://%s/%s: %d bytes in %d %s of %d bytes (%d resumed), ETag %s", c.dst.bucket, c.dst.key, c.size, c.nParts, parts, c.partSize, c.resumed, etag)
	if version != "" {
		msg += ", version " + version
	}
	return Succeeded, msg
}

// expectedETag is the ETag S3 gives the completed object when the parts'
// ETags are MD5s (not with SSE-KMS): the MD5 of their concatenated
// digests, "-" and the number of parts. "" when it cannot be known.
func (c *copier) expectedETag() string {
	h := md5.New()
	for _, p := range c.parts {
		d, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(d) != md5.Size {
			return ""
		}
		h.Write(d)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(c.parts)) + `"`
}

// completedBefore looks for the object an earlier, unanswered
// CompleteMultipartUpload of this upload made: the destination's ETag is
// the one these parts give (or, where that cannot be known, its size and
// part count match). It returns the ETag and version, "" when not found.
func (c *copier) completedBefore(ctx context.Context) (string, string) {
	h, err := c.h.o.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.dst.bucket, Key: &c.dst.key, RequestPayer: c.payer()})
	if err != nil {
		return "", ""
	}
	got := aws.ToString(h.ETag)
	if want := c.expectedETag(); want != "" {
		if got != want {
			return "", ""
		}
	} else if aws.ToInt64(h.ContentLength) != c.size || !strings.HasSuffix(strings.Trim(got, `"`), "-"+strconv.Itoa(c.nParts)) {
		return "", ""
	}
	return got, aws.ToString(h.VersionId)
}

// failed turns an error of step s into the task's result: TemporaryFailure
// (the upload stays, for the retry to resume) or PermanentFailure (the
// upload is aborted).
func (c *copier) failed(ctx, work context.Context, s step, err error) (string, string) {
	e := classify(err)
	progress := ""
	if c.uploadID != "" {
		progress = fmt.Sprintf(" (%d of %d parts copied)", c.done(), c.nParts)
	}
	if e.timeout || work.Err() != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return TemporaryFailure, c.prefix() + "the invocation was canceled" + progress
		}
		return TemporaryFailure, c.prefix() + "the invocation's time ran out" + progress + "; Batch Operations retries the task, which resumes from the parts copied"
	}
	if e.sourceChanged() && s.what != "" && strings.HasPrefix(s.what, "copying parts") {
		return PermanentFailure, c.prefix() + fmt.Sprintf("the source changed during the copy (its ETag is no longer %s)%s", c.etag, c.abort(ctx))
	}
	msg := c.prefix() + s.what + ": " + e.String()
	switch {
	case e.status == http.StatusForbidden && e.code == "AccessDenied" && s.needs != "":
		msg += " — the function's role needs " + s.needs
	case e.code == "NoSuchBucket":
		msg += " — the bucket does not exist"
	case e.code == "NoSuchKey" && strings.Contains(s.what, "HeadObject"):
		msg += " — the source object does not exist (deleted since the manifest was written?)"
	case e.code == "InvalidObjectState":
		msg += " — the source is archived; restore it first (the plan's restore routes)"
	}
	if e.temporary {
		return TemporaryFailure, msg + progress + "; Batch Operations retries the task"
	}
	return PermanentFailure, msg + c.abort(ctx)
}

// abort aborts the upload and its companion; it returns what to add to
// the failure's message.
func (c *copier) abort(ctx context.Context) string {
	if c.uploadID == "" {
		return ""
	}
	_, err := c.h.o.Client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &c.dst.bucket, Key: &c.dst.key, UploadId: &c.uploadID, RequestPayer: c.payer()})
	c.dropCompanion(ctx)
	if err != nil && classify(err).code != "NoSuchUpload" {
		return fmt.Sprintf("; aborting the upload %s failed too (%s): a lifecycle rule AbortIncompleteMultipartUpload removes it", c.uploadID, classify(err))
	}
	return "; the upload was aborted, nothing was written"
}

// completedFromCopy is the CompleteMultipartUpload entry of a copied part.
func completedFromCopy(n int32, r *s3types.CopyPartResult) s3types.CompletedPart {
	return s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: r.ETag,
		ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC32C: r.ChecksumCRC32C, ChecksumCRC64NVME: r.ChecksumCRC64NVME,
		ChecksumMD5: r.ChecksumMD5, ChecksumSHA1: r.ChecksumSHA1, ChecksumSHA256: r.ChecksumSHA256, ChecksumSHA512: r.ChecksumSHA512,
		ChecksumXXHASH128: r.ChecksumXXHASH128, ChecksumXXHASH3: r.ChecksumXXHASH3, ChecksumXXHASH64: r.ChecksumXXHASH64}
}

// completedFromPart is the CompleteMultipartUpload entry of a listed part.
func completedFromPart(p s3types.Part) s3types.CompletedPart {
	return s3types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag,
		ChecksumCRC32: p.ChecksumCRC32, ChecksumCRC32C: p.ChecksumCRC32C, ChecksumCRC64NVME: p.ChecksumCRC64NVME,
		ChecksumMD5: p.ChecksumMD5, ChecksumSHA1: p.ChecksumSHA1, ChecksumSHA256: p.ChecksumSHA256, ChecksumSHA512: p.ChecksumSHA512,
		ChecksumXXHASH128: p.ChecksumXXHASH128, ChecksumXXHASH3: p.ChecksumXXHASH3, ChecksumXXHASH64: p.ChecksumXXHASH64}
}

// sourceCall runs call against the source bucket: when S3 redirects to
// the bucket's region (a source in another region than the function),
// the region is remembered and the call made again there.
func (h *Handler) sourceCall(bucket string, call func(...func(*s3.Options)) error) error {
	err := call(h.regionOpts(bucket)...)
	if r := redirectRegion(err); r != "" {
		if old, ok := h.regions.Load(bucket); !ok || old.(string) != r {
			h.regions.Store(bucket, r)
			err = call(h.regionOpts(bucket)...)
		}
	}
	return err
}

func (h *Handler) regionOpts(bucket string) []func(*s3.Options) {
	r, ok := h.regions.Load(bucket)
	if !ok {
		return nil
	}
	return []func(*s3.Options){func(o *s3.Options) { o.Region = r.(string) }}
}
