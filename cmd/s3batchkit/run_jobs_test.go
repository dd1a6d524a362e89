package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const backupCopy = `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::backup"}}`

// versionedPlan generates a versioned inventory and plans it in small
// shards (routes copy, restore and restore-tiering, each split into
// current and noncurrent versions).
func versionedPlan(t *testing.T, dir string, rows int, seed int) string {
	t.Helper()
	inv := filepath.Join(dir, "inv")
	if code, _, stderr := s3bk(t, "gen", "--rows", fmt.Sprint(rows), "--versions", "--files", "1", "--seed", fmt.Sprint(seed), "--out", inv); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--max-objects", "100", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	return plan
}

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRunRecordsJobsAsSubmit runs a plan with `run` and submits a copy of
// it to the engine behind serve's handler, both against the test S3
// server: the two jobs.json files have the same shape (the same fields at
// both levels) and the same outcome per shard. After run, status shows
// the recorded statuses, jobs refuses to act, and report --plan reads the
// run.
func TestRunRecordsJobsAsSubmit(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	dir := t.TempDir()
	planA := versionedPlan(t, dir, 1500, 3)
	planB := filepath.Join(dir, "plan-b")
	if err := os.CopyFS(planB, os.DirFS(planA)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", cfg.EndpointURL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	// The sources do not exist: every task fails the same way in both.
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::` + bucket + `"}}`
	code, stdout, stderr := s3bk(t, "run", "--plan", planA, "--operation", op, "--report", "s3://"+bucket+"/reports-a", "--workers", "4")
	if code != 0 || !strings.Contains(stdout, "skipped route restore (") || !strings.Contains(stdout, "skipped route restore-tiering (") {
		t.Fatalf("run: %d\n%s\n%s", code, stdout, stderr)
	}

	st, err := local.NewS3Storage(context.Background(), oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := localtest.New(t, local.Options{Storage: st, Workers: 4})
	code, stdout, stderr = s3bk(t, "submit", "--plan", planB, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
		"--operation", op, "--report-bucket", "arn:aws:s3:::"+bucket, "--report-prefix", "reports-b", "--manifest-bucket", "s3://"+bucket+"/manifests",
		"--control-endpoint-url", srv.URL, "--wait", "--poll-interval", "1s")
	if code != 0 || !strings.Contains(stdout, "skipped route restore (") {
		t.Fatalf("submit --wait: %d\n%s\n%s", code, stdout, stderr)
	}
	srv.Wait(t, context.Background(), "123456789012")
	if code, stdout, stderr := s3bk(t, "status", "--plan", planB); code != 0 || !strings.Contains(stdout, "13 Complete") {
		t.Fatalf("status of the submitted run (endpoint from jobs.json): %d\n%s\n%s", code, stdout, stderr)
	}

	read := func(plan string) (json.RawMessage, []json.RawMessage, *manifest.Run) {
		raw, err := os.ReadFile(filepath.Join(plan, manifest.JobsFile))
		if err != nil {
			t.Fatal(err)
		}
		var top struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if err := json.Unmarshal(raw, &top); err != nil {
			t.Fatal(err)
		}
		run, err := manifest.ParseRun(raw, plan)
		if err != nil {
			t.Fatal(err)
		}
		return raw, top.Jobs, run
	}
	rawA, jobsA, runA := read(planA)
	rawB, jobsB, runB := read(planB)
	if ka, kb := jsonKeys(t, rawA), jsonKeys(t, rawB); !slices.Equal(ka, kb) {
		t.Errorf("jobs.json keys: run %v, submit %v", ka, kb)
	}
	if runA.ControlEndpoint != manifest.EndpointRun || runB.ControlEndpoint != srv.URL {
		t.Errorf("control endpoints: run %q, submit %q", runA.ControlEndpoint, runB.ControlEndpoint)
	}
	if len(jobsA) != len(jobsB) || len(jobsA) != 13 {
		t.Fatalf("%d jobs by run, %d by submit; want 13 (the copy route)", len(jobsA), len(jobsB))
	}
	for i := range jobsA {
		a, b := runA.Jobs[i], runB.Jobs[i]
		if ka, kb := jsonKeys(t, jobsA[i]), jsonKeys(t, jobsB[i]); !slices.Equal(ka, kb) {
			t.Errorf("job %d keys: run %v, submit %v", i, ka, kb)
		}
		if a.Shard != b.Shard || a.Route != b.Route || a.Versions != b.Versions || a.Objects != b.Objects || a.ETag != b.ETag ||
			a.Operation != b.Operation || a.Status != "Complete" || b.Status != "Complete" || a.Tasks == nil || b.Tasks == nil || *a.Tasks != *b.Tasks ||
			a.ReportPrefix != "s3://"+bucket+"/reports-a" || b.ReportPrefix != "s3://"+bucket+"/reports-b" {
			t.Errorf("job %d: run %+v\nsubmit %+v", i, a, b)
		}
	}

	code, stdout, stderr = s3bk(t, "status", "--plan", planA)
	if code != 0 || !strings.Contains(stdout, "13 Complete") || !strings.Contains(stdout, "as recorded in jobs.json") {
		t.Errorf("status after run: %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := s3bk(t, "jobs", "cancel", "--plan", planA); code != exitUsage || !strings.Contains(stderr, "ran in 's3batchkit run'") {
		t.Errorf("jobs cancel after run: exit %d\n%s", code, stderr)
	}
	for _, plan := range []string{planA, planB} {
		if code, stdout, stderr := s3bk(t, "report", "--plan", plan, "--out", filepath.Join(dir, "audit-"+filepath.Base(plan))); code != 0 {
			t.Errorf("report --plan %s: %d\n%s\n%s", plan, code, stdout, stderr)
		}
	}
}

// TestRoutesPerOperation: submit and run refuse routes the operation
// cannot serve (exit 2, saying why), and without --routes skip them.
func TestRoutesPerOperation(t *testing.T) {
	dir := t.TempDir()
	plan := versionedPlan(t, dir, 800, 4)
	root := filepath.Join(dir, "buckets")
	os.MkdirAll(root, 0o755)
	submit := func(op string, extra ...string) []string {
		return append([]string{"submit", "--plan", plan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
			"--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://manifests", "--dry-run"}, extra...)
	}
	run := func(op string, extra ...string) []string {
		return append([]string{"run", "--plan", plan, "--local-root", root, "--operation", op}, extra...)
	}
	const (
		restoreDays = `{"S3InitiateRestoreObject": {"ExpirationInDays": 2}}`
		restoreTier = `{"S3InitiateRestoreObject": {"GlacierJobTier": "BULK"}}`
	)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{submit(backupCopy, "--routes", "restore"), exitUsage, []string{"S3PutObjectCopy cannot serve route restore", "archived"}},
		{run(backupCopy, "--routes", "copy,restore-tiering"), exitUsage, []string{"cannot serve route restore-tiering"}},
		{submit(restoreDays, "--routes", "restore-tiering"), exitUsage, []string{"must omit ExpirationInDays"}},
		{run(restoreTier, "--routes", "restore"), exitUsage, []string{"need ExpirationInDays"}},
		{run(restoreDays, "--routes", "copy"), exitUsage, []string{"not archived"}},
		{submit(backupCopy), exitOK, []string{"skipped route restore (", "skipped route restore-tiering (", "would create  shards/copy/"}},
		{submit(restoreDays), exitOK, []string{"skipped route copy (", "skipped route restore-tiering (", "would create  shards/restore/"}},
		{submit(restoreTier), exitOK, []string{"skipped route restore (", "would create  shards/restore-tiering/"}},
	} {
		code, stdout, stderr := s3bk(t, tc.args...)
		out := stdout + stderr
		ok := code == tc.code
		for _, w := range tc.want {
			ok = ok && strings.Contains(out, w)
		}
		if !ok {
			t.Errorf("%v: exit %d, want %d and %q\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}

// TestRunVersionedOrder runs a versioned copy with `run`, killed with
// SIGKILL at random points and run again on the same state: in the end
// every job of the copy route exists once, and no current-version job was
// created before every noncurrent-version job had ended Complete.
func TestRunVersionedOrder(t *testing.T) {
	bin := testBinary(t)
	dir := t.TempDir()
	master := versionedPlan(t, dir, 1200, 5)
	p, err := manifest.ReadPlan(context.Background(), nil, master)
	if err != nil {
		t.Fatal(err)
	}
	var wantJobs int
	for _, sh := range p.Shards {
		if sh.Route == "copy" {
			wantJobs++
		}
	}
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	kills := 0
	for seed := 0; seed <= seeds; seed++ {
		work := filepath.Join(dir, fmt.Sprint("seed", seed))
		plan, root, state := filepath.Join(work, "plan"), filepath.Join(work, "buckets"), filepath.Join(work, "state")
		if err := os.CopyFS(plan, os.DirFS(master)); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(root, 0o755)
		c := &crashCase{name: "run", args: []string{"run", "--plan", plan, "--local-root", root, "--materialize", "--state-dir", state,
			"--operation", backupCopy, "--workers", "4", "--max-active-jobs", "2"}}
		if seed > 0 {
			rnd := rand.New(rand.NewPCG(uint64(seed), 0x0de5))
			for k := 0; k < 1+rnd.IntN(2); k++ {
				if exited, code, stderr := c.run(t, bin, time.Duration(50+rnd.IntN(1500))*time.Millisecond); exited && code != 0 {
					t.Fatalf("seed %d: run exited %d\n%s", seed, code, stderr)
				} else if !exited {
					kills++
				}
			}
		}
		if _, code, stderr := c.run(t, bin, -1); code != 0 {
			t.Fatalf("seed %d: final run: exit %d\n%s", seed, code, stderr)
		}
		checkVersionOrder(t, plan, state, root, wantJobs)
	}
	t.Logf("%d seeds, %d kills", seeds, kills)
}

// checkVersionOrder opens the engine state of a finished run and checks
// the jobs of each route: one per shard, all Complete, and every
// current-version job created after every noncurrent-version job ended.
func checkVersionOrder(t *testing.T, plan, state, root string, wantJobs int) {
	t.Helper()
	run, err := manifest.ReadRun(context.Background(), nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]manifest.RunJob{}
	shards := map[string]bool{}
	for _, e := range run.Jobs {
		versions[e.JobID] = e
		if shards[e.Shard] || e.Status != "Complete" {
			t.Errorf("jobs.json entry %+v: a shard twice, or not Complete", e)
		}
		shards[e.Shard] = true
	}
	if len(run.Jobs) != wantJobs {
		t.Errorf("jobs.json records %d jobs, want %d", len(run.Jobs), wantJobs)
	}
	e, err := local.New(local.Options{StateDir: state, Storage: &local.DirStorage{Root: root}, Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	list, _, err := e.ListJobs(local.LocalAccount, nil, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != wantJobs {
		t.Errorf("the engine holds %d jobs, want %d (no duplicate)", len(list), wantJobs)
	}
	lastEnd, firstStart := map[string]time.Time{}, map[string]time.Time{}
	for _, j := range list {
		id := aws.ToString(j.JobId)
		ent, ok := versions[id]
		if !ok || j.Status != types.JobStatusComplete {
			t.Errorf("engine job %s: %s, in jobs.json %v", id, j.Status, ok)
			continue
		}
		switch ent.Versions {
		case manifest.VersionsNoncurrent:
			if j.TerminationDate.After(lastEnd[ent.Route]) {
				lastEnd[ent.Route] = *j.TerminationDate
			}
		case manifest.VersionsCurrent:
			if s := firstStart[ent.Route]; s.IsZero() || j.CreationTime.Before(s) {
				firstStart[ent.Route] = *j.CreationTime
			}
		}
	}
	for route, start := range firstStart {
		if end := lastEnd[route]; end.IsZero() || start.Before(end) {
			t.Errorf("route %s: a current-version job was created at %v, before the last noncurrent-version job ended at %v", route, start, end)
		}
	}
}

// TestSubmitHeldBack: a submit of a versioned copy creates the
// noncurrent-version jobs, lists the current-version shards it held back
// with what they wait for, and exits 5; once those jobs are Complete the
// same command creates the rest and exits 0.
func TestSubmitHeldBack(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	dir := t.TempDir()
	plan := versionedPlan(t, dir, 400, 6)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": os.Getenv(objiotest.EnvAccessKey), "AWS_SECRET_ACCESS_KEY": os.Getenv(objiotest.EnvSecretKey),
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": cfg.EndpointURL, "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none")} {
		t.Setenv(k, v)
	}
	st, err := local.NewS3Storage(context.Background(), oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := localtest.New(t, local.Options{Storage: st, Hold: true})
	args := []string{"submit", "--plan", plan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::` + bucket + `"}}`, "--report-bucket", "arn:aws:s3:::" + bucket,
		"--manifest-bucket", "s3://" + bucket + "/manifests", "--control-endpoint-url", srv.URL}
	code, stdout, stderr := s3bk(t, args...)
	if code != exitHeld || !strings.Contains(stdout, "held back     shards/copy/") || !strings.Contains(stdout, "wait for the") ||
		!strings.Contains(stderr, "run the same command again then, or with --wait") {
		t.Fatalf("first submit: exit %d, want %d\n%s\n%s", code, exitHeld, stdout, stderr)
	}
	held := len(regexp.MustCompile(`(?m)^held back `).FindAllString(stdout, -1))
	srv.Engine.Release()
	srv.Wait(t, context.Background(), "123456789012")
	code, stdout, stderr = s3bk(t, args...)
	if code != 0 || len(regexp.MustCompile(`(?m)^created `).FindAllString(stdout, -1)) != held || strings.Contains(stdout, "held back") {
		t.Fatalf("second submit: exit %d, want %d jobs created\n%s\n%s", code, held, stdout, stderr)
	}
}
