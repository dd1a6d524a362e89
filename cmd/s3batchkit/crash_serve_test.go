package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
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
	"github.com/s3batchkit/s3batchkit/manifest"
)

// serveProc is one `s3batchkit serve` process.
type serveProc struct {
	cmd  *exec.Cmd
	done chan error
	url  string
}

// startServe starts serve on a free port over the directory of buckets
// root and the state dir state, and waits for the endpoint line. serve
// runs with (and so accepts) the key AKIDLOCAL/secret, the one the test's
// own S3 Control clients sign with.
func startServe(t *testing.T, bin, root, state string) *serveProc {
	t.Helper()
	return startServeWith(t, bin, serveEnv(t, "AKIDLOCAL", "secret"), "--listen", "127.0.0.1:0", "--state-dir", state, "--local-root", root, "--workers", "8")
}

// startServeWith starts `serve args…` with the environment env and waits
// for the endpoint line.
func startServeWith(t *testing.T, bin string, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "S3 Control endpoint "); ok {
				u, _, _ := strings.Cut(rest, " ")
				lines <- u
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.url = <-lines:
	case err := <-p.done:
		t.Fatalf("serve exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatal("serve did not print its endpoint within 30 s")
	}
	return p
}

func (p *serveProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestCrashServe kills `s3batchkit serve` with SIGKILL at random points
// (seeded) while it runs a copy job, and starts it again on the same state
// directory, 1 to 3 times per seed: every job ends Complete with every
// task counted once (the missing sources failed, the rest succeeded), the
// completion report lists each task exactly once, and every object is
// copied. The engine loses no task, whatever the moment of the kill.
func TestCrashServe(t *testing.T) {
	bin := testBinary(t)
	const n = 2000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("dir %d/ключ+%05d.txt", i%5, i)
	}
	missing := func(i int) bool { return i%50 == 7 }
	var nMissing int64
	for i := range keys {
		if missing(i) {
			nMissing++
		}
	}
	// The test's S3 Control clients sign with serve's key.
	oc := objio.New(objio.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")})

	// setup writes a fresh directory of buckets and returns it with the
	// manifest's ETag.
	setup := func(t *testing.T) (root, etag string) {
		root = t.TempDir()
		for _, b := range []string{"src", "dst", "reports", "manifests"} {
			if err := os.MkdirAll(filepath.Join(root, b), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var m []byte
		for i, k := range keys {
			m = manifest.AppendRow(m, []byte("src"), []byte(k), nil, false)
			if missing(i) {
				continue
			}
			p := filepath.Join(root, "src", filepath.FromSlash(k))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("data of "+k), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "manifests", "m.csv"), m, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(m)
		return root, hex.EncodeToString(sum[:])
	}
	create := func(t *testing.T, url, token, etag string) string {
		cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{IO: oc, Endpoint: url, RetryMaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		out, err := cl.CreateJob(context.Background(), &s3control.CreateJobInput{
			AccountId: aws.String("123456789012"), ClientRequestToken: aws.String(token),
			ConfirmationRequired: aws.Bool(false), Priority: aws.Int32(10),
			RoleArn:   aws.String("arn:aws:iam::123456789012:role/batch"),
			Operation: &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::dst")}},
			Manifest: &types.JobManifest{
				Spec:     &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: []types.JobManifestFieldName{"Bucket", "Key"}},
				Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::manifests/m.csv"), ETag: aws.String(etag)},
			},
			Report: &types.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::reports"), Prefix: aws.String("crash"),
				Format: types.JobReportFormatReportCsv20180820, ReportScope: types.JobReportScopeAllTasks},
		})
		if err != nil {
			t.Fatalf("CreateJob: %v", err)
		}
		return aws.ToString(out.JobId)
	}
	// wait polls the job until it ends or timeout passes; it returns the
	// last description.
	wait := func(t *testing.T, url, id string, timeout time.Duration) *types.JobDescriptor {
		cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{IO: oc, Endpoint: url, RetryMaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		var d *types.JobDescriptor
		for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
			out, err := cl.DescribeJob(context.Background(), &s3control.DescribeJobInput{AccountId: aws.String("123456789012"), JobId: aws.String(id)})
			if err != nil {
				t.Fatalf("DescribeJob: %v", err)
			}
			d = out.Job
			if jobs.Terminal(string(d.Status)) || time.Now().After(deadline) {
				return d
			}
		}
	}
	check := func(t *testing.T, root, id string, d *types.JobDescriptor) {
		t.Helper()
		ps := d.ProgressSummary
		if d.Status != types.JobStatusComplete || aws.ToInt64(ps.TotalNumberOfTasks) != n ||
			aws.ToInt64(ps.NumberOfTasksSucceeded) != n-nMissing || aws.ToInt64(ps.NumberOfTasksFailed) != nMissing {
			t.Fatalf("job %s: %s, %d tasks, %d succeeded, %d failed; want Complete, %d, %d, %d", id, d.Status,
				aws.ToInt64(ps.TotalNumberOfTasks), aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed), n, n-nMissing, nMissing)
		}
		results, _ := filepath.Glob(filepath.Join(root, "reports", "crash", "job-"+id, "results", "*.csv"))
		seen := map[string]string{}
		for _, f := range results {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, r := range rows {
				k, err := url.QueryUnescape(r[1])
				if err != nil {
					t.Fatalf("%s: key %q: %v", f, r[1], err)
				}
				if prev, ok := seen[k]; ok {
					t.Fatalf("%q reported twice (%s, %s)", k, prev, r[3])
				}
				seen[k] = r[3]
			}
		}
		for i, k := range keys {
			want := "succeeded"
			if missing(i) {
				want = "failed"
			}
			if seen[k] != want {
				t.Fatalf("task %q reported %q, want %q", k, seen[k], want)
			}
			got, err := os.ReadFile(filepath.Join(root, "dst", filepath.FromSlash(k)))
			if missing(i) != (err != nil) || (err == nil && string(got) != "data of "+k) {
				t.Fatalf("destination %q: %q, %v", k, got, err)
			}
		}
		if len(seen) != n {
			t.Fatalf("%d tasks reported, want %d", len(seen), n)
		}
	}

	// The reference run gives the kill window.
	root, etag := setup(t)
	state := t.TempDir()
	start := time.Now()
	p := startServe(t, bin, root, state)
	id := create(t, p.url, "ref", etag)
	d := wait(t, p.url, id, 2*time.Minute)
	ref := time.Since(start)
	p.kill()
	check(t, root, id, d)

	seeds := crashSeeds()
	kills := 0
	for seed := 1; seed <= seeds; seed++ {
		rnd := rand.New(rand.NewPCG(uint64(seed), 0x5e7e))
		root, etag := setup(t)
		state := t.TempDir()
		token := fmt.Sprintf("seed-%d", seed)
		p := startServe(t, bin, root, state)
		id := create(t, p.url, token, etag)
		for k := 0; k < 1+rnd.IntN(3); k++ {
			time.Sleep(killPoint(rnd, ref))
			p.kill()
			kills++
			p = startServe(t, bin, root, state)
			// The token names the same job after a restart.
			if again := create(t, p.url, token, etag); again != id {
				t.Fatalf("seed %d: after a restart the token gives job %s, want %s", seed, again, id)
			}
		}
		d := wait(t, p.url, id, 2*time.Minute)
		p.kill()
		check(t, root, id, d)
	}
	t.Logf("serve: %d tasks per job, reference run %v, %d seeds, %d kills; every job complete with each task reported once",
		n, ref.Round(time.Millisecond), seeds, kills)
}
