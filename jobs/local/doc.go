// Package local is the local engine: an S3 Control (Batch Operations job
// API) endpoint that runs the jobs itself, against any S3-compatible
// endpoint or a local directory of buckets, with the same manifests in and
// the same completion reports out as AWS.
//
// In: CreateJob, DescribeJob, ListJobs, UpdateJobStatus, UpdateJobPriority
// and Get/Put/DeleteJobTagging over REST-XML, as the SDKs and the AWS CLI
// send them (Engine.Handler),
// or jobs created in process (Engine.CreateJob, RunPlan). Out: the tasks
// done against Storage, and completion reports in the AWS layout
// (<prefix>/job-<id>/manifest.json and results/<40 hex>.csv, formats.md §7).
//
// Lifecycle (formats.md §6.5): New → Preparing (the manifest is read, its
// ETag checked, every line parsed and counted) → Suspended when
// ConfirmationRequired, until UpdateJobStatus Ready → Ready → Active →
// Complete; Failing → Failed when the manifest cannot be used or, once at
// least 1,000 tasks have run, more than half of them failed (§7.5);
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
