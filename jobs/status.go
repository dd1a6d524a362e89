package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
	"golang.org/x/sync/errgroup"
)

// Terminal reports whether a job status is final: Complete, Cancelled or
// Failed (docs/formats.md#job-statuses).
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
	// Client is the S3 Control client; nil for a run of `s3batchkit run`,
	// whose recorded statuses are returned.
	Client Control
	// Concurrency bounds DescribeJob calls in flight. Zero:
	// DefaultConcurrency.
	Concurrency int
	// IO reads and rewrites jobs.json (nil: see objio).
	IO *objio.Client
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
	// Recorded is true when the statuses are those jobs.json recorded
	// (a run of `s3batchkit run`), not asked of S3 Control.
	Recorded bool `json:"recorded,omitempty"`
	// RecordError says why the statuses seen could not be recorded in
	// jobs.json; empty when they were.
	RecordError string `json:"record_error,omitempty"`
}

// statusNotFound is the status JobState gives a job S3 Control no
// longer knows.
const statusNotFound = "NotFound"

// Status describes every job recorded in DIR/jobs.json, with at most
// Concurrency DescribeJob calls in flight, and records what it saw in
// jobs.json (each job's status, task counts and failure reasons; see
// RecordStatuses). A job S3 Control no longer knows is reported with its
// Error set; any other failure stops it. A jobs.json that cannot be
// rewritten (a read-only plan) is reported in RunStatus.RecordError, not
// as an error.
//
// A run of `s3batchkit run` (Run.ControlEndpoint manifest.EndpointRun)
// is not described: its engine is gone, and the statuses recorded when it
// ended are returned.
func Status(ctx context.Context, o StatusOptions) (*RunStatus, error) {
	run, err := manifest.ReadRun(ctx, o.IO, o.Plan)
	if err != nil {
		return nil, fmt.Errorf("reading the run of %s (was the plan submitted?): %w", o.Plan, err)
	}
	if run.ControlEndpoint == manifest.EndpointRun && o.Client == nil {
		states := make([]JobState, len(run.Jobs))
		for i, e := range run.Jobs {
			states[i] = recordedState(e)
		}
		rs := summarize(run.PlanID, states)
		rs.Recorded = true
		return rs, nil
	}
	if o.Client == nil {
		return nil, invalid("no S3 Control client")
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
			s, err := describe(gctx, o.Client, run.AccountID, e)
			states[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rs := summarize(run.PlanID, states)
	if err := RecordStatuses(ctx, o.IO, o.Plan, states); err != nil {
		rs.RecordError = err.Error()
	}
	return rs, nil
}

// recordedState is a job's state as jobs.json records it.
func recordedState(e manifest.RunJob) JobState {
	s := JobState{Shard: e.Shard, Route: e.Route, JobID: e.JobID, Status: e.Status, FailureReasons: e.FailureReasons}
	if t := e.Tasks; t != nil {
		s.Total, s.Succeeded, s.Failed = t.Total, t.Succeeded, t.Failed
	}
	return s
}

// describe calls DescribeJob for one recorded job. A job S3 Control does
// not know has status statusNotFound and its Error set.
func describe(ctx context.Context, cl Control, account string, e manifest.RunJob) (JobState, error) {
	s := JobState{Shard: e.Shard, Route: e.Route, JobID: e.JobID}
	out, err := cl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(account), JobId: aws.String(e.JobID)})
	var nf *types.NotFoundException
	switch {
	case errors.As(err, &nf):
		s.Status, s.Error = statusNotFound, "S3 Control does not know the job (jobs are forgotten some time after they end)"
	case err != nil:
		return s, fmt.Errorf("describing job %s of shard %s: %w", e.JobID, e.Shard, err)
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
	return s, nil
}

// applyState records st in the entry of its job; it reports whether
// anything changed. A job S3 Control no longer knows keeps the status
// last seen.
func applyState(run *manifest.Run, st JobState, at time.Time) bool {
	if st.Status == statusNotFound || st.Status == "" {
		return false
	}
	for i := range run.Jobs {
		e := &run.Jobs[i]
		if e.JobID != st.JobID || e.Shard != st.Shard {
			continue
		}
		tasks := &manifest.RunTasks{Total: st.Total, Succeeded: st.Succeeded, Failed: st.Failed}
		if e.Status == st.Status && e.Tasks != nil && *e.Tasks == *tasks && slices.Equal(e.FailureReasons, st.FailureReasons) {
			return false
		}
		e.Status, e.Tasks, e.FailureReasons = st.Status, tasks, st.FailureReasons
		e.StatusAt = &at
		return true
	}
	return false
}

// RecordStatuses records the states DescribeJob gave (JobState, as
// Status returns them) in DIR/jobs.json, through oc: each job's status, task counts,
// failure reasons and the time they were seen. The file is read again
// and rewritten atomically only when something changed, so that entries
// added meanwhile by a submit are kept.
func RecordStatuses(ctx context.Context, oc *objio.Client, dir string, states []JobState) error {
	run, err := manifest.ReadRun(ctx, oc, dir)
	if err != nil {
		return err
	}
	at := time.Now().UTC().Truncate(time.Second)
	changed := false
	for _, st := range states {
		if applyState(run, st, at) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return manifest.WriteRun(ctx, oc, dir, run)
}

func summarize(planID string, states []JobState) *RunStatus {
	rs := &RunStatus{PlanID: planID, Jobs: states, ByStatus: map[string]int{}, Done: true, ETASeconds: -1}
	var left, rate float64
	for _, s := range states {
		rs.ByStatus[s.Status]++
		rs.Total += s.Total
		rs.Succeeded += s.Succeeded
		rs.Failed += s.Failed
		if Terminal(s.Status) || s.Status == statusNotFound {
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
