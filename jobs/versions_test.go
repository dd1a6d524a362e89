package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// versionTimes returns, from the engine, the latest end of a
// noncurrent-version job and the earliest creation of a current-version
// job, by the versions jobs.json records.
func versionTimes(t *testing.T, ctx context.Context, srv interface {
	Jobs(testing.TB, string) []*types.JobDescriptor
}, plan string) (lastNoncurrentEnd, firstCurrentStart time.Time, nc, cur int) {
	t.Helper()
	run, err := manifest.ReadRun(ctx, nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, e := range run.Jobs {
		versions[e.JobID] = e.Versions
	}
	for _, d := range srv.Jobs(t, testAccount) {
		switch versions[aws.ToString(d.JobId)] {
		case manifest.VersionsNoncurrent:
			nc++
			if d.TerminationDate == nil || d.Status != types.JobStatusComplete {
				t.Fatalf("noncurrent job %s is %s", aws.ToString(d.JobId), d.Status)
			}
			if d.TerminationDate.After(lastNoncurrentEnd) {
				lastNoncurrentEnd = *d.TerminationDate
			}
		case manifest.VersionsCurrent:
			cur++
			if firstCurrentStart.IsZero() || d.CreationTime.Before(firstCurrentStart) {
				firstCurrentStart = *d.CreationTime
			}
		}
	}
	return
}

// TestSubmitHoldsCurrentVersions: a copy of a versioned plan creates the
// noncurrent-version jobs first and holds the current-version ones back,
// saying why, until every noncurrent job of the route is Complete; a
// later submit then creates them.
func TestSubmitHoldsCurrentVersions(t *testing.T) {
	plan := makeVersionedPlan(t, map[string][2]int{"copy": {2, 2}}, 3)
	srv, cl, store := newControl(t)
	ctx := context.Background()
	o := submitOp(t, plan, cl, store, copyOpJSON)

	dry := o
	dry.DryRun = true
	res, err := jobs.Submit(ctx, dry)
	if err != nil || len(res.Shards) != 4 || !strings.Contains(res.Shards[2].Detail+res.Shards[3].Detail, "noncurrent-version jobs of route copy") {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	for range 2 {
		res, err = jobs.Submit(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created+res.Existing != 2 || len(res.Held) != 2 {
			t.Fatalf("created %d, existing %d, held %d; want 2 noncurrent jobs and 2 held", res.Created, res.Existing, len(res.Held))
		}
		for _, h := range res.Held {
			if h.Versions != manifest.VersionsCurrent || h.State != "held" || !strings.Contains(h.Detail, "wait for the 2 noncurrent-version jobs of route copy") {
				t.Errorf("held %+v", h)
			}
		}
	}
	if n := len(srv.Jobs(t, testAccount)); n != 2 {
		t.Fatalf("%d jobs at the engine, want the 2 noncurrent ones", n)
	}
	run, _ := manifest.ReadRun(ctx, nil, plan)
	for _, e := range run.Jobs {
		if e.Versions != manifest.VersionsNoncurrent || e.Status != "Ready" || e.StatusAt == nil {
			t.Errorf("jobs.json entry %+v: want a noncurrent job seen Ready", e)
		}
	}
	srv.Engine.Release()
	srv.Wait(t, ctx, testAccount)
	res, err = jobs.Submit(ctx, o)
	if err != nil || res.Created != 2 || res.Existing != 2 || len(res.Held) != 0 {
		t.Fatalf("after the noncurrent jobs: %v, created %d, existing %d, held %d", err, res.Created, res.Existing, len(res.Held))
	}
	srv.Wait(t, ctx, testAccount)
	end, start, nc, cur := versionTimes(t, ctx, srv, plan)
	if nc != 2 || cur != 2 || start.Before(end) {
		t.Errorf("%d noncurrent jobs ended by %v, %d current ones started from %v", nc, end, cur, start)
	}
}

// TestSubmitWaitsForNoncurrent: with Wait, one submit creates every job,
// the current-version ones only after the noncurrent ones completed; an
// operation that does not copy (tagging) creates all at once.
func TestSubmitWaitsForNoncurrent(t *testing.T) {
	plan := makeVersionedPlan(t, map[string][2]int{"copy": {3, 2}}, 3)
	srv, cl, store := newControl(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := submitOp(t, plan, cl, store, copyOpJSON)
	o.Wait, o.PollInterval = true, 10*time.Millisecond
	go func() {
		time.Sleep(100 * time.Millisecond)
		srv.Engine.Release()
	}()
	res, err := jobs.Submit(ctx, o)
	if err != nil || res.Created != 5 || len(res.Held) != 0 {
		t.Fatalf("%v, created %d, held %d", err, res.Created, len(res.Held))
	}
	srv.Wait(t, ctx, testAccount)
	end, start, nc, cur := versionTimes(t, ctx, srv, plan)
	if nc != 3 || cur != 2 || start.Before(end) {
		t.Errorf("%d noncurrent jobs ended by %v, %d current ones started from %v", nc, end, cur, start)
	}

	tagPlan := makeVersionedPlan(t, map[string][2]int{"copy": {1, 1}}, 2)
	res, err = jobs.Submit(ctx, submitOptions(t, tagPlan, cl, store))
	if err != nil || res.Created != 2 || len(res.Held) != 0 {
		t.Errorf("tagging: %v, created %d, held %d; want both at once", err, res.Created, len(res.Held))
	}
}

// TestSubmitNoncurrentCancelled: a noncurrent-version job that ends
// Cancelled blocks the current versions of its route for good.
func TestSubmitNoncurrentCancelled(t *testing.T) {
	plan := makeVersionedPlan(t, map[string][2]int{"copy": {1, 1}}, 3)
	srv, cl, store := newControl(t)
	ctx := context.Background()
	o := submitOp(t, plan, cl, store, copyOpJSON)
	res, err := jobs.Submit(ctx, o)
	if err != nil || res.Created != 1 {
		t.Fatal(err, res)
	}
	if _, err := cl.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(testAccount), JobId: aws.String(res.Shards[0].JobID),
		RequestedJobStatus: types.RequestedJobStatusCancelled, StatusUpdateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	o.Wait = true
	res, err = jobs.Submit(ctx, o)
	if !errors.Is(err, jobs.ErrNoncurrentIncomplete) || !strings.Contains(err.Error(), "ended Cancelled") || len(res.Held) != 1 {
		t.Fatalf("err = %v, held %d; want ErrNoncurrentIncomplete naming the cancelled job", err, len(res.Held))
	}
	if n := len(srv.Jobs(t, testAccount)); n != 1 {
		t.Errorf("%d jobs, want only the noncurrent one", n)
	}
}
