package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
)

// transitions records status changes per job.
type transitions struct {
	mu sync.Mutex
	m  map[string][]string
}

func (tr *transitions) hook(id string, from, to types.JobStatus) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.m == nil {
		tr.m = map[string][]string{}
	}
	tr.m[id] = append(tr.m[id], string(from)+"→"+string(to))
}

func (tr *transitions) of(id string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.m[id]...)
}

// gateStorage holds every copy until its gate is closed.
type gateStorage struct {
	Storage
	gate    chan struct{}
	started chan struct{}
	once    sync.Once
}

func (g *gateStorage) Copy(ctx context.Context, src ObjectRef, b, k string, op *types.S3CopyObjectOperation) error {
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Storage.Copy(ctx, src, b, k, op)
}

// TestLifecycle walks the documented status transitions
// (docs/formats.md#job-statuses) and the refused ones.
func TestLifecycle(t *testing.T) {
	type step func(t *testing.T, e *Engine, id string, g *gateStorage)
	confirm := func(t *testing.T, e *Engine, id string, _ *gateStorage) {
		waitFor(t, e, id, types.JobStatusSuspended)
		if st, err := e.UpdateJobStatus(testAccount, id, types.JobStatusReady, "go"); err != nil || st != types.JobStatusReady {
			t.Fatalf("confirm: %s %v", st, err)
		}
	}
	cancelAt := func(at types.JobStatus) step {
		return func(t *testing.T, e *Engine, id string, g *gateStorage) {
			if at == types.JobStatusActive {
				<-g.started
			} else {
				waitFor(t, e, id, at)
			}
			if _, err := e.UpdateJobStatus(testAccount, id, types.JobStatusCancelled, "stop"); err != nil {
				t.Fatalf("cancel: %v", err)
			}
			if at == types.JobStatusActive {
				close(g.gate)
			}
		}
	}
	release := func(t *testing.T, e *Engine, id string, g *gateStorage) { close(g.gate) }
	tests := []struct {
		name       string
		confirm    bool
		badETag    bool
		noManifest bool
		steps      []step
		want       []string
		wantStatus types.JobStatus
		wantCode   string
	}{
		{name: "complete", steps: []step{release},
			want: []string{"New→Preparing", "Preparing→Ready", "Ready→Active", "Active→Completing", "Completing→Complete"}, wantStatus: types.JobStatusComplete},
		{name: "confirmation required", confirm: true, steps: []step{confirm, release},
			want: []string{"New→Preparing", "Preparing→Suspended", "Suspended→Ready", "Ready→Active", "Active→Completing", "Completing→Complete"}, wantStatus: types.JobStatusComplete},
		{name: "cancel suspended", confirm: true, steps: []step{cancelAt(types.JobStatusSuspended)},
			want: []string{"New→Preparing", "Preparing→Suspended", "Suspended→Cancelled"}, wantStatus: types.JobStatusCancelled},
		{name: "cancel active", steps: []step{cancelAt(types.JobStatusActive)},
			want: []string{"New→Preparing", "Preparing→Ready", "Ready→Active", "Active→Cancelling", "Cancelling→Cancelled"}, wantStatus: types.JobStatusCancelled},
		{name: "manifest etag mismatch", badETag: true,
			want: []string{"New→Preparing", "Preparing→Failing", "Failing→Failed"}, wantStatus: types.JobStatusFailed, wantCode: "ManifestETagMismatch"},
		{name: "manifest missing", noManifest: true,
			want: []string{"New→Preparing", "Preparing→Failing", "Failing→Failed"}, wantStatus: types.JobStatusFailed, wantCode: "ManifestNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
			keys := keysN("k", 50)
			for _, k := range keys {
				env.put("src-bucket", k, k)
			}
			mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
			if tc.badETag {
				etag = strings.Repeat("0", 32)
			}
			if tc.noManifest {
				mkey = "nope.csv"
			}
			var tr transitions
			g := &gateStorage{Storage: env.st, gate: make(chan struct{}), started: make(chan struct{})}
			e := newTestEngine(t, Options{Storage: g, OnStatus: tr.hook, Workers: 4})
			in := createInput("tok", mkey, etag, copyOp("dst-bucket", ""))
			in.ConfirmationRequired = aws.Bool(tc.confirm)
			id, err := e.CreateJob(context.Background(), testAccount, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.steps {
				s(t, e, id, g)
			}
			d := waitStatus(t, e, id)
			if d.Status != tc.wantStatus {
				t.Fatalf("status %s, want %s (%v)", d.Status, tc.wantStatus, d.FailureReasons)
			}
			if got := tr.of(id); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("transitions\n got %v\nwant %v", got, tc.want)
			}
			if tc.wantCode != "" && (len(d.FailureReasons) == 0 || aws.ToString(d.FailureReasons[0].FailureCode) != tc.wantCode) {
				t.Fatalf("failure reasons %+v, want code %s", d.FailureReasons, tc.wantCode)
			}
			// Terminal jobs refuse every change.
			for _, want := range []types.JobStatus{types.JobStatusReady, types.JobStatusCancelled} {
				if _, err := e.UpdateJobStatus(testAccount, id, want, ""); !errors.Is(err, ErrJobStatus) {
					t.Errorf("%s → %s: got %v, want ErrJobStatus", d.Status, want, err)
				}
			}
		})
	}
}

