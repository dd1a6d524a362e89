// Package manifest writes (and reads back) S3 Batch Operations CSV
// manifests and the plan directory that lists them.
//
// In: rows (bucket, decoded key bytes, optional version id, object size)
// chosen by the partition stage. Out: shard files in the
// S3BatchOperations_CSV_20180820 format — no header, one
// "bucket,key[,version_id]" line per object, keys percent-encoded so that
// percent- and form-decoders agree — each with its MD5 (its ETag after a
// single-part upload), and plan.json, written last as the commit marker of
// the plan directory.
package manifest
