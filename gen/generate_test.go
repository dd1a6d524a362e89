package gen

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// keep1K is a filter for the diff target counts: at least 1 KiB in
// STANDARD, STANDARD_IA or INTELLIGENT_TIERING (the bench filter).
func keep1K(r *Row) bool {
	if r.SizeNull || r.Size < 1024 {
		return false
	}
	switch r.StorageClass {
	case "STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING":
		return true
	}
	return false
}

// TestDiffTargetFilter checks the filtered counts where the change
// crosses the filter: a 1,023-byte object that grows to 1,024 bytes is
// dropped at the source only, so a filtered diff sees it as extra.
func TestDiffTargetFilter(t *testing.T) {
	tests := []struct {
		name          string
		i             int64
		row           Row
		wantRows      []string // keys and sizes written
		all, filtered DiffCounts
	}{
		{"unchanged", 1, Row{Key: "a", Size: 5000, StorageClass: "STANDARD"}, []string{"a 5000"}, DiffCounts{}, DiffCounts{}},
		{"missing", 300, Row{Key: "a", Size: 5000, StorageClass: "STANDARD"}, nil, DiffCounts{Missing: 1}, DiffCounts{Missing: 1}},
		{"missing, filtered out", 0, Row{Key: "a", Size: 5000, StorageClass: "GLACIER"}, nil, DiffCounts{Missing: 1}, DiffCounts{}},
		{"changed", 100, Row{Key: "a", Size: 5000, StorageClass: "STANDARD"}, []string{"a 5001"}, DiffCounts{Changed: 1}, DiffCounts{Changed: 1}},
		{"changed across the filter", 400, Row{Key: "a", Size: 1023, StorageClass: "STANDARD_IA"}, []string{"a 1024"}, DiffCounts{Changed: 1}, DiffCounts{Extra: 1}},
		{"changed, filtered out", 100, Row{Key: "a", Size: 10, StorageClass: "STANDARD"}, []string{"a 11"}, DiffCounts{Changed: 1}, DiffCounts{}},
		{"extra", 200, Row{Key: "a", Size: 5000, StorageClass: "INTELLIGENT_TIERING"}, []string{"a 5000", "a.extra 5000"}, DiffCounts{Extra: 1}, DiffCounts{Extra: 1}},
		{"extra, filtered out", 500, Row{Key: "a", Size: 5000, StorageClass: "DEEP_ARCHIVE"}, []string{"a 5000", "a.extra 5000"}, DiffCounts{Extra: 1}, DiffCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, keep := range []func(*Row) bool{keep1K, nil} {
				d := diffTarget{keep: keep}
				var got []string
				r := tt.row
				err := d.write(tt.i, &r, func(r *Row) error {
					got = append(got, fmt.Sprintf("%s %d", r.Key, r.Size))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				filtered := tt.filtered
				if keep == nil {
					filtered = DiffCounts{} // no filter, no filtered counts
				}
				if strings.Join(got, "|") != strings.Join(tt.wantRows, "|") || d.all != tt.all || d.filtered != filtered {
					t.Errorf("wrote %q, counted %+v and %+v filtered; want %q, %+v and %+v", got, d.all, d.filtered, tt.wantRows, tt.all, filtered)
				}
			}
		})
	}
}

// TestSchemasFromFieldTable checks the fileSchemas derived from package
// inventory's field table against the ones S3 writes (docs/formats.md#inventory-fields),
// spelled out here.
func TestSchemasFromFieldTable(t *testing.T) {
	csv := "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, " +
		"ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, " +
		"IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm"
	if got := CSVSchema(ReportFields(true)); got != csv {
		t.Errorf("CSV schema\n%s\nwant\n%s", got, csv)
	}
	if got, want := strings.Join(Columns(false), ", "), strings.Replace(csv, "VersionId, IsLatest, IsDeleteMarker, ", "", 1); got != want {
		t.Errorf("columns without versions %s, want %s", got, want)
	}
	orc := "struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint," +
		"last_modified_date:timestamp,e_tag:string,storage_class:string,is_multipart_uploaded:boolean,replication_status:string," +
		"encryption_status:string,object_lock_retain_until_date:timestamp,object_lock_mode:string," +
		"object_lock_legal_hold_status:string,intelligent_tiering_access_tier:string,bucket_key_status:string,checksum_algorithm:string>"
	if got := ORCSchema(ReportFields(true)); got != orc {
		t.Errorf("ORC schema\n%s\nwant\n%s", got, orc)
	}
	pq := "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; " +
		"optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); " +
		"optional boolean is_multipart_uploaded; optional binary replication_status (UTF8); optional binary encryption_status (UTF8); " +
		"optional int64 object_lock_retain_until_date (TIMESTAMP_MILLIS); optional binary object_lock_mode (UTF8); " +
		"optional binary object_lock_legal_hold_status (UTF8); optional binary intelligent_tiering_access_tier (UTF8); " +
		"optional binary bucket_key_status (UTF8); optional binary checksum_algorithm (UTF8); }"
	if got := ParquetSchema(ReportFields(false)); got != pq {
		t.Errorf("Parquet schema\n%s\nwant\n%s", got, pq)
	}
	// Every schema parses as the manifest reader parses it, to the same fields.
	for _, versions := range []bool{false, true} {
		want := ReportFields(versions)
		for format, schema := range map[string]string{"CSV": CSVSchema(want), "ORC": ORCSchema(want), "Parquet": ParquetSchema(want)} {
			raw, _ := json.Marshal(map[string]any{"fileFormat": format, "fileSchema": schema, "files": []any{map[string]any{"key": "a", "size": 1}}})
			m, err := inventory.ParseManifest(raw)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if m.Fields != want {
				t.Errorf("%s schema gives fields %v, want %v", format, m.Fields, want)
			}
		}
	}
}

// TestNullFields checks Options.Null: the fields named are null on every
// row of every format, and nothing else changes.
func TestNullFields(t *testing.T) {
	null := inventory.Fields(inventory.ReplicationStatus, inventory.ObjectLockMode, inventory.ObjectLockRetainUntilDate, inventory.ChecksumAlgorithm)
	for _, format := range []string{"csv", "parquet", "orc"} {
		base, err := Generate(context.Background(), Options{Rows: 2000, Format: format, Out: filepath.Join(t.TempDir(), "base"), Seed: 3, Versions: true})
		if err != nil {
			t.Fatal(err)
		}
		cut, err := Generate(context.Background(), Options{Rows: 2000, Format: format, Out: filepath.Join(t.TempDir(), "cut"), Seed: 3, Versions: true, Null: null})
		if err != nil {
			t.Fatal(err)
		}
		a, b := readAll(t, base.Manifest), readAll(t, cut.Manifest)
		if len(a) != len(b) || len(a) != 2000 {
			t.Fatalf("%s: %d and %d rows", format, len(a), len(b))
		}
		for i := range a {
			for _, f := range ReportFields(true).List() {
				if null.Has(f) {
					if b[i][f] != "∅" {
						t.Fatalf("%s row %d: %s = %s, want null", format, i, f, b[i][f])
					}
				} else if a[i][f] != b[i][f] {
					t.Fatalf("%s row %d: %s changed from %s to %s", format, i, f, a[i][f], b[i][f])
				}
			}
		}
	}
	if _, err := Generate(context.Background(), Options{Rows: 1, Out: t.TempDir(), Null: inventory.Fields(inventory.Key)}); err == nil {
		t.Error("a null key was accepted")
	}
}

// readAll reads a report and renders each row's fields as text ("∅" for
// null).
func readAll(t *testing.T, m string) []map[inventory.Field]string {
	t.Helper()
	r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[inventory.Field]string
	fields := r.Fields().List()
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[inventory.Field]string{}
			for k, f := range fields {
				col := rec.Column(k)
				a, isString := col.(*array.String)
				switch {
				case col.IsNull(i):
					row[f] = "∅"
				case isString:
					row[f] = a.Value(i)
				default:
					row[f] = col.ValueStr(i)
				}
			}
			out = append(out, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
