package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// What `run` prints besides its per-job lines: the --json document, the
// --dry-run listing, and the live progress line.

// runOutput is run's --json document.
type runOutput struct {
	PlanID        string             `json:"plan_id"`
	DryRun        bool               `json:"dry_run"`
	Jobs          []runJobOutput     `json:"jobs"`
	Objects       int64              `json:"objects"` // of the shards run (or that would run)
	TasksRun      int64              `json:"tasks_run"`
	TasksFailed   int64              `json:"tasks_failed"`
	JobsComplete  int                `json:"jobs_complete"`
	SkippedRoutes []skippedRoute     `json:"skipped_routes"`
	Report        string             `json:"report,omitempty"`
	JobsFile      string             `json:"jobs_file,omitempty"`
	TaskRetries   int64              `json:"task_retries"`
	S3            objio.RequestStats `json:"s3"`
	Error         string             `json:"error,omitempty"`
}

// runJobOutput is one shard's job in run's --json document.
type runJobOutput struct {
	Shard          string   `json:"shard"`
	Route          string   `json:"route"`
	JobID          string   `json:"job_id,omitempty"`
	Status         string   `json:"status"` // the job's final status; "dry-run" with --dry-run
	Objects        int64    `json:"objects,omitempty"`
	Total          int64    `json:"total_tasks"`
	Succeeded      int64    `json:"succeeded_tasks"`
	Failed         int64    `json:"failed_tasks"`
	FailureReasons []string `json:"failure_reasons"`
	Report         string   `json:"report,omitempty"`
}

// newRunOutput sums up a run (res may be nil after an early error) and
// the S3 requests oc made.
func newRunOutput(oc *objio.Client, plan string, res *local.RunResult, err error) *runOutput {
	doc := &runOutput{S3: oc.Stats()}
	if res != nil {
		doc.PlanID, doc.Report, doc.TaskRetries = res.PlanID, res.Report, res.TaskRetries
		doc.SkippedRoutes = skippedRoutes(res.Skipped)
		doc.JobsFile = objio.Join(plan, manifest.JobsFile)
		for _, j := range res.Jobs {
			doc.Jobs = append(doc.Jobs, runJobOutput{Shard: j.Shard, Route: j.Route, JobID: j.JobID, Status: string(j.Status),
				Total: j.Total, Succeeded: j.Succeeded, Failed: j.Failed, FailureReasons: j.FailureReasons, Report: j.Report})
			doc.TasksRun += j.Succeeded + j.Failed
			doc.TasksFailed += j.Failed
			doc.Objects += j.Total
			if j.Status == types.JobStatusComplete {
				doc.JobsComplete++
			}
		}
	}
	if err != nil {
		doc.Error = err.Error()
	}
	return doc
}

// runDryRun lists the jobs `run` would run: the shards of the routes the
// operation serves (or of --routes), and the routes left out. It reads
// plan.json and nothing else, and writes nothing.
func runDryRun(ctx context.Context, oc *objio.Client, w io.Writer, plan string, op types.JobOperation, routes []string, asJSON bool) error {
	p, err := manifest.ReadPlan(ctx, oc, plan)
	if err != nil {
		return jobsError(err)
	}
	shards, skipped, err := jobs.SelectShards(p, op, routes)
	if err != nil {
		return jobsError(err)
	}
	doc := runOutput{DryRun: true, SkippedRoutes: skippedRoutes(skipped)}
	for _, sh := range shards {
		doc.Jobs = append(doc.Jobs, runJobOutput{Shard: sh.Path, Route: sh.Route, Status: "dry-run", Objects: sh.Objects})
		doc.Objects += sh.Objects
	}
	if asJSON {
		return writeJSON(w, &doc)
	}
	for _, j := range doc.Jobs {
		fmt.Fprintf(w, "would run  %-28s route %-16s %s objects\n", j.Shard, j.Route, humanCount(j.Objects))
	}
	printSkipped(w, skipped)
	fmt.Fprintf(w, "dry run: %d jobs, %s objects would run; nothing called, nothing written\n", len(doc.Jobs), humanCount(doc.Objects))
	return nil
}

// taskCounter counts the attempts of the tasks the local engine makes
// through its storage (copies, tagging, restores, reads for checksums:
// LambdaInvoke tasks go elsewhere), for the progress line.
type taskCounter struct {
	attempts, failed atomic.Int64
}

// countingStorage is a local.Storage whose task operations taskCounter
// counts; everything else goes to the store as is.
type countingStorage struct {
	local.Storage
	n *taskCounter
}

// S3API passes the wrapped store's S3 client on (local.S3Store), so that
// the in-process large-copy function runs on it; its part copies are not
// counted here.
func (s countingStorage) S3API() *s3.Client {
	if st, ok := s.Storage.(local.S3Store); ok {
		return st.S3API()
	}
	return nil
}

func (s countingStorage) count(err error) error {
	s.n.attempts.Add(1)
	if err != nil {
		s.n.failed.Add(1)
	}
	return err
}

func (s countingStorage) Copy(ctx context.Context, src local.ObjectRef, dstBucket, dstKey string, op *types.S3CopyObjectOperation) error {
	return s.count(s.Storage.Copy(ctx, src, dstBucket, dstKey, op))
}

func (s countingStorage) PutTagging(ctx context.Context, o local.ObjectRef, tags []types.S3Tag) error {
	return s.count(s.Storage.PutTagging(ctx, o, tags))
}

func (s countingStorage) DeleteTagging(ctx context.Context, o local.ObjectRef) error {
	return s.count(s.Storage.DeleteTagging(ctx, o))
}

func (s countingStorage) Restore(ctx context.Context, o local.ObjectRef, days *int32, tier types.S3GlacierJobTier) (string, error) {
	msg, err := s.Storage.Restore(ctx, o, days, tier)
	return msg, s.count(err)
}

func (s countingStorage) Open(ctx context.Context, o local.ObjectRef) (io.ReadCloser, local.ObjectMeta, error) {
	r, m, err := s.Storage.Open(ctx, o)
	return r, m, s.count(err)
}

// runProgress is the progress line of run: jobs ended, task attempts of
// the objects to act on, their rate and the time left.
func runProgress(n *taskCounter, total int64, jobsTotal int, ended *atomic.Int64) func(time.Duration) string {
	return func(el time.Duration) string {
		a, f := n.attempts.Load(), n.failed.Load()
		return fmt.Sprintf("run: %d of %d jobs ended; %s of %s tasks attempted (%s failed attempts), %s",
			ended.Load(), jobsTotal, humanCount(a), humanCount(total), humanCount(f), rateAndETA(a, total, el))
	}
}
