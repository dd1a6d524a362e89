package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/jobstest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

func TestSubmitOneJobPerShard(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 3, "large": 2}, 5)
	srv, cl := newControl(t)
	store := newMemStore()
	ctx := context.Background()
	p, err := manifest.ReadPlan(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Submit(ctx, submitOptions(t, plan, cl, store))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 5 || res.Uploaded != 5 || res.Existing != 0 {
		t.Fatalf("created %d, uploaded %d, existing %d; want 5, 5, 0", res.Created, res.Uploaded, res.Existing)
	}
	got := srv.Jobs()
	if len(got) != 5 || srv.Calls("CreateJob") != 5 {
		t.Fatalf("%d jobs from %d calls, want 5 from 5", len(got), srv.Calls("CreateJob"))
	}
	run, err := manifest.ReadRun(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	byShard := map[string]manifest.RunJob{}
	for _, e := range run.Jobs {
		byShard[e.Shard] = e
	}
	for _, j := range got {
		r := j.Request
		shard := r.Tag(jobs.TagShard)
		var sh manifest.Shard
		for _, s := range p.Shards {
			if s.Path == shard {
				sh = s
			}
		}
		e := byShard[shard]
		wantArn := "arn:aws:s3:::s3bk-manifests/batch/" + run.PlanID + "/" + shard
		switch {
		case sh.Path == "":
			t.Errorf("job %s: shard tag %q is not a plan shard", j.ID, shard)
		case r.Manifest.Location.ObjectArn != wantArn:
			t.Errorf("job %s: ObjectArn %s, want %s", j.ID, r.Manifest.Location.ObjectArn, wantArn)
		case r.Manifest.Location.ETag != sh.MD5:
			t.Errorf("job %s: ETag %s, want the shard MD5 %s", j.ID, r.Manifest.Location.ETag, sh.MD5)
		case r.Manifest.Spec.Format != "S3BatchOperations_CSV_20180820" || strings.Join(r.Manifest.Spec.Fields, ",") != "Bucket,Key":
			t.Errorf("job %s: manifest spec %+v", j.ID, r.Manifest.Spec)
		case r.OperationName() != "S3PutObjectCopy" || !strings.Contains(string(r.Operation.Inner), "<TargetResource>arn:aws:s3:::s3bk-destination</TargetResource>"):
			t.Errorf("job %s: operation %s", j.ID, r.Operation.Inner)
		case r.ConfirmationRequired == nil || *r.ConfirmationRequired:
			t.Errorf("job %s: ConfirmationRequired must be sent as false", j.ID)
		case len(r.ClientRequestToken) > 64 || r.ClientRequestToken != e.Token:
			t.Errorf("job %s: token %q, jobs.json %q", j.ID, r.ClientRequestToken, e.Token)
		case e.JobID != j.ID || e.Route != sh.Route || e.ReportPrefix != "s3://s3bk-reports/reports/run1":
			t.Errorf("jobs.json entry %+v for job %s", e, j.ID)
		case r.Report.Bucket != testReports || r.Report.Prefix != "reports/run1" || r.Report.ReportScope != "AllTasks" || !r.Report.Enabled:
			t.Errorf("job %s: report %+v", j.ID, r.Report)
		case r.Tag(jobs.TagPlan) != run.PlanID || r.Tag(jobs.TagRoute) != sh.Route || r.Priority != 10 || r.RoleArn != testRole:
			t.Errorf("job %s: tags %+v, priority %d, role %s", j.ID, r.Tags, r.Priority, r.RoleArn)
		}
		if obj := store.objs["s3://s3bk-manifests/batch/"+run.PlanID+"/"+shard]; int64(len(obj)) != sh.ManifestBytes {
			t.Errorf("shard %s uploaded with %d bytes, want %d", shard, len(obj), sh.ManifestBytes)
		}
	}
	raw, _ := objio.ReadAll(ctx, objio.Join(plan, manifest.JobsFile))
	for _, secret := range []string{"not-a-real-secret", "AKIDTEST", "Signature"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("jobs.json contains %q", secret)
		}
	}

	// A rerun creates nothing.
	res, err = jobs.Submit(ctx, submitOptions(t, plan, cl, store))
	if err != nil || res.Created != 0 || res.Existing != 5 || srv.Calls("CreateJob") != 5 || store.uploads != 5 {
		t.Errorf("rerun: %v, created %d, existing %d, calls %d, uploads %d", err, res.Created, res.Existing, srv.Calls("CreateJob"), store.uploads)
	}
}

