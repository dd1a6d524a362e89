package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/s3batchkit/s3batchkit/manifest"
	"golang.org/x/sync/errgroup"
)

// Terminal reports whether a job status is final: Complete, Cancelled or
// Failed (formats.md §6.5).
func Terminal(status string) bool {
	switch types.JobStatus(status) {
	case types.JobStatusComplete, types.JobStatusCancelled, types.JobStatusFailed:
		return true
	}
	return false
}

// StatusOptions say which run to describe.
type StatusOptions struct {
	// Plan is the plan directory holding jobs.json.
	Plan string
	// Client is the S3 Control client.
	Client Control
	// Concurrency bounds DescribeJob calls in flight. Zero:
	// DefaultConcurrency.
	Concurrency int
}

// JobState is one job as DescribeJob reports it.
type JobState struct {
	Shard          string   `json:"shard"`
	Route          string   `json:"route"`
	JobID          string   `json:"job_id"`
	Status         string   `json:"status"`
	Total          int64    `json:"total_tasks"`
	Succeeded      int64    `json:"succeeded_tasks"`
	Failed         int64    `json:"failed_tasks"`
	ActiveSeconds  int64    `json:"active_seconds"`
	Priority       int32    `json:"priority"`
	FailureReasons []string `json:"failure_reasons,omitempty"`
	// Error is set when the job could not be described (NotFound: S3
	// Control forgets jobs some time after they end).
	Error string `json:"error,omitempty"`
}

// RunStatus sums up the jobs of a run.
type RunStatus struct {
	PlanID    string         `json:"plan_id"`
	Jobs      []JobState     `json:"jobs"` // in jobs.json order
	ByStatus  map[string]int `json:"jobs_by_status"`
	Total     int64          `json:"total_tasks"`
	Succeeded int64          `json:"succeeded_tasks"`
	Failed    int64          `json:"failed_tasks"`
	// Percent of the known tasks that have run (succeeded or failed).
	Percent float64 `json:"percent"`
	// ETASeconds estimates the time left: the tasks left of unfinished
	// jobs over the summed task rate of the jobs running now; -1 when no
	// job has run long enough to tell.
	ETASeconds float64 `json:"eta_seconds"`
	// Done is true when every job is terminal (or can no longer be found).
	Done bool `json:"done"`
}

// Status describes every job recorded in DIR/jobs.json, with at most
// Concurrency DescribeJob calls in flight. A job S3 Control no longer
// knows is reported with its Error set; any other failure stops it.
func Status(ctx context.Context, o StatusOptions) (*RunStatus, error) {
	if o.Client == nil {
		return nil, invalid("no S3 Control client")
	}
	run, err := manifest.ReadRun(ctx, o.Plan)
	if err != nil {
		return nil, fmt.Errorf("reading the run of %s (was the plan submitted?): %w", o.Plan, err)
	}
	conc := o.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	states := make([]JobState, len(run.Jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i, e := range run.Jobs {
		g.Go(func() error {
			s := JobState{Shard: e.Shard, Route: e.Route, JobID: e.JobID}
			out, err := o.Client.DescribeJob(gctx, &s3control.DescribeJobInput{AccountId: aws.String(run.AccountID), JobId: aws.String(e.JobID)})
			var nf *types.NotFoundException
			switch {
			case errors.As(err, &nf):
				s.Status, s.Error = "NotFound", "S3 Control does not know the job (jobs are forgotten some time after they end)"
			case err != nil:
				return fmt.Errorf("describing job %s of shard %s: %w", e.JobID, e.Shard, err)
			case out.Job != nil:
				j := out.Job
				s.Status = string(j.Status)
				s.Priority = j.Priority
				if p := j.ProgressSummary; p != nil {
					s.Total = aws.ToInt64(p.TotalNumberOfTasks)
					s.Succeeded = aws.ToInt64(p.NumberOfTasksSucceeded)
					s.Failed = aws.ToInt64(p.NumberOfTasksFailed)
					if p.Timers != nil {
						s.ActiveSeconds = aws.ToInt64(p.Timers.ElapsedTimeInActiveSeconds)
					}
				}
				for _, f := range j.FailureReasons {
					s.FailureReasons = append(s.FailureReasons, aws.ToString(f.FailureCode)+": "+aws.ToString(f.FailureReason))
				}
			}
			states[i] = s
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return summarize(run.PlanID, states), nil
}

func summarize(planID string, states []JobState) *RunStatus {
	rs := &RunStatus{PlanID: planID, Jobs: states, ByStatus: map[string]int{}, Done: true, ETASeconds: -1}
	var left, rate float64
	for _, s := range states {
		rs.ByStatus[s.Status]++
		rs.Total += s.Total
		rs.Succeeded += s.Succeeded
		rs.Failed += s.Failed
		if Terminal(s.Status) || s.Status == "NotFound" {
			continue
		}
		rs.Done = false
		done := s.Succeeded + s.Failed
		left += float64(max(s.Total-done, 0))
		if s.Status == string(types.JobStatusActive) && s.ActiveSeconds > 0 && done > 0 {
			rate += float64(done) / float64(s.ActiveSeconds)
		}
	}
	if rs.Total > 0 {
		rs.Percent = 100 * float64(rs.Succeeded+rs.Failed) / float64(rs.Total)
	}
	switch {
	case rs.Done:
		rs.ETASeconds = 0
	case rate > 0:
		rs.ETASeconds = left / rate
	}
	return rs
}

// Statuses returns the statuses of rs sorted by name, with their counts,
// for display.
func (rs *RunStatus) Statuses() []string {
	out := make([]string, 0, len(rs.ByStatus))
	for s := range rs.ByStatus {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// ETA returns ETASeconds as a duration, or -1.
func (rs *RunStatus) ETA() time.Duration {
	if rs.ETASeconds < 0 {
		return -1
	}
	return time.Duration(rs.ETASeconds * float64(time.Second))
}
