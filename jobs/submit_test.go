package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestSubmitOneJobPerShard submits a copy to the local engine (holding
// its jobs): one job per shard of the route a copy serves, each described
// back with the manifest, operation, report, priority and tags submit
// sent; the engine prepares every job (the uploaded manifest has the
// plan's MD5). The large route is skipped, and said why.
func TestSubmitOneJobPerShard(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 3, "large": 2}, 5)
	srv, cl, store := newControl(t)
	ctx := context.Background()
	p, err := manifest.ReadPlan(ctx, nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Submit(ctx, submitOp(t, plan, cl, store, copyOpJSON))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.Uploaded != 3 || res.Existing != 0 {
		t.Fatalf("created %d, uploaded %d, existing %d; want 3, 3, 0", res.Created, res.Uploaded, res.Existing)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Route != "large" || res.Skipped[0].Shards != 2 || !strings.Contains(res.Skipped[0].Reason, "5 GB") {
		t.Errorf("skipped %+v; want route large (2 shards) for its size", res.Skipped)
	}
	prepared(t, srv)
	got := srv.Jobs(t, testAccount)
	if len(got) != 3 || srv.Calls("CreateJob") != 3 {
		t.Fatalf("%d jobs from %d calls, want 3 from 3", len(got), srv.Calls("CreateJob"))
	}
	run, err := manifest.ReadRun(ctx, nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	if run.ControlEndpoint != "" || len(run.Jobs) != 3 {
		t.Errorf("jobs.json: endpoint %q, %d jobs", run.ControlEndpoint, len(run.Jobs))
	}
	byID := map[string]manifest.RunJob{}
	for _, e := range run.Jobs {
		byID[e.JobID] = e
	}
	calls := srv.CreateCalls()
	// The engine's store resolves the report bucket to its folder.
	reports, _ := srv.Storage.Locate("s3bk-reports", "reports/run1")
	for _, j := range got {
		id := aws.ToString(j.JobId)
		shard := srv.Tag(t, testAccount, id, jobs.TagShard)
		var sh manifest.Shard
		for _, s := range p.Shards {
			if s.Path == shard {
				sh = s
			}
		}
		e := byID[id]
		wantArn := "arn:aws:s3:::s3bk-manifests/batch/" + run.PlanID + "/" + shard
		loc, spec := j.Manifest.Location, j.Manifest.Spec
		switch {
		case sh.Path == "" || sh.Route != "copy":
			t.Errorf("job %s: shard tag %q is not a copy shard of the plan", id, shard)
		case j.Status != types.JobStatusReady:
			t.Errorf("job %s: %s, want Ready (prepared and held): %+v", id, j.Status, j.FailureReasons)
		case aws.ToString(loc.ObjectArn) != wantArn:
			t.Errorf("job %s: ObjectArn %s, want %s", id, aws.ToString(loc.ObjectArn), wantArn)
		case aws.ToString(loc.ETag) != sh.MD5:
			t.Errorf("job %s: ETag %s, want the shard MD5 %s", id, aws.ToString(loc.ETag), sh.MD5)
		case spec.Format != types.JobManifestFormatS3BatchOperationsCsv20180820 || len(spec.Fields) != 2:
			t.Errorf("job %s: manifest spec %+v", id, spec)
		case j.Operation.S3PutObjectCopy == nil || aws.ToString(j.Operation.S3PutObjectCopy.TargetResource) != "arn:aws:s3:::s3bk-destination":
			t.Errorf("job %s: operation %+v", id, j.Operation)
		case aws.ToBool(j.ConfirmationRequired):
			t.Errorf("job %s: ConfirmationRequired", id)
		case calls[e.Token] != 1 || len(e.Token) > 64:
			t.Errorf("job %s: token %q of jobs.json sent %d times", id, e.Token, calls[e.Token])
		case e.Shard != shard || e.Route != sh.Route || e.ReportPrefix != reports || e.Status != "New" || e.Versions != "":
			t.Errorf("jobs.json entry %+v for job %s", e, id)
		case aws.ToString(j.Report.Bucket) != testReports || aws.ToString(j.Report.Prefix) != "reports/run1" || j.Report.ReportScope != types.JobReportScopeAllTasks || !j.Report.Enabled:
			t.Errorf("job %s: report %+v", id, j.Report)
		case srv.Tag(t, testAccount, id, jobs.TagPlan) != run.PlanID || srv.Tag(t, testAccount, id, jobs.TagRoute) != sh.Route || j.Priority != 10 || aws.ToString(j.RoleArn) != testRole:
			t.Errorf("job %s: priority %d, role %s", id, j.Priority, aws.ToString(j.RoleArn))
		}
	}
	raw, _ := os.ReadFile(objio.Join(plan, manifest.JobsFile))
	for _, secret := range []string{"not-a-real-secret", "AKIDTEST", "Signature"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("jobs.json contains %q", secret)
		}
	}

	// A rerun creates nothing.
	res, err = jobs.Submit(ctx, submitOp(t, plan, cl, store, copyOpJSON))
	if err != nil || res.Created != 0 || res.Existing != 3 || srv.Calls("CreateJob") != 3 {
		t.Errorf("rerun: %v, created %d, existing %d, calls %d", err, res.Created, res.Existing, srv.Calls("CreateJob"))
	}
}

func TestSubmitResumeAfterCrash(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 12}, 3)
	srv, cl, store := newControl(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C right after the fourth job exists, before its response may
	// have been read: the job exists but may not be in jobs.json.
	srv.OnCreate(func(id string, n int) {
		if n == 4 {
			cancel()
		}
	})
	o := submitOptions(t, plan, cl, store)
	o.Concurrency = 3
	_, err := jobs.Submit(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted submit: %v, want context.Canceled", err)
	}
	first, err := manifest.ReadRun(context.Background(), nil, plan)
	if err != nil {
		t.Fatalf("jobs.json after the interruption: %v", err)
	}
	if len(first.Jobs) == 0 || len(first.Jobs) > 6 {
		t.Fatalf("%d jobs recorded after the interruption, want 1 to 6", len(first.Jobs))
	}
	srv.OnCreate(nil)
	res, err := jobs.Submit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Existing != len(first.Jobs) || res.Created+res.Existing != 12 {
		t.Errorf("resume: created %d, existing %d; want %d existing, 12 in all", res.Created, res.Existing, len(first.Jobs))
	}
	if n := len(srv.Jobs(t, testAccount)); n != 12 {
		t.Errorf("the engine holds %d jobs, want 12 (no duplicate)", n)
	}
	calls := srv.CreateCalls()
	for _, e := range first.Jobs {
		if calls[e.Token] != 1 {
			t.Errorf("shard %s, recorded before the interruption, got %d CreateJob calls, want 1", e.Shard, calls[e.Token])
		}
	}
	final, _ := manifest.ReadRun(context.Background(), nil, plan)
	ids := map[string]bool{}
	for _, e := range final.Jobs {
		ids[e.JobID] = true
	}
	if len(final.Jobs) != 12 || len(ids) != 12 {
		t.Errorf("final jobs.json: %d entries, %d distinct jobs; want 12, 12", len(final.Jobs), len(ids))
	}
}

