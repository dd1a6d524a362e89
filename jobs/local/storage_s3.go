package local

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// S3Storage runs tasks against an S3-compatible endpoint through one S3
// client. Manifests and reports go through the engine's objio client
// (Options.IO), configured for the same endpoint.
type S3Storage struct {
	Client *s3.Client
	// IO names the credentials in the errors of tasks that fail for
	// them (nil: see objio).
	IO *objio.Client
}

// NewS3Storage builds an S3 client from oc's configuration (endpoint,
// region, profile, credentials, retries; its requests counted by oc)
// whose connection pool keeps conns idle connections, one per worker.
func NewS3Storage(ctx context.Context, oc *objio.Client, conns int) (*S3Storage, error) {
	cfg, err := oc.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	custom := cfg.BaseEndpoint != nil
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = max(conns, 100)
		tr.MaxIdleConnsPerHost = max(conns, 10)
	})
	cl := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom && !oc.Config().VirtualHosted
		o.HTTPClient = hc
	})
	return &S3Storage{Client: cl, IO: oc}, nil
}

// Locate implements Storage.
func (s *S3Storage) Locate(bucket, key string) (string, error) {
	return "s3://" + bucket + "/" + key, nil
}

func version(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// Head implements Storage.
func (s *S3Storage) Head(ctx context.Context, o ObjectRef) (ObjectMeta, error) {
	out, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: version(o.VersionID)})
	if err != nil {
		return ObjectMeta{}, s3TaskError(s.IO, err, o.VersionID != "")
	}
	return ObjectMeta{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), StorageClass: string(out.StorageClass)}, nil
}

// copySource is the x-amz-copy-source value: bucket/key percent-encoded
// (every byte but unreserved characters and '/'), and the version.
func copySource(o ObjectRef) string {
	b := manifest.AppendEncoded(nil, []byte(o.Bucket))
	b = append(b, '/')
	b = manifest.AppendEncoded(b, []byte(o.Key))
	if o.VersionID != "" {
		b = append(b, "?versionId="...)
		b = append(b, url.QueryEscape(o.VersionID)...)
	}
	return string(b)
}

// tagging renders tags as a Tagging header: a URL query string.
func tagging(tags []types.S3Tag) string {
	q := make([]string, 0, len(tags))
	for _, t := range tags {
		q = append(q, url.QueryEscape(aws.ToString(t.Key))+"="+url.QueryEscape(aws.ToString(t.Value)))
	}
	return strings.Join(q, "&")
}

// Copy implements Storage: one CopyObject carrying the operation's
// directives.
func (s *S3Storage) Copy(ctx context.Context, src ObjectRef, dstBucket, dstKey string, op *types.S3CopyObjectOperation) error {
	in := &s3.CopyObjectInput{Bucket: &dstBucket, Key: &dstKey, CopySource: aws.String(copySource(src))}
	if op.MetadataDirective != "" {
		in.MetadataDirective = s3types.MetadataDirective(op.MetadataDirective)
	}
	if m := op.NewObjectMetadata; m != nil && op.MetadataDirective == types.S3MetadataDirectiveReplace {
		in.CacheControl, in.ContentDisposition, in.ContentEncoding = m.CacheControl, m.ContentDisposition, m.ContentEncoding
		in.ContentLanguage, in.ContentType, in.Expires = m.ContentLanguage, m.ContentType, m.HttpExpiresDate
		in.Metadata = m.UserMetadata
		if m.SSEAlgorithm != "" {
			in.ServerSideEncryption = s3types.ServerSideEncryption(m.SSEAlgorithm)
		}
	}
	if op.NewObjectTagging != nil {
		in.TaggingDirective = s3types.TaggingDirectiveReplace
		in.Tagging = aws.String(tagging(op.NewObjectTagging))
	}
	if op.StorageClass != "" {
		in.StorageClass = s3types.StorageClass(op.StorageClass)
	}
	if op.CannedAccessControlList != "" {
		in.ACL = s3types.ObjectCannedACL(op.CannedAccessControlList)
	}
	if len(op.AccessControlGrants) > 0 {
		g := grantHeaders(op.AccessControlGrants)
		in.GrantFullControl, in.GrantRead, in.GrantReadACP, in.GrantWriteACP = g[types.S3PermissionFullControl], g[types.S3PermissionRead], g[types.S3PermissionReadAcp], g[types.S3PermissionWriteAcp]
	}
	in.CopySourceIfModifiedSince, in.CopySourceIfUnmodifiedSince = op.ModifiedSinceConstraint, op.UnModifiedSinceConstraint
	in.WebsiteRedirectLocation = op.RedirectLocation
	if op.RequesterPays {
		in.RequestPayer = s3types.RequestPayerRequester
	}
	if op.SSEAwsKmsKeyId != nil {
		in.SSEKMSKeyId, in.ServerSideEncryption = op.SSEAwsKmsKeyId, s3types.ServerSideEncryptionAwsKms
	}
	if op.BucketKeyEnabled {
		in.BucketKeyEnabled = aws.Bool(true)
	}
	if op.ChecksumAlgorithm != "" {
		in.ChecksumAlgorithm = s3types.ChecksumAlgorithm(op.ChecksumAlgorithm)
	}
	if op.ObjectLockMode != "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = s3types.ObjectLockMode(op.ObjectLockMode), op.ObjectLockRetainUntilDate
	}
	if op.ObjectLockLegalHoldStatus != "" {
		in.ObjectLockLegalHoldStatus = s3types.ObjectLockLegalHoldStatus(op.ObjectLockLegalHoldStatus)
	}
	_, err := s.Client.CopyObject(ctx, in)
	return s3TaskError(s.IO, err, src.VersionID != "")
}

