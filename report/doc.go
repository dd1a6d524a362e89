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
// optional self-contained HTML page, and DIR/rerun/<class>/, each a plan
// directory (shards/<route>/<n>.csv + plan.json) that submit can take as it
// takes the output of plan.
//
// Result rows are parsed by position in the observed physical order
// Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode,
// ResultMessage, which differs from the ReportSchema string every report
// manifest carries (formats.md §0.1, §7.3). A file that clearly follows the
// ReportSchema order instead (column 5 not numeric, column 6 numeric) is
// accepted and counted in the summary.
//
// Memory is bounded by the number of distinct failed objects, not by the
// number of rows: see Options.MaxTrackedFailures and the Summary's Objects
// section for what is exact and what is estimated.
package report