func TestSubmitRetriesThrottling(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 2}, 3)
	srv, cl, store := newControl(t)
	srv.Fail("CreateJob",
		localtest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"},
		localtest.Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"},
		localtest.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"},
		localtest.Fault{Status: http.StatusInternalServerError, Code: "InternalServiceException"},
	)
	o := submitOptions(t, plan, cl, store)
	o.Concurrency = 1
	res, err := jobs.Submit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 || len(srv.Jobs(t, testAccount)) != 2 || srv.Calls("CreateJob") != 6 {
		t.Errorf("created %d, engine jobs %d, calls %d; want 2, 2, 6", res.Created, len(srv.Jobs(t, testAccount)), srv.Calls("CreateJob"))
	}
}

func TestSubmitGivesUpAfterRetries(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 1}, 3)
	srv, cl, store := newControl(t)
	for range 5 {
		srv.Fail("CreateJob", localtest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"})
	}
	_, err := jobs.Submit(context.Background(), submitOptions(t, plan, cl, store))
	if err == nil || !strings.Contains(err.Error(), "TooManyRequestsException") || srv.Calls("CreateJob") != 5 {
		t.Errorf("err %v after %d calls; want TooManyRequestsException after 5", err, srv.Calls("CreateJob"))
	}
	if _, err := manifest.ReadRun(context.Background(), nil, plan); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("jobs.json written though no job exists: %v", err)
	}
}

// TestSubmitETagMismatch: a store whose ETags are not the MD5 of one PUT
// (a bucket encrypted with SSE-KMS) is refused before any job.
func TestSubmitETagMismatch(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 1}, 3)
	srv, cl, _ := newControl(t)
	store := newMemStore()
	store.badETag = true
	_, err := jobs.Submit(context.Background(), submitOptions(t, plan, cl, store))
	if !errors.Is(err, jobs.ErrETagMismatch) {
		t.Errorf("err = %v, want ErrETagMismatch", err)
	}
	if srv.Calls("CreateJob") != 0 {
		t.Errorf("%d CreateJob calls after an ETag mismatch, want 0", srv.Calls("CreateJob"))
	}
}

