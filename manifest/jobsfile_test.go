package manifest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

func TestParseRun(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantField string // "" with wantErr: the whole file
		wantErr   bool
	}{
		{name: "hand-written, no version", raw: `{"jobs":[{"shard":"shards/copy/00000.csv","route":"copy","job_id":"j","report_prefix":"s3://b/p","status":"Complete"}]}`},
		{name: "empty", raw: `{"version":1,"jobs":[]}`},
		{name: "not json", raw: "\x1f\x8b", wantErr: true},
		{name: "trailing content", raw: `{"jobs":[]} {}`, wantErr: true},
		{name: "other version", raw: `{"version":2,"jobs":[]}`, wantErr: true, wantField: "version"},
		{name: "no report prefix", raw: `{"jobs":[{"shard":"s","job_id":"x"}]}`, wantErr: true, wantField: "jobs[0].report_prefix"},
		{name: "no job id", raw: `{"jobs":[{"shard":"s","report_prefix":"p"}]}`, wantErr: true, wantField: "jobs[0].job_id"},
		{name: "no shard", raw: `{"jobs":[{"job_id":"j","report_prefix":"p"}]}`, wantErr: true, wantField: "jobs[0].shard"},
		{name: "job id with a path", raw: `{"jobs":[{"shard":"s","job_id":"../x","report_prefix":"p"}]}`, wantErr: true, wantField: "jobs[0].job_id"},
		{name: "route with a path", raw: `{"jobs":[{"shard":"s","job_id":"j","route":"a/b","report_prefix":"p"}]}`, wantErr: true, wantField: "jobs[0].route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRun([]byte(tc.raw), "dir/jobs.json")
			if !tc.wantErr {
				if err != nil || r.Version != JobsVersion {
					t.Fatalf("ParseRun = %+v, %v", r, err)
				}
				return
			}
			var fe *JobsFileError
			if !errors.Is(err, ErrJobsFile) || !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *JobsFileError", err)
			}
			if fe.Field != tc.wantField || fe.File != "dir/jobs.json" {
				t.Errorf("field %q file %q, want %q", fe.Field, fe.File, tc.wantField)
			}
		})
	}
}

func TestWriteReadRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if r, err := ReadRunIfAny(ctx, nil, dir); r != nil || err != nil {
		t.Fatalf("missing jobs.json: %v, %v", r, err)
	}
	if _, err := ReadRun(ctx, nil, dir); !errors.Is(err, objio.ErrNotFound) {
		t.Fatalf("missing jobs.json: %v", err)
	}
	want := &Run{Version: JobsVersion, PlanID: "p", AccountID: "123456789012", Jobs: []RunJob{
		{Shard: "shards/copy/00000.csv", Route: "copy", JobID: "j1", Token: "t", ReportPrefix: "s3://r/p", Objects: 3, Status: "New"},
	}}
	if err := WriteRun(ctx, nil, dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(ctx, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := want.Marshal()
	b, _ := got.Marshal()
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip:\n%s\n%s", a, b)
	}
}

// FuzzParseRun checks that ParseRun never panics on any jobs.json, that its
// errors are *JobsFileError wrapping ErrJobsFile, and that an accepted run
// written out again reads back to the same bytes.
func FuzzParseRun(f *testing.F) {
	f.Add([]byte(`{"version":1,"plan_id":"abc","account_id":"123456789012","jobs":[]}`))
	f.Add([]byte(`{"version":1,"plan_id":"abc","account_id":"123456789012","region":"us-east-1","jobs":[` +
		`{"shard":"shards/copy/00000.csv","route":"copy","job_id":"j-1","client_request_token":"t1","report_prefix":"s3://r/p",` +
		`"manifest":"s3://m/k","manifest_etag":"\"00\"","operation":"S3PutObjectCopy","objects":3,"status":"New","created_at":"2024-11-01T01:00:00.123456789+01:00"}]}`))
	f.Add([]byte(`{"jobs":[{"job_id":"j","report_prefix":"../x","route":"../../etc"}]}`))
	f.Add([]byte(`{"version":1,"jobs":[{"shard":"s","job_id":"j","report_prefix":"p","created_at":"0000-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"jobs":null}`))
	f.Add([]byte(`{"version":0}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseRun(raw, "jobs.json")
		if err != nil {
			var fe *JobsFileError
			if !errors.Is(err, ErrJobsFile) || !errors.As(err, &fe) {
				t.Fatalf("error is not a *JobsFileError wrapping ErrJobsFile: %v", err)
			}
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("marshal of an accepted run: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, JobsFile), out, 0o644); err != nil {
			t.Fatal(err)
		}
		r2, err := ReadRun(context.Background(), nil, dir)
		if err != nil {
			t.Fatalf("re-marshalled jobs.json does not read back: %v\n%s", err, out)
		}
		out2, _ := r2.Marshal()
		if !bytes.Equal(out, out2) || len(r2.Jobs) != len(r.Jobs) {
			t.Fatalf("jobs.json round trip differs:\n%s\n%s", out, out2)
		}
	})
}
