package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// cliEnv points the CLI at endpoint with the test server's keys.
func cliEnv(t *testing.T, endpoint string) {
	t.Helper()
	awsEnv(t, endpoint, os.Getenv(objiotest.EnvAccessKey), os.Getenv(objiotest.EnvSecretKey))
}

// TestS3Outputs: every command that writes a plan directory or a report
// writes it to s3:// as it does to a folder — gen (a report S3 would
// deliver: destinationBucket and keys of the bucket), plan, diff (with
// diff.json) and report (with rerun/ and the HTML page) — and what they
// write is what the same command writes locally.
func TestS3Outputs(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	cliEnv(t, cfg.EndpointURL)
	ctx := context.Background()
	s3 := "s3://" + bucket

	// gen: the same report in S3 and locally.
	src, dst := s3+"/inv/src/cfg", s3+"/inv/dst/cfg"
	localSrc, localDst := t.TempDir(), t.TempDir()
	for _, g := range [][]string{
		{"--out", src}, {"--out", localSrc},
		{"--out", dst, "--bucket", "other-bucket", "--seed", "2"}, {"--out", localDst, "--bucket", "other-bucket", "--seed", "2"},
	} {
		if code, _, stderr := s3bk(t, append([]string{"gen", "--rows", "3000", "--files", "2"}, g...)...); code != 0 {
			t.Fatalf("gen %v: %s", g, stderr)
		}
	}
	raw, err := oc.ReadAll(ctx, src+"/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Dest  string `json:"destinationBucket"`
		Files []struct {
			Key string `json:"key"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Dest != "arn:aws:s3:::"+bucket || len(m.Files) != 2 || !strings.HasPrefix(m.Files[0].Key, "inv/src/cfg/data/") {
		t.Fatalf("gen to S3 wrote manifest %s (%v)", raw, err)
	}

	// plan and diff, to S3 and locally.
	plans := map[string]string{"plan": s3 + "/out/plan", "diff": s3 + "/out/diff"}
	local := map[string]string{"plan": t.TempDir(), "diff": t.TempDir()}
	run := func(args ...string) {
		t.Helper()
		if code, stdout, stderr := s3bk(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
	}
	for _, out := range []map[string]string{plans, local} {
		in, inDst := src+"/manifest.json", dst+"/manifest.json"
		if out["plan"] == local["plan"] {
			in, inDst = filepath.Join(localSrc, "manifest.json"), filepath.Join(localDst, "manifest.json")
		}
		run("plan", "--inventory", in, "--out", out["plan"], "--max-objects", "700", "--min-objects", "0", "--quiet")
		run("diff", "--source", in, "--target", inDst, "--cross-bucket", "--out", out["diff"], "--max-objects", "700", "--min-objects", "0", "--quiet")
	}
	for _, what := range []string{"plan", "diff"} {
		sp, err := manifest.ReadPlan(ctx, oc, plans[what])
		if err != nil {
			t.Fatalf("%s to S3: %v", what, err)
		}
		lp, _ := manifest.ReadPlan(ctx, oc, local[what])
		if len(sp.Shards) < 2 || len(sp.Shards) != len(lp.Shards) {
			t.Fatalf("%s: %d shards in S3, %d locally", what, len(sp.Shards), len(lp.Shards))
		}
		for i, sh := range sp.Shards {
			info, err := oc.Stat(ctx, objio.Join(plans[what], sh.Path))
			if err != nil || sh.MD5 != lp.Shards[i].MD5 || info.ETag != sh.MD5 {
				t.Errorf("%s: shard %s: %+v %v; want ETag %s = the local shard's MD5 %s", what, sh.Path, info, err, sh.MD5, lp.Shards[i].MD5)
			}
		}
	}
	var sd, ld diff.Summary
	rawS, err := oc.ReadAll(ctx, plans["diff"]+"/"+diff.SummaryFile)
	if err != nil {
		t.Fatalf("diff.json in S3: %v", err)
	}
	rawL, _ := os.ReadFile(filepath.Join(local["diff"], diff.SummaryFile))
	json.Unmarshal(rawS, &sd)
	json.Unmarshal(rawL, &ld)
	if sd.OnlyInSource.Objects == 0 || sd.OnlyInSource.Objects != ld.OnlyInSource.Objects || sd.OnlyInSource.Bytes != ld.OnlyInSource.Bytes || sd.Changed.Class.Objects != ld.Changed.Class.Objects || sd.OnlyInTarget.Objects != ld.OnlyInTarget.Objects {
		t.Errorf("diff.json in S3 %+v, locally %+v", sd, ld)
	}

	// report: completion reports in S3 (the report package's fixture, in
	// a report bucket of its own), summary.json, rerun/ plans and the
	// HTML page written to S3.
	_, reports := objiotest.Setup(t)
	root := filepath.Join("..", "..", "report", "testdata", "run1")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "manifest.json" {
			raw = bytes.ReplaceAll(raw, []byte(`"my-job-reports"`), []byte(`"`+reports+`"`))
		}
		rel, _ := filepath.Rel(root, p)
		return oc.WriteFileAtomic(ctx, "s3://"+reports+"/"+filepath.ToSlash(rel), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	audit := s3 + "/out/audit"
	cliEnv(t, cfg.EndpointURL)
	run("report", "--report", "s3://"+reports, "--out", audit, "--html", audit+"/report.html")
	for _, name := range []string{report.SummaryFile, "report.html", "rerun/retryable/plan.json", "rerun/permanent/plan.json"} {
		if ok, err := oc.Exists(ctx, audit+"/"+name); err != nil || !ok {
			t.Errorf("report: %s/%s not written (%v)", audit, name, err)
		}
	}
	if p, err := manifest.ReadPlan(ctx, oc, audit+"/rerun/retryable"); err != nil || len(p.Shards) == 0 || p.Counters.RowsKept == 0 {
		t.Errorf("rerun/retryable in S3: %+v, %v", p, err)
	}
}

// TestPlanThrottled: the store answers every request with 503 SlowDown
// (HEADs with a bare 503) for a window longer than the SDK's own policy
// rides out, then recovers; plan succeeds, and counts the retries as
// throttling. Time is scaled down 20 times (--retry-base-delay 50ms,
// --retry-max-backoff 1s, a 500 ms window for 10 s); the classification
// is the real one.
func TestPlanThrottled(t *testing.T) {
	cfg := objiotest.Config(t)
	_, bucket := objiotest.Setup(t)
	cliEnv(t, cfg.EndpointURL)
	inv := "s3://" + bucket + "/inv/src/cfg"
	if code, _, stderr := s3bk(t, "gen", "--rows", "2000", "--files", "2", "--out", inv); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cliEnv(t, p.URL)
	p.SetFaults(1, s3fault.SlowDown)
	const window = 500 * time.Millisecond
	start := time.Now()
	time.AfterFunc(window, func() { p.SetFaults(0) })
	code, stdout, stderr := s3bk(t, "--retry-base-delay", "50ms", "--retry-max-backoff", "1s",
		"plan", "--inventory", inv+"/manifest.json", "--dry-run")
	took := time.Since(start)
	t.Logf("exit %d after %v; proxy %v\n%s", code, took, p.Counts(), stderr)
	if code != 0 || took < window {
		t.Fatalf("plan through %v of throttling: exit %d after %v\n%s\n%s", window, code, took, stdout, stderr)
	}
	if n := p.Counts().Faults[s3fault.SlowDown]; n < 3 {
		t.Errorf("only %d requests throttled", n)
	}
	if !regexp.MustCompile(`rows read\s+2,000\n`).MatchString(stdout) || !regexp.MustCompile(`retried \(throttled [\d,]+\)`).MatchString(stdout) {
		t.Errorf("plan summary without the rows or the throttling retries:\n%s", stdout)
	}
}

// TestPlanLeastPrivilege plans an inventory in S3 with a role that has
// s3:GetObject and not s3:ListBucket (a store that refuses listing and
// answers 403 for missing keys): the named manifest plans as with full
// access, with no request refused (nothing probed); naming the
// configuration folder says that listing is needed and how to name the
// manifest instead.
func TestPlanLeastPrivilege(t *testing.T) {
	cfg := objiotest.Config(t)
	_, bucket := objiotest.Setup(t)
	cliEnv(t, cfg.EndpointURL)
	cfgDir := "s3://" + bucket + "/inv/src/cfg"
	delivery := cfgDir + "/2024-11-01T01-00Z"
	if code, _, stderr := s3bk(t, "gen", "--rows", "2000", "--files", "3", "--out", delivery); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	full := t.TempDir()
	if code, _, stderr := s3bk(t, "plan", "--inventory", cfgDir+"/", "--out", full, "--min-objects", "0"); code != 0 || !strings.Contains(stderr, "delivery 2024-11-01T01-00Z, the newest of 1") {
		t.Fatalf("plan of the configuration folder: exit %d\n%s", code, stderr)
	}
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{NoListBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cliEnv(t, p.URL)
	restricted := t.TempDir()
	code, stdout, stderr := s3bk(t, "plan", "--inventory", delivery+"/manifest.json", "--out", restricted, "--min-objects", "0", "--quiet")
	if code != 0 {
		t.Fatalf("plan with s3:GetObject only: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if d := p.Counts().Denied; d != 0 {
		t.Errorf("%d requests refused planning a delivery S3 wrote: probing?", d)
	}
	samePlans(t, full, restricted, cfgDir+"/2024-11-01T01-00Z/manifest.json", delivery+"/manifest.json")
	code, _, stderr = s3bk(t, "plan", "--inventory", cfgDir+"/", "--out", t.TempDir())
	if code != exitFailure || !strings.Contains(stderr, "needs s3:ListBucket") || !strings.Contains(stderr, "--inventory "+cfgDir+"/YYYY-MM-DDTHH-MMZ/manifest.json") ||
		!strings.Contains(stderr, "access key "+os.Getenv(objiotest.EnvAccessKey)) {
		t.Errorf("plan of a configuration folder without s3:ListBucket: exit %d\n%s", code, stderr)
	}
	code, _, stderr = s3bk(t, "plan", "--inventory", cfgDir+"/2024-11-09T01-00Z/manifest.json", "--out", t.TempDir())
	if code != exitFailure || !strings.Contains(stderr, "403 AccessDenied") || !strings.Contains(stderr, "does not exist and they lack s3:ListBucket") {
		t.Errorf("plan of a missing manifest without s3:ListBucket: exit %d\n%s", code, stderr)
	}
}

// TestStatusWatchOutage: status --watch rides out an S3 Control outage
// (every connection reset for a few seconds) and ends when the jobs do.
func TestStatusWatchOutage(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	cliEnv(t, cfg.EndpointURL)
	st, err := local.NewS3Storage(context.Background(), oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	// The engine holds the job (Active in S3 Control's eyes: prepared,
	// not run) until the outage is over, then runs it to Complete.
	ctl := localtest.New(t, local.Options{Hold: true, Storage: st, Workers: 4})
	p, err := s3fault.New(ctl.URL, s3fault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	plan := t.TempDir()
	writePlan(t, plan, bucket, []string{"a", "b", "c"})
	if code, stdout, stderr := s3bk(t, "submit", "--plan", plan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/r",
		"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`, "--report-bucket", "arn:aws:s3:::"+bucket,
		"--manifest-bucket", "s3://"+bucket+"/manifests", "--control-endpoint-url", p.URL); code != 0 {
		t.Fatalf("submit: %d\n%s\n%s", code, stdout, stderr)
	}
	jobs := ctl.Jobs(t, "123456789012")
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	var done atomic.Bool
	go func() {
		time.Sleep(1500 * time.Millisecond)
		p.SetFaults(1, s3fault.Reset)
		time.Sleep(3 * time.Second)
		ctl.Engine.Release()
		ctl.Engine.Wait(context.Background(), "123456789012", *jobs[0].JobId)
		p.SetFaults(0)
		done.Store(true)
	}()
	code, stdout, stderr := s3bk(t, "--retry-max-backoff", "10ms", "status", "--plan", plan, "--watch", "--interval", "1s", "--control-endpoint-url", p.URL)
	if code != 0 || !done.Load() || !strings.Contains(stderr, "status: no answer") || !strings.Contains(stdout, "time left done") {
		t.Errorf("status --watch through an outage: exit %d (outage over: %v)\n%s\n%s", code, done.Load(), stdout, stderr)
	}
}