func waitFor(t *testing.T, e *Engine, id string, want types.JobStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		d, err := e.DescribeJob(testAccount, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == want {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %s", id, want)
}

// TestReadyOnlyFromSuspended refuses to confirm a job that was not
// waiting for confirmation.
func TestReadyOnlyFromSuspended(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	env.put("src-bucket", "a", "a")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"a"})
	g := &gateStorage{Storage: env.st, gate: make(chan struct{}), started: make(chan struct{})}
	e := newTestEngine(t, Options{Storage: g})
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, copyOp("dst-bucket", "")))
	if err != nil {
		t.Fatal(err)
	}
	<-g.started
	if _, err := e.UpdateJobStatus(testAccount, id, types.JobStatusReady, ""); !errors.Is(err, ErrJobStatus) {
		t.Fatalf("Ready on an Active job: %v, want ErrJobStatus", err)
	}
	if _, err := e.UpdateJobStatus(testAccount, id, types.JobStatusComplete, ""); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("requested Complete: %v, want ErrBadRequest", err)
	}
	close(g.gate)
	waitStatus(t, e, id)
}

// TestFailureThreshold checks docs/formats.md#failure-threshold: a job fails once at least
// 1,000 tasks have run and more than half of them failed; smaller jobs
// complete whatever fails.
func TestFailureThreshold(t *testing.T) {
	tests := []struct {
		name          string
		total, failed int // the first `failed` tasks fail (missing sources)
		want          types.JobStatus
		wantAllRun    bool
	}{
		{"999 tasks all failed", 999, 999, types.JobStatusComplete, true},
		{"1000 tasks, 500 failed", 1000, 500, types.JobStatusComplete, true},
		{"1000 tasks, 501 failed", 1000, 501, types.JobStatusFailed, true},
		{"3000 tasks, first 1500 failed", 3000, 1500, types.JobStatusFailed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
			keys := make([]string, tc.total)
			for i := range keys {
				keys[i] = fmt.Sprintf("k%05d", i)
				if i >= tc.failed {
					env.put("src-bucket", keys[i], "x")
				}
			}
			mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
			e := newTestEngine(t, Options{Storage: env.st, Workers: 4})
			id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, copyOp("dst-bucket", "")))
			if err != nil {
				t.Fatal(err)
			}
			d := waitStatus(t, e, id)
			p := d.ProgressSummary
			ran := *p.NumberOfTasksSucceeded + *p.NumberOfTasksFailed
			if d.Status != tc.want || *p.TotalNumberOfTasks != int64(tc.total) || (ran == int64(tc.total)) != tc.wantAllRun {
				t.Fatalf("%s, %d of %d run, %d failed; want %s (all run: %v)", d.Status, ran, *p.TotalNumberOfTasks, *p.NumberOfTasksFailed, tc.want, tc.wantAllRun)
			}
			if tc.want == types.JobStatusFailed {
				if len(d.FailureReasons) != 1 || aws.ToString(d.FailureReasons[0].FailureCode) != "TaskFailureThresholdExceeded" {
					t.Fatalf("failure reasons %+v", d.FailureReasons)
				}
				if ran < FailureThreshold || 2**p.NumberOfTasksFailed <= ran {
					t.Fatalf("failed at %d run, %d failed", ran, *p.NumberOfTasksFailed)
				}
			}
			// A failed job still reports the tasks it ran.
			rows := readReports(t, filepath.Join(env.root, "reports", "runs", "r1"))[id]
			if int64(len(rows)) != ran {
				t.Fatalf("%d report rows, %d tasks run", len(rows), ran)
			}
		})
	}
}

