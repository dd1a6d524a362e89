package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
)

// Defaults of Options; zero fields take them.
const (
	DefaultWorkers       = 32
	DefaultMaxActiveJobs = 4
	DefaultTaskAttempts  = 4
	DefaultRetryBackoff  = 200 * time.Millisecond
	DefaultSyncInterval  = 50 * time.Millisecond
	DefaultRegion        = "us-east-1"
)

// FailureThreshold is the number of tasks that must have run before the
// failure rate can fail a job (docs/formats.md#failure-threshold).
const FailureThreshold = 1000

// Options configure an Engine. StateDir and Storage are required.
type Options struct {
	// StateDir holds jobs.log and the results of every job (created if
	// needed). One engine at a time may use it.
	StateDir string
	// Storage is where tasks act and where manifests and reports named by
	// bucket ARNs are read and written.
	Storage Storage
	// IO reads the manifests and writes the reports at the locations
	// Storage gives them (nil: see objio).
	IO *objio.Client
	// LambdaURL receives the LambdaInvoke events (POST, JSON); empty:
	// LambdaInvoke jobs are refused.
	LambdaURL string
	// HTTPClient calls LambdaURL. Nil: a client with a 60 s timeout.
	HTTPClient *http.Client
	// LargeCopy configures the in-process s3batchkit-large-copy, which
	// runs LambdaInvoke jobs naming that function (lambda.go).
	LargeCopy LargeCopyOptions
	// Workers bounds the tasks in flight across all jobs. Zero:
	// DefaultWorkers.
	Workers int
	// MaxActiveJobs bounds the jobs running at once. Zero:
	// DefaultMaxActiveJobs.
	MaxActiveJobs int
	// TaskAttempts bounds the attempts of a task that fails with a
	// transient error (throttling, 5xx, timeouts, Lambda
	// TemporaryFailure). Zero: DefaultTaskAttempts; 1: no retry.
	TaskAttempts int
	// RetryBackoff is the first wait between attempts, doubled each time
	// (with jitter). Zero: DefaultRetryBackoff.
	RetryBackoff time.Duration
	// SyncInterval is the longest a finished task waits to be made
	// durable. Zero: DefaultSyncInterval.
	SyncInterval time.Duration
	// CopySizeCheck says when a copy source is HEADed first to apply the
	// 5 GB copy-source rule (see CopySizeCheck). Zero: CopySizeAuto.
	CopySizeCheck CopySizeCheck
	// Region goes into job ARNs. Empty: DefaultRegion.
	Region string
	// Hold keeps every job from running: jobs are prepared as usual and
	// wait in Ready (Suspended ones, once confirmed, too) until Release
	// lets them start. For tests of the tools that drive jobs (submit,
	// status, jobs) and for rehearsals that must not touch any object.
	Hold bool
	// Logf, when set, receives one line per job status change.
	Logf func(format string, a ...any)
	// OnStatus, when set, is called (with the engine's lock held: it must
	// not call the engine) at every status change.
	OnStatus func(id string, from, to types.JobStatus)
	// OptionName names the engine's settings in the messages it answers
	// with (a refused CreateJob or request) the way the program's users
	// set them: the fields "LambdaURL" and "Hosts" (of APIOptions), and
	// the stores "S3Storage" and "DirStorage". Nil: those names. See
	// internal/optname.
	OptionName func(option string) string
}

