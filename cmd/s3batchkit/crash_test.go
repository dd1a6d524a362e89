package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// The crash tests run the real binary, built once (on first use) into a
// temporary folder that TestMain removes.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	// The tests see no config file and no S3BATCHKIT_* defaults of the
	// machine they run on (config_test.go sets its own).
	os.Setenv(configFileEnv, os.DevNull)
	for key := range configKeys {
		os.Unsetenv(configEnv(key))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testBinary builds the command once and returns its path.
func testBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL tests need a Unix system")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "s3batchkit-crash-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "s3batchkit")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// snapshot reads every file and folder under dir: path → content ("/" for
// a folder). A missing dir gives an empty map.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			out[rel+"/"] = "/"
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("reading %s: %v", p, err)
		}
		out[rel] = string(raw)
		return nil
	})
	return out
}

// snapshotDiff describes how got differs from want (empty when equal).
func snapshotDiff(want, got map[string]string) string {
	var b strings.Builder
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			fmt.Fprintf(&b, "missing %s\n", p)
		case g != w:
			fmt.Fprintf(&b, "differs %s (%d bytes, want %d)\n", p, len(g), len(w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			fmt.Fprintf(&b, "extra %s\n", p)
		}
	}
	return b.String()
}

// isLeftover says whether p (slash-separated, relative) is in a hidden
// staging folder, a hidden temporary file or report's spill file.
func isLeftover(p string) bool {
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if strings.HasPrefix(seg, ".staging-") || strings.HasPrefix(seg, ".s3batchkit-report-spill-") || (strings.HasPrefix(seg, ".") && strings.Contains(seg, ".tmp-")) {
			return true
		}
	}
	return false
}

// crashCase is a command killed and rerun.
type crashCase struct {
	name   string
	args   []string // the command line after the program name
	out    string   // the output folder (created by the command)
	marker string   // the file, relative to out, written last
	env    []string // added to the environment
	// check, when set, runs after every kill and after the final run.
	check func(t *testing.T, final bool)
	// fresh, when set, resets the state between seeds (out is removed).
	fresh func(t *testing.T)
}

// run starts the binary; killAfter < 0 lets it finish.
func (c *crashCase) run(t *testing.T, bin string, killAfter time.Duration) (exited bool, code int, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	cmd.Stdout = &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if killAfter < 0 {
		err = <-done
	} else {
		select {
		case err = <-done:
		case <-time.After(killAfter):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return false, -1, eb.String()
		}
	}
	code = 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return true, code, eb.String()
}

// crashStats counts what the kills met.
type crashStats struct {
	kills, incomplete, complete, finished int
}

