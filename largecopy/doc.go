// Package largecopy is the S3 Batch Operations Lambda function behind the
// plan's large route: it copies objects over 5 GiB, which the
// S3PutObjectCopy operation cannot, with parallel multipart UploadPartCopy
// parts.
//
// In: a LambdaInvoke event (invocation schema 1.0 or 2.0, JSON) naming one
// or more tasks (bucket, URL-encoded key, version), and the job's
// UserArguments — the destination as TargetResource (a bucket ARN) and
// TargetKeyPrefix, and the other parameters named as in S3PutObjectCopy.
// Out: the response Batch Operations expects, one result per task:
// Succeeded, TemporaryFailure (throttling, 5xx, time running out: Batch
// Operations invokes the task again, and the copy resumes from the parts
// already done) or PermanentFailure with a message naming the object and
// the cause.
//
// The same code runs in three places: the deployed function
// (cmd/s3batchkit-large-copy, through aws-lambda-go), the local engine
// (jobs/local runs LambdaInvoke jobs that name the function in process,
// through Invoke and Outcome), and the tests (against versitygw).
//
// Guarantees: a destination object appears only complete — as a
// CompleteMultipartUpload of parts all copied from one state of the source
// (CopySourceIfMatch on the ETag the copy started from); a source that
// changes during the copy fails the task and aborts the upload. Facts used:
// docs/formats.md#operations (S3PutObjectCopy parameters),
// #lambda-contract (events, results, report rows) and #failure-classes.
package largecopy
