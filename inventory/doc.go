// Package inventory is the first stage of the s3batchkit pipeline: it opens
// an S3 Inventory report by its manifest.json, verifies its checksums, and
// streams its rows as Apache Arrow record batches in one canonical schema,
// whatever the report's format (CSV.gz, Parquet or ORC).
//
// In: a manifest.json (a local path; s3:// URLs go through internal/objio)
// and the data files it lists. Out: arrow.RecordBatch values whose columns
// are the projected Fields in canonical order (see Schema), with keys
// decoded to their real bytes. Filters (filter.go) run on whole batches and
// return selections; they never see rows one at a time through interfaces.
//
// Batches are produced in a deterministic order (file by file, in the order
// of the manifest's files array) even though files are decoded in parallel.
package inventory
