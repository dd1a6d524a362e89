package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// s3bk runs the CLI and returns its exit code and output.
func s3bk(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"s3batchkit"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// uploadDir copies every file under dir to prefix.
func uploadDir(t *testing.T, oc *objio.Client, dir, prefix string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, _ := f.Stat()
		_, err = oc.Upload(context.Background(), objio.Join(prefix, filepath.ToSlash(rel)), f, st.Size(), objio.UploadOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestS3PlanSubmitStatus runs the whole S3 path against the test S3 server
// and the fake S3 Control server: an inventory read from s3://, its plan
// equal to the plan of the local copy, shards uploaded and their ETags
// checked, one job per shard, an idempotent rerun, a plan in S3 used in
// place, a tampered shard refused, and status.
func TestS3PlanSubmitStatus(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	// The CLI builds its storage client from its flags and the AWS chain.
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", cfg.EndpointURL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()

	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "1000", "--files", "2", "--out", gen); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	inv := "s3://" + bucket + "/inventory/src/config"
	uploadDir(t, oc, gen, inv)

	s3Plan, localPlan := t.TempDir(), t.TempDir()
	if code, _, stderr := s3bk(t, "plan", "--inventory", inv+"/manifest.json", "--out", s3Plan, "--max-objects", "300", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan from s3://: %d %s", code, stderr)
	}
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(gen, "manifest.json"), "--out", localPlan, "--max-objects", "300", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan from the local copy: %d %s", code, stderr)
	}
	p1, err := manifest.ReadPlan(ctx, oc, s3Plan)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := manifest.ReadPlan(ctx, oc, localPlan)
	if len(p1.Shards) < 2 || len(p1.Shards) != len(p2.Shards) || p1.Counters.RowsRead != 1000 {
		t.Fatalf("plan from s3:// has %d shards and read %d rows; local %d shards", len(p1.Shards), p1.Counters.RowsRead, len(p2.Shards))
	}
	for i := range p1.Shards {
		if p1.Shards[i].MD5 != p2.Shards[i].MD5 {
			t.Errorf("shard %s differs between the s3:// and the local plan", p1.Shards[i].Path)
		}
	}

	st, err := local.NewS3Storage(ctx, oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := localtest.New(t, local.Options{Hold: true, Storage: st, Workers: 4})
	submit := func(plan string, extra ...string) (int, string, string) {
		args := []string{"submit", "--plan", plan, "--account-id", "123456789012",
			"--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
			"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "done", "Value": "yes"}]}}`,
			"--report-bucket", "arn:aws:s3:::" + bucket, "--report-prefix", "reports",
			"--control-endpoint-url", srv.URL}
		return s3bk(t, append(args, extra...)...)
	}
	code, stdout, stderr := submit(s3Plan, "--manifest-bucket", "s3://"+bucket+"/manifests")
	if code != 0 {
		t.Fatalf("submit: %d\n%s\n%s", code, stdout, stderr)
	}
	if n := len(srv.Jobs(t, "123456789012")); n != len(p1.Shards) {
		t.Fatalf("%d jobs for %d shards", n, len(p1.Shards))
	}
	run, err := manifest.ReadRun(ctx, oc, s3Plan)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range run.Jobs {
		info, err := oc.Stat(ctx, e.Manifest)
		if err != nil || info.ETag != p1.Shards[i].MD5 || !strings.HasPrefix(e.Manifest, "s3://"+bucket+"/manifests/"+run.PlanID+"/shards/") {
			t.Errorf("shard %s: manifest %s: %+v, %v; want ETag %s", e.Shard, e.Manifest, info, err, p1.Shards[i].MD5)
		}
	}
	// Rerun: nothing new.
	calls := srv.Calls("CreateJob")
	if code, stdout, _ := submit(s3Plan, "--manifest-bucket", "s3://"+bucket+"/manifests"); code != 0 || srv.Calls("CreateJob") != calls || !strings.Contains(stdout, "0 jobs created") {
		t.Errorf("rerun: exit %d, %d new calls\n%s", code, srv.Calls("CreateJob")-calls, stdout)
	}

	// A plan in S3 is used in place; jobs.json goes beside it.
	remote := "s3://" + bucket + "/plans/run-1"
	uploadDir(t, oc, localPlan, remote)
	if code, stdout, stderr := submit(remote, "--routes", p1.Shards[0].Route); code != 0 {
		t.Fatalf("submit of an s3:// plan: %d\n%s\n%s", code, stdout, stderr)
	}
	rrun, err := manifest.ReadRun(ctx, oc, remote)
	if err != nil || len(rrun.Jobs) == 0 || rrun.Jobs[0].Manifest != remote+"/"+p1.Shards[0].Path {
		t.Errorf("jobs.json of the s3:// plan: %v %+v", err, rrun)
	}
	// A shard changed after planning is refused (exit 3), before any call.
	tampered := "s3://" + bucket + "/plans/run-2"
	uploadDir(t, oc, localPlan, tampered)
	if err := oc.WriteFileAtomic(ctx, objio.Join(tampered, p1.Shards[0].Path), []byte("some-bucket,other-key\n")); err != nil {
		t.Fatal(err)
	}
	calls = srv.Calls("CreateJob")
	if code, _, stderr := submit(tampered, "--workers", "1"); code != exitBadInput || !strings.Contains(stderr, "ETag") {
		t.Errorf("tampered shard: exit %d, want %d\n%s", code, exitBadInput, stderr)
	}
	if srv.Calls("CreateJob") != calls {
		t.Error("a tampered shard got a job")
	}

	// Status of the first run, once the engine has run every job (the
	// objects do not exist: every task fails, 404, and each job, under
	// 1,000 tasks, ends Complete).
	srv.Engine.Release()
	srv.Wait(t, ctx, "123456789012")
	code, stdout, stderr = s3bk(t, "status", "--plan", s3Plan, "--json", "--control-endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("status: %d %s", code, stderr)
	}
	var rs jobs.RunStatus
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || !rs.Done || len(rs.Jobs) != len(p1.Shards) || rs.ByStatus["Complete"] != len(p1.Shards) {
		t.Errorf("status --json: %v\n%s", err, stdout)
	}
	if code, stdout, _ := s3bk(t, "status", "--plan", s3Plan, "--watch", "--control-endpoint-url", srv.URL); code != 0 || !strings.Contains(stdout, "time left done") {
		t.Errorf("status --watch of a finished run: %d\n%s", code, stdout)
	}
}