// crashLoop runs c once uninterrupted for the reference output, then for
// each seed kills it at 1–3 random points and reruns it to the end:
// after every kill the output is either incomplete (no marker) or equal
// to the reference; after the final run it always is.
func crashLoop(t *testing.T, bin string, c *crashCase, seeds int) crashStats {
	t.Helper()
	var st crashStats
	os.RemoveAll(c.out)
	if c.fresh != nil {
		c.fresh(t)
	}
	start := time.Now()
	if _, code, stderr := c.run(t, bin, -1); code != 0 {
		t.Fatalf("%s: reference run: exit %d\n%s", c.name, code, stderr)
	}
	ref := time.Since(start)
	want := snapshot(t, c.out)
	if _, ok := want[c.marker]; !ok {
		t.Fatalf("%s: the reference run wrote no %s", c.name, c.marker)
	}
	if c.check != nil {
		c.check(t, true)
	}
	for seed := 1; seed <= seeds; seed++ {
		os.RemoveAll(c.out)
		if c.fresh != nil {
			c.fresh(t)
		}
		rnd := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		for k := 0; k < 1+rnd.IntN(3); k++ {
			at := killPoint(rnd, ref)
			exited, code, stderr := c.run(t, bin, at)
			got := snapshot(t, c.out)
			switch {
			case exited:
				st.finished++
				if code != 0 {
					t.Fatalf("%s seed %d: run %d exited %d\n%s", c.name, seed, k, code, stderr)
				}
			default:
				st.kills++
				if _, ok := got[c.marker]; !ok {
					st.incomplete++
				} else {
					st.complete++
				}
			}
			if _, ok := got[c.marker]; ok {
				// A kill after the commit may leave the hidden staging
				// folder or temporary file it was about to remove: not
				// part of the output, and removed by the next run.
				for p := range got {
					if isLeftover(p) {
						delete(got, p)
					}
				}
				if d := snapshotDiff(want, got); d != "" {
					t.Errorf("%s seed %d: killed at %v: %s is there but the output differs from an uninterrupted run:\n%s", c.name, seed, at, c.marker, d)
				}
			}
			if c.check != nil {
				c.check(t, false)
			}
		}
		if _, code, stderr := c.run(t, bin, -1); code != 0 {
			t.Fatalf("%s seed %d: rerun: exit %d\n%s", c.name, seed, code, stderr)
		}
		if d := snapshotDiff(want, snapshot(t, c.out)); d != "" {
			t.Errorf("%s seed %d: after the rerun the output differs from an uninterrupted run:\n%s", c.name, seed, d)
		}
		if c.check != nil {
			c.check(t, true)
		}
	}
	t.Logf("%s: reference run %v; %d seeds: %d kills (%d left an incomplete output, %d a complete one), %d runs finished before their kill point",
		c.name, ref.Round(time.Millisecond), seeds, st.kills, st.incomplete, st.complete, st.finished)
	return st
}

// killPoint picks when to kill a run that takes about ref uninterrupted:
// half the time anywhere in it, half the time in its last third, where
// the outputs are committed.
func killPoint(rnd *rand.Rand, ref time.Duration) time.Duration {
	if rnd.IntN(2) == 0 {
		return time.Duration(rnd.Float64() * float64(ref))
	}
	return time.Duration((0.7 + 0.4*rnd.Float64()) * float64(ref))
}

func crashSeeds() int {
	if testing.Short() {
		return 3
	}
	return 12
}

