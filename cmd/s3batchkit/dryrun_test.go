package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
)

// TestDryRuns: run, diff and jobs cancel with --dry-run say what they
// would do and change nothing.
func TestDryRuns(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv")
	if code, _, stderr := s3bk(t, "gen", "--rows", "3000", "--out", inv, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	m := filepath.Join(inv, "manifest.json")
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", m, "--out", plan, "--max-objects", "1000", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	// run: the copy shards would run; the other routes are left out.
	buckets := filepath.Join(dir, "buckets")
	os.Mkdir(buckets, 0o755)
	before := tree(dir)
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst"}}`
	code, stdout, stderr := s3bk(t, "run", "--plan", plan, "--operation", op, "--local-root", buckets, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "would run  shards/copy/00000.csv") || !strings.Contains(stdout, "skipped route large") ||
		!strings.Contains(stdout, "nothing called, nothing written") {
		t.Errorf("run --dry-run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = s3bk(t, "run", "--plan", plan, "--operation", op, "--local-root", buckets, "--dry-run", "--json", "--routes", "copy")
	var rd runOutput
	if code != 0 || json.Unmarshal([]byte(stdout), &rd) != nil || !rd.DryRun || len(rd.Jobs) == 0 || rd.Jobs[0].Status != "dry-run" || rd.Objects == 0 {
		t.Errorf("run --dry-run --json: exit %d, %+v", code, rd)
	}
	if code, _, stderr := s3bk(t, "run", "--plan", plan, "--operation", op, "--local-root", buckets, "--dry-run", "--materialize"); code != exitUsage {
		t.Errorf("run --dry-run --materialize: exit %d %s", code, stderr)
	}

	// diff: the same counts as a real diff.
	code, dry, stderr := s3bk(t, "diff", "--source", m, "--target", m, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("diff --dry-run: %d %s", code, stderr)
	}
	if got := tree(dir); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Errorf("the dry runs wrote files: %v", got)
	}
	code, real, stderr := s3bk(t, "diff", "--source", m, "--target", m, "--out", filepath.Join(dir, "diff"), "--json")
	if code != 0 {
		t.Fatalf("diff: %d %s", code, stderr)
	}
	var a, b struct {
		DryRun  bool           `json:"dry_run"`
		Classes map[string]any `json:"classes"`
		Shards  int            `json:"shards"`
	}
	json.Unmarshal([]byte(dry), &a)
	json.Unmarshal([]byte(real), &b)
	if !a.DryRun || b.DryRun || a.Shards != b.Shards || len(a.Classes) != 4 || a.Classes["unchanged"] == nil ||
		a.Classes["unchanged"].(map[string]any)["objects"] != b.Classes["unchanged"].(map[string]any)["objects"] {
		t.Errorf("diff --dry-run %s\ndiff %s", dry, real)
	}

	// jobs cancel: jobs held in an engine, submitted through its client.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	srv := localtest.New(t, local.Options{Hold: true})
	cl := srv.Engine.NewClient()
	cl.Mount("manifests", filepath.Join(dir, "m"))
	cl.Mount("reports", filepath.Join(dir, "r"))
	parsed, _, err := jobs.ParseOperation([]byte(op))
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Submit(t.Context(), jobs.SubmitOptions{Plan: plan, AccountID: "123456789012", RoleArn: "arn:aws:iam::123456789012:role/r",
		Operation: parsed, ReportBucket: "arn:aws:s3:::reports", ManifestPrefix: "s3://manifests", Routes: []string{"copy"},
		Client: cl, Store: cl, ControlEndpoint: srv.URL})
	if err != nil || res.Created < 2 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	status := func() []types.JobStatus {
		var out []types.JobStatus
		for _, sj := range res.Shards {
			d, err := cl.DescribeJob(t.Context(), &s3control.DescribeJobInput{AccountId: aws.String("123456789012"), JobId: aws.String(sj.JobID)})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Job.Status)
		}
		return out
	}
	// Let the engine prepare the held jobs (New, Preparing -> Ready).
	var was []types.JobStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		was = status()
		if s := strings.Join(jobStrings(was), " "); !strings.Contains(s, "New") && !strings.Contains(s, "Preparing") || time.Now().After(deadline) {
			break
		}
	}
	code, stdout, stderr = s3bk(t, "jobs", "cancel", "--plan", plan, "--dry-run")
	if code != 0 || strings.Count(stdout, "would update") != res.Created || !strings.Contains(stdout, "nothing changed") {
		t.Errorf("jobs cancel --dry-run: exit %d\n%s%s", code, stdout, stderr)
	}
	if now := status(); strings.Join(jobStrings(now), " ") != strings.Join(jobStrings(was), " ") {
		t.Errorf("jobs cancel --dry-run changed the jobs: %v, were %v", now, was)
	}
	if n := srv.Calls("UpdateJobStatus"); n != 0 {
		t.Errorf("jobs cancel --dry-run made %d UpdateJobStatus calls", n)
	}
	if code, stdout, stderr = s3bk(t, "jobs", "cancel", "--plan", plan); code != 0 || strings.Count(stdout, "updated") < res.Created {
		t.Fatalf("jobs cancel: exit %d\n%s%s", code, stdout, stderr)
	}
	// Now that they are cancelled, a dry run says they would be skipped.
	code, stdout, _ = s3bk(t, "jobs", "cancel", "--plan", plan, "--dry-run", "--json")
	var jd jobsOutput
	if code != 0 || json.Unmarshal([]byte(stdout), &jd) != nil || !jd.DryRun || len(jd.Jobs) != res.Created || jd.Jobs[0].Result != "skipped" {
		t.Errorf("jobs cancel --dry-run after the cancel: exit %d, %s", code, stdout)
	}
}

func jobStrings(s []types.JobStatus) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}
