package inventory

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Field is one column of the canonical inventory record. The zero value is
// Bucket. Fields are ordered as S3 Inventory documents them; a batch's
// columns always appear in this order.
type Field uint8

// The canonical inventory fields. Names follow the CSV fileSchema spelling;
// ColumnName gives the snake_case spelling used by ORC, Parquet and Arrow.
const (
	Bucket Field = iota
	Key
	VersionID
	IsLatest
	IsDeleteMarker
	Size
	LastModifiedDate
	ETag
	StorageClass
	IsMultipartUploaded
	ReplicationStatus
	EncryptionStatus
	ObjectLockRetainUntilDate
	ObjectLockMode
	ObjectLockLegalHoldStatus
	IntelligentTieringAccessTier
	BucketKeyStatus
	ChecksumAlgorithm
	ObjectAccessControlList
	ObjectOwner
	LifecycleExpirationDate
	NumFields int = iota
)

// Kind is the physical type of a field's values.
type Kind uint8

const (
	KindString    Kind = iota // UTF-8 text (arrow.String)
	KindEnum                  // text normalised to upper case (arrow.String)
	KindBool                  // arrow.Boolean
	KindInt64                 // arrow.Int64
	KindTimestamp             // milliseconds since the epoch, UTC (arrow.Timestamp ms)
)

type fieldInfo struct {
	csv    string // fileSchema spelling in CSV manifests
	column string // snake_case spelling (ORC, Parquet, Arrow)
	kind   Kind
}

var fieldInfos = [NumFields]fieldInfo{
	Bucket:                       {"Bucket", "bucket", KindString},
	Key:                          {"Key", "key", KindString},
	VersionID:                    {"VersionId", "version_id", KindString},
	IsLatest:                     {"IsLatest", "is_latest", KindBool},
	IsDeleteMarker:               {"IsDeleteMarker", "is_delete_marker", KindBool},
	Size:                         {"Size", "size", KindInt64},
	LastModifiedDate:             {"LastModifiedDate", "last_modified_date", KindTimestamp},
	ETag:                         {"ETag", "e_tag", KindString},
	StorageClass:                 {"StorageClass", "storage_class", KindEnum},
	IsMultipartUploaded:          {"IsMultipartUploaded", "is_multipart_uploaded", KindBool},
	ReplicationStatus:            {"ReplicationStatus", "replication_status", KindEnum},
	EncryptionStatus:             {"EncryptionStatus", "encryption_status", KindEnum},
	ObjectLockRetainUntilDate:    {"ObjectLockRetainUntilDate", "object_lock_retain_until_date", KindTimestamp},
	ObjectLockMode:               {"ObjectLockMode", "object_lock_mode", KindEnum},
	ObjectLockLegalHoldStatus:    {"ObjectLockLegalHoldStatus", "object_lock_legal_hold_status", KindEnum},
	IntelligentTieringAccessTier: {"IntelligentTieringAccessTier", "intelligent_tiering_access_tier", KindEnum},
	BucketKeyStatus:              {"BucketKeyStatus", "bucket_key_status", KindEnum},
	ChecksumAlgorithm:            {"ChecksumAlgorithm", "checksum_algorithm", KindEnum},
	ObjectAccessControlList:      {"ObjectAccessControlList", "object_access_control_list", KindString},
	ObjectOwner:                  {"ObjectOwner", "object_owner", KindString},
	LifecycleExpirationDate:      {"LifecycleExpirationDate", "lifecycle_expiration_date", KindTimestamp},
}

// String returns the CSV fileSchema spelling of f ("VersionId").
func (f Field) String() string {
	if int(f) < NumFields {
		return fieldInfos[f].csv
	}
	return fmt.Sprintf("Field(%d)", int(f))
}

// ColumnName returns the snake_case spelling of f ("version_id"), which is
// also the Arrow column name.
func (f Field) ColumnName() string { return fieldInfos[f].column }

// Kind returns the physical type of f's values.
func (f Field) Kind() Kind { return fieldInfos[f].kind }

// ArrowType returns the Arrow type of f's column.
func (f Field) ArrowType() arrow.DataType {
	switch f.Kind() {
	case KindBool:
		return arrow.FixedWidthTypes.Boolean
	case KindInt64:
		return arrow.PrimitiveTypes.Int64
	case KindTimestamp:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	default:
		return arrow.BinaryTypes.String
	}
}

// LookupField finds a field by any of its spellings, case-insensitively:
// the CSV name ("IsDeleteMarker"), the snake_case column name
// ("is_delete_marker"), and the API's alias "DeleteMarker".
func LookupField(name string) (Field, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.ReplaceAll(n, "_", "")
	if n == "deletemarker" {
		return IsDeleteMarker, true
	}
	for i := range fieldInfos {
		if strings.ToLower(fieldInfos[i].csv) == n {
			return Field(i), true
		}
	}
	return 0, false
}

// FieldSet is a set of fields, used for projections and for saying which
// columns a report carries.
type FieldSet uint32

// AllFields holds every canonical field.
const AllFields FieldSet = 1<<NumFields - 1

// Fields returns the set holding fs.
func Fields(fs ...Field) FieldSet {
	var s FieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

// Has reports whether f is in s.
func (s FieldSet) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns s plus fs.
func (s FieldSet) With(fs ...Field) FieldSet { return s | Fields(fs...) }

// Len returns the number of fields in s.
func (s FieldSet) Len() int { return bits.OnesCount32(uint32(s & AllFields)) }

// List returns the fields of s in canonical order.
func (s FieldSet) List() []Field {
	out := make([]Field, 0, s.Len())
	for i := 0; i < NumFields; i++ {
		if s.Has(Field(i)) {
			out = append(out, Field(i))
		}
	}
	return out
}

// String lists the CSV names of the fields in s.
func (s FieldSet) String() string {
	names := make([]string, 0, s.Len())
	for _, f := range s.List() {
		names = append(names, f.String())
	}
	return strings.Join(names, ",")
}

// Schema returns the Arrow schema of batches that carry the fields of s,
// in canonical order. Every column is nullable except bucket and key.
func Schema(s FieldSet) *arrow.Schema {
	fields := make([]arrow.Field, 0, s.Len())
	for _, f := range s.List() {
		fields = append(fields, arrow.Field{
			Name:     f.ColumnName(),
			Type:     f.ArrowType(),
			Nullable: f != Bucket && f != Key,
		})
	}
	return arrow.NewSchema(fields, nil)
}

// ColumnIndex returns the index of f's column in a batch projected to s, or
// -1 when s lacks f.
func (s FieldSet) ColumnIndex(f Field) int {
	if !s.Has(f) {
		return -1
	}
	return bits.OnesCount32(uint32(s & (1<<f - 1)))
}
