package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
)

// TestUpdate confirms, reprioritises and cancels the jobs of a run at the
// local engine (holding its jobs): a job whose state forbids the change is
// skipped, and routes limit what is touched.
func TestUpdate(t *testing.T) {
	srv, cl, store := newControl(t)
	plan := makePlan(t, map[string]int{"copy": 3, "restore": 2}, 5)
	o := submitOptions(t, plan, cl, store)
	o.Confirm = true
	res, err := jobs.Submit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	prepared(t, srv)
	ctx := context.Background()
	count := func(out []jobs.UpdateOutcome, result string) int {
		n := 0
		for _, oc := range out {
			if oc.Result == result {
				n++
			}
		}
		return n
	}
	byStatus := func() map[types.JobStatus]int {
		m := map[types.JobStatus]int{}
		for _, d := range srv.Jobs(t, testAccount) {
			m[d.Status]++
		}
		return m
	}
	if got := byStatus(); got[types.JobStatusSuspended] != 5 {
		t.Fatalf("jobs by status %v, want 5 Suspended (--confirm)", got)
	}
	// Confirm only the restore jobs.
	out, err := jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionConfirm, Routes: []string{"restore"}})
	if err != nil || len(out) != 2 || count(out, "updated") != 2 {
		t.Fatalf("confirm restore: %+v, %v", out, err)
	}
	if got := byStatus(); got[types.JobStatusReady] != 2 || got[types.JobStatusSuspended] != 3 {
		t.Errorf("jobs by status %v after confirming the restore route, want 2 Ready, 3 Suspended", got)
	}
	out, err = jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionPriority, Priority: 42})
	if err != nil || count(out, "updated") != 5 {
		t.Fatalf("priority: %+v, %v", out, err)
	}
	for _, d := range srv.Jobs(t, testAccount) {
		if d.Priority != 42 {
			t.Errorf("job %s priority %d, want 42", *d.JobId, d.Priority)
		}
	}
	// One job runs to its end: cancelling the run skips it.
	last := res.Shards[len(res.Shards)-1].JobID // a restore job, Ready
	srv.Engine.Release(last)
	if d, err := srv.Engine.Wait(ctx, testAccount, last); err != nil || d.Status != types.JobStatusComplete {
		t.Fatalf("released job: %v %v", d, err)
	}
	out, err = jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionCancel})
	if err != nil || count(out, "updated") != 4 || count(out, "skipped") != 1 {
		t.Fatalf("cancel: %+v, %v", out, err)
	}
	if got := byStatus(); got[types.JobStatusCancelled] != 4 || got[types.JobStatusComplete] != 1 {
		t.Errorf("jobs by status %v after the cancel", got)
	}
	// Confirming again: every job has moved on, all are skipped.
	out, err = jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionConfirm})
	if err != nil || count(out, "skipped") != 5 {
		t.Fatalf("second confirm: %+v, %v", out, err)
	}
	if _, err := jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: "pause"}); !errors.Is(err, jobs.ErrInvalid) {
		t.Errorf("unknown action: err = %v, want ErrInvalid", err)
	}
}
