package gen

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// ParquetRowGroupRows is the number of rows per row group in generated
// Parquet files (S3 Inventory does not document its row group size; about
// 128k rows keeps one row group of a plan projection near a few MiB).
const ParquetRowGroupRows = 128 * 1024

// parquetBatchRows is how many rows the writer converts before handing
// them to parquet-go.
const parquetBatchRows = 4096

// ParquetLayout is how the Parquet writer lays out a file. The zero value
// is the layout of generated reports (DefaultParquet).
type ParquetLayout struct {
	// Name names the layout in tests and fixtures.
	Name string
	// Compression is the codec: snappy (the default, as S3 writes),
	// gzip, zstd or none.
	Compression string
	// PageVersion is the data page version: 1 (the default, as
	// parquet-mr writes) or 2.
	PageVersion int
	// RowGroupRows bounds the rows of a row group; zero means
	// ParquetRowGroupRows.
	RowGroupRows int
	// PageBytes is the size at which a page is cut; zero means 1 MiB.
	PageBytes int
	// Dictionary chooses the dictionary-encoded columns: "" or "enums"
	// (bucket and the low-cardinality text columns), "all" (every text
	// column, as parquet-mr starts each chunk, but those of Options.Null:
	// parquet-mr drops a dictionary that does not make the first page
	// smaller, and writes a chunk with no value as PLAIN pages of
	// definition levels) or "none".
	Dictionary string
	// DictionaryMaxBytes, when positive, makes a column whose dictionary
	// grows past this size fall back to PLAIN for the rest of its row
	// group, after pages already written with the dictionary (parquet-mr
	// falls back at its dictionary page size, 1 MiB by default).
	DictionaryMaxBytes int64
	// PlainDictionary marks the pages of dictionary-encoded data, and
	// dictionary pages, PLAIN_DICTIONARY, as parquet-mr's data page v1
	// writer does, rather than RLE_DICTIONARY and PLAIN (the bytes are the
	// same). The file is rewritten in memory when closed.
	PlainDictionary bool
	// CreatedBy is the footer's created_by; empty means "s3batchkit gen".
	CreatedBy string
}

// DefaultParquet is the layout of generated reports.
var DefaultParquet = ParquetLayout{Name: "default"}

// parquetRow is the Parquet row model of a generated report, every field
// in file order. Columns the report lacks are left out by StructTag
// options; a layout's dictionaries are set likewise. An optional
// non-pointer field is null when zero (empty text, a zero timestamp);
// pointers are used where zero is a value (false, size 0, the empty
// version id of the null version). Low-cardinality text is
// dictionary-encoded, as parquet-mr does.
type parquetRow struct {
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

// parquetTags returns the StructTag options that shape parquetRow into a
// report of the fields of s in layout l: the fields s lacks left out, and
// the dictionaries l asks for.
func parquetTags(s, null inventory.FieldSet, l *ParquetLayout) ([]parquet.SchemaOption, error) {
	var opts []parquet.SchemaOption
	t := reflect.TypeFor[parquetRow]()
	for i := range t.NumField() {
		goName := t.Field(i).Name // StructTag paths name Go fields
		tag := t.Field(i).Tag.Get("parquet")
		name, _, _ := strings.Cut(tag, ",")
		f, ok := inventory.LookupField(name)
		if !ok {
			return nil, fmt.Errorf("gen: parquetRow column %q is no inventory field", name)
		}
		if !s.Has(f) {
			opts = append(opts, parquet.StructTag(`parquet:"-"`, goName))
			continue
		}
		text := f.Kind() == inventory.KindString || f.Kind() == inventory.KindEnum
		dict := strings.HasSuffix(tag, ",dict")
		var want bool
		switch l.Dictionary {
		case "", "enums":
			continue
		case "all":
			want = text && !null.Has(f)
		case "none":
			want = false
		default:
			return nil, fmt.Errorf("gen: Parquet dictionary %q: expected enums, all or none", l.Dictionary)
		}
		switch {
		case want && !dict:
			opts = append(opts, parquet.StructTag(reflect.StructTag(`parquet:"`+tag+`,dict"`), goName))
		case !want && dict:
			opts = append(opts, parquet.StructTag(reflect.StructTag(`parquet:"`+strings.TrimSuffix(tag, ",dict")+`"`), goName))
		}
	}
	return opts, nil
}

// parquetCodec returns the codec a layout names.
func parquetCodec(name string) (compress.Codec, error) {
	switch name {
	case "", "snappy":
		return &parquet.Snappy, nil
	case "gzip":
		return &parquet.Gzip, nil
	case "zstd":
		return &parquet.Zstd, nil
	case "none":
		return &parquet.Uncompressed, nil
	}
	return nil, fmt.Errorf("gen: Parquet compression %q: expected snappy, gzip, zstd or none", name)
}

// parquetWriter writes rows as S3 Inventory writes Parquet: the schema of
// docs/formats.md#inventory-fields (ParquetSchema), keys raw, in the layout of
// Layout.Parquet (default: Snappy, data page v1, row groups of
// ParquetRowGroupRows rows). Empty text is null, except an empty version
// id, which is written as an empty string unless Layout.NullVersionIDs is
// set (the null version: S3 writes a null value).
type parquetWriter struct {
	w           *parquet.GenericWriter[parquetRow]
	out         io.Writer     // the file
	mem         *bytes.Buffer // the file, when it is rewritten at Close
	rows        []parquetRow
	nullVersion bool
	// sizes (sizes and lock dates) and versions back the pointers of the
	// buffered rows; they never grow past their capacity, so the pointers
	// stay valid until flush.
	sizes    []int64
	versions []string
}

func newParquetWriter(w io.Writer, fields inventory.FieldSet, l *Layout) (fileWriter, error) {
	pl := DefaultParquet
	if l.Parquet != nil {
		pl = *l.Parquet
	}
	tags, err := parquetTags(fields, l.null, &pl)
	if err != nil {
		return nil, err
	}
	codec, err := parquetCodec(pl.Compression)
	if err != nil {
		return nil, err
	}
	version := pl.PageVersion
	if version == 0 {
		version = 1
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("gen: Parquet data page version %d: expected 1 or 2", version)
	}
	opts := []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.DataPageVersion(version),
		parquet.PageBufferSize(cmp.Or(pl.PageBytes, 1<<20)),
		parquet.MaxRowsPerRowGroup(int64(cmp.Or(pl.RowGroupRows, ParquetRowGroupRows))),
	}
	if pl.CreatedBy != "" {
		opts = append(opts, createdBy(pl.CreatedBy))
	} else {
		opts = append(opts, parquet.CreatedBy("s3batchkit gen", "", ""))
	}
	if pl.DictionaryMaxBytes > 0 {
		opts = append(opts, parquet.DictionaryMaxBytes(pl.DictionaryMaxBytes))
	}
	for _, t := range tags {
		opts = append(opts, t.(parquet.WriterOption))
	}
	schema := parquet.NewSchema("s3.inventory", parquet.SchemaOf(new(parquetRow), tags...))
	pw := &parquetWriter{
		out:         w,
		rows:        make([]parquetRow, 0, parquetBatchRows),
		sizes:       make([]int64, 0, 2*parquetBatchRows),
		versions:    make([]string, 0, parquetBatchRows),
		nullVersion: l.NullVersionIDs,
	}
	if pl.PlainDictionary {
		pw.mem = &bytes.Buffer{}
		w = pw.mem
	}
	pw.w = parquet.NewGenericWriter[parquetRow](w, append([]parquet.WriterOption{schema}, opts...)...)
	return pw, nil
}

