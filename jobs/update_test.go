package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs"
)

// TestUpdate confirms, reprioritises and cancels the jobs of a run at the
// fake S3 Control server: a job whose state forbids the change is skipped,
// and routes limit what is touched.
func TestUpdate(t *testing.T) {
	srv, cl := newControl(t)
	plan := makePlan(t, map[string]int{"copy": 3, "restore": 2}, 5)
	o := submitOptions(t, plan, cl, newMemStore())
	o.Confirm = true
	if _, err := jobs.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
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
	// Confirm only the restore jobs.
	out, err := jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionConfirm, Routes: []string{"restore"}})
	if err != nil || len(out) != 2 || count(out, "updated") != 2 {
		t.Fatalf("confirm restore: %+v, %v", out, err)
	}
	ready := 0
	for _, j := range srv.Jobs() {
		if j.Status == "Ready" {
			ready++
		}
	}
	if ready != 2 {
		t.Errorf("%d jobs Ready after confirming the restore route, want 2", ready)
	}
	out, err = jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionPriority, Priority: 42})
	if err != nil || count(out, "updated") != 5 {
		t.Fatalf("priority: %+v, %v", out, err)
	}
	for _, j := range srv.Jobs() {
		if j.Priority != 42 {
			t.Errorf("job %s priority %d, want 42", j.ID, j.Priority)
		}
	}
	// One job has ended: cancelling the run skips it.
	first := srv.Jobs()[0]
	srv.SetProgress(first.ID, "Complete", 5, 5, 0, 1)
	out, err = jobs.Update(ctx, jobs.UpdateOptions{Plan: plan, Client: cl, Action: jobs.ActionCancel})
	if err != nil || count(out, "updated") != 4 || count(out, "skipped") != 1 {
		t.Fatalf("cancel: %+v, %v", out, err)
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
