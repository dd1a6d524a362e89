package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// runLocalPlan runs every shard of plan with the local engine against a
// directory of buckets, as `run` does; run records its jobs in
// plan/jobs.json as submit does.
func runLocalPlan(t *testing.T, plan, root, reports string, scope types.JobReportScope) *local.RunResult {
	t.Helper()
	op := types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::backup")}}
	res, err := local.RunPlan(context.Background(), local.RunOptions{Plan: plan, Operation: op, Report: reports, ReportScope: scope,
		Engine: local.Options{Storage: &local.DirStorage{Root: root}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := manifest.ReadRun(context.Background(), nil, plan)
	if err != nil || len(run.Jobs) != len(res.Jobs) {
		t.Fatalf("jobs.json after run: %+v, %v", run, err)
	}
	return res
}

func readSummary(t *testing.T, out string) *report.Summary {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// fileLines returns the lines of the shards of a plan directory.
func planLines(t *testing.T, dir string) []string {
	t.Helper()
	p, err := manifest.ReadPlan(context.Background(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sh := range p.Shards {
		f, err := os.Open(filepath.Join(dir, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		f.Close()
	}
	sort.Strings(out)
	return out
}

// TestReportPlanThreshold is issue 17's repro: a 3,000-object shard run
// against an empty directory of buckets fails at the failure threshold
// after about 1,000 tasks; report --plan accounts for all 3,000 objects
// (failed + not run) and rerun/not-run holds exactly the lines that never
// ran, as the plan wrote them.
func TestReportPlanThreshold(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "3000", "--files", "1", "--seed", "17", "--out", filepath.Join(dir, "inv")); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(dir, "inv", "manifest.json"), "--out", plan, "--routing", "none",
		"--max-objects", "3000", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	root, reports := filepath.Join(dir, "buckets"), filepath.Join(dir, "reports")
	os.MkdirAll(root, 0o755)
	res := runLocalPlan(t, plan, root, reports, types.JobReportScopeAllTasks)
	if len(res.Jobs) != 1 || res.Jobs[0].Status != types.JobStatusFailed || res.Jobs[0].Total != 3000 {
		t.Fatalf("run: %+v", res.Jobs)
	}
	ran := res.Jobs[0].Failed + res.Jobs[0].Succeeded
	if ran < 1000 || ran > 1500 || res.Jobs[0].Succeeded != 0 {
		t.Fatalf("the job ran %d tasks (%d succeeded), want about 1,060, all failed", ran, res.Jobs[0].Succeeded)
	}
	t.Logf("the job failed after %d of 3,000 tasks", ran)
	out := filepath.Join(dir, "audit")
	code, stdout, stderr := s3bk(t, "report", "--plan", plan, "--out", out)
	if code != 0 {
		t.Fatalf("report: %d\n%s\n%s", code, stdout, stderr)
	}
	s := readSummary(t, out)
	p := s.Plan
	if p == nil || p.Planned != 3000 || p.Failed != ran || p.NotRun != 3000-ran || p.Succeeded != 0 || p.NotRunByReason[report.NotRunJobFailed] != 3000-ran {
		t.Fatalf("plan summary %+v (the job ran %d tasks)", p, ran)
	}
	for _, want := range []string{"3,000 objects planned: 0 succeeded", "job_failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
	// The re-run plans split the plan's lines, byte for byte.
	all := planLines(t, plan)
	notRun, permanent := planLines(t, filepath.Join(out, "rerun", "not-run")), planLines(t, filepath.Join(out, "rerun", "permanent"))
	if int64(len(notRun)) != 3000-ran || int64(len(permanent)) != ran {
		t.Fatalf("rerun/not-run %d lines, rerun/permanent %d; want %d, %d", len(notRun), len(permanent), 3000-ran, ran)
	}
	joined := append(append([]string(nil), notRun...), permanent...)
	sort.Strings(joined)
	if strings.Join(joined, "\n") != strings.Join(all, "\n") {
		t.Fatal("rerun/not-run and rerun/permanent are not the plan's lines")
	}
	// Without the plan: the job is named as ended at the threshold.
	code, stdout, stderr = s3bk(t, "report", "--report", reports, "--out", filepath.Join(dir, "audit-prefix"))
	if code != 0 || !strings.Contains(stdout, "failed at the failure threshold") || !strings.Contains(stdout, "cannot be listed") {
		t.Fatalf("report --prefix: %d\n%s\n%s", code, stdout, stderr)
	}
	// The notes name the flag (package report names its option, Plan).
	if !strings.Contains(stdout, "without --plan, report sees only") || !strings.Contains(stdout, "with --plan DIR, report lists them") {
		t.Errorf("report without --plan: the notes do not name --plan:\n%s", stdout)
	}
	if s := readSummary(t, filepath.Join(dir, "audit-prefix")); len(s.EndedEarly) != 1 || s.EndedEarly[0] != res.Jobs[0].JobID {
		t.Fatalf("ended early: %v", s.EndedEarly)
	}
}

// TestReportPlanRefresh: a job that jobs.json recorded Active is asked
// for with DescribeJob; with its final status (Cancelled) the objects its
// FailedTasksOnly report does not list did not run; without a refresh
// they count as not run because the job had not ended.
func TestReportPlanRefresh(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "40", "--files", "1", "--seed", "3", "--out", filepath.Join(dir, "inv")); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(dir, "inv", "manifest.json"), "--out", plan, "--routing", "none",
		"--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	root, reports := filepath.Join(dir, "buckets"), filepath.Join(dir, "reports")
	os.MkdirAll(root, 0o755)
	op := types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::backup")}}
	if _, err := local.MaterializeSources(context.Background(), nil, plan, nil, &local.DirStorage{Root: root}, op); err != nil {
		t.Fatal(err)
	}
	// Half the sources gone: those tasks fail, the others succeed.
	var removed int
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, "backup") && removed < 20 {
			os.Remove(p)
			removed++
		}
		return nil
	})
	res := runLocalPlan(t, plan, root, reports, types.JobReportScopeFailedTasksOnly)
	if res.Jobs[0].Status != types.JobStatusComplete || res.Jobs[0].Failed != 20 {
		t.Fatalf("run: %+v", res.Jobs)
	}
	// The same job as S3 Control knows it: recorded Active, now Cancelled.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	// The test's own S3 Control client signs with the AWS chain of the
	// environment, which the engine accepts.
	oc := objio.New(objio.Config{Region: "us-east-1"})
	srv := localtest.New(t, local.Options{Hold: true, IO: oc})
	shard := filepath.Join(plan, "shards", "all", "00000.csv")
	body, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(srv.Storage.Root, "m"), 0o755)
	if err := os.WriteFile(filepath.Join(srv.Storage.Root, "m", "k"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{IO: oc, Endpoint: srv.URL, RetryMaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.CreateJob(context.Background(), &s3control.CreateJobInput{AccountId: aws.String("123456789012"), ClientRequestToken: aws.String("t1"),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/b"), Operation: &op, Priority: aws.Int32(1),
		Manifest: &types.JobManifest{Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: []types.JobManifestFieldName{"Bucket", "Key"}},
			Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::m/k"), ETag: aws.String(hex.EncodeToString(sum[:]))}},
		Report: &types.JobReport{Enabled: false}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.UpdateJobStatus(context.Background(), &s3control.UpdateJobStatusInput{AccountId: aws.String("123456789012"), JobId: out.JobId,
		RequestedJobStatus: types.RequestedJobStatusCancelled}); err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	if err := os.Rename(filepath.Join(reports, "job-"+res.Jobs[0].JobID), filepath.Join(reports, "job-"+id)); err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(reports, "job-"+id, "manifest.json")
	raw, _ := os.ReadFile(mpath)
	os.WriteFile(mpath, []byte(strings.ReplaceAll(string(raw), res.Jobs[0].JobID, id)), 0o644)
	r, _ := manifest.ReadRun(context.Background(), nil, plan)
	r.AccountID, r.Jobs[0].JobID, r.Jobs[0].Status = "123456789012", id, "Active"
	if err := manifest.WriteRun(context.Background(), nil, plan, r); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		reason string
	}{
		{[]string{"--control-endpoint-url", srv.URL}, report.NotRunJobCancelled},
		{[]string{"--no-refresh"}, report.NotRunJobNotFinished},
	} {
		// jobs.json as submit left it: the refresh records what it saw.
		r.Jobs[0].Status = "Active"
		if err := manifest.WriteRun(context.Background(), nil, plan, r); err != nil {
			t.Fatal(err)
		}
		audit := filepath.Join(dir, "audit"+tc.args[0])
		code, stdout, stderr := s3bk(t, append([]string{"report", "--plan", plan, "--out", audit}, tc.args...)...)
		if code != 0 {
			t.Fatalf("report %v: %d\n%s\n%s", tc.args, code, stdout, stderr)
		}
		p := readSummary(t, audit).Plan
		if p.Planned != 40 || p.Failed != 20 || p.NotRun != 20 || p.NotRunByReason[tc.reason] != 20 {
			t.Fatalf("report %v: %+v", tc.args, p)
		}
	}
}