// TestLambda maps the Lambda contract: a schema 2.0 event per task,
// Succeeded with its resultString, TemporaryFailure retried (and
// reported when the last redrive fails), PermanentFailure and function
// errors final.
func TestLambda(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	var events []LambdaEvent
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev LambdaEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || len(ev.Tasks) != 1 {
			http.Error(w, "bad event", 400)
			return
		}
		task := ev.Tasks[0]
		mu.Lock()
		calls[task.S3Key]++
		n := calls[task.S3Key]
		events = append(events, ev)
		mu.Unlock()
		code, msg := "Succeeded", "done:"+task.S3Key
		switch {
		case strings.HasPrefix(task.S3Key, "perm"):
			code, msg = "PermanentFailure", "cannot handle "+task.S3Key
		case strings.HasPrefix(task.S3Key, "flaky") && n < 3:
			code, msg = "TemporaryFailure", "try again"
		case strings.HasPrefix(task.S3Key, "temp"):
			code, msg = "TemporaryFailure", "still busy"
		case strings.HasPrefix(task.S3Key, "crash"):
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`{"errorMessage":"boom","errorType":"ValueError"}`))
			return
		}
		json.NewEncoder(w).Encode(LambdaResponse{InvocationSchemaVersion: "2.0", InvocationID: ev.InvocationID, TreatMissingKeysAs: "PermanentFailure",
			Results: []LambdaResult{{TaskID: task.TaskID, ResultCode: code, ResultString: msg}}})
	}))
	defer fn.Close()

	env := newDirEnv(t, "src-bucket", "reports")
	keys := []string{"ok a+b", "perm1", "flaky1", "temp1", "crash1"}
	mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
	e := newTestEngine(t, Options{Storage: env.st, LambdaURL: fn.URL, TaskAttempts: 4})
	op := types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:f"),
		InvocationSchemaVersion: aws.String("2.0"), UserArguments: map[string]string{"mode": "test"}}}
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, op))
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || *d.ProgressSummary.NumberOfTasksSucceeded != 2 || *d.ProgressSummary.NumberOfTasksFailed != 3 {
		t.Fatalf("%s %+v", d.Status, d.ProgressSummary)
	}
	mu.Lock()
	if calls["flaky1"] != 3 || calls["temp1"] != 4 || calls["perm1"] != 1 || calls["crash1"] != 1 {
		t.Errorf("invocations per key: %v (flaky 3, temp 4 = TaskAttempts, perm and crash 1)", calls)
	}
	ev := events[0]
	if ev.InvocationSchemaVersion != "2.0" || ev.Job.ID != id || ev.Job.UserArguments["mode"] != "test" || ev.Tasks[0].S3Bucket != "src-bucket" || ev.Tasks[0].S3VersionID != nil {
		t.Errorf("event %+v", ev)
	}
	mu.Unlock()
	rows := readReports(t, filepath.Join(env.root, "reports", "runs", "r1"))[id]
	got := map[string]string{}
	for _, r := range rows {
		got[r.Key] = fmt.Sprintf("%v %d %s %s", r.Failed, r.HTTP, r.Code, r.Message)
	}
	want := map[string]string{
		"ok a+b": "false 200  done:ok%20a%2Bb",
		"perm1":  "true 200 PermanentFailure cannot handle perm1",
		"flaky1": "false 200  done:flaky1",
		"temp1":  "true 200 TemporaryFailure still busy",
		"crash1": `true 200 PermanentFailure Lambda returned function error: {"errorMessage":"boom","errorType":"ValueError"}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("report rows\n got %v\nwant %v", got, want)
	}
}

// TestCopySizeRule: sources over 5 GB fail with AWS's 400 InvalidRequest
// before any copy; 5 GB exactly is allowed.
func TestCopySizeRule(t *testing.T) {
	if te := checkCopySource(MaxCopySourceSize); te != nil {
		t.Fatalf("5368709120 bytes refused: %v", te)
	}
	te := checkCopySource(MaxCopySourceSize + 1)
	if te == nil || te.HTTPStatus != 400 || te.Code != "InvalidRequest" ||
		!strings.Contains(te.Message, "larger than the maximum allowable size for a copy source: 5368709120") {
		t.Fatalf("5368709121 bytes: %+v", te)
	}
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	f, err := os.Create(filepath.Join(env.root, "src-bucket", "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxCopySourceSize + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	env.put("src-bucket", "small.bin", "x")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"huge.bin", "small.bin"})
	e := newTestEngine(t, Options{Storage: env.st})
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, copyOp("dst-bucket", "")))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, id)
	rows := readReports(t, filepath.Join(env.root, "reports", "runs", "r1"))[id]
	if len(rows) != 2 || rows[0].Key != "huge.bin" || rows[0].HTTP != 400 || rows[0].Code != "InvalidRequest" || rows[1].Failed {
		t.Fatalf("rows %+v", rows)
	}
	if _, ok := env.get("dst-bucket", "huge.bin"); ok {
		t.Fatal("the huge source was copied")
	}
}

// headCounter counts the HEADs a storage is asked for.
type headCounter struct {
	Storage
	heads atomic.Int64
}

func (h *headCounter) Head(ctx context.Context, o ObjectRef) (ObjectMeta, error) {
	h.heads.Add(1)
	return h.Storage.Head(ctx, o)
}

// TestCopySizeCheckModes: which copy jobs HEAD their sources first. auto
// trusts only the copy route of a plan (tag s3batchkit:route=copy);
// always and never do what they say.
func TestCopySizeCheckModes(t *testing.T) {
	tag := func(route string) []types.S3Tag {
		return []types.S3Tag{{Key: aws.String("s3batchkit:plan"), Value: aws.String("p")}, {Key: aws.String(jobs.TagRoute), Value: aws.String(route)}}
	}
	for _, tc := range []struct {
		mode  string
		tags  []types.S3Tag
		heads bool
	}{
		{"auto", nil, true},
		{"auto", tag("copy"), false},
		{"auto", tag("all"), true},
		{"auto", tag("large"), true},
		{"auto", tag("restore"), true},
		{"always", tag("copy"), true},
		{"always", nil, true},
		{"never", nil, false},
		{"never", tag("large"), false},
	} {
		check, err := ParseCopySizeCheck(tc.mode)
		if err != nil {
			t.Fatal(err)
		}
		env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
		keys := keysN("k", 20)
		for _, k := range keys {
			env.put("src-bucket", k, "data "+k)
		}
		mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
		st := &headCounter{Storage: env.st}
		e := newTestEngine(t, Options{Storage: st, CopySizeCheck: check})
		in := createInput("tok", mkey, etag, copyOp("dst-bucket", ""))
		in.Tags = tc.tags
		id, err := e.CreateJob(context.Background(), testAccount, in)
		if err != nil {
			t.Fatal(err)
		}
		if d := waitStatus(t, e, id); *d.ProgressSummary.NumberOfTasksSucceeded != int64(len(keys)) {
			t.Fatalf("%s %v: %+v", tc.mode, tc.tags, d.ProgressSummary)
		}
		if got := st.heads.Load(); (got == int64(len(keys))) != tc.heads || (got != 0 && got != int64(len(keys))) {
			t.Errorf("mode %s, tags %v: %d HEADs for %d copies, want HEADs %v", tc.mode, tc.tags, got, len(keys), tc.heads)
		}
	}
	if _, err := ParseCopySizeCheck("sometimes"); err == nil {
		t.Error("ParseCopySizeCheck accepted \"sometimes\"")
	}
}

// TestRestartCompleting stops an engine between its last two records of a
// job, Completing (written once the report is) and Complete, as a killed
// process can: the next engine must end the job Complete, with its counts,
// rather than leave it Completing for ever.
func TestRestartCompleting(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	keys := keysN("k", 20)
	for i, k := range keys {
		if i%5 != 0 {
			env.put("src-bucket", k, k)
		}
	}
	mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
	state := t.TempDir()
	e, err := New(Options{Storage: env.st, StateDir: state, RetryBackoff: time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, copyOp("dst-bucket", "")))
	if err != nil {
		t.Fatal(err)
	}
	if d := waitStatus(t, e, id); d.Status != types.JobStatusComplete {
		t.Fatalf("status %s, want Complete", d.Status)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// Put the job back to its record before the last: Completing.
	raw, err := os.ReadFile(filepath.Join(state, logName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var l logLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil || l.Job.Status != types.JobStatusComplete {
		t.Fatalf("last record %s: %v", lines[len(lines)-1], err)
	}
	l.Job.Status, l.Job.Terminated = types.JobStatusCompleting, nil
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, logName), append(raw, append(b, '\n')...), 0o644); err != nil {
		t.Fatal(err)
	}

	var tr transitions
	e2 := newTestEngine(t, Options{Storage: env.st, StateDir: state, OnStatus: tr.hook})
	d := waitStatus(t, e2, id)
	ps := d.ProgressSummary
	if d.Status != types.JobStatusComplete || aws.ToInt64(ps.NumberOfTasksSucceeded) != 16 || aws.ToInt64(ps.NumberOfTasksFailed) != 4 || d.TerminationDate == nil {
		t.Fatalf("after the restart: %s, %d succeeded, %d failed, ended %v; want Complete, 16, 4, a time", d.Status,
			aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed), d.TerminationDate)
	}
	if got, want := tr.of(id), []string{"Completing→Complete"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("transitions after the restart %v, want %v", got, want)
	}
}