// grantHeaders renders grants as the x-amz-grant-* header values of a
// PUT or copy, by permission: `id="…", emailAddress="…", uri="…"`.
func grantHeaders(grants []types.S3Grant) map[types.S3Permission]*string {
	by := map[types.S3Permission][]string{}
	for _, g := range grants {
		if g.Grantee == nil {
			continue
		}
		by[g.Permission] = append(by[g.Permission], string(g.Grantee.TypeIdentifier)+`="`+aws.ToString(g.Grantee.Identifier)+`"`)
	}
	out := map[types.S3Permission]*string{}
	for p, v := range by {
		out[p] = aws.String(strings.Join(v, ", "))
	}
	return out
}

// Restore implements Storage: one RestoreObject. A restore already in
// progress is a success, as Batch Operations reports it.
func (s *S3Storage) Restore(ctx context.Context, o ObjectRef, days *int32, tier types.S3GlacierJobTier) (string, error) {
	req := &s3types.RestoreRequest{Days: days}
	switch tier {
	case types.S3GlacierJobTierBulk:
		req.GlacierJobParameters = &s3types.GlacierJobParameters{Tier: s3types.TierBulk}
	case types.S3GlacierJobTierStandard:
		req.GlacierJobParameters = &s3types.GlacierJobParameters{Tier: s3types.TierStandard}
	}
	_, err := s.Client.RestoreObject(ctx, &s3.RestoreObjectInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: version(o.VersionID), RestoreRequest: req})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "RestoreAlreadyInProgress" {
		return "Successful: a restore of the object is already in progress (RestoreAlreadyInProgress)", nil
	}
	if err := s3TaskError(s.IO, err, o.VersionID != ""); err != nil {
		var te *TaskError
		if errors.As(err, &te) && te.HTTPStatus == http.StatusNotImplemented {
			te.Message = s3Message("The store does not implement RestoreObject: it has no archive tiers, so nothing was restored (the object is readable as it is). "+te.Message, te.HTTPStatus, te.Code)
		}
		return "", err
	}
	return "", nil
}

// CheckOperation implements Storage: every operation the engine runs is
// carried out by the S3 endpoint.
func (s *S3Storage) CheckOperation(op types.JobOperation) error { return nil }

// PutTagging implements Storage.
func (s *S3Storage) PutTagging(ctx context.Context, o ObjectRef, tags []types.S3Tag) error {
	set := make([]s3types.Tag, len(tags))
	for i, t := range tags {
		set[i] = s3types.Tag{Key: t.Key, Value: aws.String(aws.ToString(t.Value))}
	}
	_, err := s.Client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: version(o.VersionID), Tagging: &s3types.Tagging{TagSet: set}})
	return s3TaskError(s.IO, err, o.VersionID != "")
}

// DeleteTagging implements Storage.
func (s *S3Storage) DeleteTagging(ctx context.Context, o ObjectRef) error {
	_, err := s.Client.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: version(o.VersionID)})
	return s3TaskError(s.IO, err, o.VersionID != "")
}

// Open implements Storage.
func (s *S3Storage) Open(ctx context.Context, o ObjectRef) (io.ReadCloser, ObjectMeta, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: version(o.VersionID)})
	if err != nil {
		return nil, ObjectMeta{}, s3TaskError(s.IO, err, o.VersionID != "")
	}
	return out.Body, ObjectMeta{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), StorageClass: string(out.StorageClass)}, nil
}

// s3TaskError maps an SDK error to the report's status, code and message.
// A HEAD's 404 has no code: it is NoSuchKey (NoSuchVersion for a
// version).
func s3TaskError(oc *objio.Client, err error, versioned bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if ce := oc.CredentialsProblem(err); ce != nil {
		// The engine's own credentials, not the task: it ends the job.
		return ce
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code, msg := "", err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	switch {
	case status == 0 || (status < 300 && code == ""):
		// No answer (connection refused, reset, timeout), or a success
		// whose body could not be read: no S3 status or code applies. (A
		// copy's 200 that carries an S3 error in its body has a code, and
		// is reported with it.)
		return transportError(err)
	case status == 404 && (code == "" || code == "NotFound"):
		if versioned {
			return noSuchVersion()
		}
		return noSuchKey()
	}
	if code == "" {
		code = http.StatusText(status)
	}
	if msg == "" {
		msg = code
	}
	retry := (status >= 500 && status != http.StatusNotImplemented) || status == 429
	switch code {
	case "SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "RequestThrottled", "InternalError", "ServiceUnavailable":
		retry = true
	}
	return &TaskError{HTTPStatus: status, Code: code, Message: s3Message(msg, status, code), Retryable: retry}
}