func TestSubmitBadInputBeforeAnyCall(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 2}, 3)
	srv, cl, store := newControl(t)
	tests := []struct {
		name    string
		edit    func(o *jobs.SubmitOptions)
		wantErr error
	}{
		{"account", func(o *jobs.SubmitOptions) { o.AccountID = "12345" }, jobs.ErrInvalid},
		{"role", func(o *jobs.SubmitOptions) { o.RoleArn = "batch-ops" }, jobs.ErrInvalid},
		{"role of a user", func(o *jobs.SubmitOptions) { o.RoleArn = "arn:aws:iam::123456789012:user/x" }, jobs.ErrInvalid},
		{"report bucket not an ARN", func(o *jobs.SubmitOptions) { o.ReportBucket = "s3://reports" }, jobs.ErrInvalid},
		{"report scope", func(o *jobs.SubmitOptions) { o.ReportScope = "Some" }, jobs.ErrInvalid},
		{"priority", func(o *jobs.SubmitOptions) { o.Priority = -1 }, jobs.ErrInvalid},
		{"manifest bucket", func(o *jobs.SubmitOptions) { o.ManifestPrefix = "bucket/x" }, jobs.ErrInvalid},
		{"no manifest bucket for a local plan", func(o *jobs.SubmitOptions) { o.ManifestPrefix = "" }, jobs.ErrInvalid},
		{"unknown route", func(o *jobs.SubmitOptions) { o.Routes = []string{"restore"} }, manifest.ErrRouteNotInPlan},
		{"no operation", func(o *jobs.SubmitOptions) { o.Operation.S3PutObjectTagging = nil }, jobs.ErrOperation},
		{"no plan.json", func(o *jobs.SubmitOptions) { o.Plan = t.TempDir() }, manifest.ErrNoPlan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := submitOptions(t, plan, cl, store)
			tc.edit(&o)
			if _, err := jobs.Submit(context.Background(), o); !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if n := srv.Calls("CreateJob"); n != 0 {
		t.Errorf("%d CreateJob calls, want 0", n)
	}
}

func TestSubmitConflictAndDryRun(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 2, "large": 1}, 3)
	srv, cl, store := newControl(t)
	o := submitOptions(t, plan, cl, store)
	o.Routes = []string{"copy"}
	o.DryRun = true
	var seen []string
	var mu sync.Mutex
	o.OnShard = func(s jobs.ShardJob) { mu.Lock(); seen = append(seen, s.Shard+" "+s.State); mu.Unlock() }
	res, err := jobs.Submit(context.Background(), o)
	if err != nil || len(res.Shards) != 2 || srv.Calls("CreateJob") != 0 {
		t.Fatalf("dry run: %v, %d shards, %d calls", err, len(res.Shards), srv.Calls("CreateJob"))
	}
	if strings.Join(seen, ";") != "shards/copy/00000.csv dry-run;shards/copy/00001.csv dry-run" {
		t.Errorf("dry run shards: %v", seen)
	}
	if _, err := manifest.ReadRun(context.Background(), nil, plan); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("dry run wrote jobs.json: %v", err)
	}
	o.DryRun = false
	if _, err := jobs.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	// The same shards with another operation: refused, nothing called.
	op, _, _ := jobs.ParseOperation([]byte(`{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "other"}]}}`))
	o.Operation = op
	o.Routes = nil
	before := srv.Calls("CreateJob")
	if _, err := jobs.Submit(context.Background(), o); !errors.Is(err, jobs.ErrConflict) {
		t.Errorf("resubmit with another operation: %v, want ErrConflict", err)
	}
	if srv.Calls("CreateJob") != before {
		t.Error("a conflicting submit called CreateJob")
	}
}

func TestSubmitThousandShards(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 shards")
	}
	plan := makePlan(t, map[string]int{"copy": 1000}, 1)
	srv, cl, store := newControl(t)
	start := time.Now()
	res, err := jobs.Submit(context.Background(), submitOptions(t, plan, cl, store))
	elapsed := time.Since(start)
	if err != nil || res.Created != 1000 || len(srv.Jobs(t, testAccount)) != 1000 {
		t.Fatalf("%v, created %d", err, res.Created)
	}
	t.Logf("1,000 shards submitted in %v at the default concurrency", elapsed)
	limit := 20 * time.Second
	if raceEnabled {
		limit *= 4 // the race detector slows everything down
	}
	if elapsed > limit {
		t.Errorf("1,000 shards took %v, want under %v", elapsed, limit)
	}
}
