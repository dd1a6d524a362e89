// Package local is the local engine: an S3 Control (Batch Operations job
// API) endpoint that runs the jobs itself, against any S3-compatible
// endpoint or a local directory of buckets, with the same manifests in and
// the same completion reports out as AWS.
//
// In: CreateJob, DescribeJob, ListJobs, UpdateJobStatus, UpdateJobPriority
// and Get/Put/DeleteJobTagging over REST-XML, as the SDKs and the AWS CLI
// send them (Engine.Handler), or in process through Client, which implements jobs.Control (and
// jobs.Store), so that jobs.Submit, Status and Update drive the engine as
// they drive AWS; RunPlan (the `run` command) is jobs.Submit against a
// Client plus a wait. Out: the tasks done against Storage, and completion
// reports in the AWS layout (<prefix>/job-<id>/manifest.json and
// results/<40 hex>.csv, docs/formats.md#report-manifest).
//
// Operations and what they do: S3PutObjectCopy (one CopyObject carrying
// the storage class, metadata, tagging, ACL, grants, conditions, redirect,
// requester-pays, SSE-KMS, bucket key, checksum and object lock fields; the
// 5 GB source limit as on AWS; a directory copies bytes and tags and checks
// the conditions against the file's time, and refuses the other fields),
// S3PutObjectTagging and S3DeleteObjectTagging, S3InitiateRestoreObject
// (one RestoreObject with the days and tier; RestoreAlreadyInProgress is a
// success; a store without archive tiers answers 501 NotImplemented, which
// the task reports, saying nothing was restored), S3ComputeObjectChecksum
// (the object is read and hashed here, FULL_OBJECT only) and LambdaInvoke
// (one event per task: to the s3batchkit-large-copy function of the large
// route, run in process against an S3 store — Options.LargeCopy —, or
// POSTed to Options.LambdaURL for any other function). Anything else the engine
// would accept and not do is refused at CreateJob (BadRequestException):
// other operations, a manifest generator or version, a report's expected bucket owner, COMPOSITE checksums. Role ARNs
// are checked for form only: the engine acts with its own credentials.
//
// Task errors: S3's status and code; a request that got no usable answer
// (refused, reset, timed out, a 200 cut short) is reported with HTTP
// status 0 and code RequestTimeout (TransportErrorCode), retried as
// transient.
//
// Options.Hold keeps prepared jobs Ready until Release, for the tests of
// the tools that drive jobs; localtest serves such an engine over HTTP.
//
// Lifecycle (docs/formats.md#job-statuses): New → Preparing (the manifest is read, its
// ETag checked, every line parsed and counted) → Suspended when
// ConfirmationRequired, until UpdateJobStatus Ready → Ready → Active →
// Complete; Failing → Failed when the manifest cannot be used or, once at
// least 1,000 tasks have run, more than half of them failed (docs/formats.md#failure-threshold);
// Cancelling → Cancelled on UpdateJobStatus Cancelled. Ready jobs start by
// priority (higher first), then age, at most Options.MaxActiveJobs at a
// time; tasks of all active jobs share Options.Workers.
//
// Durability: Options.StateDir holds jobs.log, an append-only JSON-lines
// log of job records (one line per change, fsync'd), and per job a
// results.jsonl of finished tasks, appended and fsync'd in groups (every
// Options.SyncInterval or 4,096 results). New replays them: every job not
// in a terminal state resumes where it stood, and a task is done again only
// if its result had not reached the disk when the process died (at most
// one group; every operation here is idempotent).
//
// The HTTP front (Engine.Handler) takes a request only when it names the
// endpoint in its Host header, its body is at most APIOptions.MaxBodyBytes,
// and it is signed with AWS Signature Version 4 by a key of
// APIOptions.Credentials (by default, in serve, the credentials the
// process runs with); otherwise it answers S3's 403 or 400 and changes
// nothing. The account is the signed X-Amz-Account-Id header: any
// accepted key may act in any account. It is a rehearsal and test
// endpoint, not a multi-tenant service; it speaks plain HTTP.
package local