// createdBy sets the footer's created_by as it is given.
type createdBy string

func (c createdBy) ConfigureWriter(cfg *parquet.WriterConfig) { cfg.CreatedBy = string(c) }

func (pw *parquetWriter) size(r *Row) *int64 {
	if r.SizeNull {
		return nil
	}
	pw.sizes = append(pw.sizes, r.Size)
	return &pw.sizes[len(pw.sizes)-1]
}

func (pw *parquetWriter) lockRetain(r *Row) *int64 {
	if r.LockRetain == 0 {
		return nil
	}
	pw.sizes = append(pw.sizes, r.LockRetain)
	return &pw.sizes[len(pw.sizes)-1]
}

func (pw *parquetWriter) multipart(r *Row) *bool {
	if r.IsDeleteMarker {
		return nil
	}
	return boolPtr(r.IsMultipart)
}

func (pw *parquetWriter) versionID(r *Row) *string {
	switch {
	case r.VersionID != "":
		pw.versions = append(pw.versions, r.VersionID)
		return &pw.versions[len(pw.versions)-1]
	case pw.nullVersion:
		return nil
	}
	return &pqEmpty
}

func (pw *parquetWriter) Write(r *Row) error {
	pw.rows = pw.rows[:len(pw.rows)+1]
	pw.rows[len(pw.rows)-1] = parquetRow{
		Bucket: r.Bucket, Key: r.Key, VersionID: pw.versionID(r), IsLatest: boolPtr(r.IsLatest), IsDeleteMarker: boolPtr(r.IsDeleteMarker),
		Size: pw.size(r), LastModified: r.LastModified, ETag: r.ETag,
		StorageClass: r.StorageClass, IsMultipart: pw.multipart(r), Replication: r.Replication,
		Encryption: r.Encryption, LockRetain: pw.lockRetain(r), LockMode: r.LockMode, LegalHold: r.LegalHold,
		TieringTier: r.TieringTier, BucketKey: r.BucketKey, ChecksumAlgo: r.ChecksumAlgo,
	}
	if len(pw.rows) == cap(pw.rows) {
		return pw.flush()
	}
	return nil
}

func (pw *parquetWriter) flush() error {
	if len(pw.rows) > 0 {
		if _, err := pw.w.Write(pw.rows); err != nil {
			return err
		}
	}
	pw.rows, pw.sizes, pw.versions = pw.rows[:0], pw.sizes[:0], pw.versions[:0]
	return nil
}

func (pw *parquetWriter) Close() error {
	if err := pw.flush(); err != nil {
		return err
	}
	if err := pw.w.Close(); err != nil || pw.mem == nil {
		return err
	}
	b, err := plainDictionaryIDs(pw.mem.Bytes())
	if err != nil {
		return err
	}
	_, err = pw.out.Write(b)
	return err
}
