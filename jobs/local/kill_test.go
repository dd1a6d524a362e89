package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
)

// slowLogStorage slows copies down and logs every copy started to a
// file (O_APPEND, one write per copy), so that a test can count tasks
// done twice.
type slowLogStorage struct {
	Storage
	delay time.Duration
	log   *os.File
}

func (s *slowLogStorage) Copy(ctx context.Context, src ObjectRef, b, k string, op *types.S3CopyObjectOperation) error {
	if !sleep(ctx, s.delay) {
		return ctx.Err()
	}
	err := s.Storage.Copy(ctx, src, b, k, op)
	if err == nil {
		fmt.Fprintf(s.log, "%s\n", src.Key)
	}
	return err
}

// TestEngineChild is the engine process of TestKillRestart; it runs only
// when that test starts it.
func TestEngineChild(t *testing.T) {
	if os.Getenv("S3BK_ENGINE_CHILD") == "" {
		t.Skip("started by TestKillRestart only")
	}
	root, state := os.Getenv("S3BK_ROOT"), os.Getenv("S3BK_STATE")
	lf, err := os.OpenFile(filepath.Join(root, "copies.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{StateDir: state, Storage: &slowLogStorage{Storage: &DirStorage{Root: root}, delay: 2 * time.Millisecond, log: lf}, Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "addr.tmp"), []byte(ln.Addr().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(root, "addr.tmp"), filepath.Join(root, "addr"))
	http.Serve(ln, testHandler(t, e)) // until killed
}

// TestKillRestart kills (SIGKILL) the engine process mid-job and starts
// it again on the same state: the job resumes and ends with every task
// reported exactly once, every object copied, and only the tasks of the
// last unsynced moment done twice.
func TestKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	const n = 4000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("dir %d/obj+%05d", i%7, i)
		if i%10 != 3 { // 10% missing: failures must survive the restart too
			env.put("src-bucket", keys[i], keys[i])
		}
	}
	mkey, etag := env.manifestOf("m.csv", "src-bucket", keys)
	state := t.TempDir()

	start := func() (*exec.Cmd, *s3control.Client) {
		os.Remove(filepath.Join(env.root, "addr"))
		cmd := exec.Command(os.Args[0], "-test.run=^TestEngineChild$")
		cmd.Env = append(os.Environ(), "S3BK_ENGINE_CHILD=1", "S3BK_ROOT="+env.root, "S3BK_STATE="+state)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		var addr []byte
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile(filepath.Join(env.root, "addr")); err == nil {
				addr = b
				break
			}
		}
		if addr == nil {
			t.Fatal("the engine process did not start")
		}
		oc := objio.New(objio.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")})
		cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{IO: oc, Endpoint: "http://" + string(addr), RetryMaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return cmd, cl
	}
	describe := func(cl *s3control.Client, id string) *types.JobDescriptor {
		out, err := cl.DescribeJob(context.Background(), &s3control.DescribeJobInput{AccountId: aws.String(testAccount), JobId: &id})
		if err != nil {
			t.Fatal(err)
		}
		return out.Job
	}

	cmd, cl := start()
	out, err := cl.CreateJob(context.Background(), createInput("kill-tok", mkey, etag, copyOp("dst-bucket", "")))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	var before *types.JobDescriptor
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		before = describe(cl, id)
		if done := *before.ProgressSummary.NumberOfTasksSucceeded + *before.ProgressSummary.NumberOfTasksFailed; done >= n/3 {
			break
		}
		if time.Now().After(deadline) || jobs.Terminal(string(before.Status)) {
			t.Fatalf("job never got a third done: %s %+v", before.Status, before.ProgressSummary)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("killed at %s, %d succeeded, %d failed", before.Status, *before.ProgressSummary.NumberOfTasksSucceeded, *before.ProgressSummary.NumberOfTasksFailed)

	_, cl = start()
	again, err := cl.CreateJob(context.Background(), createInput("kill-tok", mkey, etag, copyOp("dst-bucket", "")))
	if err != nil || aws.ToString(again.JobId) != id {
		t.Fatalf("after restart, the token gives %v %v, want job %s", again, err, id)
	}
	var d *types.JobDescriptor
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d = describe(cl, id)
		if jobs.Terminal(string(d.Status)) || time.Now().After(deadline) {
			break
		}
	}
	if d.Status != types.JobStatusComplete || *d.ProgressSummary.NumberOfTasksSucceeded != n-n/10 || *d.ProgressSummary.NumberOfTasksFailed != n/10 {
		t.Fatalf("after restart: %s %+v", d.Status, d.ProgressSummary)
	}
	rows := readReports(t, filepath.Join(env.root, "reports", "runs", "r1"))[id]
	if len(rows) != n {
		t.Fatalf("%d report rows, want %d", len(rows), n)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Key] {
			t.Fatalf("%q reported twice", r.Key)
		}
		seen[r.Key] = true
	}
	for i, k := range keys {
		_, ok := env.get("dst-bucket", k)
		if ok != (i%10 != 3) {
			t.Fatalf("destination of %q exists: %v", k, ok)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(env.root, "copies.log"))
	copies := strings.Count(string(raw), "\n")
	redone := copies - (n - n/10)
	t.Logf("%d copies for %d objects: %d done twice (finished but not yet synced, or in flight, when killed)", copies, n-n/10, redone)
	if redone < 0 || redone > 400 {
		t.Fatalf("%d tasks done twice", redone)
	}
}
