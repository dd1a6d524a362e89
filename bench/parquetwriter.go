package bench

import (
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// ParquetRowGroupRows is the number of rows per row group in generated
// Parquet files (S3 Inventory does not document its row group size; about
// 128k rows keeps one row group of a plan projection near a few MiB).
const ParquetRowGroupRows = 128 * 1024

// parquetBatchRows is how many rows the writer converts before handing
// them to parquet-go.
const parquetBatchRows = 4096

// parquetColumns is S3 Inventory's Parquet schema (formats.md §2.2), in
// file order; the first three after bucket and key are present only in
// reports with versions.
var parquetColumns = []string{
	"required binary bucket (UTF8)",
	"required binary key (UTF8)",
	"optional binary version_id (UTF8)",
	"optional boolean is_latest",
	"optional boolean is_delete_marker",
	"optional int64 size",
	"optional int64 last_modified_date (TIMESTAMP_MILLIS)",
	"optional binary e_tag (UTF8)",
	"optional binary storage_class (UTF8)",
	"optional boolean is_multipart_uploaded",
	"optional binary replication_status (UTF8)",
	"optional binary encryption_status (UTF8)",
	"optional int64 object_lock_retain_until_date (TIMESTAMP_MILLIS)",
	"optional binary object_lock_mode (UTF8)",
	"optional binary object_lock_legal_hold_status (UTF8)",
	"optional binary intelligent_tiering_access_tier (UTF8)",
	"optional binary bucket_key_status (UTF8)",
	"optional binary checksum_algorithm (UTF8)",
}

// parquetSchema returns the manifest fileSchema of a generated Parquet
// report: "message s3.inventory { required binary bucket (UTF8); ... }".
func parquetSchema(versions bool) string {
	cols := parquetColumns
	if !versions {
		cols = append(cols[:2:2], cols[5:]...)
	}
	return "message s3.inventory { " + strings.Join(cols, "; ") + "; }"
}

// Parquet row models, one per report shape. Field order is file column
// order. An optional non-pointer field is null when zero (empty text, a
// zero timestamp); pointers are used where zero is a value (false, size 0).
// Low-cardinality text is dictionary-encoded, as parquet-mr does.
type parquetRow struct {
	Bucket       string `parquet:"bucket,dict"`
	Key          string `parquet:"key"`
	Size         *int64 `parquet:"size,optional"`
	LastModified int64  `parquet:"last_modified_date,optional,timestamp(millisecond)"`
	ETag         string `parquet:"e_tag,optional"`
	StorageClass string `parquet:"storage_class,optional,dict"`
	IsMultipart  *bool  `parquet:"is_multipart_uploaded,optional"`
	Replication  string `parquet:"replication_status,optional,dict"`
	Encryption   string `parquet:"encryption_status,optional,dict"`
	LockRetain   *int64 `parquet:"object_lock_retain_until_date,optional,timestamp(millisecond)"`
	LockMode     string `parquet:"object_lock_mode,optional,dict"`
	LegalHold    string `parquet:"object_lock_legal_hold_status,optional,dict"`
	TieringTier  string `parquet:"intelligent_tiering_access_tier,optional,dict"`
	BucketKey    string `parquet:"bucket_key_status,optional,dict"`
	ChecksumAlgo string `parquet:"checksum_algorithm,optional,dict"`
}

type parquetVersionedRow struct {
	Bucket         string  `parquet:"bucket,dict"`
	Key            string  `parquet:"key"`
	VersionID      *string `parquet:"version_id,optional"`
	IsLatest       *bool   `parquet:"is_latest,optional"`
	IsDeleteMarker *bool   `parquet:"is_delete_marker,optional"`
	Size           *int64  `parquet:"size,optional"`
	LastModified   int64   `parquet:"last_modified_date,optional,timestamp(millisecond)"`
	ETag           string  `parquet:"e_tag,optional"`
	StorageClass   string  `parquet:"storage_class,optional,dict"`
	IsMultipart    *bool   `parquet:"is_multipart_uploaded,optional"`
	Replication    string  `parquet:"replication_status,optional,dict"`
	Encryption     string  `parquet:"encryption_status,optional,dict"`
	LockRetain     *int64  `parquet:"object_lock_retain_until_date,optional,timestamp(millisecond)"`
	LockMode       string  `parquet:"object_lock_mode,optional,dict"`
	LegalHold      string  `parquet:"object_lock_legal_hold_status,optional,dict"`
	TieringTier    string  `parquet:"intelligent_tiering_access_tier,optional,dict"`
	BucketKey      string  `parquet:"bucket_key_status,optional,dict"`
	ChecksumAlgo   string  `parquet:"checksum_algorithm,optional,dict"`
}

var (
	pqTrue, pqFalse = true, false
	pqEmpty         = ""
)

func boolPtr(v bool) *bool {
	if v {
		return &pqTrue
	}
	return &pqFalse
}

// parquetWriter writes rows as S3 Inventory writes Parquet: the schema of
// formats.md §2.2, Snappy, data page v1, row groups of
// ParquetRowGroupRows rows, keys raw. Empty text is null, except an empty
// version id, which is written as an empty string (the null version, as
// S3 writes it in CSV).
type parquetWriter[T any] struct {
	w    *parquet.GenericWriter[T]
	rows []T
	// sizes (sizes and lock dates) and versions back the pointers of the
	// buffered rows; they never grow past their capacity, so the pointers
	// stay valid until flush.
	sizes    []int64
	versions []string
	conv     func(pw *parquetWriter[T], r *Row, dst *T)
}

func newParquetWriter(w io.Writer, versions bool) (fileWriter, error) {
	if versions {
		return newParquetWriterOf(w, convVersioned), nil
	}
	return newParquetWriterOf(w, convPlain), nil
}

func newParquetWriterOf[T any](w io.Writer, conv func(pw *parquetWriter[T], r *Row, dst *T)) *parquetWriter[T] {
	schema := parquet.NewSchema("s3.inventory", parquet.SchemaOf(new(T)))
	return &parquetWriter[T]{
		w: parquet.NewGenericWriter[T](w, schema,
			parquet.Compression(&parquet.Snappy),
			parquet.DataPageVersion(1),
			parquet.PageBufferSize(1<<20),
			parquet.MaxRowsPerRowGroup(ParquetRowGroupRows),
			parquet.CreatedBy("s3batchkit gen", "", ""),
		),
		rows:     make([]T, 0, parquetBatchRows),
		sizes:    make([]int64, 0, 2*parquetBatchRows),
		versions: make([]string, 0, parquetBatchRows),
		conv:     conv,
	}
}

func (pw *parquetWriter[T]) size(r *Row) *int64 {
	if r.SizeNull {
		return nil
	}
	pw.sizes = append(pw.sizes, r.Size)
	return &pw.sizes[len(pw.sizes)-1]
}

func (pw *parquetWriter[T]) lockRetain(r *Row) *int64 {
	if r.LockRetain == 0 {
		return nil
	}
	pw.sizes = append(pw.sizes, r.LockRetain)
	return &pw.sizes[len(pw.sizes)-1]
}

func (pw *parquetWriter[T]) multipart(r *Row) *bool {
	if r.IsDeleteMarker {
		return nil
	}
	return boolPtr(r.IsMultipart)
}

func convPlain(pw *parquetWriter[parquetRow], r *Row, d *parquetRow) {
	*d = parquetRow{
		Bucket: r.Bucket, Key: r.Key, Size: pw.size(r), LastModified: r.LastModified, ETag: r.ETag,
		StorageClass: r.StorageClass, IsMultipart: pw.multipart(r), Replication: r.Replication,
		Encryption: r.Encryption, LockRetain: pw.lockRetain(r), LockMode: r.LockMode, LegalHold: r.LegalHold,
		TieringTier: r.TieringTier, BucketKey: r.BucketKey, ChecksumAlgo: r.ChecksumAlgo,
	}
}

func convVersioned(pw *parquetWriter[parquetVersionedRow], r *Row, d *parquetVersionedRow) {
	vid := &pqEmpty
	if r.VersionID != "" {
		pw.versions = append(pw.versions, r.VersionID)
		vid = &pw.versions[len(pw.versions)-1]
	}
	*d = parquetVersionedRow{
		Bucket: r.Bucket, Key: r.Key, VersionID: vid, IsLatest: boolPtr(r.IsLatest), IsDeleteMarker: boolPtr(r.IsDeleteMarker),
		Size: pw.size(r), LastModified: r.LastModified, ETag: r.ETag,
		StorageClass: r.StorageClass, IsMultipart: pw.multipart(r), Replication: r.Replication,
		Encryption: r.Encryption, LockRetain: pw.lockRetain(r), LockMode: r.LockMode, LegalHold: r.LegalHold,
		TieringTier: r.TieringTier, BucketKey: r.BucketKey, ChecksumAlgo: r.ChecksumAlgo,
	}
}

func (pw *parquetWriter[T]) Write(r *Row) error {
	pw.rows = pw.rows[:len(pw.rows)+1]
	pw.conv(pw, r, &pw.rows[len(pw.rows)-1])
	if len(pw.rows) == cap(pw.rows) {
		return pw.flush()
	}
	return nil
}

func (pw *parquetWriter[T]) flush() error {
	if len(pw.rows) > 0 {
		if _, err := pw.w.Write(pw.rows); err != nil {
			return err
		}
	}
	pw.rows, pw.sizes, pw.versions = pw.rows[:0], pw.sizes[:0], pw.versions[:0]
	return nil
}

func (pw *parquetWriter[T]) Close() error {
	if err := pw.flush(); err != nil {
		return err
	}
	return pw.w.Close()
}
