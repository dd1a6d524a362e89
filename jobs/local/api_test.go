package local

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// TestAPIWithSDK drives every operation through the real SDK client:
// create, idempotency, describe (operation, manifest and report echoed
// back, progress counts), list (<member> lists), priority, status errors
// as typed exceptions.
func TestAPIWithSDK(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	keys := []string{"a.txt", "dir/b c+d.txt", "ünï/cödé"}
	for _, k := range keys {
		env.put("src-bucket", k, "data of "+k)
	}
	mkey, etag := env.manifestOf("m1.csv", "src-bucket", keys)
	e := newTestEngine(t, Options{Storage: env.st})
	cl := sdkClient(t, e)
	ctx := context.Background()

	op := copyOp("dst-bucket", "copied")
	op.S3PutObjectCopy.NewObjectTagging = []types.S3Tag{{Key: aws.String("k"), Value: aws.String("v w")}}
	in := createInput("tok-1", mkey, etag, op)
	out, err := cl.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	again, err := cl.CreateJob(ctx, in)
	if err != nil || aws.ToString(again.JobId) != id {
		t.Fatalf("same token: got %v %v, want job %s", again, err, id)
	}
	other := createInput("tok-1", mkey, etag, copyOp("dst-bucket", "elsewhere"))
	var ie *types.IdempotencyException
	if _, err := cl.CreateJob(ctx, other); !errors.As(err, &ie) {
		t.Fatalf("same token, other request: got %v, want IdempotencyException", err)
	}
	var be *types.BadRequestException
	bad := createInput("tok-2", mkey, etag, op)
	bad.RoleArn = aws.String("not-a-role")
	if _, err := cl.CreateJob(ctx, bad); !errors.As(err, &be) {
		t.Fatalf("bad role: got %v, want BadRequestException", err)
	}

	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete {
		t.Fatalf("status %s, want Complete (%v)", d.Status, d.FailureReasons)
	}
	desc, err := cl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(testAccount), JobId: &id})
	if err != nil {
		t.Fatal(err)
	}
	j := desc.Job
	if j.Status != types.JobStatusComplete || aws.ToInt64(j.ProgressSummary.TotalNumberOfTasks) != 3 ||
		aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 3 || aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed) != 0 {
		t.Fatalf("describe: %s %+v", j.Status, j.ProgressSummary)
	}
	if j.Operation == nil || j.Operation.S3PutObjectCopy == nil || aws.ToString(j.Operation.S3PutObjectCopy.TargetKeyPrefix) != "copied" ||
		len(j.Operation.S3PutObjectCopy.NewObjectTagging) != 1 || aws.ToString(j.Operation.S3PutObjectCopy.NewObjectTagging[0].Value) != "v w" {
		t.Fatalf("operation not echoed back: %+v", j.Operation)
	}
	if aws.ToString(j.Manifest.Location.ETag) != etag || len(j.Manifest.Spec.Fields) != 2 || aws.ToString(j.Report.Prefix) != "runs/r1" ||
		j.CreationTime == nil || j.TerminationDate == nil || aws.ToString(j.JobArn) != "arn:aws:s3:us-east-1:"+testAccount+":job/"+id {
		t.Fatalf("descriptor: %+v", j)
	}
	for _, k := range keys {
		if got, ok := env.get("dst-bucket", "copied/"+k); !ok || got != "data of "+k {
			t.Errorf("copy of %q: %q %v", k, got, ok)
		}
		tags, _ := env.st.ReadTags("dst-bucket", "copied/"+k)
		if tags["k"] != "v w" {
			t.Errorf("tags of copy of %q: %v", k, tags)
		}
	}

	list, err := cl.ListJobs(ctx, &s3control.ListJobsInput{AccountId: aws.String(testAccount), JobStatuses: []types.JobStatus{types.JobStatusComplete}})
	if err != nil || len(list.Jobs) != 1 || aws.ToString(list.Jobs[0].JobId) != id || list.Jobs[0].Operation != types.OperationNameS3PutObjectCopy {
		t.Fatalf("list: %+v %v", list, err)
	}
	list, err = cl.ListJobs(ctx, &s3control.ListJobsInput{AccountId: aws.String(testAccount), JobStatuses: []types.JobStatus{types.JobStatusActive}})
	if err != nil || len(list.Jobs) != 0 {
		t.Fatalf("list Active: %+v %v", list, err)
	}
	if _, err := cl.UpdateJobPriority(ctx, &s3control.UpdateJobPriorityInput{AccountId: aws.String(testAccount), JobId: &id, Priority: 77}); err != nil {
		t.Fatal(err)
	}
	var se *types.JobStatusException
	if _, err := cl.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(testAccount), JobId: &id, RequestedJobStatus: types.RequestedJobStatusCancelled}); !errors.As(err, &se) {
		t.Fatalf("cancel a Complete job: got %v, want JobStatusException", err)
	}
	var nf *types.NotFoundException
	if _, err := cl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(testAccount), JobId: aws.String("no-such-job")}); !errors.As(err, &nf) {
		t.Fatalf("describe unknown: got %v, want NotFoundException", err)
	}
	if _, err := cl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String("210987654321"), JobId: &id}); !errors.As(err, &nf) {
		t.Fatalf("describe from another account: got %v, want NotFoundException", err)
	}
	desc, _ = cl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(testAccount), JobId: &id})
	if desc.Job.Priority != 77 {
		t.Fatalf("priority %d, want 77", desc.Job.Priority)
	}
}
