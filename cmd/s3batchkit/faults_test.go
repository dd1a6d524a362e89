package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// The fault tests run the CLI against the test S3 server through a
// fault-injecting proxy: at a 5% rate (every kind mixed) each command
// must do exactly what it does without faults, and count its retries;
// when every request fails it must stop with the SDK's error, naming the
// S3 operation, quickly.
const (
	faultRate = 0.05
	// allFaultsDeadline bounds a command that can get no answer: with
	// 8 attempts per request and waits capped at 5 ms, it gives up in
	// well under a second (seconds with -race on a busy machine); with
	// the default backoff the same takes minutes.
	allFaultsDeadline = 60 * time.Second
)

// faultProxy starts a proxy in front of the test server and points the
// CLI at it (credentials and region from the environment, waits between
// attempts capped at 5 ms). Setup work goes to the server directly,
// through the test's own client (objiotest.Setup).
func faultProxy(t *testing.T, o s3fault.Options) *s3fault.Proxy {
	t.Helper()
	cfg := objiotest.Config(t)
	p, err := s3fault.New(cfg.EndpointURL, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", p.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("S3BATCHKIT_RETRY_MAX_BACKOFF", "5ms")
	return p
}

var s3LineRE = regexp.MustCompile(`S3: ([\d,]+) requests, (none|[\d,]+) retried`)

// s3Retries reads the "S3: N requests, M retried" line of a summary.
func s3Retries(t *testing.T, out string) (requests, retries int64) {
	t.Helper()
	m := s3LineRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no S3 requests line in the output:\n%s", out)
	}
	num := func(s string) int64 {
		if s == "none" {
			return 0
		}
		n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		return n
	}
	return num(m[1]), num(m[2])
}

// allFaults sets the proxy to fail every request (every failing kind
// mixed), runs the CLI, and
// checks that it fails (exit 1) in bounded time with the SDK's error for
// operation.
func allFaults(t *testing.T, p *s3fault.Proxy, operation string, args ...string) {
	t.Helper()
	p.SetFaults(1, s3fault.Failing...)
	before := p.Counts()
	start := time.Now()
	code, stdout, stderr := s3bk(t, args...)
	took := time.Since(start)
	t.Logf("%s at 100%% faults: exit %d after %v; proxy %v\n%s", args[0], code, took, p.Counts().Sub(before), stderr)
	if code != exitFailure || !strings.Contains(stderr, "operation error S3: "+operation) || !strings.Contains(stderr, "exceeded maximum number of attempts, 8") {
		t.Errorf("%s: exit %d, want %d and the SDK's %s error\nstdout:\n%s\nstderr:\n%s", args[0], code, exitFailure, operation, stdout, stderr)
	}
	if took > allFaultsDeadline {
		t.Errorf("%s took %v to give up, over %v", args[0], took, allFaultsDeadline)
	}
}

// TestFaultsPlan plans inventories read from s3:// through the proxy:
// the shards and plan.json are those of the local copy, byte for byte
// (but the manifest's location), retries are counted; then with every
// request failing, plan stops with the SDK's error.
func TestFaultsPlan(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	for _, tc := range []struct {
		format string
		files  string
		seed   uint64
	}{{"csv", "120", 11}, {"parquet", "40", 12}} {
		t.Run(tc.format, func(t *testing.T) {
			p := faultProxy(t, s3fault.Options{Rate: faultRate, Seed: tc.seed, Delay: 10 * time.Millisecond})
			gen := t.TempDir()
			if code, _, stderr := s3bk(t, "gen", "--rows", "20000", "--files", tc.files, "--format", tc.format, "--seed", "5", "--out", gen); code != 0 {
				t.Fatalf("gen: %s", stderr)
			}
			inv := "s3://" + bucket + "/inventory/" + tc.format
			uploadDir(t, oc, gen, inv)

			args := []string{"plan", "--max-objects", "3000", "--min-objects", "0", "--json"}
			localPlan, s3Plan := t.TempDir(), t.TempDir()
			code, localOut, stderr := s3bk(t, append(args, "--inventory", filepath.Join(gen, "manifest.json"), "--out", localPlan)...)
			if code != 0 {
				t.Fatalf("plan of the local copy: %d %s", code, stderr)
			}
			start, before := time.Now(), p.Counts()
			code, s3Out, stderr := s3bk(t, append(args, "--inventory", inv+"/manifest.json", "--out", s3Plan)...)
			if code != 0 {
				t.Fatalf("plan from s3:// through faults: %d %s\nproxy: %v", code, stderr, p.Counts())
			}
			faults := p.Counts().Sub(before)
			var sum struct{ S3 objio.RequestStats }
			var localSum struct{ S3 objio.RequestStats }
			if err := json.Unmarshal([]byte(s3Out), &sum); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(localOut), &localSum)
			t.Logf("plan from s3:// in %v; proxy %v; client %+v", time.Since(start), faults, sum.S3)
			if sum.S3.Retries == 0 || sum.S3.Retries > faults.Failing() || sum.S3.Requests == 0 || localSum.S3.Requests != 0 {
				t.Errorf("plan --json counted %+v (the local plan %+v); the proxy %v", sum.S3, localSum.S3, faults)
			}
			samePlans(t, localPlan, s3Plan, filepath.Join(gen, "manifest.json"), inv+"/manifest.json")

			allFaults(t, p, "HeadObject", append(args, "--inventory", inv+"/manifest.json", "--out", t.TempDir())...)
		})
	}
}

