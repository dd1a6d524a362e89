package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/optname"
	"github.com/s3batchkit/s3batchkit/largecopy"
)

// The LambdaInvoke contract (docs/formats.md#lambda-contract): one task per invocation;
// schema 2.0 events carry the bucket name (s3Bucket) and the job's
// userArguments, 1.0 events the bucket ARN (s3BucketArn). s3Key is the key
// as the manifest writes it (URL-encoded), s3VersionId null without a
// version.

// LambdaEvent is the event POSTed to the Lambda URL.
type LambdaEvent struct {
	InvocationSchemaVersion string       `json:"invocationSchemaVersion"`
	InvocationID            string       `json:"invocationId"`
	Job                     LambdaJob    `json:"job"`
	Tasks                   []LambdaTask `json:"tasks"`
}

// LambdaJob is the job of an event.
type LambdaJob struct {
	ID            string            `json:"id"`
	UserArguments map[string]string `json:"userArguments,omitempty"`
}

// LambdaTask is the task of an event.
type LambdaTask struct {
	TaskID      string  `json:"taskId"`
	S3Key       string  `json:"s3Key"`
	S3VersionID *string `json:"s3VersionId"`
	S3Bucket    string  `json:"s3Bucket,omitempty"`    // 2.0
	S3BucketArn string  `json:"s3BucketArn,omitempty"` // 1.0
}

// LambdaResponse is what the function returns.
type LambdaResponse struct {
	InvocationSchemaVersion string         `json:"invocationSchemaVersion"`
	TreatMissingKeysAs      string         `json:"treatMissingKeysAs,omitempty"`
	InvocationID            string         `json:"invocationId"`
	Results                 []LambdaResult `json:"results"`
}

// LambdaResult is one task's result: ResultCode is Succeeded,
// TemporaryFailure or PermanentFailure.
type LambdaResult struct {
	TaskID       string `json:"taskId"`
	ResultCode   string `json:"resultCode"`
	ResultString string `json:"resultString"`
}

func randomID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// invokeLambda invokes the job's function for one task, as Batch
// Operations does — one task per event — and maps the answer as the
// completion report shows it (largecopy.Outcome, docs/formats.md#lambda-contract):
// Succeeded is a success with resultString as the message;
// TemporaryFailure is retried (the last one is reported failed, HTTP 200,
// code TemporaryFailure); PermanentFailure, a function error or an
// unparsable answer fail at once (HTTP 200, PermanentFailure).
//
// A FunctionArn naming s3batchkit-large-copy (largecopy.IsFunction) runs
// that function's handler in process against the engine's S3 store
// (invokeLargeCopy); any other is POSTed to Options.LambdaURL, whose 429,
// 5xx and connection errors are retried.
func (e *Engine) invokeLambda(ctx context.Context, rec *jobRecord, l *types.LambdaInvokeOperation, t *taskResult) (string, error) {
	ev := lambdaEvent(rec, l, t)
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	taskID := ev.Tasks[0].TaskID
	if largecopy.IsFunction(aws.ToString(l.FunctionArn)) {
		return e.invokeLargeCopy(ctx, body, taskID)
	}
	return e.invokeURL(ctx, l, body, taskID)
}

// lambdaEvent is the event of one task: schema 2.0 events carry the
// bucket name and the job's UserArguments, 1.0 events the bucket ARN.
func lambdaEvent(rec *jobRecord, l *types.LambdaInvokeOperation, t *taskResult) LambdaEvent {
	ver := aws.ToString(l.InvocationSchemaVersion)
	if ver == "" {
		ver = "1.0"
	}
	task := LambdaTask{TaskID: base64.StdEncoding.EncodeToString([]byte(rec.ID + ":" + strconv.FormatInt(t.Index, 10))), S3Key: t.Key}
	if t.VersionID != "" {
		v := t.VersionID
		task.S3VersionID = &v
	}
	ev := LambdaEvent{InvocationSchemaVersion: ver, InvocationID: randomID(), Job: LambdaJob{ID: rec.ID}, Tasks: []LambdaTask{task}}
	if ver == "2.0" {
		ev.Tasks[0].S3Bucket = t.Bucket
		ev.Job.UserArguments = l.UserArguments
	} else {
		ev.Tasks[0].S3BucketArn = "arn:aws:s3:::" + t.Bucket
	}
	return ev
}

