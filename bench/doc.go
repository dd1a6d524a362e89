// Package bench generates synthetic S3 Inventory reports (seeded, with
// realistic key shapes, skewed sizes, every storage class, versions, delete
// markers and a share of tricky keys) and measures the pipeline on them.
// It backs `s3batchkit gen` and `s3batchkit bench`; the pipeline never
// imports it.
package bench
