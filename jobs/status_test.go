package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/jobstest"
)

func TestStatusAggregates(t *testing.T) {
	plan := makePlan(t, map[string]int{"copy": 3, "restore": 1}, 2)
	srv, cl := newControl(t)
	ctx := context.Background()
	if _, err := jobs.Submit(ctx, submitOptions(t, plan, cl, newMemStore())); err != nil {
		t.Fatal(err)
	}
	// in plan order: copy 0, 1, 2, restore 0
	var js []jobstest.Job
	for _, shard := range []string{"shards/copy/00000.csv", "shards/copy/00001.csv", "shards/copy/00002.csv", "shards/restore/00000.csv"} {
		for _, j := range srv.Jobs() {
			if j.Request.Tag(jobs.TagShard) == shard {
				js = append(js, j)
			}
		}
	}
	srv.SetProgress(js[0].ID, "Complete", 1000, 990, 10, 100)
	srv.SetProgress(js[1].ID, "Active", 1000, 400, 100, 50) // 10 tasks/s
	srv.SetProgress(js[2].ID, "Active", 2000, 500, 0, 100)  // 5 tasks/s
	srv.SetProgress(js[3].ID, "Failed", 500, 0, 0, 0)
	srv.SetFailureReasons(js[3].ID, "manifest unreadable")
	srv.Fail("DescribeJob", jobstest.Fault{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"})

	rs, err := jobs.Status(ctx, jobs.StatusOptions{Plan: plan, Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Total != 4500 || rs.Succeeded != 1890 || rs.Failed != 110 {
		t.Errorf("tasks total %d, succeeded %d, failed %d; want 4500, 1890, 110", rs.Total, rs.Succeeded, rs.Failed)
	}
	if rs.ByStatus["Complete"] != 1 || rs.ByStatus["Active"] != 2 || rs.ByStatus["Failed"] != 1 || rs.Done {
		t.Errorf("by status %v, done %v", rs.ByStatus, rs.Done)
	}
	if want := 100 * 2000.0 / 4500; rs.Percent < want-0.01 || rs.Percent > want+0.01 {
		t.Errorf("percent %.2f, want %.2f", rs.Percent, want)
	}
	// left: 500 + 1500 tasks at 10 + 5 tasks/s
	if want := 2000.0 / 15; rs.ETASeconds < want-0.01 || rs.ETASeconds > want+0.01 {
		t.Errorf("ETA %.1f s, want %.1f", rs.ETASeconds, want)
	}
	if got := rs.Jobs[3].FailureReasons; len(got) != 1 || rs.Jobs[3].Shard != "shards/restore/00000.csv" {
		t.Errorf("job 4: %+v", rs.Jobs[3])
	}
	for _, j := range js[1:3] {
		srv.SetProgress(j.ID, "Complete", 1000, 1000, 0, 100)
	}
	rs, err = jobs.Status(ctx, jobs.StatusOptions{Plan: plan, Client: cl})
	if err != nil || !rs.Done || rs.ETASeconds != 0 {
		t.Errorf("all terminal: %v, done %v, eta %v", err, rs.Done, rs.ETASeconds)
	}
}

func TestStatusWithoutJobs(t *testing.T) {
	_, cl := newControl(t)
	if _, err := jobs.Status(context.Background(), jobs.StatusOptions{Plan: t.TempDir(), Client: cl}); !errors.Is(err, objio.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}
