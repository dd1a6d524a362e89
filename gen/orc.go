package gen

import (
	"io"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// ORCStripeRows is the most rows per stripe in generated ORC files. S3
// Inventory does not document its stripe size; 128k rows matches the
// Parquet row groups (ParquetRowGroupRows), so that both formats are read
// in units of the same size, and keeps one stripe of the plan projection
// at a few MiB.
const ORCStripeRows = 128 * 1024

// orcBatchRows is how many rows the writer buffers before handing them to
// the ORC writer.
const orcBatchRows = 8192

// DefaultORC returns the ORC writer options of generated reports: ZLIB,
// stripes of ORCStripeRows rows, dictionaries where strings repeat.
func DefaultORC() orc.WriterOptions { return orc.WriterOptions{StripeRows: ORCStripeRows} }

// orcWriter writes rows as S3 Inventory writes ORC: the schema of
// docs/formats.md#inventory-fields (ORCFields), RLE v2 integers, keys raw, with the
// options of Layout.ORC (default DefaultORC). Empty text is null, except
// an empty version id, which is written as an empty string unless
// Layout.NullVersionIDs is set (the null version: S3 writes a null
// value). Timestamps are UTC instants at millisecond precision.
type orcWriter struct {
	w           *orc.Writer
	nullVersion bool
	batch       orc.Batch
	// Columns of batch, by role; nil when the report lacks the column.
	bucket, key, versionID, etag, class, repl, enc, lockMode, hold, tier, bucketKey, algo *orc.Column
	isLatest, isDM, multipart                                                             *orc.Column
	size, lastMod, lockRetain                                                             *orc.Column
}

func newORCWriter(w io.Writer, fields inventory.FieldSet, l *Layout) (fileWriter, error) {
	schema, err := orc.NewSchema(ORCFields(fields)...)
	if err != nil {
		return nil, err
	}
	opts := DefaultORC()
	if l.ORC != nil {
		opts = *l.ORC
	}
	ow, err := orc.NewWriter(w, schema, &opts)
	if err != nil {
		return nil, err
	}
	o := &orcWriter{w: ow, nullVersion: l.NullVersionIDs}
	byName := map[string]*orc.Column{}
	for i, name := range schema.FieldNames {
		c := &orc.Column{Type: schema.Children[i], Valid: make([]bool, 0, orcBatchRows)}
		switch schema.Children[i].Kind {
		case orc.String:
			c.Offsets = make([]int32, 1, orcBatchRows+1)
			c.Bytes = make([]byte, 0, 64*orcBatchRows)
		case orc.Boolean:
			c.Bool = make([]bool, 0, orcBatchRows)
		case orc.Long:
			c.Int64 = make([]int64, 0, orcBatchRows)
		case orc.Timestamp:
			c.Int64 = make([]int64, 0, orcBatchRows)
			c.Nanos = make([]int32, 0, orcBatchRows)
		}
		o.batch.Names = append(o.batch.Names, name)
		o.batch.Columns = append(o.batch.Columns, c)
		byName[name] = c
	}
	o.bucket, o.key, o.versionID = byName["bucket"], byName["key"], byName["version_id"]
	o.isLatest, o.isDM = byName["is_latest"], byName["is_delete_marker"]
	o.size, o.lastMod, o.etag, o.class = byName["size"], byName["last_modified_date"], byName["e_tag"], byName["storage_class"]
	o.multipart, o.repl, o.enc = byName["is_multipart_uploaded"], byName["replication_status"], byName["encryption_status"]
	o.lockRetain, o.lockMode, o.hold = byName["object_lock_retain_until_date"], byName["object_lock_mode"], byName["object_lock_legal_hold_status"]
	o.tier, o.bucketKey, o.algo = byName["intelligent_tiering_access_tier"], byName["bucket_key_status"], byName["checksum_algorithm"]
	return o, nil
}

// orcString appends a text value; null when null is set.
func orcString(c *orc.Column, v string, null bool) {
	if c == nil {
		return
	}
	if !null {
		c.Bytes = append(c.Bytes, v...)
	}
	c.Offsets = append(c.Offsets, int32(len(c.Bytes)))
	c.Valid = append(c.Valid, !null)
	c.Len++
}

func orcBool(c *orc.Column, v, null bool) {
	if c == nil {
		return
	}
	c.Bool = append(c.Bool, v && !null)
	c.Valid = append(c.Valid, !null)
	c.Len++
}

func orcLong(c *orc.Column, v int64, null bool) {
	if c == nil {
		return
	}
	if null {
		v = 0
	}
	c.Int64 = append(c.Int64, v)
	c.Valid = append(c.Valid, !null)
	c.Len++
}

// orcTimestamp appends ms (milliseconds since the epoch) as seconds and
// nanoseconds, flooring for instants before 1970.
func orcTimestamp(c *orc.Column, ms int64, null bool) {
	if c == nil {
		return
	}
	var sec int64
	var ns int32
	if !null {
		sec, ns = ms/1000, int32(ms%1000)*1_000_000
		if ns < 0 {
			sec, ns = sec-1, ns+1_000_000_000
		}
	}
	c.Int64 = append(c.Int64, sec)
	c.Nanos = append(c.Nanos, ns)
	c.Valid = append(c.Valid, !null)
	c.Len++
}

func (o *orcWriter) Write(r *Row) error {
	orcString(o.bucket, r.Bucket, false)
	orcString(o.key, r.Key, false)
	orcString(o.versionID, r.VersionID, o.nullVersion && r.VersionID == "")
	orcBool(o.isLatest, r.IsLatest, false)
	orcBool(o.isDM, r.IsDeleteMarker, false)
	orcLong(o.size, r.Size, r.SizeNull)
	orcTimestamp(o.lastMod, r.LastModified, false)
	orcString(o.etag, r.ETag, r.ETag == "")
	orcString(o.class, r.StorageClass, r.StorageClass == "")
	orcBool(o.multipart, r.IsMultipart, r.IsDeleteMarker)
	orcString(o.repl, r.Replication, r.Replication == "")
	orcString(o.enc, r.Encryption, r.Encryption == "")
	orcTimestamp(o.lockRetain, r.LockRetain, r.LockRetain == 0)
	orcString(o.lockMode, r.LockMode, r.LockMode == "")
	orcString(o.hold, r.LegalHold, r.LegalHold == "")
	orcString(o.tier, r.TieringTier, r.TieringTier == "")
	orcString(o.bucketKey, r.BucketKey, r.BucketKey == "")
	orcString(o.algo, r.ChecksumAlgo, r.ChecksumAlgo == "")
	o.batch.NumRows++
	if o.batch.NumRows == orcBatchRows {
		return o.flush()
	}
	return nil
}

// flush hands the buffered rows to the ORC writer (which copies them) and
// empties the batch.
func (o *orcWriter) flush() error {
	if o.batch.NumRows == 0 {
		return nil
	}
	err := o.w.Write(&o.batch)
	o.batch.NumRows = 0
	for _, c := range o.batch.Columns {
		c.Len = 0
		c.Valid = c.Valid[:0]
		c.Bool = c.Bool[:0]
		c.Int64 = c.Int64[:0]
		c.Nanos = c.Nanos[:0]
		c.Bytes = c.Bytes[:0]
		if c.Offsets != nil {
			c.Offsets = c.Offsets[:1]
		}
	}
	return err
}

func (o *orcWriter) Close() error {
	if err := o.flush(); err != nil {
		return err
	}
	return o.w.Close()
}
