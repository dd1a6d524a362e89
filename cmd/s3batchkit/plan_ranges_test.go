package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// unsetIndexEnv clears the array index variables for the test.
func unsetIndexEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// TestPlanRangesCLI runs a distributed plan as the job engines would:
// plan split, N workers given their index by AWS_BATCH_JOB_ARRAY_INDEX
// (and JOB_COMPLETION_INDEX), plan merge; then runs the merged plan with
// the local engine and audits it. The exit codes are the contract: 2 for
// a worker without an index, with other filters, or a merge with a part
// missing.
func TestPlanRangesCLI(t *testing.T) {
	unsetIndexEnv(t)
	tmp := t.TempDir()
	inv := filepath.Join(tmp, "inv")
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", "1200", "--format", "parquet", "--files", "3", "--out", inv); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	m := filepath.Join(inv, "manifest.json")
	root := filepath.Join(tmp, "run")
	ranges := filepath.Join(root, "ranges.json")
	planArgs := []string{"--inventory", m, "--max-objects", "200", "--min-objects", "0"}

	code, stdout, stderr := s3bk(t, append([]string{"plan", "split", "--ranges", "3", "--slices", "2", "--out", ranges}, planArgs...)...)
	if code != 0 || !strings.Contains(stdout, "ranges written to "+ranges) || !strings.Contains(stdout, "mode shuffle") {
		t.Fatalf("split: %d\n%s\n%s", code, stdout, stderr)
	}
	// gen's rows are in no key order: the inventory is shuffled by two
	// scatter jobs first.
	if code, _, stderr := s3bk(t, "plan", "scatter", "--ranges", ranges); code != 2 || !strings.Contains(stderr, "JOB_COMPLETION_INDEX") {
		t.Errorf("a scatter without an index: exit %d, %s", code, stderr)
	}
	for j := range 2 {
		t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(j))
		if code, _, stderr := s3bk(t, "plan", "scatter", "--ranges", ranges, "-q"); code != 0 {
			t.Fatalf("scatter %d: %d %s", j, code, stderr)
		}
	}
	unsetIndexEnv(t)
	worker := func(extra ...string) (int, string, string) {
		return s3bk(t, append(append([]string{"plan"}, planArgs...), append([]string{"--ranges", ranges, "-q"}, extra...)...)...)
	}
	if code, _, stderr := worker(); code != 2 || !strings.Contains(stderr, "JOB_COMPLETION_INDEX") {
		t.Errorf("a worker without an index: exit %d, %s", code, stderr)
	}
	t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", "0")
	if code, _, stderr := worker("--latest-only"); code != 2 || !strings.Contains(stderr, "latest_only") {
		t.Errorf("a worker with other filters: exit %d, %s", code, stderr)
	}
	if code, _, stderr := worker("--range", "3"); code != 2 {
		t.Errorf("range 3 of 3: exit %d, %s", code, stderr)
	}
	for i := range 3 {
		env := "AWS_BATCH_JOB_ARRAY_INDEX"
		if i == 2 {
			unsetIndexEnv(t)
			env = "JOB_COMPLETION_INDEX"
		}
		t.Setenv(env, strconv.Itoa(i))
		if code, _, stderr := worker(); code != 0 {
			t.Fatalf("worker %d: %d %s", i, code, stderr)
		}
		if _, err := manifest.ReadPart(context.Background(), nil, filepath.Join(root, "parts", "000"+strconv.Itoa(i))); err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	part2 := filepath.Join(root, "parts", "0002", manifest.PartName)
	saved, err := os.ReadFile(part2)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(part2)
	if code, _, stderr := s3bk(t, "plan", "merge", "--ranges", ranges); code != 2 || !strings.Contains(stderr, "part missing") {
		t.Errorf("merge with part 2 missing: exit %d, %s", code, stderr)
	}
	if err := os.WriteFile(part2, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := s3bk(t, "plan", "merge", "--ranges", ranges); code != 0 || !strings.Contains(stdout, "rows read               1,200") {
		t.Fatalf("merge: %d\n%s\n%s", code, stdout, stderr)
	}

	// One process (--range all) writes the same bytes as the workers and
	// the merge: plan.json and every part.
	one := filepath.Join(tmp, "one")
	os.MkdirAll(one, 0o755)
	raw, err := os.ReadFile(ranges)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(one, "ranges.json"), raw, 0o644)
	if code, _, stderr := s3bk(t, append(append([]string{"plan"}, planArgs...), "--ranges", filepath.Join(one, "ranges.json"), "--range", "all", "-q")...); code != 0 {
		t.Fatalf("--range all: %d %s", code, stderr)
	}
	want, got := treeOf(t, root), treeOf(t, one)
	if len(want) != len(got) || len(want) < 6 {
		t.Errorf("--range all wrote %d files, the workers and merge %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("--range all: %s differs", k)
		}
	}

	// The merged plan runs as any plan does.
	buckets, reports := filepath.Join(tmp, "buckets"), filepath.Join(tmp, "reports")
	os.MkdirAll(buckets, 0o755)
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::backup"}}`
	if code, stdout, stderr := s3bk(t, "run", "--plan", root, "--routes", "copy", "--local-root", buckets, "--materialize", "--report", reports, "--operation", op, "--workers", "4"); code != 0 {
		t.Fatalf("run: %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := s3bk(t, "report", "--plan", root, "--out", filepath.Join(tmp, "audit")); code != 0 && code != 4 || !strings.Contains(stdout, "succeeded") {
		t.Fatalf("report: %d\n%s\n%s", code, stdout, stderr)
	}
	plan, err := manifest.ReadPlan(context.Background(), nil, root)
	if err != nil {
		t.Fatal(err)
	}
	run, err := manifest.ReadRun(context.Background(), nil, root)
	if err != nil {
		t.Fatal(err)
	}
	copies, _ := plan.ShardsOf("copy")
	if len(run.Jobs) != len(copies) {
		t.Errorf("%d jobs for %d copy shards", len(run.Jobs), len(copies))
	}
}

// TestPlanRangesS3 runs the three steps with the inventory, ranges.json,
// the parts and plan.json in S3 (the test server), then submits the
// merged plan to the local engine: every job's manifest is a part's
// shard, its ETag the MD5 the plan lists.
// rangesS3Env points the commands at the test S3 server through the
// environment, as a container would be, and returns the test's own
// client of the server and a fresh bucket.
func rangesS3Env(t *testing.T) (*objio.Client, string) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", cfg.EndpointURL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	unsetIndexEnv(t)
	return oc, bucket
}

