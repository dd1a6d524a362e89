package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// run executes an Active job's remaining tasks (or finishes a Cancelling
// or Failing one), then writes its report and ends it.
func (e *Engine) run(j *job) {
	e.mu.Lock()
	tctx, stopTasks := context.WithCancel(e.base)
	defer stopTasks()
	j.stopTasks = stopTasks
	if j.rec.Status != types.JobStatusActive {
		stopTasks() // Cancelling or Failing: nothing more to start
	} else {
		j.activeSince = time.Now()
	}
	id := j.rec.ID
	e.mu.Unlock()

	res, ok, failed, err := openResultLog(e.resultsPath(id))
	if err != nil {
		e.mu.Lock()
		e.fail(j, "InternalError", fmt.Sprintf("opening the results of job %s: %v", id, err))
		e.mu.Unlock()
		return
	}
	e.mu.Lock()
	j.succeeded, j.failed = ok, failed
	e.checkThreshold(j)
	e.mu.Unlock()

	runErr := e.dispatch(tctx, j, res)
	if err := res.close(); err != nil && runErr == nil {
		runErr = err
	}
	if e.base.Err() != nil {
		return // closing: the job resumes on restart
	}
	e.mu.Lock()
	if runErr != nil && j.rec.Status == types.JobStatusActive {
		e.fail(j, "ManifestReadFailed", fmt.Sprintf("Reading the manifest failed: %v", runErr))
		e.mu.Unlock()
		return
	}
	final := types.JobStatusComplete
	switch j.rec.Status {
	case types.JobStatusCancelling:
		final = types.JobStatusCancelled
	case types.JobStatusFailing:
		final = types.JobStatusFailed
	}
	invoked := j.succeeded+j.failed > 0
	rec := j.rec
	e.mu.Unlock()

	// A report is written for Complete, Failed and Cancelled jobs when at
	// least one task ran (docs/formats.md#report-manifest).
	var repErr error
	if rec.Report.Enabled && rec.ReportLoc != "" && invoked {
		for attempt := 0; attempt < 3; attempt++ {
			if repErr = writeReport(e.base, e.o.IO, &rec, e.resultsPath(id)); repErr == nil || e.base.Err() != nil {
				break
			}
			sleep(e.base, e.o.RetryBackoff<<attempt)
		}
		if e.base.Err() != nil {
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if repErr != nil {
		e.fail(j, "ReportWriteFailed", fmt.Sprintf("Writing the completion report failed: %v", repErr))
		return
	}
	if final == types.JobStatusComplete {
		e.setStatus(j, types.JobStatusCompleting, "")
	}
	e.setStatus(j, final, "")
}

// checkThreshold fails an Active job once at least FailureThreshold tasks
// have run and more than half of them failed (docs/formats.md#failure-threshold); the caller
// holds e.mu.
func (e *Engine) checkThreshold(j *job) {
	run := j.succeeded + j.failed
	if j.rec.Status == types.JobStatusActive && run >= FailureThreshold && 2*j.failed > run {
		j.rec.FailureReasons = append(j.rec.FailureReasons, types.JobFailure{
			FailureCode:   aws.String("TaskFailureThresholdExceeded"),
			FailureReason: aws.String(fmt.Sprintf("Job failed: %d of the %d tasks run failed, over the 50%% allowed once 1,000 tasks have run%s", j.failed, run, lastFailure(j))),
		})
		e.setStatus(j, types.JobStatusFailing, "")
		if j.stopTasks != nil {
			j.stopTasks()
		}
	}
}

// FailureCredentials is the FailureCode of a job that the engine failed
// because its credentials were missing or rejected: no task can succeed,
// and none is reported as failed for it (such errors are the engine's,
// not the objects'). Its tasks that did not run are not run, as for any
// Failed job.
const FailureCredentials = "CredentialsRejected"

// credentialsFailed fails an Active job whose tasks cannot run with the
// engine's credentials, once, and stops its tasks.
func (e *Engine) credentialsFailed(j *job, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.credErr == nil {
		e.credErr = err
	}
	if j.rec.Status != types.JobStatusActive {
		return
	}
	j.rec.FailureReasons = append(j.rec.FailureReasons, types.JobFailure{
		FailureCode:   aws.String(FailureCredentials),
		FailureReason: aws.String(fmt.Sprintf("Job failed: the engine's S3 requests were refused before any object was touched: %v", err)),
	})
	e.setStatus(j, types.JobStatusFailing, "")
	if j.stopTasks != nil {
		j.stopTasks()
	}
}

// CredentialsError returns the first error that failed a job for the
// engine's credentials (see FailureCredentials), or nil.
func (e *Engine) CredentialsError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.credErr
}

// lastFailure names the last failed task of j for a failure reason; the
// caller holds e.mu.
func lastFailure(j *job) string {
	if j.lastFailure == "" {
		return ""
	}
	return "; the last failure: " + j.lastFailure
}

// TaskRetries returns the number of task attempts the engine repeated
// after a transient error (throttling, 5xx, no answer, Lambda
// TemporaryFailure) since it started; each attempt's S3 requests were
// retried by the SDK first (the objio.Client's Stats count those).
func (e *Engine) TaskRetries() int64 { return e.taskRetries.Load() }

// dispatch reads the manifest and runs every task not yet recorded, with
// at most Workers tasks in flight over all jobs, until the manifest ends
// or ctx is canceled; it returns when every started task has been
// recorded. Channels: results (buffer Workers) carries finished tasks to
// the one recorder goroutine; dispatch closes it after the last task.
func (e *Engine) dispatch(ctx context.Context, j *job, res *resultLog) error {
	if ctx.Err() != nil {
		return nil
	}
	e.mu.Lock()
	rec := j.rec
	e.mu.Unlock()
	f, err := e.o.IO.Open(e.base, rec.ManifestLoc)
	if err != nil {
		return err
	}
	defer f.Close()
	x, err := e.newExecutor(&rec)
	if err != nil {
		return err
	}
	x.fatal = func(err error) { e.credentialsFailed(j, err) }

	results := make(chan *taskResult, e.o.Workers)
	recorded := make(chan error, 1)
	go func() {
		var first error
		tick := time.NewTicker(e.o.SyncInterval)
		defer tick.Stop()
		pending := 0
		for {
			select {
			case t, ok := <-results:
				if !ok {
					recorded <- first
					return
				}
				if err := res.append(t); err != nil && first == nil {
					first = err
				}
				pending++
				e.mu.Lock()
				if t.OK {
					j.succeeded++
				} else {
					j.failed++
					j.lastFailure = fmt.Sprintf("%d %s: %s", t.HTTP, t.Code, t.Message)
				}
				e.checkThreshold(j)
				e.mu.Unlock()
				if pending >= 4096 {
					if err := res.sync(); err != nil && first == nil {
						first = err
					}
					pending = 0
				}
			case <-tick.C:
				if pending > 0 {
					if err := res.sync(); err != nil && first == nil {
						first = err
					}
					pending = 0
				}
			}
		}
	}()

	var inflight sync.WaitGroup
	var idx int64 = -1
	readErr := e.eachTask(&rec, f, func(l *manifest.Line) error {
		idx++
		if res.isDone(idx) {
			return nil
		}
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// The report echoes the fields as the manifest wrote them.
		t := &taskResult{Index: idx, Bucket: string(l.Bucket), Key: string(l.Key), VersionID: string(l.VersionID)}
		row := l.Row()
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() { <-e.slots }()
			if !x.do(e.base, row, t) {
				return // canceled: done again after a restart
			}
			results <- t
		}()
		return nil
	})
	inflight.Wait()
	close(results)
	recErr := <-recorded
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	if e.base.Err() == nil && ctx.Err() == nil && idx+1 != rec.Total && rec.Total > 0 {
		return fmt.Errorf("the manifest holds %d tasks, %d when the job was prepared (changed?)", idx+1, rec.Total)
	}
	return recErr
}

// eachTask calls fn with every line of the job's manifest, read with the
// layout of its Spec.Fields; the line is valid during the call only. A
// line that does not parse stops it: preparation checked every line, so
// the manifest changed since.
func (e *Engine) eachTask(rec *jobRecord, src io.Reader, fn func(*manifest.Line) error) error {
	fields, err := manifestFields(rec.Manifest)
	if err != nil {
		return err
	}
	r := manifest.NewReader(src, rec.ManifestLoc, fields)
	for {
		l, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if re := rowError(err); re != nil {
			return fmt.Errorf("%s (the manifest changed after the job was prepared)", rowProblem(re))
		}
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
