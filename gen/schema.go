package gen

import (
	"fmt"
	"strings"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// The fields a generated report carries: S3 Inventory's columns with
// every optional field a bucket can report on, and, with versions, the
// version columns (docs/formats.md#inventory-fields). Row holds a value for each.
var (
	currentFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size, inventory.LastModifiedDate,
		inventory.ETag, inventory.StorageClass, inventory.IsMultipartUploaded, inventory.ReplicationStatus,
		inventory.EncryptionStatus, inventory.ObjectLockRetainUntilDate, inventory.ObjectLockMode,
		inventory.ObjectLockLegalHoldStatus, inventory.IntelligentTieringAccessTier, inventory.BucketKeyStatus,
		inventory.ChecksumAlgorithm)
	versionFields = inventory.Fields(inventory.VersionID, inventory.IsLatest, inventory.IsDeleteMarker)
)

// ReportFields returns the fields of a generated report, with the version
// columns when versions is set. Their order in files is the fields'
// canonical order.
func ReportFields(versions bool) inventory.FieldSet {
	if versions {
		return currentFields | versionFields
	}
	return currentFields
}

// checkFields rejects field sets the writers cannot write: without bucket
// or key, or with fields Row has no value for.
func checkFields(s inventory.FieldSet) error {
	if !s.Has(inventory.Bucket) || !s.Has(inventory.Key) {
		return fmt.Errorf("gen: a report needs the Bucket and Key fields, got %v", s)
	}
	if extra := s &^ (currentFields | versionFields); extra != 0 {
		return fmt.Errorf("gen: no generated values for %v", extra)
	}
	return nil
}

// Columns lists the CSV fileSchema names of a generated report's
// columns, in file order.
func Columns(versions bool) []string {
	var out []string
	for _, f := range ReportFields(versions).List() {
		out = append(out, f.String())
	}
	return out
}

// CSVSchema returns the fileSchema of a CSV report of the fields of s:
// "Bucket, Key, Size, ...".
func CSVSchema(s inventory.FieldSet) string {
	var out []string
	for _, f := range s.List() {
		out = append(out, f.String())
	}
	return strings.Join(out, ", ")
}

// ORCFields returns the ORC columns of a report of the fields of s, as S3
// writes them: strings, booleans, bigints and timestamps named in
// snake_case.
func ORCFields(s inventory.FieldSet) []orc.Field {
	var out []orc.Field
	for _, f := range s.List() {
		k := orc.String
		switch f.Kind() {
		case inventory.KindBool:
			k = orc.Boolean
		case inventory.KindInt64:
			k = orc.Long
		case inventory.KindTimestamp:
			k = orc.Timestamp
		}
		out = append(out, orc.Field{Name: f.ColumnName(), Kind: k})
	}
	return out
}

// ORCSchema returns the fileSchema of an ORC report of the fields of s,
// the Hive struct its files' schema prints as:
// "struct<bucket:string,key:string,...>".
func ORCSchema(s inventory.FieldSet) string {
	t, err := orc.NewSchema(ORCFields(s)...)
	if err != nil {
		panic(err) // field names are distinct
	}
	return t.String()
}

// ParquetSchema returns the fileSchema of a Parquet report of the fields
// of s: "message s3.inventory { required binary bucket (UTF8); ... }",
// bucket and key required, the rest optional, timestamps int64
// TIMESTAMP_MILLIS.
func ParquetSchema(s inventory.FieldSet) string {
	var cols []string
	for _, f := range s.List() {
		rep := "optional"
		if f == inventory.Bucket || f == inventory.Key {
			rep = "required"
		}
		var typ string
		switch f.Kind() {
		case inventory.KindBool:
			typ = "boolean " + f.ColumnName()
		case inventory.KindInt64:
			typ = "int64 " + f.ColumnName()
		case inventory.KindTimestamp:
			typ = "int64 " + f.ColumnName() + " (TIMESTAMP_MILLIS)"
		default:
			typ = "binary " + f.ColumnName() + " (UTF8)"
		}
		cols = append(cols, rep+" "+typ)
	}
	return "message s3.inventory { " + strings.Join(cols, "; ") + "; }"
}
