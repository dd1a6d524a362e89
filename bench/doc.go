// Package bench measures the pipeline on synthetic S3 Inventory reports,
// which package gen writes (and bench caches): each stage — read, filter,
// write, sort, plan, diff (package diff), report — in child processes or
// in process, with wall and CPU time, peak memory and projections, and a
// DuckDB peer on the same task. It backs `s3batchkit bench`; the pipeline
// never imports it.
package bench
