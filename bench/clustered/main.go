// Command clustered rewrites a local unversioned inventory report with its
// rows in (bucket, key) order: a key-clustered report for the scale-out
// benchmark (bench/scaleout.sh CLUSTERED=1, docs/scale-out.md#measured),
// where gen's rows are in no key order. It holds every row in memory
// (about 1 GB for 4 M rows); it is a benchmark helper, not a tool.
//
//	go run ./bench/clustered --in DIR/manifest.json --out DIR2 [--format csv|parquet|orc] [--file-rows N]
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

func main() {
	in := flag.String("in", "", "the report's manifest.json (local)")
	out := flag.String("out", "", "the folder of the report to write")
	format := flag.String("format", "parquet", "csv, parquet or orc")
	fileRows := flag.Int("file-rows", 500_000, "rows per data file")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: clustered --in MANIFEST --out DIR [--format F] [--file-rows N]")
		os.Exit(2)
	}
	manifest, rows, err := rewrite(context.Background(), *in, *out, *format, *fileRows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustered:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d rows in key order\n", manifest, rows)
}

// record is one row as inventory.JSONRows prints it (`s3batchkit cat`);
// a field it does not know (a versioned report's) is an error.
type record struct {
	Bucket   string  `json:"bucket"`
	Key      string  `json:"key"`
	Size     *int64  `json:"size"`
	Modified *string `json:"last_modified_date"`
	ETag     *string `json:"e_tag"`
	Class    *string `json:"storage_class"`
	Multi    *bool   `json:"is_multipart_uploaded"`
	Repl     *string `json:"replication_status"`
	Enc      *string `json:"encryption_status"`
	Retain   *string `json:"object_lock_retain_until_date"`
	Mode     *string `json:"object_lock_mode"`
	Hold     *string `json:"object_lock_legal_hold_status"`
	Tier     *string `json:"intelligent_tiering_access_tier"`
	BKey     *string `json:"bucket_key_status"`
	Checksum *string `json:"checksum_algorithm"`
}

// rewrite reads the report at in, sorts its rows by (bucket, key) bytes,
// as plan sorts them, and writes them to out; it returns out's manifest
// and the rows written.
func rewrite(ctx context.Context, in, out, format string, fileRows int) (string, int, error) {
	m, err := inventory.OpenManifest(ctx, in, inventory.ManifestOptions{})
	if err != nil {
		return "", 0, err
	}
	r := inventory.NewReport(m, inventory.ReaderOptions{Fields: m.Fields})
	fields := r.Fields()
	js := inventory.NewJSONRows(fields, fields.List())
	var rows []gen.Row
	var line []byte
	err = r.Scan(ctx, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			line = js.AppendRow(line[:0], rec, i)
			row, err := decode(line)
			if err != nil {
				return fmt.Errorf("%s: row %d: %w", in, len(rows)+1, err)
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	slices.SortStableFunc(rows, func(a, b gen.Row) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Key, b.Key))
	})
	w, err := gen.NewReport(out, gen.ReportOptions{Format: format, FileRows: fileRows, Fields: m.Fields, Bucket: m.SourceBucket})
	if err != nil {
		return "", 0, err
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			return "", 0, err
		}
	}
	manifest, err := w.Close()
	return manifest, len(rows), err
}

func decode(line []byte) (gen.Row, error) {
	var rec record
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&rec); err != nil {
		return gen.Row{}, err
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var terr error
	ms := func(p *string) int64 {
		if p == nil {
			return 0
		}
		t, err := time.Parse(time.RFC3339Nano, *p)
		if err != nil && terr == nil {
			terr = err
		}
		return t.UnixMilli()
	}
	row := gen.Row{Bucket: rec.Bucket, Key: rec.Key, LastModified: ms(rec.Modified), ETag: str(rec.ETag),
		StorageClass: str(rec.Class), Replication: str(rec.Repl), Encryption: str(rec.Enc), LockRetain: ms(rec.Retain),
		LockMode: str(rec.Mode), LegalHold: str(rec.Hold), TieringTier: str(rec.Tier), BucketKey: str(rec.BKey),
		ChecksumAlgo: str(rec.Checksum), SizeNull: rec.Size == nil, IsMultipart: rec.Multi != nil && *rec.Multi}
	if rec.Size != nil {
		row.Size = *rec.Size
	}
	return row, terr
}
