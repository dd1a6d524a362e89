// Package gen writes synthetic S3 Inventory reports and Batch Operations
// completion reports for tests, demos and benchmarks.
//
// Generate writes a seeded report (realistic key shapes, skewed sizes,
// every storage class, versions, delete markers, a share of tricky keys)
// in CSV.gz, Parquet or ORC; the same seed gives the same logical rows in
// every format. NewReport writes rows a caller gives, and WriteReport a
// report of data files already encoded, each with a manifest.json (sizes
// and MD5s) and manifest.checksum. The columns of a report and its
// fileSchema in each format are derived from package inventory's field
// table (ReportFields, CSVSchema, ORCSchema, ParquetSchema).
//
// Layouts choose how the binary formats are written: the ORC writer's
// options (codec, compression block size, stripes, string encodings,
// empty dictionaries, PRESENT streams, patched integer runs) and the
// Parquet writer's (codec, data page version, row groups, page size,
// dictionaries and their fallback to plain encoding). ORCLayouts and
// ParquetLayouts list the layouts real writers produce, for conformance
// tests. GenerateCompletionReports writes a report prefix of completion
// reports.
//
// Package gen backs `s3batchkit gen` and `s3batchkit bench`, and any
// test that needs an inventory; the pipeline never imports it.
package gen
