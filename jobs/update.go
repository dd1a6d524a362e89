package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
	"golang.org/x/sync/errgroup"
)

// Action is a change applied to every job of a run.
type Action string

// The actions of `s3batchkit jobs`.
const (
	// ActionConfirm moves Suspended jobs (created with --confirm) to Ready.
	ActionConfirm Action = "confirm"
	// ActionCancel cancels jobs that have not ended.
	ActionCancel Action = "cancel"
	// ActionPriority sets the priority of every job.
	ActionPriority Action = "priority"
)

// UpdateOptions say which jobs of a run to change and how.
type UpdateOptions struct {
	// Plan is the plan directory holding jobs.json.
	Plan string
	// Client is the S3 Control client.
	Client Control
	// Action is the change to make.
	Action Action
	// Priority is the new priority, for ActionPriority (0 – 2,147,483,647).
	Priority int32
	// Reason is the StatusUpdateReason sent with confirm and cancel
	// (1–256 characters); empty means "s3batchkit jobs <action>".
	Reason string
	// Routes limits the change to jobs of these routes; empty means all.
	Routes []string
	// Concurrency bounds calls in flight. Zero: DefaultConcurrency.
	Concurrency int
	// IO reads jobs.json (nil: see objio).
	IO *objio.Client
}

// UpdateOutcome is what happened to one job.
type UpdateOutcome struct {
	Shard  string `json:"shard"`
	Route  string `json:"route"`
	JobID  string `json:"job_id"`
	Result string `json:"result"` // "updated" or "skipped"
	Status string `json:"status,omitempty"`
	// Detail says why a job was skipped (S3 Control's JobStatusException:
	// a confirm of a job that is not Suspended, a cancel of one that has
	// ended, or a job S3 Control no longer knows).
	Detail string `json:"detail,omitempty"`
}

// Update applies o.Action to every job recorded in jobs.json (of
// o.Routes, when given), at most Concurrency calls at once. A job whose
// state forbids the change is skipped and said so, not an error: cancelling
// a run where some jobs already ended is normal. Any other failure stops
// the update and is returned; the outcomes before it are returned too.
func Update(ctx context.Context, o UpdateOptions) ([]UpdateOutcome, error) {
	if o.Client == nil {
		return nil, invalid("no S3 Control client")
	}
	switch o.Action {
	case ActionConfirm, ActionCancel:
	case ActionPriority:
		if o.Priority < 0 {
			return nil, invalid("priority %d: expected 0 to 2147483647", o.Priority)
		}
	default:
		return nil, invalid("unknown action %q: expected confirm, cancel or priority", o.Action)
	}
	reason := o.Reason
	if reason == "" {
		reason = "s3batchkit jobs " + string(o.Action)
	}
	if len(reason) > 256 {
		return nil, invalid("the status update reason is longer than 256 characters")
	}
	run, err := manifest.ReadRun(ctx, o.IO, o.Plan)
	if err != nil {
		return nil, fmt.Errorf("reading the run of %s (was the plan submitted?): %w", o.Plan, err)
	}
	var todo []manifest.RunJob
	for _, e := range run.Jobs {
		if len(o.Routes) == 0 || slices.Contains(o.Routes, e.Route) {
			todo = append(todo, e)
		}
	}
	conc := o.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	out := make([]UpdateOutcome, len(todo))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i, e := range todo {
		g.Go(func() error {
			oc := UpdateOutcome{Shard: e.Shard, Route: e.Route, JobID: e.JobID, Result: "updated"}
			acct, id := aws.String(run.AccountID), aws.String(e.JobID)
			var err error
			switch o.Action {
			case ActionPriority:
				_, err = o.Client.UpdateJobPriority(gctx, &s3control.UpdateJobPriorityInput{AccountId: acct, JobId: id, Priority: o.Priority})
			default:
				want := types.RequestedJobStatusReady
				if o.Action == ActionCancel {
					want = types.RequestedJobStatusCancelled
				}
				var res *s3control.UpdateJobStatusOutput
				res, err = o.Client.UpdateJobStatus(gctx, &s3control.UpdateJobStatusInput{
					AccountId: acct, JobId: id, RequestedJobStatus: want, StatusUpdateReason: aws.String(reason)})
				if err == nil {
					oc.Status = string(res.Status)
				}
			}
			var se *types.JobStatusException
			var nf *types.NotFoundException
			switch {
			case errors.As(err, &se):
				oc.Result, oc.Detail = "skipped", aws.ToString(se.Message)
			case errors.As(err, &nf):
				oc.Result, oc.Detail = "skipped", "S3 Control does not know the job (jobs are forgotten some time after they end)"
			case err != nil:
				return fmt.Errorf("%s job %s of shard %s: %w", o.Action, e.JobID, e.Shard, err)
			}
			out[i] = oc
			return nil
		})
	}
	err = g.Wait()
	return out, err
}