// samePlans checks that two plan folders hold the same files, byte for
// byte, but plan.json's inputs[].manifest.
func samePlans(t *testing.T, want, got, wantManifest, gotManifest string) {
	t.Helper()
	files := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				out[rel], _ = os.ReadFile(p)
			}
			return nil
		})
		return out
	}
	w, g := files(want), files(got)
	if len(w) < 3 || len(w) != len(g) {
		t.Fatalf("the plans hold %d and %d files", len(w), len(g))
	}
	quoted := func(s string) []byte { b, _ := json.Marshal(s); return b }
	for name, wb := range w {
		gb := g[name]
		if name == manifest.PlanFile {
			gb = bytes.ReplaceAll(gb, quoted(gotManifest), quoted(wantManifest))
		}
		if !bytes.Equal(wb, gb) {
			t.Errorf("%s differs between the plan of the local copy and the plan from s3://", name)
		}
	}
}

// TestFaultsSubmit submits a plan of many shards through the proxy, its
// shards uploaded, then the same plan from s3:// (shards checked in
// place, jobs.json written there): one job per shard, created once, each
// with its manifest's right location and ETag; then with every request
// failing, submit stops before creating any job.
func TestFaultsSubmit(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	p := faultProxy(t, s3fault.Options{Rate: faultRate, Seed: 21, Delay: 10 * time.Millisecond})
	gen, plan := t.TempDir(), t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "3000", "--files", "1", "--seed", "6", "--out", gen); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(gen, "manifest.json"), "--out", plan, "--max-objects", "25", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	// Bounds the test's own S3 calls: a stalled server fails the test
	// instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pl, err := manifest.ReadPlan(ctx, oc, plan)
	if err != nil {
		t.Fatal(err)
	}
	remote := "s3://" + bucket + "/plans/run-1"
	uploadDir(t, oc, plan, remote)

	srv := localtest.New(t, local.Options{Hold: true})
	submit := func(plan string, extra ...string) (int, string, string) {
		args := []string{"submit", "--plan", plan, "--account-id", "123456789012",
			"--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
			"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "done", "Value": "yes"}]}}`,
			"--report-bucket", "arn:aws:s3:::" + bucket, "--report-prefix", "reports",
			"--control-endpoint-url", srv.URL}
		return s3bk(t, append(args, extra...)...)
	}
	for _, tc := range []struct {
		plan  string
		extra []string
	}{
		{plan, []string{"--manifest-bucket", "s3://" + bucket + "/manifests"}},
		{remote, nil},
	} {
		before, calls := p.Counts(), srv.Calls("CreateJob")
		start := time.Now()
		code, stdout, stderr := submit(tc.plan, tc.extra...)
		faults := p.Counts().Sub(before)
		if code != 0 {
			t.Fatalf("submit %s through faults: %d\n%s\n%s\nproxy: %v", tc.plan, code, stdout, stderr, faults)
		}
		requests, retries := s3Retries(t, stdout)
		t.Logf("submit %s in %v: proxy %v; client %d requests, %d retried", tc.plan, time.Since(start), faults, requests, retries)
		if retries == 0 || retries > faults.Failing() || requests > faults.Requests {
			t.Errorf("submit %s counted %d requests, %d retries; the proxy %v", tc.plan, requests, retries, faults)
		}
		if n := srv.Calls("CreateJob") - calls; n != len(pl.Shards) {
			t.Errorf("submit %s: %d CreateJob calls for %d shards", tc.plan, n, len(pl.Shards))
		}
		run, err := manifest.ReadRun(ctx, oc, tc.plan)
		if err != nil || len(run.Jobs) != len(pl.Shards) {
			t.Fatalf("jobs.json of %s: %v, %d jobs for %d shards", tc.plan, err, len(run.Jobs), len(pl.Shards))
		}
		byID := map[string]*types.JobDescriptor{}
		for _, j := range srv.Jobs(t, "123456789012") {
			byID[aws.ToString(j.JobId)] = j
		}
		for i, e := range run.Jobs {
			sh := pl.Shards[i]
			job, ok := byID[e.JobID]
			want := "arn:aws:s3:::" + strings.TrimPrefix(e.Manifest, "s3://")
			if !ok || aws.ToString(job.Manifest.Location.ObjectArn) != want || strings.Trim(aws.ToString(job.Manifest.Location.ETag), `"`) != sh.MD5 {
				t.Errorf("%s: job %s (found %v) manifest not %s with ETag %s", sh.Path, e.JobID, ok, want, sh.MD5)
				continue
			}
			info, err := oc.Stat(ctx, e.Manifest)
			if err != nil || info.ETag != sh.MD5 {
				t.Errorf("%s: uploaded manifest %s: %+v %v; want ETag %s", sh.Path, e.Manifest, info, err, sh.MD5)
			}
		}
	}
	// Every job once: a token per shard and plan, each sent once.
	if jobsMade := len(srv.Jobs(t, "123456789012")); jobsMade != 2*len(pl.Shards) {
		t.Errorf("%d jobs for 2 × %d shards", jobsMade, len(pl.Shards))
	}
	for tok, n := range srv.CreateCalls() {
		if n != 1 {
			t.Errorf("token %s: %d CreateJob calls", tok, n)
		}
	}
	// The uploaded shards are the plan's bytes.
	for _, sh := range pl.Shards[:5] {
		want, _ := os.ReadFile(filepath.Join(plan, filepath.FromSlash(sh.Path)))
		run, _ := manifest.ReadRun(ctx, oc, plan)
		for _, e := range run.Jobs {
			if e.Shard == sh.Path {
				got, err := oc.ReadAll(ctx, e.Manifest)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s uploaded as %s: %d bytes, %v; want the %d of the plan", sh.Path, e.Manifest, len(got), err, len(want))
				}
			}
		}
	}

	fresh := t.TempDir()
	if err := os.CopyFS(fresh, os.DirFS(plan)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(fresh, manifest.JobsFile))
	calls := srv.Calls("CreateJob")
	// Submit first looks for each shard's manifest (HeadObject): a rerun
	// uploads only the missing ones.
	allFaults(t, p, "HeadObject", "submit", "--plan", fresh, "--account-id", "123456789012",
		"--role-arn", "arn:aws:iam::123456789012:role/batch-ops", "--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "done", "Value": "yes"}]}}`,
		"--report-bucket", "arn:aws:s3:::"+bucket, "--report-prefix", "other-reports", "--control-endpoint-url", srv.URL,
		"--manifest-bucket", "s3://"+bucket+"/manifests-2", "--workers", "4")
	if n := srv.Calls("CreateJob") - calls; n != 0 {
		t.Errorf("%d CreateJob calls while no manifest could be uploaded", n)
	}
}

