// Package jobs is the running stage: it turns a plan directory into S3
// Batch Operations jobs and tracks them.
//
// In: a plan (plan.json and its shard manifests, local or s3://), an
// operation in the AWS CLI's JSON shape, a role, a report location.
// Out: one job per shard through S3 Control CreateJob, each with a
// deterministic ClientRequestToken, and DIR/jobs.json, the run's record
// (shard → job id, token, status), rewritten atomically as jobs are
// created so that a rerun creates only the missing ones.
//
// Submit uploads the shards of a local plan (one PUT each, so that the
// ETag is the plan's MD5, checked), validates everything before the first
// call, bounds calls in flight, and retries throttling with backoff. It
// sends each operation only to the plan routes it can serve (ServesRoute)
// and, for copies of versioned plans, creates the current-version jobs of
// a route only after its noncurrent-version jobs are Complete. Status
// describes every job of the run and records what it saw in jobs.json.
// Update changes status or priority across the run. The local engine
// (package local) implements Control, so the same code drives it.
//
// Facts used, in docs/formats.md: #manifest-location, #createjob,
// #job-statuses, #errors-and-throttling, and #host-prefix (the account id
// the SDK puts in front of the host, and the fixed endpoint resolver).
package jobs