// invokeURL POSTs the event to Options.LambdaURL.
func (e *Engine) invokeURL(ctx context.Context, l *types.LambdaInvokeOperation, body []byte, taskID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.o.LambdaURL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Function-Arn", aws.ToString(l.FunctionArn))
	resp, err := e.o.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// No answer: HTTP status 0, as for S3 requests (TransportErrorCode),
		// but with the Lambda code Batch Operations reports.
		return "", &TaskError{HTTPStatus: 0, Code: "TemporaryFailure", Message: "Lambda invocation failed: " + err.Error(), Retryable: true}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", &TaskError{HTTPStatus: 0, Code: "TemporaryFailure", Message: "Lambda invocation failed: the answer was cut short: " + err.Error(), Retryable: true}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", &TaskError{HTTPStatus: resp.StatusCode, Code: "TemporaryFailure", Message: fmt.Sprintf("Lambda invocation failed: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw)), Retryable: true}
	case resp.StatusCode != http.StatusOK:
		return "", &TaskError{HTTPStatus: resp.StatusCode, Code: "PermanentFailure", Message: fmt.Sprintf("Lambda invocation failed: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))}
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		// The payload is the runtime's {"errorMessage", "errorType"}.
		return "", &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: "Lambda returned function error: " + string(bytes.TrimSpace(raw))}
	}
	return rowResult(largecopy.Outcome(raw, nil, taskID))
}

// rowResult turns a task's report row into what a task returns: the
// message of a success, or a TaskError retried when Batch Operations
// would redrive the task (TemporaryFailure).
func rowResult(row largecopy.ReportRow) (string, error) {
	if row.TaskStatus == "succeeded" {
		return row.ResultMessage, nil
	}
	return "", &TaskError{HTTPStatus: row.HTTPStatusCode, Code: row.ErrorCode, Message: row.ResultMessage, Retryable: row.Redrive}
}

// Defaults of LargeCopyOptions.
const (
	// DefaultLargeCopyConcurrency is the number of parts one task of the
	// in-process s3batchkit-large-copy copies at once: small, because the
	// engine runs up to Options.Workers tasks at once (the deployed
	// function's 16 are for one object per invocation).
	DefaultLargeCopyConcurrency = 4
	// DefaultLargeCopyTimeout is the time limit of one in-process
	// invocation: Lambda's longest, which docs/large-objects.md deploys
	// the function with.
	DefaultLargeCopyTimeout = 15 * time.Minute
)

// LargeCopyOptions configure the in-process s3batchkit-large-copy: the
// engine runs LambdaInvoke jobs whose FunctionArn names that function
// (largecopy.IsFunction: any account, region, version or alias) by
// calling its handler (package largecopy) against the engine's S3 store,
// with the same event and response JSON as on Lambda, so that the large
// route is rehearsed without AWS. Options.LambdaURL is not used for them.
type LargeCopyOptions struct {
	// PartSize is the part size, as the deployed function's
	// S3BATCHKIT_PART_SIZE. Zero: largecopy.DefaultPartSize.
	PartSize int64
	// Concurrency is the number of parts one task copies at once, 1 to
	// 256. Zero: DefaultLargeCopyConcurrency. Whatever it is, the
	// engine has at most max(Workers, Concurrency) parts in flight over
	// all tasks.
	Concurrency int
	// Timeout is the time limit of one invocation, as Lambda's: a copy
	// not done within it ends in TemporaryFailure, and the engine's
	// next attempt resumes it. Zero: DefaultLargeCopyTimeout.
	Timeout time.Duration
	// Arguments are the arguments of schema 1.0 events, which carry no
	// UserArguments (the deployed function reads them from its
	// environment: largecopy.EnvOptions).
	Arguments map[string]string
}

// check refuses options out of range.
func (o LargeCopyOptions) check() error {
	if o.Timeout < 0 {
		return fmt.Errorf("negative Timeout %v", o.Timeout)
	}
	return largecopy.Options{PartSize: o.PartSize, Concurrency: o.Concurrency}.Check()
}

// largeCopyFunc is the in-process function, made at its first use.
type largeCopyFunc struct {
	once sync.Once
	h    *largecopy.Handler
	err  error
}

// S3Store is a Storage backed by an S3 client, which the in-process
// s3batchkit-large-copy function copies with (UploadPartCopy). S3Storage
// is one; a Storage that wraps another (to count requests, say) passes
// its S3API on. A directory of buckets is not one.
type S3Store interface {
	Storage
	// S3API returns the store's S3 client, or nil when it has none.
	S3API() *s3.Client
}

// S3API implements S3Store.
func (s *S3Storage) S3API() *s3.Client { return s.Client }

// largeCopyClient returns the S3 client the in-process function copies
// with: the store's. A directory of buckets has none — it cannot run a
// multipart UploadPartCopy —, and CreateJob refuses such jobs.
func (e *Engine) largeCopyClient() (*s3.Client, error) {
	if st, ok := e.o.Storage.(S3Store); ok && st.S3API() != nil {
		return st.S3API(), nil
	}
	return nil, fmt.Errorf("LambdaInvoke of %s runs in the local engine as a multipart copy (UploadPartCopy), which only an S3-compatible store can do: run the engine against an S3 endpoint (%s), not a directory of buckets (%s)",
		largecopy.FunctionName, optname.Name(e.o.OptionName, "S3Storage"), optname.Name(e.o.OptionName, "DirStorage"))
}

// largeCopyHandler returns the in-process function.
func (e *Engine) largeCopyHandler() (*largecopy.Handler, error) {
	f := &e.large
	f.once.Do(func() {
		cl, err := e.largeCopyClient()
		if err != nil {
			f.err = err
			return
		}
		o := e.o.LargeCopy
		conc := o.Concurrency
		if conc == 0 {
			conc = DefaultLargeCopyConcurrency
		}
		lim := &partLimiter{Client: cl, slots: make(chan struct{}, max(e.o.Workers, conc))}
		f.h, f.err = largecopy.New(largecopy.Options{Client: lim, PartSize: o.PartSize, Concurrency: conc, Arguments: o.Arguments})
	})
	return f.h, f.err
}

// partLimiter bounds the parts in flight over every task of the
// in-process function: Workers tasks × Concurrency parts would otherwise
// be the load on the store.
type partLimiter struct {
	largecopy.Client
	slots chan struct{}
}

func (l *partLimiter) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, opts ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.slots }()
	return l.Client.UploadPartCopy(ctx, in, opts...)
}

// invokeLargeCopy runs the event through the in-process function within
// the invocation's time limit, and maps its answer as invokeLambda says.
// When ctx ends first the task did not finish: ctx's error is returned
// (the copy's upload stays, and the task's next run resumes it).
func (e *Engine) invokeLargeCopy(ctx context.Context, event []byte, taskID string) (string, error) {
	h, err := e.largeCopyHandler()
	if err != nil {
		return "", &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: err.Error()}
	}
	timeout := e.o.LargeCopy.Timeout
	if timeout == 0 {
		timeout = DefaultLargeCopyTimeout
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, funcErr := h.Invoke(ictx, event)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return rowResult(largecopy.Outcome(resp, funcErr, taskID))
}
