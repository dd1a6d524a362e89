package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"os"
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
)

// TestStatusAggregates describes a run whose jobs the engine ran to
// different ends: one Complete (its objects exist), one Complete with
// every task failed (no objects), one held Ready, one Cancelled, and one
// Failed at preparation; Status sums them up and records each job's
// status and counts in jobs.json.
func TestStatusAggregates(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 4}, 2)
	srv, cl, store := newControl(t)
	ctx := context.Background()
	op, _, _ := jobs.ParseOperation([]byte(tagOpJSON))
	if _, err := local.MaterializeSources(ctx, nil, plan, []string{"copy"}, srv.Storage, op); err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Submit(ctx, submitOptions(t, plan, cl, store))
	if err != nil {
		t.Fatal(err)
	}
	prepared(t, srv)
	ids := make([]string, len(res.Shards)) // plan order
	for i, s := range res.Shards {
		ids[i] = s.JobID
	}
	// Job 1's objects go away: its two tasks fail (NoSuchKey).
	for _, k := range []string{"copy/00001/key 0", "copy/00001/key 1"} {
		p, _ := srv.Storage.Locate("s3bk-source", k)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	srv.Engine.Release(ids[0], ids[1])
	for _, id := range ids[:2] {
		if _, err := srv.Engine.Wait(ctx, testAccount, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(testAccount), JobId: aws.String(ids[3]),
		RequestedJobStatus: types.RequestedJobStatusCancelled, StatusUpdateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	// A fifth job, recorded by hand, whose manifest ETag is wrong: it
	// fails while being prepared.
	in := badJob(res.PlanID, res.Shards[0].Shard)
	out, err := cl.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	failedID := aws.ToString(out.JobId)
	if _, err := srv.Engine.Wait(ctx, testAccount, failedID); err != nil {
		t.Fatal(err)
	}
	run, _ := manifest.ReadRun(ctx, nil, plan)
	run.Jobs = append(run.Jobs, manifest.RunJob{Shard: "shards/copy/99999.csv", Route: "copy", JobID: failedID, Token: "t", ReportPrefix: "s3://s3bk-reports/x", Status: "New"})
	if err := manifest.WriteRun(ctx, nil, plan, run); err != nil {
		t.Fatal(err)
	}
	srv.Fail("DescribeJob", localtest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"})

	rs, err := jobs.Status(ctx, jobs.StatusOptions{Plan: plan, Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Complete", "Complete", "Ready", "Cancelled", "Failed"}
	for i, j := range rs.Jobs {
		if j.Status != want[i] {
			t.Errorf("job %d (%s): %s, want %s", i, j.Shard, j.Status, want[i])
		}
	}
	if rs.Total != 8 || rs.Succeeded != 2 || rs.Failed != 2 {
		t.Errorf("tasks total %d, succeeded %d, failed %d; want 8, 2, 2", rs.Total, rs.Succeeded, rs.Failed)
	}
	if rs.ByStatus["Complete"] != 2 || rs.ByStatus["Ready"] != 1 || rs.ByStatus["Failed"] != 1 || rs.ByStatus["Cancelled"] != 1 || rs.Done {
		t.Errorf("by status %v, done %v", rs.ByStatus, rs.Done)
	}
	if f := rs.Jobs[4].FailureReasons; len(f) != 1 || !strings.HasPrefix(f[0], "ManifestETagMismatch:") {
		t.Errorf("failed job: %+v", rs.Jobs[4])
	}
	if rs.RecordError != "" {
		t.Fatal(rs.RecordError)
	}
	// jobs.json records what was seen.
	run, err = manifest.ReadRun(ctx, nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range run.Jobs {
		if e.Status != want[i] || e.StatusAt == nil || e.Tasks == nil {
			t.Errorf("jobs.json entry %d: %s at %v, tasks %v; want %s", i, e.Status, e.StatusAt, e.Tasks, want[i])
		}
	}
	if got := run.Jobs[1].Tasks; *got != (manifest.RunTasks{Total: 2, Failed: 2}) {
		t.Errorf("job 1 tasks %+v", *got)
	}

	srv.Engine.Release()
	srv.Wait(t, ctx, testAccount)
	rs, err = jobs.Status(ctx, jobs.StatusOptions{Plan: plan, Client: cl})
	if err != nil || !rs.Done || rs.ETASeconds != 0 || rs.Jobs[2].Status != "Complete" {
		t.Errorf("all terminal: %v, done %v, eta %v", err, rs.Done, rs.ETASeconds)
	}
}

func TestStatusWithoutJobs(t *testing.T) {
	_, cl, _ := newControl(t)
	if _, err := jobs.Status(context.Background(), jobs.StatusOptions{Plan: t.TempDir(), Client: cl}); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// badJob is a tagging job of a shard uploaded by submit, with a wrong
// manifest ETag.
func badJob(planID, shard string) *s3control.CreateJobInput {
	op, _, _ := jobs.ParseOperation([]byte(tagOpJSON))
	return &s3control.CreateJobInput{
		AccountId: aws.String(testAccount), ClientRequestToken: aws.String("bad-etag"), Priority: aws.Int32(1),
		RoleArn: aws.String(testRole), ConfirmationRequired: aws.Bool(false), Operation: &op,
		Report: &types.JobReport{Enabled: false},
		Manifest: &types.JobManifest{
			Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820,
				Fields: []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}},
			Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::s3bk-manifests/batch/" + planID + "/" + shard),
				ETag: aws.String("0123456789abcdef0123456789abcdef")},
		},
	}
}
