package inventory_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// TestS3ReadBytes reads Parquet and ORC reports from the test S3 server
// (gen's, and a Parquet file DuckDB wrote) and counts the bytes its GETs received. Checked, each data file is read
// once (a local copy hashed on the way and decoded): the bytes are
// exactly the data files' and manifest.json's, the rows those of the
// local report, and nothing is left in the copies' folder. Unchecked, a
// projection of two columns reads less than the data files (no
// read-ahead started by a column chunk reads the rest of the file). A
// data file with one byte changed fails with ErrChecksum, naming it; S3
// failing the reads is no DataError.
func TestS3ReadBytes(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	duckdb := func(t *testing.T) string {
		data, err := os.ReadFile("testdata/duckdb/duckdb-inventory.parquet")
		if err != nil {
			t.Fatal(err)
		}
		m, err := gen.WriteReport(t.TempDir(), gen.ReportSpec{Format: "Parquet", Schema: gen.ParquetSchema(gen.ReportFields(true)),
			Bucket: "duck-bucket", Files: []gen.ReportFile{{Key: "data/duckdb-inventory.parquet", Data: data}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		local func(*testing.T) string
		// small: one data file under the read block (1 MiB), which an
		// unchecked projection reads whole.
		small bool
	}{
		{"parquet", func(t *testing.T) string { return genReport(t, "parquet", 120_000, 3, true, 5) }, false},
		{"orc", func(t *testing.T) string { return genReport(t, "orc", 120_000, 3, true, 5) }, false},
		// Written by DuckDB 1.5.6, not by this project (TestDuckDBParquet
		// checks its rows against DuckDB's own rendering).
		{"duckdb-parquet", duckdb, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := tc.local(t)
			dir := filepath.Dir(local)
			prefix := "s3://" + bucket + "/" + tc.name
			var dataBytes, metaBytes int64
			var dataFiles []string
			err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err != nil || fi.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				raw, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				switch {
				case strings.HasPrefix(rel, "data/"):
					dataBytes += int64(len(raw))
					dataFiles = append(dataFiles, rel)
				case rel == "manifest.json" || rel == "manifest.checksum":
					metaBytes += int64(len(raw))
				}
				return oc.WriteFileAtomic(ctx, prefix+"/"+filepath.ToSlash(rel), raw)
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(dataFiles)
			want, _, err := scanRows(t, local, inventory.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m := prefix + "/manifest.json"

			tmp := t.TempDir()
			checked := objiotest.Client(t)
			got, _, err := scanRows(t, m, inventory.ReaderOptions{IO: checked, Workers: 2, TmpDir: tmp})
			if err != nil {
				t.Fatal(err)
			}
			diffRows(t, got, want)
			if st := checked.Stats(); st.BytesRead != dataBytes+metaBytes {
				t.Errorf("checked: %d bytes read, want the %d of the data files and %d of manifest.json and its checksum", st.BytesRead, dataBytes, metaBytes)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("%d local copies left in the folder", len(left))
			}

			unchecked := objiotest.Client(t)
			if _, _, err := scanRows(t, m, inventory.ReaderOptions{IO: unchecked, Workers: 2, SkipChecksums: true,
				Fields: inventory.Fields(inventory.Bucket, inventory.Key)}); err != nil {
				t.Fatal(err)
			}
			st := unchecked.Stats()
			t.Logf("unchecked, bucket and key: %d bytes read of %d", st.BytesRead-metaBytes, dataBytes)
			if !tc.small && st.BytesRead-metaBytes >= dataBytes {
				t.Errorf("unchecked, bucket and key: %d bytes read, want fewer than the %d of the data files", st.BytesRead-metaBytes, dataBytes)
			}

			raw, err := os.ReadFile(filepath.Join(dir, dataFiles[len(dataFiles)/2]))
			if err != nil {
				t.Fatal(err)
			}
			raw[len(raw)/2] ^= 1
			bad := prefix + "/" + dataFiles[len(dataFiles)/2]
			if err := oc.WriteFileAtomic(ctx, bad, raw); err != nil {
				t.Fatal(err)
			}
			_, _, err = scanRows(t, m, inventory.ReaderOptions{IO: objiotest.Client(t), Workers: 2, TmpDir: tmp})
			var de *inventory.DataError
			if !errors.Is(err, inventory.ErrChecksum) || !errors.As(err, &de) || de.File != bad {
				t.Errorf("a changed data file: %v, want ErrChecksum naming %s", err, bad)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("%d local copies left in the folder after the failure", len(left))
			}

			// S3 failing every GET of the data files, after the client's
			// retries: not the data's fault (no DataError: a job engine
			// retries it), and no copy left.
			cfg := objiotest.Config(t)
			p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.InternalError},
				Match: func(r *http.Request) bool {
					return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/data/")
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			cfg.EndpointURL, cfg.RetryMaxAttempts, cfg.RetryBaseDelay, cfg.RetryMaxBackoff = p.URL, 2, time.Millisecond, time.Millisecond
			_, _, err = scanRows(t, m, inventory.ReaderOptions{IO: objio.New(cfg), Workers: 2, TmpDir: tmp})
			if err == nil || errors.As(err, &de) || errors.Is(err, inventory.ErrChecksum) {
				t.Errorf("S3 failing: %v, want an error that is not the data's", err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("%d local copies left in the folder after S3 failed", len(left))
			}
		})
	}
}
