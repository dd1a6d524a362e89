package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
)

// Storage is where tasks act: an S3-compatible endpoint (S3Storage) or a
// directory of buckets (DirStorage). Errors that S3 would answer with a
// status and a code are *TaskError; anything else is reported as a 500
// InternalError and retried. Implementations must be safe for concurrent
// use.
type Storage interface {
	// Locate returns the objio location (s3://bucket/key or a path) of an
	// object: where the engine reads manifests and writes reports.
	Locate(bucket, key string) (string, error)
	// Head describes an object version ("" or "null" for the current or
	// null version).
	Head(ctx context.Context, o ObjectRef) (ObjectMeta, error)
	// Copy copies src to dst as the operation says.
	Copy(ctx context.Context, src ObjectRef, dstBucket, dstKey string, op *types.S3CopyObjectOperation) error
	// PutTagging replaces the tag set of an object version.
	PutTagging(ctx context.Context, o ObjectRef, tags []types.S3Tag) error
	// DeleteTagging removes every tag of an object version.
	DeleteTagging(ctx context.Context, o ObjectRef) error
	// Restore asks for a temporary copy of an archived object version
	// (RestoreObject): for days, or, when days is nil, from an
	// Intelligent-Tiering archive tier; tier "" is the store's default.
	// msg, when not empty, is the result message of a success.
	Restore(ctx context.Context, o ObjectRef, days *int32, tier types.S3GlacierJobTier) (msg string, err error)
	// Open reads an object version; the caller closes the reader.
	Open(ctx context.Context, o ObjectRef) (io.ReadCloser, ObjectMeta, error)
	// CheckOperation refuses (with the reason) the parts of an operation
	// the store cannot carry out, so that CreateJob refuses the job
	// instead of its tasks reporting work that was not done.
	CheckOperation(op types.JobOperation) error
}

// ObjectRef names an object version, decoded (real key bytes).
type ObjectRef struct {
	Bucket, Key string
	VersionID   string // "" when the manifest has none
}

// ObjectMeta is what Head returns.
type ObjectMeta struct {
	Size         int64
	ETag         string // without quotes
	StorageClass string
}

// TaskError is a task's failure as the report shows it: HTTP status,
// error code and message.
type TaskError struct {
	HTTPStatus int
	Code       string
	Message    string
	// Retryable marks transient failures (throttling, 5xx, timeouts,
	// connection errors, Lambda TemporaryFailure), retried by the engine.
	Retryable bool
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.HTTPStatus, e.Code, e.Message)
}

// MaxCopySourceSize is the largest object S3PutObjectCopy copies:
// 5 GB (docs/formats.md#limits). Larger sources fail with 400 InvalidRequest.
const MaxCopySourceSize = 5368709120

// CopySizeCheck says when S3PutObjectCopy checks its source against the 5
// GB copy-source limit itself, with a HEAD before the copy. AWS S3 applies
// the limit on the server; most other stores copy larger objects, so an
// engine that left it to them would succeed where Batch Operations fails.
// The HEAD costs a request per object, about a third of the throughput of
// small copies on a local server.
type CopySizeCheck int

const (
	// CopySizeAuto checks every copy source except those of jobs tagged
	// s3batchkit:route=copy: shards of the copy route of a plan made by
	// plan or diff (submitted by submit, or run by run --plan), whose
	// objects were routed by their inventory size (larger ones go to the
	// large route). An object that grew past 5 GB after the inventory
	// would then be copied here while AWS fails it; use CopySizeAlways to
	// rule that out.
	CopySizeAuto CopySizeCheck = iota
	// CopySizeAlways checks every copy source.
	CopySizeAlways
	// CopySizeNever leaves the limit to the server.
	CopySizeNever
)

// ParseCopySizeCheck parses auto, always or never.
func ParseCopySizeCheck(s string) (CopySizeCheck, error) {
	switch s {
	case "auto", "":
		return CopySizeAuto, nil
	case "always":
		return CopySizeAlways, nil
	case "never":
		return CopySizeNever, nil
	}
	return 0, fmt.Errorf("copy size check %q: want auto, always or never", s)
}

// plannedCopyRoute is the route tag value of shards whose objects a plan
// routed as copyable (at most 5 GB): partition.RouteCopy, which this
// package does not import.
const plannedCopyRoute = "copy"

// checksCopySize reports whether copies of a job with tags HEAD their
// source first.
func (c CopySizeCheck) checksCopySize(tags []types.S3Tag) bool {
	switch c {
	case CopySizeAlways:
		return true
	case CopySizeNever:
		return false
	}
	for _, t := range tags {
		if aws.ToString(t.Key) == jobs.TagRoute && aws.ToString(t.Value) == plannedCopyRoute {
			return false
		}
	}
	return true
}

// checkCopySource applies the copy job's 5 GB rule, with S3's message.
func checkCopySource(size int64) *TaskError {
	if size > MaxCopySourceSize {
		return &TaskError{HTTPStatus: http.StatusBadRequest, Code: "InvalidRequest",
			Message: s3Message("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120", http.StatusBadRequest, "InvalidRequest")}
	}
	return nil
}

// s3Message formats an error message as Batch Operations reports S3
// errors: the message, then service, status, code and request id.
func s3Message(msg string, status int, code string) string {
	return fmt.Sprintf("%s (Service: Amazon S3; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)", msg, status, code, requestID())
}

func noSuchKey() *TaskError {
	return &TaskError{HTTPStatus: 404, Code: "NoSuchKey", Message: s3Message("The specified key does not exist.", 404, "NoSuchKey")}
}

func noSuchVersion() *TaskError {
	return &TaskError{HTTPStatus: 404, Code: "NoSuchVersion", Message: s3Message("The specified version does not exist.", 404, "NoSuchVersion")}
}

func noSuchBucket() *TaskError {
	return &TaskError{HTTPStatus: 404, Code: "NoSuchBucket", Message: s3Message("The specified bucket does not exist", 404, "NoSuchBucket")}
}

// TransportErrorCode is the error code of a task whose request got no
// usable answer: the connection was refused, reset or timed out, or a
// success was cut short. The HTTP status of such a task is 0 (no answer
// was read), and the message is the transport error. S3 uses the code for
// a request it gave up waiting for; SDKs and report class it retryable,
// which these failures are.
const TransportErrorCode = "RequestTimeout"

// transportError is the TaskError of a request that got no usable
// answer; retryable.
func transportError(err error) *TaskError {
	return &TaskError{HTTPStatus: 0, Code: TransportErrorCode,
		Message: "The request got no usable answer (the connection failed or the answer was cut short): " + err.Error(), Retryable: true}
}

// asTaskError turns any error into a TaskError: context errors are
// returned as they are (the task did not finish), unknown errors become a
// retryable 500 InternalError.
func asTaskError(err error) (*TaskError, error) {
	if err == nil {
		return nil, nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, objio.ErrCredentials) {
		return nil, err
	}
	var te *TaskError
	if errors.As(err, &te) {
		return te, nil
	}
	return &TaskError{HTTPStatus: 500, Code: "InternalError", Message: s3Message(err.Error(), 500, "InternalError"), Retryable: true}, nil
}

// requestID makes an id shaped like S3's, for messages.
func requestID() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	n := uint64(time.Now().UnixNano())
	var b [16]byte
	for i := range b {
		n = n*6364136223846793005 + 1442695040888963407
		b[i] = digits[(n>>33)%36]
	}
	return string(b[:])
}