// TestPlanSplitEmitRuns runs the commands `plan split --emit aws-batch`
// prints, step by step with the array index AWS Batch would set, and
// checks that the merged plan holds every row; a local inventory is
// refused with --emit (the containers share nothing but S3).
func TestPlanSplitEmitRuns(t *testing.T) {
	oc, bucket := rangesS3Env(t)
	ctx := context.Background()
	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", "3000", "--format", "parquet", "--files", "3", "--out", gen); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	root := "s3://" + bucket + "/runs/emit"
	split := []string{"plan", "split", "--ranges", "3", "--mode", "shuffle", "--out", root + "/ranges.json", "--emit", "aws-batch", "--job-queue", "q", "--image", "example/s3batchkit:1"}
	if code, _, stderr := s3bk(t, append(split, "--inventory", gen+"/manifest.json")...); code != 2 || !strings.Contains(stderr, "s3://") {
		t.Fatalf("split --emit of a local inventory: exit %d, %s; want 2 naming s3://", code, stderr)
	}
	inv := "s3://" + bucket + "/inventory/src/config"
	uploadDir(t, oc, gen, inv)
	code, stdout, stderr := s3bk(t, append(split, "--inventory", inv+"/manifest.json", "--min-size", "1024")...)
	if code != 0 {
		t.Fatalf("split --emit: %d %s", code, stderr)
	}
	runEmittedBatch(t, stdout)
	plan, err := manifest.ReadPlan(ctx, oc, root)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Counters.RowsRead != 3000 || len(plan.Shards) == 0 {
		t.Fatalf("merged plan: %d rows read, %d shards", plan.Counters.RowsRead, len(plan.Shards))
	}
}

