package jobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadRun checks that ReadRun never panics on any jobs.json, that its
// errors wrap ErrJobsFile, and that an accepted run written out again
// reads back to the same bytes.
func FuzzReadRun(f *testing.F) {
	f.Add([]byte(`{"version":1,"plan_id":"abc","account_id":"123456789012","jobs":[]}`))
	f.Add([]byte(`{"version":1,"plan_id":"abc","account_id":"123456789012","region":"us-east-1","jobs":[` +
		`{"shard":"shards/copy/00000.csv","route":"copy","job_id":"j-1","client_request_token":"t1","report_prefix":"s3://r/p",` +
		`"manifest":"s3://m/k","manifest_etag":"\"00\"","operation":"S3PutObjectCopy","objects":3,"status":"New","created_at":"2024-11-01T01:00:00.123456789+01:00"}]}`))
	f.Add([]byte(`{"version":1,"jobs":[{"shard":"s","job_id":"","client_request_token":"t"}]}`))
	f.Add([]byte(`{"version":1,"jobs":[{"shard":"s","job_id":"j","client_request_token":"t","created_at":"0000-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":0}`))
	dir := f.TempDir()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := os.WriteFile(filepath.Join(dir, JobsFile), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ReadRun(ctx, dir)
		if err != nil {
			if !errors.Is(err, ErrJobsFile) {
				t.Fatalf("error without ErrJobsFile: %v", err)
			}
			return
		}
		out, err := r.marshal()
		if err != nil {
			t.Fatalf("marshal of an accepted run: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, JobsFile), out, 0o644); err != nil {
			t.Fatal(err)
		}
		r2, err := ReadRun(ctx, dir)
		if err != nil {
			t.Fatalf("re-marshalled jobs.json does not read back: %v\n%s", err, out)
		}
		out2, _ := r2.marshal()
		if !bytes.Equal(out, out2) || len(r2.Jobs) != len(r.Jobs) {
			t.Fatalf("jobs.json round trip differs:\n%s\n%s", out, out2)
		}
	})
}