func (o *Options) setDefaults() {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxActiveJobs <= 0 {
		o.MaxActiveJobs = DefaultMaxActiveJobs
	}
	if o.TaskAttempts <= 0 {
		o.TaskAttempts = DefaultTaskAttempts
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Engine holds the jobs and runs them. Its methods are safe for
// concurrent use.
type Engine struct {
	o     Options
	base  context.Context // canceled by Close: tasks and I/O stop
	stop  context.CancelFunc
	kick  chan struct{} // wakes the scheduler; buffer 1
	slots chan struct{} // one per task in flight
	wg    sync.WaitGroup

	taskRetries atomic.Int64  // task attempts repeated after a transient error
	large       largeCopyFunc // the in-process s3batchkit-large-copy

	mu     sync.Mutex
	log    *stateLog
	jobs   map[string]*job
	order  []string          // ids in creation order
	tokens map[string]string // account/token → id
	closed bool
	// released lists the jobs Release let run while Options.Hold holds
	// the others; releaseAll lets every job run.
	released   map[string]bool
	releaseAll bool
	// credErr is the first credentials error that failed a job (under mu).
	credErr error
}

// job is a job in memory. Fields are guarded by Engine.mu.
type job struct {
	rec         jobRecord
	succeeded   int64
	failed      int64
	lastFailure string    // status, code and message of the last failed task recorded
	running     bool      // a goroutine prepares or runs it
	activeSince time.Time // zero when not running Active
	stopTasks   context.CancelFunc
	done        chan struct{} // closed when the status is terminal
}

// New opens the state in o.StateDir and starts the engine: jobs that were
// not terminal resume (New and Preparing jobs are prepared again, Active
// ones continue after their last recorded task, Cancelling and Failing
// ones finish, Completing ones, whose report is written, end Complete).
// Close stops it.
func New(o Options) (*Engine, error) {
	if o.StateDir == "" {
		return nil, errors.New("local engine: Options.StateDir is required")
	}
	if o.Storage == nil {
		return nil, errors.New("local engine: Options.Storage is required")
	}
	if err := o.LargeCopy.check(); err != nil {
		return nil, fmt.Errorf("local engine: Options.LargeCopy: %w", err)
	}
	o.setDefaults()
	lg, recs, err := openStateLog(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local engine: opening state %s: %w", o.StateDir, err)
	}
	base, stop := context.WithCancel(context.Background())
	e := &Engine{o: o, base: base, stop: stop, kick: make(chan struct{}, 1), slots: make(chan struct{}, o.Workers),
		log: lg, jobs: map[string]*job{}, tokens: map[string]string{}, released: map[string]bool{}}
	for _, r := range recs {
		j := &job{rec: *r, done: make(chan struct{})}
		if jobs.Terminal(string(r.Status)) {
			close(j.done)
		}
		// Counts of jobs that ran come from their results.
		if r.Status != types.JobStatusNew && r.Status != types.JobStatusPreparing {
			if ok, failed, err := countResults(e.resultsPath(r.ID)); err == nil {
				j.succeeded, j.failed = ok, failed
			}
		}
		e.jobs[r.ID] = j
		e.order = append(e.order, r.ID)
		e.tokens[r.Account+"/"+r.Token] = r.ID
	}
	e.wg.Add(1)
	go e.schedule()
	e.wake()
	return e, nil
}

func countResults(path string) (ok, failed int64, err error) {
	err = readResults(path, func(t *taskResult) error {
		if t.OK {
			ok++
		} else {
			failed++
		}
		return nil
	})
	return
}

// Close stops the engine: no task starts, tasks in flight are abandoned
// (done again after a restart), results are synced and the state closed.
// Jobs keep their status and resume when an engine opens the state again.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.close()
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) resultsPath(id string) string {
	return filepath.Join(e.o.StateDir, "jobs", id+".results.jsonl")
}

// persist appends j's record to the log; the caller holds e.mu.
func (e *Engine) persist(j *job) error {
	if err := e.log.append(&j.rec); err != nil {
		return apiErr(ErrInternal, "persisting job %s: %v", j.rec.ID, err)
	}
	return nil
}

// setStatus changes j's status and persists it; the caller holds e.mu.
func (e *Engine) setStatus(j *job, s types.JobStatus, reason string) {
	if j.rec.Status == s {
		return
	}
	prev := j.rec.Status
	if prev == types.JobStatusActive && !j.activeSince.IsZero() {
		j.rec.ActiveSeconds += int64(time.Since(j.activeSince).Seconds())
		j.activeSince = time.Time{}
	}
	j.rec.Status = s
	if reason != "" {
		j.rec.StatusUpdateReason = reason
	}
	now := time.Now().UTC()
	switch s {
	case types.JobStatusActive:
		j.activeSince = now
	case types.JobStatusSuspended:
		j.rec.SuspendedAt = &now
	}
	if jobs.Terminal(string(s)) {
		j.rec.Terminated = &now
	}
	if err := e.persist(j); err != nil {
		e.o.Logf("job %s: %v", j.rec.ID, err)
	}
	if jobs.Terminal(string(s)) {
		close(j.done)
	}
	if e.o.OnStatus != nil {
		e.o.OnStatus(j.rec.ID, prev, s)
	}
	e.o.Logf("job %s: %s → %s (%d/%d tasks, %d failed)", j.rec.ID, prev, s, j.succeeded+j.failed, j.rec.Total, j.failed)
}

// fail moves j through Failing to Failed with a reason; the caller holds
// e.mu.
func (e *Engine) fail(j *job, code, reason string) {
	if len(reason) > 256 {
		reason = reason[:256]
	}
	j.rec.FailureReasons = append(j.rec.FailureReasons, types.JobFailure{FailureCode: aws.String(code), FailureReason: aws.String(reason)})
	e.setStatus(j, types.JobStatusFailing, "")
	e.setStatus(j, types.JobStatusFailed, "")
}

// schedule starts a goroutine for every job that needs one: preparing New
// jobs, finishing interrupted ones, and running Ready jobs by priority
// while fewer than MaxActiveJobs run.
func (e *Engine) schedule() {
	defer e.wg.Done()
	for {
		select {
		case <-e.base.Done():
			return
		case <-e.kick:
		}
		e.mu.Lock()
		active := 0
		var ready []*job
		for _, id := range e.order {
			j := e.jobs[id]
			switch j.rec.Status {
			case types.JobStatusActive, types.JobStatusCancelling, types.JobStatusFailing:
				active++
				if !j.running {
					e.start(j, e.run)
				}
			case types.JobStatusNew, types.JobStatusPreparing:
				if !j.running {
					e.start(j, e.prepare)
				}
			case types.JobStatusCompleting:
				// Completing is persisted after the report is written: a
				// process stopped before the next record left the job
				// here, with nothing more to do than to end it.
				if !j.running {
					e.setStatus(j, types.JobStatusComplete, "")
				}
			case types.JobStatusReady:
				if !j.running && e.mayRun(id) {
					ready = append(ready, j)
				}
			}
		}
		sort.SliceStable(ready, func(a, b int) bool { return ready[a].rec.Priority > ready[b].rec.Priority })
		for _, j := range ready {
			if active >= e.o.MaxActiveJobs {
				break
			}
			active++
			e.setStatus(j, types.JobStatusActive, "")
			e.start(j, e.run)
		}
		e.mu.Unlock()
	}
}

// mayRun says whether Options.Hold lets job id start; the caller holds
// e.mu.
func (e *Engine) mayRun(id string) bool {
	return !e.o.Hold || e.releaseAll || e.released[id]
}

// Release lets held jobs run (Options.Hold): the jobs named, or every
// job, now and later, when none is named. Without Hold it does nothing.
func (e *Engine) Release(ids ...string) {
	e.mu.Lock()
	if len(ids) == 0 {
		e.releaseAll = true
	}
	for _, id := range ids {
		e.released[id] = true
	}
	e.mu.Unlock()
	e.wake()
}

// start runs fn(j) in a goroutine; the caller holds e.mu.
func (e *Engine) start(j *job, fn func(*job)) {
	j.running = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn(j)
		e.mu.Lock()
		j.running = false
		e.mu.Unlock()
		e.wake()
	}()
}