// TestCrashPlanDiffReport kills plan, diff and report with SIGKILL at
// random points (seeded) and reruns them. serve, a server rather than a
// command that ends, has its own loop: TestCrashServe.
func TestCrashPlanDiffReport(t *testing.T) {
	bin := testBinary(t)
	work := t.TempDir()
	ctx := context.Background()
	rows := int64(60_000)
	if testing.Short() {
		rows = 20_000
	}
	src, err := gen.Generate(ctx, gen.Options{Rows: rows, Out: filepath.Join(work, "src"), Seed: 1, Files: 3, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := gen.Generate(ctx, gen.Options{Rows: rows * 9 / 10, Out: filepath.Join(work, "dst"), Seed: 1, Files: 2, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(work, "reports")
	genCompletionReports(t, reports, 3, 4, int(rows/12))
	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(tmp, 0o755)
	env := []string{"TMPDIR=" + tmp, "GOMAXPROCS=2"}

	cases := []*crashCase{
		{name: "plan", marker: manifest.PlanFile, out: filepath.Join(work, "plan"), env: env,
			args: []string{"plan", "--inventory", src.Manifest, "--out", filepath.Join(work, "plan"), "--max-objects", "2000", "--min-objects", "0", "--memory", "16MiB", "--quiet"}},
		{name: "diff", marker: manifest.PlanFile, out: filepath.Join(work, "diff"), env: env,
			args: []string{"diff", "--source", src.Manifest, "--target", dst.Manifest, "--out", filepath.Join(work, "diff"), "--max-objects", "1000", "--min-objects", "0", "--quiet"}},
		{name: "report", marker: "summary.json", out: filepath.Join(work, "report"), env: env,
			args: []string{"report", "--report", reports, "--out", filepath.Join(work, "report"), "--max-objects", "500", "--quiet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			crashLoop(t, bin, c, crashSeeds())
		})
	}
}

// genCompletionReports writes jobs job-<n>/ folders of completion reports
// under dir, files result files each with rows rows, a tenth failed.
func genCompletionReports(t *testing.T, dir string, jobs, files, rows int) {
	t.Helper()
	codes := []string{"503,SlowDown,Please reduce your request rate.", "403,AccessDenied,Access Denied", "404,NoSuchKey,The specified key does not exist."}
	for j := 0; j < jobs; j++ {
		id := fmt.Sprintf("0000000%d-aaaa", j)
		jd := filepath.Join(dir, "job-"+id, "results")
		os.MkdirAll(jd, 0o755)
		var results []map[string]string
		for f := 0; f < files; f++ {
			for _, failed := range []bool{true, false} {
				var b bytes.Buffer
				for r := 0; r < rows; r++ {
					isFailed := (r*7+f+j)%10 == 0
					if isFailed != failed {
						continue
					}
					key := fmt.Sprintf("data/%02d/obj %06d+x.bin", f, r)
					if isFailed {
						fmt.Fprintf(&b, "src,%s,,failed,%s\n", strings.ReplaceAll(strings.ReplaceAll(key, " ", "%20"), "+", "%2B"), codes[r%len(codes)])
					} else {
						fmt.Fprintf(&b, "src,%s,,succeeded,200,,Successful\n", strings.ReplaceAll(strings.ReplaceAll(key, " ", "%20"), "+", "%2B"))
					}
				}
				name := fmt.Sprintf("%d-%v.csv", f, failed)
				if err := os.WriteFile(filepath.Join(jd, name), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum(b.Bytes())
				status := "succeeded"
				if failed {
					status = "failed"
				}
				results = append(results, map[string]string{"TaskExecutionStatus": status, "Bucket": "reports", "MD5Checksum": hex.EncodeToString(sum[:]), "Key": "job-" + id + "/results/" + name})
			}
		}
		m, _ := json.MarshalIndent(map[string]any{
			"Format": "Report_CSV_20180820", "ReportCreationDate": fmt.Sprintf("2024-01-0%dT10:00:00.000Z", j+1), "Results": results,
			"ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
		}, "", " ")
		if err := os.WriteFile(filepath.Join(dir, "job-"+id, "manifest.json"), m, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrashSubmit kills submit at random points and reruns it against
// the fake S3 Control server and the test S3 server (for the shard
// uploads): every shard ends with exactly one job, no job is ever
// created twice (jobs at the server = distinct tokens = shards), and
// jobs.json is always whole.
func TestCrashSubmit(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	bin := testBinary(t)
	work := t.TempDir()
	ctx := context.Background()
	generated, err := gen.Generate(ctx, gen.Options{Rows: 6000, Out: filepath.Join(work, "inv"), Seed: 5, Files: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	master := filepath.Join(work, "master")
	if code, _, stderr := s3bk(t, "plan", "--inventory", generated.Manifest, "--out", master, "--max-objects", "200", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %d %s", code, stderr)
	}
	p, err := manifest.ReadPlan(ctx, oc, master)
	if err != nil {
		t.Fatal(err)
	}
	planDir := filepath.Join(work, "plan")
	var srv *localtest.Server
	c := &crashCase{name: "submit", marker: manifest.JobsFile, out: planDir,
		env: []string{"AWS_ACCESS_KEY_ID=" + os.Getenv(objiotest.EnvAccessKey), "AWS_SECRET_ACCESS_KEY=" + os.Getenv(objiotest.EnvSecretKey),
			"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + cfg.EndpointURL, "AWS_CONFIG_FILE=" + filepath.Join(work, "none"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(work, "none"), "AWS_EC2_METADATA_DISABLED=true"},
	}
	c.fresh = func(t *testing.T) {
		os.RemoveAll(planDir)
		copyTree(t, master, planDir)
		if srv != nil {
			srv.Close()
		}
		srv = localtest.New(t, local.Options{Hold: true})
		c.args = []string{"submit", "--plan", planDir, "--account-id", "123456789012",
			"--role-arn", "arn:aws:iam::123456789012:role/batch-ops", "--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`,
			"--report-bucket", "arn:aws:s3:::" + bucket, "--manifest-bucket", "s3://" + bucket + "/manifests",
			"--control-endpoint-url", srv.URL, "--workers", "4"}
	}
	calls := 0
	c.check = func(t *testing.T, final bool) {
		srv.Settle() // the killed submit's last request may be in the engine still
		jobsAt := srv.Jobs(t, "123456789012")
		tokens := srv.CreateCalls()
		ids := map[string]bool{}
		for _, j := range jobsAt {
			ids[*j.JobId] = true
		}
		if len(jobsAt) != len(tokens) && len(tokens) != 0 {
			// Calls that failed create no job; every token has at most one.
			t.Errorf("%d jobs at the server for %d distinct tokens", len(jobsAt), len(tokens))
		}
		if len(jobsAt) > len(p.Shards) {
			t.Errorf("%d jobs for %d shards: a job was created twice", len(jobsAt), len(p.Shards))
		}
		run, err := manifest.ReadRun(ctx, oc, planDir)
		if err != nil && !errors.Is(err, objio.ErrNotFound) {
			t.Errorf("jobs.json after a kill: %v", err)
		}
		if run != nil {
			seen := map[string]bool{}
			for _, e := range run.Jobs {
				if !ids[e.JobID] || seen[e.Shard] {
					t.Errorf("jobs.json entry %+v: unknown job or shard twice", e)
				}
				seen[e.Shard] = true
			}
		}
		if final {
			if run == nil || len(run.Jobs) != len(p.Shards) || len(jobsAt) != len(p.Shards) || len(tokens) != len(p.Shards) {
				t.Errorf("after the rerun: jobs.json %v, %d jobs at the server, %d tokens; want %d", run != nil, len(jobsAt), len(tokens), len(p.Shards))
			}
			for _, n := range tokens {
				calls += n
			}
		}
	}
	// jobs.json holds creation times: compare the plan's files only.
	seeds := crashSeeds()
	var st crashStats
	t.Run("kill", func(t *testing.T) {
		st = crashLoopJobs(t, bin, c, seeds)
	})
	t.Logf("submit: %d shards, %d seeds, %d kills, %d CreateJob calls for %d jobs in all", len(p.Shards), seeds, st.kills, calls, (seeds+2)*len(p.Shards))
}

// crashLoopJobs is crashLoop for submit, whose jobs.json differs between
// runs (job ids, creation times): each seed starts from a fresh plan and
// server, and check holds the assertions.
func crashLoopJobs(t *testing.T, bin string, c *crashCase, seeds int) crashStats {
	var st crashStats
	// Two reference runs: the first also uploads the shards, which later
	// runs find in place; the second gives the kill window.
	var ref time.Duration
	for i := 0; i < 2; i++ {
		c.fresh(t)
		start := time.Now()
		if _, code, stderr := c.run(t, bin, -1); code != 0 {
			t.Fatalf("reference run: exit %d\n%s", code, stderr)
		}
		ref = time.Since(start)
		c.check(t, true)
	}
	for seed := 1; seed <= seeds; seed++ {
		c.fresh(t)
		rnd := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		for k := 0; k < 1+rnd.IntN(3); k++ {
			at := killPoint(rnd, ref)
			exited, code, stderr := c.run(t, bin, at)
			if exited {
				st.finished++
				if code != 0 {
					t.Fatalf("seed %d: run %d exited %d\n%s", seed, k, code, stderr)
				}
			} else {
				st.kills++
			}
			c.check(t, false)
		}
		if _, code, stderr := c.run(t, bin, -1); code != 0 {
			t.Fatalf("seed %d: rerun: exit %d\n%s", seed, code, stderr)
		}
		c.check(t, true)
	}
	t.Logf("reference run %v; %d seeds: %d kills, %d runs finished before their kill point", ref.Round(time.Millisecond), seeds, st.kills, st.finished)
	return st
}
