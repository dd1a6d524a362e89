package inventory_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// s3ORCFields is the schema of a real S3 Inventory ORC report with
// versions (18 columns, docs/formats.md#inventory-fields).
var s3ORCFields = []orc.Field{
	{Name: "bucket", Kind: orc.String}, {Name: "key", Kind: orc.String}, {Name: "version_id", Kind: orc.String},
	{Name: "is_latest", Kind: orc.Boolean}, {Name: "is_delete_marker", Kind: orc.Boolean}, {Name: "size", Kind: orc.Long},
	{Name: "last_modified_date", Kind: orc.Timestamp}, {Name: "e_tag", Kind: orc.String}, {Name: "storage_class", Kind: orc.String},
	{Name: "is_multipart_uploaded", Kind: orc.Boolean}, {Name: "replication_status", Kind: orc.String},
	{Name: "encryption_status", Kind: orc.String}, {Name: "object_lock_retain_until_date", Kind: orc.Timestamp},
	{Name: "object_lock_mode", Kind: orc.String}, {Name: "object_lock_legal_hold_status", Kind: orc.String},
	{Name: "intelligent_tiering_access_tier", Kind: orc.String}, {Name: "bucket_key_status", Kind: orc.String},
	{Name: "checksum_algorithm", Kind: orc.String},
}

// TestORCAsS3WritesIt reads an ORC data file shaped like the one S3 wrote
// in issue 18: format 0.12, ZLIB, 18 columns, and the string columns of
// features the bucket does not use (replication, object lock, tiering,
// checksums) null on every row, stored DICTIONARY_V2 with an empty
// dictionary and an all-false PRESENT stream. The reader used to index
// the empty dictionary for those null rows and fail with "corrupt data
// file: stripe 0: runtime error: index out of range [1] with length 1".
// The version id of a null-version object is a null value, and must stay
// null (no text "null").
func TestORCAsS3WritesIt(t *testing.T) {
	const n = 1000
	rows := make([][]any, n)
	for i := range rows {
		var vid any = fmt.Sprintf("v%05d.%x", i, i*7919)
		if i%10 == 3 {
			vid = nil // a null-version object
		}
		rows[i] = []any{"my-bucket", fmt.Sprintf("photos/%04d/img %d.jpg", i/100, i), vid, true, false,
			int64(1000 + i*37), orcMillis(1_700_000_000_000 + int64(i)*1000), fmt.Sprintf("%032x", i), "STANDARD", false,
			nil, "SSE-S3", nil, nil, nil, nil, "DISABLED", nil}
	}
	data := writeORCOpts(t, &orc.WriterOptions{StripeRows: 400, EmptyDictionaries: true}, s3ORCFields, rows)

	// The file has the layout of the real one.
	f, err := orc.Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Compression() != orc.CompressionZlib || f.Version() != "0.12" || len(f.ColumnNames()) != 18 {
		t.Fatalf("file: %v, version %s, %d columns; want ZLIB, 0.12, 18 columns", f.Compression(), f.Version(), len(f.ColumnNames()))
	}
	var b orc.Batch
	if err := f.ReadStripeInto(&b, 0, []string{"replication_status"}, &orc.ReadOptions{Dictionaries: true}); err != nil {
		t.Fatal(err)
	}
	if c := b.Columns[0]; c.Dict == nil || c.Dict.Len != 0 || c.Valid == nil || slices.Contains(c.Valid, true) {
		t.Fatalf("replication_status is not an empty dictionary with an all-false PRESENT stream: %+v", c)
	}

	schema := "struct<" + orcFieldList(s3ORCFields) + ">"
	m := orcReport(t, schema, [][]byte{data}, nil)
	got, _, err := scanRows(t, m, inventory.ReaderOptions{BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("read %d rows, want %d", len(got), n)
	}
	for i, row := range got {
		for _, f := range []string{"replication_status", "object_lock_mode", "object_lock_legal_hold_status",
			"intelligent_tiering_access_tier", "checksum_algorithm", "object_lock_retain_until_date"} {
			if !strings.Contains(row, f+"=∅") {
				t.Fatalf("row %d: %s is not null: %s", i, f, row)
			}
		}
		nullVersion := strings.Contains(row, "version_id=∅")
		if nullVersion != (i%10 == 3) || strings.Contains(row, `version_id="null"`) {
			t.Fatalf("row %d: version id wrong: %s", i, row)
		}
	}
}

// orcFieldList renders fields as an ORC struct's field list.
func orcFieldList(fields []orc.Field) string {
	var parts []string
	for _, f := range fields {
		parts = append(parts, f.Name+":"+strings.ToLower(f.Kind.String()))
	}
	return strings.Join(parts, ",")
}