func TestSubmitResumeAfterCrash(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 12}, 3)
	srv, cl := newControl(t)
	store := newMemStore()
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C right after the fourth job exists, before its response may
	// have been read: the job exists but may not be in jobs.json.
	srv.OnCreate(func(j *jobstest.Job, n int) {
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
	first, err := manifest.ReadRun(context.Background(), plan)
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
	if n := len(srv.Jobs()); n != 12 {
		t.Errorf("the server holds %d jobs, want 12 (no duplicate)", n)
	}
	calls := srv.CreateCalls()
	for _, e := range first.Jobs {
		if calls[e.Token] != 1 {
			t.Errorf("shard %s, recorded before the interruption, got %d CreateJob calls, want 1", e.Shard, calls[e.Token])
		}
	}
	final, _ := manifest.ReadRun(context.Background(), plan)
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
	srv, cl := newControl(t)
	srv.Fail("CreateJob",
		jobstest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"},
		jobstest.Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"},
		jobstest.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"},
		jobstest.Fault{Status: http.StatusInternalServerError, Code: "InternalServiceException"},
	)
	o := submitOptions(t, plan, cl, newMemStore())
	o.Concurrency = 1
	res, err := jobs.Submit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 || len(srv.Jobs()) != 2 || srv.Calls("CreateJob") != 6 {
		t.Errorf("created %d, server jobs %d, calls %d; want 2, 2, 6", res.Created, len(srv.Jobs()), srv.Calls("CreateJob"))
	}
}

func TestSubmitGivesUpAfterRetries(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 1}, 3)
	srv, cl := newControl(t)
	for range 5 {
		srv.Fail("CreateJob", jobstest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"})
	}
	_, err := jobs.Submit(context.Background(), submitOptions(t, plan, cl, newMemStore()))
	if err == nil || !strings.Contains(err.Error(), "TooManyRequestsException") || srv.Calls("CreateJob") != 5 {
		t.Errorf("err %v after %d calls; want TooManyRequestsException after 5", err, srv.Calls("CreateJob"))
	}
	if _, err := manifest.ReadRun(context.Background(), plan); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("jobs.json written though no job exists: %v", err)
	}
}

func TestSubmitETagMismatch(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 1}, 3)
	srv, cl := newControl(t)
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
	srv, cl := newControl(t)
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
		{"unknown route", func(o *jobs.SubmitOptions) { o.Routes = []string{"restore"} }, jobs.ErrInvalid},
		{"no operation", func(o *jobs.SubmitOptions) { o.Operation.S3PutObjectCopy = nil }, jobs.ErrOperation},
		{"no plan.json", func(o *jobs.SubmitOptions) { o.Plan = t.TempDir() }, manifest.ErrNoPlan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := submitOptions(t, plan, cl, newMemStore())
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
	srv, cl := newControl(t)
	store := newMemStore()
	o := submitOptions(t, plan, cl, store)
	o.Routes = []string{"copy"}
	o.DryRun = true
	var seen []string
	var mu sync.Mutex
	o.OnShard = func(s jobs.ShardJob) { mu.Lock(); seen = append(seen, s.Shard+" "+s.State); mu.Unlock() }
	res, err := jobs.Submit(context.Background(), o)
	if err != nil || len(res.Shards) != 2 || srv.Calls("CreateJob") != 0 || store.uploads != 0 {
		t.Fatalf("dry run: %v, %d shards, %d calls, %d uploads", err, len(res.Shards), srv.Calls("CreateJob"), store.uploads)
	}
	if strings.Join(seen, ";") != "shards/copy/00000.csv dry-run;shards/copy/00001.csv dry-run" {
		t.Errorf("dry run shards: %v", seen)
	}
	if _, err := manifest.ReadRun(context.Background(), plan); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("dry run wrote jobs.json: %v", err)
	}
	o.DryRun = false
	if _, err := jobs.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	// The same shards with another operation: refused, nothing called.
	op, _, _ := jobs.ParseOperation([]byte(`{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`))
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
	srv, cl := newControl(t)
	start := time.Now()
	res, err := jobs.Submit(context.Background(), submitOptions(t, plan, cl, newMemStore()))
	elapsed := time.Since(start)
	if err != nil || res.Created != 1000 || len(srv.Jobs()) != 1000 {
		t.Fatalf("%v, created %d", err, res.Created)
	}
	t.Logf("1,000 shards submitted in %v at the default concurrency", elapsed)
	limit := 10 * time.Second
	if raceEnabled {
		limit *= 4 // the race detector slows everything down
	}
	if elapsed > limit {
		t.Errorf("1,000 shards took %v, want under %v", elapsed, limit)
	}
}
