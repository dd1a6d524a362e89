package local

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
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
// failure rate can fail a job (formats.md §7.5).
const FailureThreshold = 1000

// Options configure an Engine. StateDir and Storage are required.
type Options struct {
	// StateDir holds jobs.log and the results of every job (created if
	// needed). One engine at a time may use it.
	StateDir string
	// Storage is where tasks act and where manifests and reports named by
	// bucket ARNs are read and written.
	Storage Storage
	// LambdaURL receives the LambdaInvoke events (POST, JSON); empty:
	// LambdaInvoke jobs are refused.
	LambdaURL string
	// HTTPClient calls LambdaURL. Nil: a client with a 60 s timeout.
	HTTPClient *http.Client
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
	// Logf, when set, receives one line per job status change.
	Logf func(format string, a ...any)
	// OnStatus, when set, is called (with the engine's lock held: it must
	// not call the engine) at every status change.
	OnStatus func(id string, from, to types.JobStatus)
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

	taskRetries atomic.Int64 // task attempts repeated after a transient error

	mu     sync.Mutex
	log    *stateLog
	jobs   map[string]*job
	order  []string          // ids in creation order
	tokens map[string]string // account/token → id
	closed bool
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
	o.setDefaults()
	lg, recs, err := openStateLog(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local engine: opening state %s: %w", o.StateDir, err)
	}
	base, stop := context.WithCancel(context.Background())
	e := &Engine{o: o, base: base, stop: stop, kick: make(chan struct{}, 1), slots: make(chan struct{}, o.Workers),
		log: lg, jobs: map[string]*job{}, tokens: map[string]string{}}
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
				if !j.running {
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

// prepare reads and checks the manifest, counts its tasks, and moves the
// job to Suspended or Ready, or to Failed.
func (e *Engine) prepare(j *job) {
	e.mu.Lock()
	if j.rec.Status != types.JobStatusNew && j.rec.Status != types.JobStatusPreparing {
		e.mu.Unlock()
		return // cancelled before it started
	}
	e.setStatus(j, types.JobStatusPreparing, "")
	loc, etag, versioned := j.rec.ManifestLoc, aws.ToString(j.rec.Manifest.Location.ETag), manifestVersioned(j.rec.Manifest)
	e.mu.Unlock()
	n, err := scanManifest(e.base, loc, etag, versioned)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.base.Err() != nil || j.rec.Status != types.JobStatusPreparing {
		return // closing (prepared again on restart), or cancelled meanwhile
	}
	if err != nil {
		var fe *failure
		if errors.As(err, &fe) {
			e.fail(j, fe.code, fe.msg)
		} else {
			e.fail(j, "ManifestReadFailed", fmt.Sprintf("Reading the manifest failed: %v", err))
		}
		return
	}
	j.rec.Total = n
	if j.rec.ConfirmationRequired {
		j.rec.SuspendedCause = "AwaitingConfirmation"
		e.setStatus(j, types.JobStatusSuspended, "")
		return
	}
	e.setStatus(j, types.JobStatusReady, "")
}

// failure is a job failure with its FailureCode.
type failure struct{ code, msg string }

func (f *failure) Error() string { return f.code + ": " + f.msg }

func manifestVersioned(m types.JobManifest) bool {
	if m.Spec == nil {
		return false
	}
	for _, f := range m.Spec.Fields {
		if f == types.JobManifestFieldNameVersionId {
			return true
		}
	}
	return false
}

// scanManifest checks the manifest object's ETag (its MD5 when the store
// has no ETags), parses every line and returns the number of tasks.
func scanManifest(ctx context.Context, loc, etag string, versioned bool) (int64, error) {
	info, err := objio.Stat(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return 0, &failure{"ManifestNotFound", fmt.Sprintf("Reading the manifest failed: %s: NoSuchKey", loc)}
		}
		return 0, err
	}
	want := strings.ToLower(strings.Trim(etag, `"`))
	if info.ETag != "" && !strings.EqualFold(info.ETag, want) {
		return 0, &failure{"ManifestETagMismatch", fmt.Sprintf("The manifest ETag %s does not match the ETag given, %s", info.ETag, want)}
	}
	f, err := objio.Open(ctx, loc)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := md5.New()
	var n int64
	err = eachLine(io.TeeReader(f, h), func(line []byte) error {
		n++
		row, err := manifest.ParseRow(line)
		if err != nil {
			return &failure{"ManifestParseFailed", fmt.Sprintf("Reading the manifest failed: line %d: %v", n, err)}
		}
		if row.HasVersion != versioned {
			return &failure{"ManifestParseFailed", fmt.Sprintf("Reading the manifest failed: line %d: %d fields, expected %d (Spec.Fields)", n, 2+b2i(row.HasVersion), 2+b2i(versioned))}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if info.ETag == "" {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != want {
			return 0, &failure{"ManifestETagMismatch", fmt.Sprintf("The manifest MD5 %s does not match the ETag given, %s", sum, want)}
		}
	}
	if n == 0 {
		return 0, &failure{"ManifestEmpty", "The manifest holds no task"}
	}
	return n, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// eachLine calls fn with every non-empty line of r (without "\n" or
// "\r\n"); the slice is valid during the call only.
func eachLine(r io.Reader, fn func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

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
	// least one task ran (formats.md §7.1).
	var repErr error
	if rec.Report.Enabled && rec.ReportLoc != "" && invoked {
		for attempt := 0; attempt < 3; attempt++ {
			if repErr = writeReport(e.base, &rec, e.resultsPath(id)); repErr == nil || e.base.Err() != nil {
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
// have run and more than half of them failed (formats.md §7.5); the caller
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
// retried by the SDK first (objio.Stats counts those).
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
	f, err := objio.Open(e.base, rec.ManifestLoc)
	if err != nil {
		return err
	}
	defer f.Close()
	x, err := e.newExecutor(&rec)
	if err != nil {
		return err
	}

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
	readErr := eachLine(f, func(line []byte) error {
		idx++
		if res.isDone(idx) {
			return nil
		}
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		t := &taskResult{Index: idx}
		fields := splitFields(line)
		t.Bucket, t.Key = fields[0], fields[1]
		if len(fields) > 2 {
			t.VersionID = fields[2]
		}
		row, perr := manifest.ParseRow(line)
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() { <-e.slots }()
			if perr != nil {
				t.HTTP, t.Code, t.Message = 400, "InvalidRequest", "Task failed: the manifest line does not parse: "+perr.Error()
			} else if !x.do(e.base, row, t) {
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

// splitFields splits a manifest line into its raw fields, unquoted.
func splitFields(line []byte) []string {
	parts := strings.SplitN(string(line), ",", 3)
	for i, p := range parts {
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			parts[i] = p[1 : len(p)-1]
		}
	}
	for len(parts) < 2 {
		parts = append(parts, "")
	}
	return parts
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

// --- the job API ------------------------------------------------------

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	roleRE    = regexp.MustCompile(`^arn:[^:]+:iam::\d{12}:role/.+$`)
	objectRE  = regexp.MustCompile(`^arn:[^:]+:s3:::([^/]+)/(.+)$`)
	bucketRE  = regexp.MustCompile(`^arn:[^:]+:s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])$`)
)

// requestHash identifies a CreateJob request for idempotency: everything
// but the account and the token.
func requestHash(in *s3control.CreateJobInput) string {
	c := *in
	c.AccountId, c.ClientRequestToken = nil, nil
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	return uuid(b[:])
}

// uuid formats 16 bytes as a version-4 UUID, as AWS job ids look.
func uuid(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// JobSpec is a job created in process (RunPlan): the manifest and report
// given as objio locations rather than bucket ARNs.
type JobSpec struct {
	// Input is the CreateJob request; its Manifest.Location.ObjectArn and
	// Report.Bucket are kept for DescribeJob but not used to find them.
	Input *s3control.CreateJobInput
	// ManifestLoc is the manifest's location (path or s3://).
	ManifestLoc string
	// ReportLoc is the report prefix's location (folder or s3://); empty:
	// no report.
	ReportLoc string
	// ID is the job id; empty: derived from the account and token.
	ID string
}

// CreateJob creates a job from a CreateJob request of account acct and
// returns its id. The same ClientRequestToken with the same request
// returns the same id; with another request, an IdempotencyException.
func (e *Engine) CreateJob(ctx context.Context, acct string, in *s3control.CreateJobInput) (string, error) {
	if err := e.validate(acct, in); err != nil {
		return "", err
	}
	loc := objectRE.FindStringSubmatch(aws.ToString(in.Manifest.Location.ObjectArn))
	mloc, err := e.o.Storage.Locate(loc[1], loc[2])
	if err != nil {
		return "", apiErr(ErrBadRequest, "Manifest.Location.ObjectArn: %v", err)
	}
	spec := JobSpec{Input: in, ManifestLoc: mloc}
	var bucket, prefix string
	if in.Report != nil && in.Report.Enabled {
		bucket = bucketRE.FindStringSubmatch(aws.ToString(in.Report.Bucket))[1]
		prefix = strings.Trim(aws.ToString(in.Report.Prefix), "/")
		root, err := e.o.Storage.Locate(bucket, "")
		if err != nil {
			return "", apiErr(ErrBadRequest, "Report.Bucket: %v", err)
		}
		spec.ReportLoc = root
		if prefix != "" {
			spec.ReportLoc = objio.Join(strings.TrimSuffix(root, "/"), prefix)
		}
	}
	return e.create(acct, spec, bucket, prefix)
}

// CreateLocalJob creates a job whose manifest and report are at the
// locations of spec (RunPlan's jobs), with the idempotency of CreateJob.
func (e *Engine) CreateLocalJob(ctx context.Context, acct string, spec JobSpec) (string, error) {
	if err := e.validate(acct, spec.Input); err != nil {
		return "", err
	}
	bucket, prefix := "", ""
	if spec.ReportLoc != "" {
		if objio.IsS3(spec.ReportLoc) {
			b, k, err := objio.ParseS3(spec.ReportLoc)
			if err != nil {
				return "", apiErr(ErrBadRequest, "report: %v", err)
			}
			bucket, prefix = b, strings.Trim(k, "/")
		} else {
			bucket = filepath.Base(filepath.Clean(spec.ReportLoc))
		}
	}
	return e.create(acct, spec, bucket, prefix)
}

func (e *Engine) create(acct string, spec JobSpec, reportBucket, reportPrefix string) (string, error) {
	in := spec.Input
	hash := requestHash(in)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return "", apiErr(ErrInternal, "the engine is shutting down")
	}
	tk := acct + "/" + aws.ToString(in.ClientRequestToken)
	if id, ok := e.tokens[tk]; ok {
		if e.jobs[id].rec.RequestHash != hash {
			return "", apiErr(ErrIdempotency, "ClientRequestToken %s was used for another request (job %s)", aws.ToString(in.ClientRequestToken), id)
		}
		return id, nil
	}
	id := spec.ID
	if id == "" {
		s := sha256.Sum256([]byte(tk))
		id = uuid(s[:16])
		if _, taken := e.jobs[id]; taken || spec.Input.ClientRequestToken == nil {
			id = newJobID()
		}
	}
	j := &job{done: make(chan struct{}), rec: jobRecord{
		ID: id, Account: acct, Token: aws.ToString(in.ClientRequestToken), RequestHash: hash,
		Description: aws.ToString(in.Description), Priority: aws.ToInt32(in.Priority),
		ConfirmationRequired: aws.ToBool(in.ConfirmationRequired), RoleArn: aws.ToString(in.RoleArn),
		Operation: *in.Operation, Manifest: *in.Manifest, Tags: in.Tags,
		ManifestLoc: spec.ManifestLoc, ReportLoc: spec.ReportLoc, ReportBucket: reportBucket,
		Status: types.JobStatusNew, Created: time.Now().UTC(),
	}}
	if in.Report != nil {
		j.rec.Report = *in.Report
	}
	if reportPrefix != "" {
		j.rec.ReportKeyPrefix = reportPrefix + "/"
	}
	if err := e.persist(j); err != nil {
		return "", err
	}
	e.jobs[id] = j
	e.order = append(e.order, id)
	e.tokens[tk] = id
	e.o.Logf("job %s: created (%s, manifest %s)", id, jobs.OperationName(j.rec.Operation), j.rec.ManifestLoc)
	e.wake()
	return id, nil
}

// supported lists the operations the engine runs.
var supported = map[string]bool{"S3PutObjectCopy": true, "S3PutObjectTagging": true, "S3DeleteObjectTagging": true,
	"S3InitiateRestoreObject": true, "S3ComputeObjectChecksum": true, "LambdaInvoke": true}

func (e *Engine) validate(acct string, in *s3control.CreateJobInput) error {
	bad := func(format string, a ...any) error { return apiErr(ErrBadRequest, format, a...) }
	switch {
	case !accountRE.MatchString(acct):
		return bad("AccountId must be 12 digits, got %q", acct)
	case in == nil:
		return bad("no request")
	case in.ClientRequestToken == nil || len(*in.ClientRequestToken) < 1 || len(*in.ClientRequestToken) > 64:
		return bad("ClientRequestToken must be 1-64 characters")
	case in.ManifestGenerator != nil:
		return bad("ManifestGenerator is not supported by the local engine: give a Manifest")
	case in.Manifest == nil || in.Manifest.Location == nil || in.Manifest.Spec == nil:
		return bad("Manifest with Spec and Location is required")
	case in.Manifest.Spec.Format != types.JobManifestFormatS3BatchOperationsCsv20180820:
		return bad("Manifest.Spec.Format %q is not supported by the local engine: only S3BatchOperations_CSV_20180820", in.Manifest.Spec.Format)
	case !objectRE.MatchString(aws.ToString(in.Manifest.Location.ObjectArn)):
		return bad("Manifest.Location.ObjectArn must be an object ARN such as arn:aws:s3:::bucket/key, got %q", aws.ToString(in.Manifest.Location.ObjectArn))
	case aws.ToString(in.Manifest.Location.ETag) == "":
		return bad("Manifest.Location.ETag is required")
	case in.Priority == nil || *in.Priority < 0:
		return bad("Priority is required, 0 to 2147483647")
	case !roleRE.MatchString(aws.ToString(in.RoleArn)):
		return bad("RoleArn must be an IAM role ARN, got %q", aws.ToString(in.RoleArn))
	case in.Report == nil:
		return bad("Report is required")
	case in.Operation == nil:
		return bad("Operation is required")
	case in.Description != nil && len(*in.Description) > 256:
		return bad("Description must be at most 256 characters")
	}
	if in.Report.Enabled {
		if !bucketRE.MatchString(aws.ToString(in.Report.Bucket)) {
			return bad("Report.Bucket must be a bucket ARN such as arn:aws:s3:::reports, got %q", aws.ToString(in.Report.Bucket))
		}
		if in.Report.Format != types.JobReportFormatReportCsv20180820 {
			return bad("Report.Format must be Report_CSV_20180820")
		}
		if s := in.Report.ReportScope; s != "" && s != types.JobReportScopeAllTasks && s != types.JobReportScopeFailedTasksOnly {
			return bad("Report.ReportScope must be AllTasks or FailedTasksOnly")
		}
	}
	if err := jobs.ValidateOperation(*in.Operation); err != nil {
		return bad("Operation: %v", err)
	}
	name := jobs.OperationName(*in.Operation)
	if !supported[name] {
		return bad("Operation %s is not supported by the local engine", name)
	}
	if name == "LambdaInvoke" && e.o.LambdaURL == "" {
		return bad("LambdaInvoke needs the engine's Lambda URL (serve --lambda-url)")
	}
	return nil
}

func (e *Engine) lookup(acct, id string) (*job, error) {
	j := e.jobs[id]
	if j == nil || j.rec.Account != acct {
		return nil, apiErr(ErrNotFound, "The specified job was not found: %s", id)
	}
	return j, nil
}

func (e *Engine) progress(j *job) *types.JobProgressSummary {
	active := j.rec.ActiveSeconds
	if !j.activeSince.IsZero() {
		active += int64(time.Since(j.activeSince).Seconds())
	}
	return &types.JobProgressSummary{
		TotalNumberOfTasks:     aws.Int64(j.rec.Total),
		NumberOfTasksSucceeded: aws.Int64(j.succeeded),
		NumberOfTasksFailed:    aws.Int64(j.failed),
		Timers:                 &types.JobTimers{ElapsedTimeInActiveSeconds: aws.Int64(active)},
	}
}

// DescribeJob describes a job of account acct.
func (e *Engine) DescribeJob(acct, id string) (*types.JobDescriptor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return nil, err
	}
	r := &j.rec
	op, man, rep := r.Operation, r.Manifest, r.Report
	created := r.Created
	d := &types.JobDescriptor{
		JobId: aws.String(r.ID), JobArn: aws.String("arn:aws:s3:" + e.o.Region + ":" + r.Account + ":job/" + r.ID),
		Status: r.Status, ConfirmationRequired: aws.Bool(r.ConfirmationRequired), Priority: r.Priority,
		RoleArn: aws.String(r.RoleArn), Operation: &op, Manifest: &man, Report: &rep,
		CreationTime: &created, TerminationDate: r.Terminated, ProgressSummary: e.progress(j),
		FailureReasons: append([]types.JobFailure(nil), r.FailureReasons...),
	}
	if r.Description != "" {
		d.Description = aws.String(r.Description)
	}
	if r.StatusUpdateReason != "" {
		d.StatusUpdateReason = aws.String(r.StatusUpdateReason)
	}
	if r.SuspendedAt != nil {
		d.SuspendedDate = r.SuspendedAt
		d.SuspendedCause = aws.String(r.SuspendedCause)
	}
	return d, nil
}

// ListJobs lists the jobs of account acct in creation order, those of the
// given statuses when any, from the position nextToken names, at most max
// (1-1000; 0 means 1000). The returned token is empty after the last page.
func (e *Engine) ListJobs(acct string, statuses []types.JobStatus, nextToken string, max int) ([]types.JobListDescriptor, string, error) {
	if !accountRE.MatchString(acct) {
		return nil, "", apiErr(ErrBadRequest, "AccountId must be 12 digits")
	}
	if max <= 0 || max > 1000 {
		max = 1000
	}
	want := map[types.JobStatus]bool{}
	for _, s := range statuses {
		want[s] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []types.JobListDescriptor
	started := nextToken == ""
	for _, id := range e.order {
		if !started {
			started = id == nextToken
			if !started {
				continue
			}
		}
		j := e.jobs[id]
		if j.rec.Account != acct || (len(want) > 0 && !want[j.rec.Status]) {
			continue
		}
		if len(out) == max {
			return out, id, nil
		}
		created := j.rec.Created
		d := types.JobListDescriptor{JobId: aws.String(id), Status: j.rec.Status, Priority: j.rec.Priority,
			Operation: types.OperationName(jobs.OperationName(j.rec.Operation)), CreationTime: &created,
			TerminationDate: j.rec.Terminated, ProgressSummary: e.progress(j)}
		if j.rec.Description != "" {
			d.Description = aws.String(j.rec.Description)
		}
		out = append(out, d)
	}
	if !started {
		return nil, "", apiErr(ErrBadRequest, "InvalidNextTokenException: the next token is not valid")
	}
	return out, "", nil
}

// UpdateJobStatus confirms a Suspended job (Ready) or cancels a job that
// has not ended (Cancelled); any other request is a JobStatusException.
// It returns the status after the change: a running job goes through
// Cancelling.
func (e *Engine) UpdateJobStatus(acct, id string, want types.JobStatus, reason string) (types.JobStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return "", err
	}
	if len(reason) > 256 {
		return "", apiErr(ErrBadRequest, "StatusUpdateReason must be at most 256 characters")
	}
	cur := j.rec.Status
	switch want {
	case types.JobStatusReady:
		if cur != types.JobStatusSuspended {
			return "", apiErr(ErrJobStatus, "Job %s is %s: only a Suspended job can be confirmed (Ready)", id, cur)
		}
		e.setStatus(j, types.JobStatusReady, reason)
	case types.JobStatusCancelled:
		switch cur {
		case types.JobStatusNew, types.JobStatusPreparing, types.JobStatusSuspended, types.JobStatusReady:
			e.setStatus(j, types.JobStatusCancelled, reason)
		case types.JobStatusActive, types.JobStatusPausing, types.JobStatusPaused:
			e.setStatus(j, types.JobStatusCancelling, reason)
			if j.stopTasks != nil {
				j.stopTasks()
			}
		default:
			return "", apiErr(ErrJobStatus, "Job %s is %s and cannot be cancelled", id, cur)
		}
	default:
		return "", apiErr(ErrBadRequest, "RequestedJobStatus must be Ready or Cancelled, got %q", want)
	}
	e.wake()
	return j.rec.Status, nil
}

// UpdateJobPriority sets a job's priority (0-2147483647).
func (e *Engine) UpdateJobPriority(acct, id string, p int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return err
	}
	if p < 0 {
		return apiErr(ErrBadRequest, "Priority must be 0 to 2147483647")
	}
	j.rec.Priority = p
	if err := e.persist(j); err != nil {
		return err
	}
	e.wake()
	return nil
}

// Wait blocks until the job is Complete, Failed or Cancelled, or ctx ends,
// and returns its description.
func (e *Engine) Wait(ctx context.Context, acct, id string) (*types.JobDescriptor, error) {
	e.mu.Lock()
	j, err := e.lookup(acct, id)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.DescribeJob(acct, id)
}