// TestFaultsRun copies objects with the local engine through the proxy —
// plan, manifest and report in S3 too — and checks every copy's bytes
// and the completion report; then with every request failing: the plan
// cannot be read (the SDK's error), and a local plan's tasks all fail,
// so that its job fails at the 1,000-task threshold, naming the fault.
func TestFaultsRun(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	// Bounds the test's own S3 calls: a stalled server fails the test
	// instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 500
	tricks := []string{"plain.txt", "with space.txt", "plus+sign", "a+b c%20d", "ünïcödé/鍵", "comma,\"quote\".csv", "emoji 🎉/x y"}
	keys := make([]string, n)
	data := map[string][]byte{}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range keys {
		keys[i] = fmt.Sprintf("src/%04d/%s", i, tricks[i%len(tricks)])
		b := make([]byte, r.IntN(3000))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		data[keys[i]] = b
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error {
			_, err := oc.Upload(gctx, "s3://"+bucket+"/"+k, bytes.NewReader(data[k]), int64(len(data[k])), objio.UploadOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	plan := t.TempDir()
	writePlan(t, plan, bucket, keys)
	remote := "s3://" + bucket + "/plans/copy"
	uploadDir(t, oc, plan, remote)

	p := faultProxy(t, s3fault.Options{Rate: faultRate, Seed: 31, Delay: 10 * time.Millisecond})
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::` + bucket + `", "TargetKeyPrefix": "copied"}}`
	start := time.Now()
	code, stdout, stderr := s3bk(t, "run", "--plan", remote, "--operation", op, "--report", "s3://"+bucket+"/reports", "--workers", "16")
	faults := p.Counts()
	if code != 0 || !strings.Contains(stdout, "Complete") || !strings.Contains(stdout, "500/500 tasks, 0 failed") {
		t.Fatalf("run through faults: %d\n%s\n%s\nproxy: %v", code, stdout, stderr, faults)
	}
	requests, retries := s3Retries(t, stdout)
	t.Logf("run in %v: proxy %v; client %d requests, %d retried\n%s", time.Since(start), faults, requests, retries, stdout)
	// One CopyObject per object (a plan's copy route needs no HEAD first,
	// see local.CopySizeAuto), plus the plan, manifest and report.
	if retries == 0 || retries > faults.Failing() || requests > faults.Requests || requests < n {
		t.Errorf("run counted %d requests, %d retries; the proxy %v", requests, retries, faults)
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error {
			got, err := oc.ReadAll(gctx, "s3://"+bucket+"/copied/"+k)
			if err != nil || !bytes.Equal(got, data[k]) {
				return fmt.Errorf("copy of %q: %d bytes, %v; want the %d of the source", k, len(got), err, len(data[k]))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if all, err := oc.List(ctx, "s3://"+bucket+"/copied/"); err != nil || len(all) != n {
		t.Fatalf("%d copies, want %d: %v", len(all), n, err)
	}
	// The completion report, read by `report` from the server itself.
	t.Setenv("AWS_ENDPOINT_URL", objiotest.Config(t).EndpointURL)
	out := t.TempDir()
	if code, stdout, stderr := s3bk(t, "report", "--report", "s3://"+bucket+"/reports", "--out", out); code != 0 {
		t.Fatalf("report: %d\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Tasks report.TaskCounts `json:"tasks"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Tasks.Total != n || sum.Tasks.Succeeded != n || sum.Tasks.Failed != 0 {
		t.Fatalf("report summary: %+v %v", sum.Tasks, err)
	}

	// Every request failing: plan.json cannot be read.
	t.Setenv("AWS_ENDPOINT_URL", p.URL)
	allFaults(t, p, "HeadObject", "run", "--plan", remote, "--operation", op, "--report", "s3://"+bucket+"/reports-2")

	// A local plan of 1,000 tasks (each source twice): each fails (one
	// attempt of its CopyObject, no task retry), and the job fails at the
	// threshold, naming the last fault.
	many := make([]string, local.FailureThreshold)
	for i := range many {
		many[i] = keys[i%n]
	}
	bigPlan := t.TempDir()
	writePlan(t, bigPlan, bucket, many)
	start = time.Now()
	code, stdout, stderr = s3bk(t, "--max-attempts", "1", "run", "--plan", bigPlan, "--operation", op,
		"--task-attempts", "1", "--copy-size-check", "never", "--workers", "32")
	took := time.Since(start)
	t.Logf("run of a local plan at 100%% faults: exit %d after %v; proxy %v\n%s%s", code, took, p.Counts(), stdout, stderr)
	if code != exitFailure || !strings.Contains(stdout, "TaskFailureThresholdExceeded") || !regexp.MustCompile(`the last failure: (503|500|0) [A-Za-z]+`).MatchString(stdout) {
		t.Errorf("run of a local plan at 100%% faults: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if requests, retries := s3Retries(t, stdout); requests < local.FailureThreshold || retries != 0 {
		t.Errorf("%d requests, %d retries counted; want one attempt for each of at least %d tasks", requests, retries, local.FailureThreshold)
	}
	if took > allFaultsDeadline {
		t.Errorf("the run took %v to fail, over %v", took, allFaultsDeadline)
	}
}

func TestRetryFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-attempts", "0"}, "--max-attempts must be 1 to 100"},
		{[]string{"--max-attempts", "101"}, "--max-attempts must be 1 to 100"},
		{[]string{"--retry-max-backoff", "0s"}, "--retry-max-backoff must be positive"},
	} {
		code, _, stderr := s3bk(t, append(tc.args, "plan", "--inventory", filepath.Join(dir, "manifest.json"), "--out", dir)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