// TestPlanRangesEndpointFlag runs split, scatter, the workers and merge
// with the S3 server named only by --endpoint-url (not the environment):
// every step reads and writes through the client the flags configure,
// whose requests the scatter's --json counts.
func TestPlanRangesEndpointFlag(t *testing.T) {
	oc, bucket := rangesS3Env(t)
	ep := os.Getenv("AWS_ENDPOINT_URL")
	os.Unsetenv("AWS_ENDPOINT_URL") // restored by rangesS3Env's t.Setenv
	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", "1500", "--format", "parquet", "--files", "3", "--out", gen); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	inv := "s3://" + bucket + "/inventory/src/config"
	uploadDir(t, oc, gen, inv)
	root := "s3://" + bucket + "/runs/flag"
	flag := []string{"--endpoint-url", ep}
	if code, _, stderr := s3bk(t, append(flag, "plan", "split", "--inventory", inv+"/manifest.json", "--ranges", "2", "--mode", "shuffle", "--out", root+"/ranges.json", "-q")...); code != 0 {
		t.Fatalf("split: %d %s", code, stderr)
	}
	for j := range 2 {
		code, stdout, stderr := s3bk(t, append(flag, "plan", "scatter", "--ranges", root+"/ranges.json", "--slice", strconv.Itoa(j), "--json")...)
		if code != 0 {
			t.Fatalf("scatter %d: %d %s", j, code, stderr)
		}
		var out struct {
			S3 objio.RequestStats `json:"s3"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.S3.Requests == 0 {
			t.Fatalf("scatter %d --json: %v, S3 requests %d in\n%s", j, err, out.S3.Requests, stdout)
		}
	}
	for i := range 2 {
		if code, _, stderr := s3bk(t, append(flag, "plan", "--inventory", inv+"/manifest.json", "--ranges", root+"/ranges.json", "--range", strconv.Itoa(i), "-q")...); code != 0 {
			t.Fatalf("worker %d: %d %s", i, code, stderr)
		}
	}
	if code, _, stderr := s3bk(t, append(flag, "plan", "merge", "--ranges", root+"/ranges.json", "-q")...); code != 0 {
		t.Fatalf("merge: %d %s", code, stderr)
	}
	plan, err := manifest.ReadPlan(context.Background(), oc, root)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Counters.RowsRead != 1500 {
		t.Fatalf("merged plan: %d rows read, want 1500", plan.Counters.RowsRead)
	}
}

// runEmittedBatch runs, step by step, the jobs that --emit aws-batch
// printed (stdout), each array job once per index with AWS Batch's
// AWS_BATCH_JOB_ARRAY_INDEX set, as the service would.
func runEmittedBatch(t *testing.T, stdout string) {
	t.Helper()
	var out struct {
		Defs []struct {
			Name      string `json:"jobDefinitionName"`
			Container struct {
				Command []string `json:"command"`
			} `json:"containerProperties"`
		} `json:"register_job_definitions"`
		Jobs []struct {
			Definition string `json:"jobDefinition"`
			Array      *struct {
				Size int `json:"size"`
			} `json:"arrayProperties"`
		} `json:"submit_jobs"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out.Jobs) < 2 {
		t.Fatalf("--emit aws-batch: %v, %d jobs in\n%s", err, len(out.Jobs), stdout)
	}
	for _, job := range out.Jobs {
		var cmd []string
		for _, d := range out.Defs {
			if d.Name == job.Definition {
				cmd = d.Container.Command
			}
		}
		n := 1
		if job.Array != nil {
			n = job.Array.Size
		}
		for i := range n {
			if job.Array != nil {
				t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", strconv.Itoa(i))
			}
			if code, _, stderr := s3bk(t, append(cmd, "-q")...); code != 0 {
				t.Fatalf("%s %d: %v: exit %d, %s", job.Definition, i, cmd, code, stderr)
			}
		}
		unsetIndexEnv(t)
	}
}

func TestPlanRangesS3(t *testing.T) {
	oc, bucket := rangesS3Env(t)
	ctx := context.Background()

	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", "2000", "--versions", "--format", "orc", "--files", "2", "--out", gen); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	inv := "s3://" + bucket + "/inventory/src/config"
	uploadDir(t, oc, gen, inv)
	root := "s3://" + bucket + "/runs/r1"
	planArgs := []string{"--inventory", inv + "/manifest.json", "--max-objects", "300", "--min-objects", "0", "-q"}
	if code, _, stderr := s3bk(t, append([]string{"plan", "split", "--ranges", "2", "--out", root + "/ranges.json"}, planArgs...)...); code != 0 {
		t.Fatalf("split: %d %s", code, stderr)
	}
	for j := range 2 {
		t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", strconv.Itoa(j))
		if code, _, stderr := s3bk(t, "plan", "scatter", "--ranges", root+"/ranges.json", "-q"); code != 0 {
			t.Fatalf("scatter %d: %d %s", j, code, stderr)
		}
	}
	unsetIndexEnv(t)
	if _, err := manifest.ReadScatter(ctx, oc, root+"/scatter/0001"); err != nil {
		t.Fatalf("scatter slice 1 in S3: %v", err)
	}
	for i := range 2 {
		t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(i))
		if code, _, stderr := s3bk(t, append(append([]string{"plan"}, planArgs...), "--ranges", root+"/ranges.json")...); code != 0 {
			t.Fatalf("worker %d: %d %s", i, code, stderr)
		}
	}
	if code, _, stderr := s3bk(t, "plan", "merge", "--ranges", root+"/ranges.json", "-q"); code != 0 {
		t.Fatalf("merge: %d %s", code, stderr)
	}
	plan, err := manifest.ReadPlan(ctx, oc, root)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Counters.RowsRead != 2000 || len(plan.Shards) < 4 {
		t.Fatalf("merged plan: %d rows read, %d shards", plan.Counters.RowsRead, len(plan.Shards))
	}
	for _, sh := range plan.Shards {
		info, err := oc.Stat(ctx, objio.Join(root, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Trim(info.ETag, `"`) != sh.MD5 {
			t.Errorf("%s: ETag %s, MD5 %s", sh.Path, info.ETag, sh.MD5)
		}
	}

	st, err := local.NewS3Storage(ctx, oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := localtest.New(t, local.Options{Hold: true, Storage: st, Workers: 4})
	code, stdout, stderr := s3bk(t, "submit", "--plan", root, "--account-id", "123456789012",
		"--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
		"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "done", "Value": "yes"}]}}`,
		"--report-bucket", "arn:aws:s3:::"+bucket, "--report-prefix", "reports",
		"--control-endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("submit: %d\n%s\n%s", code, stdout, stderr)
	}
	if n := len(srv.Jobs(t, "123456789012")); n != len(plan.Shards) {
		t.Fatalf("%d jobs for %d shards", n, len(plan.Shards))
	}
	run, err := manifest.ReadRun(ctx, oc, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range run.Jobs {
		if !strings.Contains(e.Manifest, "/parts/") {
			t.Errorf("job manifest %s is not a part's shard", e.Manifest)
		}
	}
}

// treeOf returns the files under dir by relative path.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrashPlanRange kills a range's worker, a scatter slice and a
// distributed diff's worker with SIGKILL at random points (seeded) and
// reruns them: a part or a slice
// with its marker (part.json, scatter.json) is always the bytes of an
// uninterrupted run, and the rerun completes it.
func TestCrashPlanRange(t *testing.T) {
	bin := testBinary(t)
	unsetIndexEnv(t)
	work := t.TempDir()
	rows := "60000"
	if testing.Short() {
		rows = "20000"
	}
	inv := filepath.Join(work, "inv")
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", rows, "--files", "3", "--format", "parquet", "--out", inv); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	m := filepath.Join(inv, "manifest.json")
	planArgs := []string{"--inventory", m, "--max-objects", "2000", "--min-objects", "0", "--memory", "16MiB", "--quiet"}
	direct, shuffled := filepath.Join(work, "direct", "ranges.json"), filepath.Join(work, "shuffled", "ranges.json")
	for loc, mode := range map[string]string{direct: "direct", shuffled: "shuffle"} {
		if code, _, stderr := s3bk(t, append([]string{"plan", "split", "--ranges", "3", "--slices", "2", "--mode", mode, "--out", loc}, planArgs...)...); code != 0 {
			t.Fatalf("split %s: %d %s", mode, code, stderr)
		}
	}
	// A distributed diff of that report against another, read directly.
	inv2 := filepath.Join(work, "inv2")
	if code, _, stderr := s3bk(t, "gen", "-q", "--rows", rows, "--files", "2", "--format", "parquet", "--seed", "2", "--out", inv2); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	diffArgs := []string{"--source", m, "--target", filepath.Join(inv2, "manifest.json"), "--max-objects", "2000", "--min-objects", "0", "--memory", "16MiB", "--quiet"}
	diffRanges := filepath.Join(work, "diff", "ranges.json")
	if code, _, stderr := s3bk(t, append([]string{"diff", "split", "--ranges", "3", "--mode", "direct", "--out", diffRanges}, diffArgs...)...); code != 0 {
		t.Fatalf("diff split: %d %s", code, stderr)
	}
	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(tmp, 0o755)
	env := []string{"TMPDIR=" + tmp, "GOMAXPROCS=2", "AWS_BATCH_JOB_ARRAY_INDEX=1"}
	cases := []*crashCase{
		{name: "worker", marker: manifest.PartName, out: manifest.PartDir(filepath.Dir(direct), 1), env: env,
			args: append([]string{"plan", "--ranges", direct}, planArgs...)},
		{name: "scatter", marker: manifest.ScatterName, out: manifest.ScatterDir(filepath.Dir(shuffled), 1), env: env,
			args: []string{"plan", "scatter", "--ranges", shuffled, "--quiet"}},
		{name: "diff-worker", marker: manifest.PartName, out: manifest.PartDir(filepath.Dir(diffRanges), 1), env: env,
			args: append([]string{"diff", "--ranges", diffRanges}, diffArgs...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			crashLoop(t, bin, c, crashSeeds())
		})
	}
}

// TestRangeWorkersLimitHeap: a range worker of a plan or a diff sets the
// Go memory limit from its --memory, as the one-machine commands do (a
// diff's range worker without it peaked at 1.25 GB where the diff peaks
// at 0.72 GB), and leaves a limit $GOMEMLIMIT sets alone.
func TestRangeWorkersLimitHeap(t *testing.T) {
	unsetIndexEnv(t)
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	dir := t.TempDir()
	var inv [2]string
	for i := range inv {
		out := filepath.Join(dir, "inv"+strconv.Itoa(i))
		if code, _, stderr := s3bk(t, "gen", "-q", "--rows", "3000", "--format", "parquet", "--seed", strconv.Itoa(i+1), "--out", out); code != 0 {
			t.Fatalf("gen: %d %s", code, stderr)
		}
		inv[i] = filepath.Join(out, "manifest.json")
	}
	plan := []string{"--inventory", inv[0], "--memory", "64MiB", "-q"}
	dif := []string{"--source", inv[0], "--target", inv[1], "--memory", "96MiB", "-q"}
	for _, tc := range []struct {
		cmd    string
		args   []string
		budget int64
	}{{"plan", plan, 64 << 20}, {"diff", dif, 96 << 20}} {
		ranges := filepath.Join(dir, tc.cmd, manifest.RangesName)
		if code, _, stderr := s3bk(t, append([]string{tc.cmd, "split", "--ranges", "2", "--out", ranges}, tc.args...)...); code != 0 {
			t.Fatalf("%s split: %d %s", tc.cmd, code, stderr)
		}
		for _, env := range []string{"", "3GiB"} {
			t.Setenv("GOMEMLIMIT", env)
			debug.SetMemoryLimit(math.MaxInt64)
			if code, _, stderr := s3bk(t, append([]string{tc.cmd, "--ranges", ranges, "--range", "1"}, tc.args...)...); code != 0 {
				t.Fatalf("%s --ranges: %d %s", tc.cmd, code, stderr)
			}
			want := partition.MemoryLimit(tc.budget)
			if env != "" {
				want = math.MaxInt64
			}
			if got := debug.SetMemoryLimit(-1); got != want {
				t.Errorf("%s --ranges, GOMEMLIMIT=%q: memory limit %d, want %d", tc.cmd, env, got, want)
			}
		}
	}
}
