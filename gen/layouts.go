package gen

import (
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// ORCLayout is a named set of ORC writer options.
type ORCLayout struct {
	Name    string
	Options orc.WriterOptions
}

// ORCLayouts are the layouts the Java ORC writer (S3's) produces for
// inventory schemas, for conformance tests and fixtures: every codec,
// small compression blocks, several stripes, columns null on every row
// stored as empty dictionaries, one-entry dictionaries, direct strings,
// PRESENT streams left out where a column has no null (or always
// written), and patched integer runs. Stripes are small so that reports
// of a few thousand rows have several.
var ORCLayouts = []ORCLayout{
	{"java-zlib", javaORC(orc.CompressionZlib, 0)},
	{"java-snappy", javaORC(orc.CompressionSnappy, 0)},
	{"java-zstd", javaORC(orc.CompressionZstd, 0)},
	{"java-lz4", javaORC(orc.CompressionLZ4, 0)},
	{"java-none", func() orc.WriterOptions { o := javaORC(0, 0); o.NoCompression = true; return o }()},
	{"small-blocks-zlib", javaORC(orc.CompressionZlib, 100)},
	{"small-blocks-lz4", javaORC(orc.CompressionLZ4, 100)},
	{"small-blocks-zstd", javaORC(orc.CompressionZstd, 300)},
	{"direct-strings", orc.WriterOptions{StripeRows: 1000, DictionaryThreshold: -1}},
	{"dictionary-strings", orc.WriterOptions{StripeRows: 1000, DictionaryThreshold: 1, EmptyDictionaries: true}},
	{"always-present", orc.WriterOptions{StripeRows: 1000, AlwaysPresent: true, EmptyDictionaries: true}},
	{"one-stripe", orc.WriterOptions{}},
}

// javaORC returns the options of the Java writer's layout with codec c
// and compression blocks of block bytes (zero: the default 256 KiB).
func javaORC(c orc.CompressionKind, block int) orc.WriterOptions {
	return orc.WriterOptions{StripeRows: 1000, Compression: c, BlockSize: block, EmptyDictionaries: true, PatchedBase: true}
}

// ParquetLayouts are the layouts Parquet writers produce for inventory
// schemas, for conformance tests and fixtures: parquet-mr's (S3's: data
// page v1, Snappy, every text column starting as a dictionary that
// falls back to plain encoding once it outgrows its limit, several row
// groups), data page v2, other codecs, and no dictionaries. Row groups
// and pages are small so that reports of a few thousand rows have
// several.
var ParquetLayouts = []ParquetLayout{
	parquetMR("parquet-mr", ""),
	parquetMR("parquet-mr-gzip", "gzip"),
	{Name: "page-v2", PageVersion: 2, RowGroupRows: 1500, PageBytes: 4 << 10, Dictionary: "all", DictionaryMaxBytes: 8 << 10},
	{Name: "page-v2-zstd", Compression: "zstd", PageVersion: 2, RowGroupRows: 1500, PageBytes: 4 << 10},
	{Name: "plain", Compression: "none", RowGroupRows: 1500, Dictionary: "none"},
	{Name: "default"},
}

// ParquetMRCreatedBy is the created_by of S3's Parquet inventories.
const ParquetMRCreatedBy = "parquet-mr version 1.12.2 (build 77e30c8093386ec52c3cfa6c34b7ef3321322c94)"

// parquetMR returns parquet-mr's layout with codec c, scaled down: pages
// of 4 KiB rather than 1 MiB, dictionaries that fall back at 8 KiB
// rather than 1 MiB, row groups of 1,500 rows.
func parquetMR(name, c string) ParquetLayout {
	return ParquetLayout{Name: name, Compression: c, PageVersion: 1, RowGroupRows: 1500, PageBytes: 4 << 10,
		Dictionary: "all", DictionaryMaxBytes: 8 << 10, PlainDictionary: true, CreatedBy: ParquetMRCreatedBy}
}

// S3Unused are the fields S3 writes null on every row for a bucket that
// uses none of their features: replication, object lock,
// Intelligent-Tiering and additional checksums (docs/formats.md#orc-and-parquet-data-files). A
// report generated with Options.Null set to them has those columns
// null throughout, as real reports do.
var S3Unused = inventory.Fields(inventory.ReplicationStatus, inventory.ObjectLockRetainUntilDate, inventory.ObjectLockMode,
	inventory.IntelligentTieringAccessTier, inventory.ChecksumAlgorithm)
