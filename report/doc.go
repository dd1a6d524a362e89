// Package report is the audit stage: it reads S3 Batch Operations
// completion reports, merges them into one summary for a whole run,
// classifies every failure, and writes re-run manifests.
//
// In: report prefixes (a local folder now, s3:// through internal/objio
// once that backend lands) or a plan directory whose jobs.json maps shards
// to job ids and report prefixes. Each job's <prefix>/job-<id>/manifest.json
// (format Report_CSV_20180820) lists result CSV files; each file's MD5 is
// verified while its rows stream through.
//
// Out: DIR/summary.json (tasks by status, error code, HTTP status, job,
// route, key prefix, class; the most common normalised messages; objects
// seen in several jobs counted once with their latest outcome), an
// optional self-contained HTML page, and DIR/rerun/<class>/ and
// DIR/rerun/not-run/, each a plan directory (shards/<route>/<n>.csv +
// plan.json) that submit can take as it takes the output of plan.
//
// With a plan (Options.Plan), every planned object gets exactly one
// outcome — succeeded, failed by class, or not run — from the plan's
// shards, its jobs.json and each job's report (account.go; the rules are
// in docs/formats.md#completion-reports), and summary.json's plan section
// shows planned = succeeded + failed + not run per shard and in total.
// Re-run lines are always the bytes the manifests wrote, never decoded
// values encoded again: with a plan the planned lines are copied, without
// one the report's raw fields.
//
// Result rows are parsed by position in the observed physical order
// Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode,
// ResultMessage, which differs from the ReportSchema string every report
// manifest carries (docs/formats.md#rows). A file that clearly follows the
// ReportSchema order instead (column 5 not numeric, column 6 numeric) is
// accepted and counted in the summary.
//
// Memory is bounded whatever the number of rows or failures: counters are
// per job, code, status and (up to MaxPrefixes) prefix; failed objects are
// followed across jobs exactly through external sorts that spill to disk
// past MergeOptions.SortMemory (see tracker); the objects to re-run are
// sorted the same way before they are cut into shards. The Summary's
// Objects section says what is exact and what is estimated.
//
// Each result file is read by two goroutines (one reads and hashes blocks,
// one parses them in place), up to Options.Workers files at once, and one
// goroutine merges; see pipeline.go.
package report
