package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifestOtherFiles: the files people give instead of an inventory's
// manifest.json are named, with what to do, rather than reported as JSON
// syntax errors.
func TestManifestOtherFiles(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("b,k,1\n"))
	zw.Close()
	for _, tc := range []struct {
		name string
		raw  []byte
		want string // in the message; "" means: parsed as a manifest
	}{
		{"csv.gz data file", gz.Bytes(), "CSV.gz data file"},
		{"parquet data file", []byte("PAR1\x15\x04"), "Parquet data file"},
		{"orc data file", []byte("ORC\x0a\x03"), "ORC data file"},
		{"completion report", []byte(`{"Format": "Report_CSV_20180820", "ReportCreationDate": "2024-01-02T10:00:00.000Z", "Results": [], "ReportSchema": "Bucket, Key"}`), "use s3batchkit report"},
		{"plan.json", []byte(`{"version": 1, "inputs": [], "options": {}, "counters": {}, "routes": [], "shards": []}`), "plan.json written by s3batchkit"},
		{"jobs.json", []byte(`{"version": 1, "plan_id": "abc", "account_id": "123456789012", "jobs": []}`), "jobs.json of a submitted plan"},
		{"summary.json", []byte(`{"version": 1, "tasks": {}, "by_class": {}}`), "summary.json written by s3batchkit report"},
		{"diff.json", []byte(`{"version": 1, "source": {}, "target": {}, "only_in_source": {}}`), "diff.json written by s3batchkit diff"},
		{"manifest shard", []byte("src-bucket,photos/a%20b.jpg\nsrc-bucket,c.txt\n"), "CSV file, not JSON"},
		{"other json", []byte(`{"name": "x"}`), "none of an S3 Inventory manifest's"},
		// A manifest with mistakes is still parsed as one.
		{"manifest without fileFormat", []byte(`{"sourceBucket": "b", "fileSchema": "Bucket, Key", "files": []}`), ""},
		{"broken json", []byte(`{"sourceBucket": `), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest(tc.raw)
			if err == nil || !errors.Is(err, ErrManifest) {
				t.Fatalf("ParseManifest: %v, want an error wrapping ErrManifest", err)
			}
			if tc.want == "" {
				if errors.Is(err, ErrNotManifest) {
					t.Errorf("a manifest with mistakes taken for another file: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrNotManifest naming %q", err, tc.want)
			}
		})
	}
}

// TestOpenManifestMissing: a missing manifest names the path tried.
func TestOpenManifestMissing(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := OpenManifest(context.Background(), "inv/manifest.json", ManifestOptions{})
	abs, _ := filepath.Abs("inv/manifest.json")
	if err == nil || !strings.Contains(err.Error(), "inv/manifest.json") || !strings.Contains(err.Error(), abs) {
		t.Errorf("got %v, want the path given and %s", err, abs)
	}
	if _, err := os.Stat("inv"); err == nil {
		t.Error("the lookup created a folder")
	}
}
