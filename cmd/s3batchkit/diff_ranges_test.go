package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestDiffRangesCLI runs a distributed diff as the job engines would:
// diff split, N workers given their index by AWS_BATCH_JOB_ARRAY_INDEX
// (or --range), diff merge; the merged plan's shards, concatenated per
// route, and diff.json's counts equal the one-machine diff's. Exit 2 for
// a worker without an index or with other flags, and for a merge with a
// part missing. Then the same with every step in one process (--range
// all), the reports read directly.
func TestDiffRangesCLI(t *testing.T) {
	unsetIndexEnv(t)
	dir := t.TempDir()
	mk := func(name, format, bucket string, seed uint64) string {
		res, err := gen.Generate(context.Background(), gen.Options{Rows: 2000, Format: format, Out: filepath.Join(dir, name), Seed: seed, Versions: true, Bucket: bucket, Files: 3})
		if err != nil {
			t.Fatal(err)
		}
		return res.Manifest
	}
	src, dst := mk("a", "parquet", "src", 1), mk("b", "csv", "dst", 2)
	args := []string{"--source", src, "--target", dst, "--cross-bucket", "--max-objects", "150", "--min-objects", "0", "--examples", "3"}
	one := filepath.Join(dir, "one")
	if code, _, stderr := s3bk(t, append([]string{"diff", "-q", "--out", one}, args...)...); code != 0 {
		t.Fatalf("diff: %d %s", code, stderr)
	}
	root := filepath.Join(dir, "run")
	ranges := filepath.Join(root, manifest.RangesName)
	code, stdout, stderr := s3bk(t, append([]string{"diff", "split", "--ranges", "3", "--out", ranges}, args...)...)
	if code != 0 || !strings.Contains(stdout, "ranges written to "+ranges) {
		t.Fatalf("split: %d\n%s\n%s", code, stdout, stderr)
	}
	// The CSV target has no key statistics: auto mode shuffles it, and
	// the scatter slices run first. The Parquet source is read directly.
	r, _, err := manifest.ReadRanges(context.Background(), nil, ranges)
	if err != nil {
		t.Fatal(err)
	}
	if r.Inputs[0].Mode != manifest.ModeDirect || r.Inputs[1].Mode != manifest.ModeShuffle || r.Slices < 1 {
		t.Fatalf("modes %s, %s with %d slices; want direct, shuffle", r.Inputs[0].Mode, r.Inputs[1].Mode, r.Slices)
	}
	worker := append([]string{"diff", "-q", "--ranges", ranges}, args...)
	if code, _, stderr := s3bk(t, append(worker, "--range", "0")...); code != exitUsage || !strings.Contains(stderr, "scatter slice 0") {
		t.Errorf("a worker before the scatter: exit %d, %s", code, stderr)
	}
	for j := range r.Slices {
		if code, _, stderr := s3bk(t, "plan", "scatter", "-q", "--ranges", ranges, "--slice", strconv.Itoa(j)); code != 0 {
			t.Fatalf("scatter %d: %d %s", j, code, stderr)
		}
	}
	if code, _, stderr := s3bk(t, worker...); code != exitUsage || !strings.Contains(stderr, "JOB_COMPLETION_INDEX") {
		t.Errorf("a worker without an index: exit %d, %s", code, stderr)
	}
	if code, _, stderr := s3bk(t, append(worker, "--range", "0", "--compare", "size")...); code != exitUsage || !strings.Contains(stderr, "differ") {
		t.Errorf("a worker with another --compare: exit %d, %s", code, stderr)
	}
	for i := range 2 {
		t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", []string{"0", "1"}[i])
		if code, _, stderr := s3bk(t, worker...); code != 0 {
			t.Fatalf("worker %d: %d %s", i, code, stderr)
		}
	}
	unsetIndexEnv(t)
	if code, _, stderr := s3bk(t, "diff", "merge", "--ranges", ranges); code != exitUsage || !strings.Contains(stderr, "part missing") {
		t.Errorf("a merge with range 2 missing: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, manifest.PlanFile)); err == nil {
		t.Errorf("a refused merge wrote plan.json")
	}
	if code, _, stderr := s3bk(t, append(worker, "--range", "2")...); code != 0 {
		t.Fatalf("worker 2: %d %s", code, stderr)
	}
	if code, stdout, stderr := s3bk(t, "diff", "merge", "--ranges", ranges); code != 0 || !strings.Contains(stdout, "plan written to "+root) {
		t.Fatalf("merge: %d\n%s\n%s", code, stdout, stderr)
	}

	want, got := routeStreams(t, nil, one), routeStreams(t, nil, root)
	routes := func(m map[string]string) []string {
		var r []string
		for k := range m {
			r = append(r, k)
		}
		sort.Strings(r)
		return r
	}
	if strings.Join(routes(got), ",") != strings.Join(routes(want), ",") || len(want) < 2 {
		t.Fatalf("routes %v, want %v", routes(got), routes(want))
	}
	for r := range want {
		if got[r] != want[r] {
			t.Errorf("route %s: the merged shards differ from the one-machine diff's", r)
		}
	}
	summary := func(dir string) string {
		raw, err := os.ReadFile(filepath.Join(dir, "diff.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "warnings")
		b, _ := json.Marshal(m)
		return string(b)
	}
	if a, b := summary(root), summary(one); a != b {
		t.Errorf("diff.json\n got %s\nwant %s", a, b)
	}

	// Every step in one process (--range all), both reports read
	// directly: the same bytes again.
	all := filepath.Join(dir, "all")
	allRanges := filepath.Join(all, manifest.RangesName)
	if code, _, stderr := s3bk(t, append([]string{"diff", "split", "-q", "--ranges", "4", "--mode", "direct", "--out", allRanges}, args...)...); code != 0 {
		t.Fatalf("split --mode direct: %d %s", code, stderr)
	}
	if code, _, stderr := s3bk(t, append([]string{"diff", "-q", "--ranges", allRanges, "--range", "all", "--out", all}, args...)...); code != exitUsage || !strings.Contains(stderr, "no --out") {
		t.Errorf("--range all with --out: exit %d, %s", code, stderr)
	}
	if code, stdout, stderr := s3bk(t, append([]string{"diff", "--ranges", allRanges, "--range", "all"}, args...)...); code != 0 || !strings.Contains(stdout, "plan written to "+all) {
		t.Fatalf("--range all: %d\n%s\n%s", code, stdout, stderr)
	}
	gotAll := routeStreams(t, nil, all)
	for r := range want {
		if gotAll[r] != want[r] {
			t.Errorf("--range all: route %s: the merged shards differ from the one-machine diff's", r)
		}
	}
	if a, b := summary(all), summary(one); a != b {
		t.Errorf("--range all: diff.json\n got %s\nwant %s", a, b)
	}
}

// TestDiffSplitEmitRuns runs the commands `diff split --emit aws-batch`
// prints (plan scatter for the CSV target, which is shuffled; the workers
// run diff, the merge diff merge) against
// the test S3 server, and compares the merged shards with the one-machine
// diff of the same reports.
func TestDiffSplitEmitRuns(t *testing.T) {
	oc, bucket := rangesS3Env(t)
	ctx := context.Background()
	dir := t.TempDir()
	var loc [2]string
	for i, side := range []struct{ format, bucket string }{{"parquet", "src"}, {"csv", "dst"}} {
		res, err := gen.Generate(ctx, gen.Options{Rows: 1500, Format: side.format, Out: filepath.Join(dir, side.bucket), Seed: uint64(i + 1), Bucket: side.bucket, Files: 2})
		if err != nil {
			t.Fatal(err)
		}
		loc[i] = "s3://" + bucket + "/inventory/" + side.bucket
		uploadDir(t, oc, filepath.Dir(res.Manifest), loc[i])
		loc[i] += "/" + filepath.Base(res.Manifest)
	}
	args := []string{"--source", loc[0], "--target", loc[1], "--cross-bucket", "--max-objects", "200", "--min-objects", "0"}
	root := "s3://" + bucket + "/runs/diff"
	code, stdout, stderr := s3bk(t, append([]string{"diff", "split", "--ranges", "3", "--out", root + "/ranges.json",
		"--emit", "aws-batch", "--job-queue", "q", "--image", "example/s3batchkit:1"}, args...)...)
	if code != 0 || !strings.Contains(stdout, `"diff"`) || !strings.Contains(stdout, `"scatter"`) {
		t.Fatalf("diff split --emit: %d\n%s\n%s", code, stdout, stderr)
	}
	runEmittedBatch(t, stdout)
	one := filepath.Join(dir, "one")
	if code, _, stderr := s3bk(t, append([]string{"diff", "-q", "--out", one}, args...)...); code != 0 {
		t.Fatalf("diff: %d %s", code, stderr)
	}
	got, want := routeStreams(t, oc, root), routeStreams(t, nil, one)
	if len(got) != len(want) || len(want) < 2 {
		t.Fatalf("%d routes, want %d (at least 2)", len(got), len(want))
	}
	for r := range want {
		if got[r] != want[r] {
			t.Errorf("route %s: the merged shards differ from the one-machine diff's", r)
		}
	}
}

// routeStreams reads the plan at root through oc (nil: a client of its
// own, for local folders) and returns each route's shards concatenated in
// plan order: what a distributed plan or diff must equal, byte for byte.
func routeStreams(t *testing.T, oc *objio.Client, root string) map[string]string {
	t.Helper()
	ctx := context.Background()
	p, err := manifest.ReadPlan(ctx, oc, root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, sh := range p.Shards {
		raw, err := oc.ReadAll(ctx, objio.Join(root, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		out[sh.Route] += string(raw)
	}
	return out
}
