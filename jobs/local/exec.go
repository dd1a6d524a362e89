package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// executor runs the tasks of one job.
type executor struct {
	e   *Engine
	rec *jobRecord
	// task runs one attempt: nil or a *TaskError, or a context error.
	task func(ctx context.Context, o ObjectRef, t *taskResult) error
	// msg is the ResultMessage of a success, unless task set one.
	msg string
	// fatal, when set, is told of an error that ends the whole job rather
	// than one task: credentials missing or rejected, which would fail
	// every task alike and are never a task's result.
	fatal func(error)
}

var targetRE = regexp.MustCompile(`^arn:[^:]+:s3:::(.+)$|^arn:[^:]+:s3express:[^:]+:\d{12}:bucket/(.+)$`)

func (e *Engine) newExecutor(rec *jobRecord) (*executor, error) {
	x := &executor{e: e, rec: rec, msg: "Successful"}
	op := rec.Operation
	st := e.o.Storage
	switch {
	case op.S3PutObjectCopy != nil:
		c := op.S3PutObjectCopy
		m := targetRE.FindStringSubmatch(aws.ToString(c.TargetResource))
		if m == nil {
			return nil, fmt.Errorf("TargetResource %q is not a bucket ARN", aws.ToString(c.TargetResource))
		}
		dst := m[1] + m[2]
		prefix := targetPrefix(aws.ToString(c.TargetKeyPrefix))
		checkSize := e.o.CopySizeCheck.checksCopySize(rec.Tags)
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error {
			if checkSize {
				meta, err := st.Head(ctx, o)
				if err != nil {
					return err
				}
				if te := checkCopySource(meta.Size); te != nil {
					return te
				}
			}
			return st.Copy(ctx, o, dst, prefix+o.Key, c)
		}
	case op.S3PutObjectTagging != nil:
		tags := op.S3PutObjectTagging.TagSet
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error { return st.PutTagging(ctx, o, tags) }
	case op.S3DeleteObjectTagging != nil:
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error { return st.DeleteTagging(ctx, o) }
	case op.S3InitiateRestoreObject != nil:
		r := op.S3InitiateRestoreObject
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error {
			msg, err := st.Restore(ctx, o, r.ExpirationInDays, r.GlacierJobTier)
			t.Message = msg
			return err
		}
	case op.S3ComputeObjectChecksum != nil:
		c := op.S3ComputeObjectChecksum
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error {
			msg, err := computeChecksum(ctx, st, o, c.ChecksumAlgorithm, c.ChecksumType)
			t.Message = msg
			return err
		}
	case op.LambdaInvoke != nil:
		l := op.LambdaInvoke
		if largecopy.IsFunction(aws.ToString(l.FunctionArn)) {
			if _, err := e.largeCopyHandler(); err != nil {
				return nil, err
			}
		}
		x.task = func(ctx context.Context, o ObjectRef, t *taskResult) error {
			msg, err := e.invokeLambda(ctx, rec, l, t)
			t.Message = msg
			return err
		}
	default:
		return nil, fmt.Errorf("operation %v is not supported by the local engine", op)
	}
	return x, nil
}

// targetPrefix is the destination folder of TargetKeyPrefix, read as the
// large route's function reads it (largecopy.TargetPrefix): AWS documents
// it as a folder, so a missing trailing "/" is added — UNCONFIRMED
// against a live job.
func targetPrefix(p string) string { return largecopy.TargetPrefix(p) }

// do runs one task with retries and fills t. It returns false when ctx
// ended before the task finished (it is then not recorded).
func (x *executor) do(ctx context.Context, row manifest.Row, t *taskResult) bool {
	if row.HasVersion && row.VersionID == "" {
		// As Batch Operations answers a manifest with version ids whose
		// line leaves the version empty: a null-version object must be
		// named "null" (docs/formats.md#csv-data-files).
		t.OK, t.HTTP, t.Code, t.Message = false, 400, "InvalidRequest", "Task failed due to missing VersionId"
		return true
	}
	o := ObjectRef{Bucket: row.Bucket, Key: row.Key, VersionID: row.VersionID}
	backoff := x.e.o.RetryBackoff
	for attempt := 1; ; attempt++ {
		t.Message = ""
		err := x.task(ctx, o, t)
		if err == nil {
			t.OK, t.HTTP, t.Code = true, 200, ""
			if t.Message == "" {
				t.Message = x.msg
			}
			return true
		}
		te, cerr := asTaskError(err)
		if cerr != nil && x.fatal != nil && errors.Is(cerr, objio.ErrCredentials) {
			x.fatal(cerr)
			return false
		}
		if cerr != nil || ctx.Err() != nil {
			return false
		}
		if !te.Retryable || attempt >= x.e.o.TaskAttempts {
			t.OK, t.HTTP, t.Code, t.Message = false, te.HTTPStatus, te.Code, te.Message
			return true
		}
		d := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		if !sleep(ctx, d) {
			return false
		}
		x.e.taskRetries.Add(1)
		backoff = min(2*backoff, 20*time.Second)
	}
}
