package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanKeepsSubmittedPlan: once a plan's jobs ran (jobs.json records
// them), plan and diff refuse to write over it (exit 2, nothing changed)
// unless --force, which keeps jobs.json under another name; files under
// shards/ that no plan wrote survive a new plan.
func TestPlanKeepsSubmittedPlan(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv")
	if code, _, stderr := s3bk(t, "gen", "--rows", "3000", "--out", inv, "--seed", "4"); code != 0 {
		t.Fatal(stderr)
	}
	m := filepath.Join(inv, "manifest.json")
	plan := filepath.Join(dir, "plan")
	planArgs := []string{"plan", "--inventory", m, "--out", plan, "--max-objects", "1000", "--min-objects", "0", "--quiet"}
	if code, _, stderr := s3bk(t, planArgs...); code != 0 {
		t.Fatal(stderr)
	}
	notes := filepath.Join(plan, "shards", "NOTES.txt")
	os.WriteFile(notes, []byte("mine"), 0o644)
	buckets := filepath.Join(dir, "buckets")
	os.Mkdir(buckets, 0o755)
	if code, _, stderr := s3bk(t, "run", "--plan", plan, "--routes", "copy", "--local-root", buckets, "--materialize",
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst"}}`); code != 0 {
		t.Fatal(stderr)
	}
	before := tree(plan)
	planJSON, _ := os.ReadFile(filepath.Join(plan, "plan.json"))

	for _, args := range [][]string{
		append(append([]string{}, planArgs...), "--max-objects", "700"),
		{"diff", "--source", m, "--target", m, "--out", plan, "--quiet"},
	} {
		code, stdout, stderr := s3bk(t, args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "jobs were submitted") || !strings.Contains(stderr, "--force") {
			t.Errorf("%s over a run plan: exit %d, stdout %q, stderr %q", args[0], code, stdout, stderr)
		}
		after, _ := os.ReadFile(filepath.Join(plan, "plan.json"))
		if got := tree(plan); strings.Join(got, " ") != strings.Join(before, " ") || string(after) != string(planJSON) {
			t.Errorf("%s changed the submitted plan: %v, was %v", args[0], got, before)
		}
	}
	code, _, stderr := s3bk(t, append(append([]string{}, planArgs...), "--max-objects", "700", "--force")...)
	if code != 0 || !strings.Contains(stderr, "jobs-replaced-") {
		t.Fatalf("plan --force: exit %d, %s", code, stderr)
	}
	aside, _ := filepath.Glob(filepath.Join(plan, "jobs-replaced-*.json"))
	if len(aside) != 1 {
		t.Errorf("the old jobs.json was not kept: %v", tree(plan))
	}
	if _, err := os.Stat(filepath.Join(plan, "jobs.json")); !os.IsNotExist(err) {
		t.Errorf("jobs.json of the old plan still stands beside the new plan: %v", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file under shards/ that no plan wrote was removed: %v", err)
	}
}

// TestInventoryWrongFile: the files people give as --inventory by mistake
// are named with what to do; a plan that keeps nothing says which
// filters dropped the rows.
func TestInventoryWrongFile(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv")
	if code, _, stderr := s3bk(t, "gen", "--rows", "500", "--out", inv); code != 0 {
		t.Fatal(stderr)
	}
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	data, _ := filepath.Glob(filepath.Join(inv, "data", "*"))
	shards, _ := filepath.Glob(filepath.Join(plan, "shards", "*", "*.csv"))
	reportManifests, _ := filepath.Glob(filepath.Join("..", "..", "report", "testdata", "run1", "*", "manifest.json"))
	if len(data) == 0 || len(shards) == 0 || len(reportManifests) == 0 {
		t.Fatalf("fixtures: %v %v %v", data, shards, reportManifests)
	}
	for _, tc := range []struct {
		loc  string
		code int
		want string
	}{
		{data[0], exitBadInput, "it is a gzip file: a CSV.gz data file"},
		{filepath.Join(plan, "plan.json"), exitBadInput, "it is a plan.json written by s3batchkit plan"},
		{shards[0], exitBadInput, "it is a CSV file, not JSON"},
		{reportManifests[0], exitBadInput, "completion report's manifest.json; use s3batchkit report"},
		{filepath.Join(dir, "nowhere", "manifest.json"), exitFailure, filepath.Join(dir, "nowhere", "manifest.json") + ": object not found"},
	} {
		code, stdout, stderr := s3bk(t, "plan", "--inventory", tc.loc, "--dry-run")
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "invalid character") {
			t.Errorf("--inventory %s: exit %d (want %d), stderr %q (want %q)", tc.loc, code, tc.code, stderr, tc.want)
		}
	}
	code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--dry-run", "--quiet", "--where", `storage_class == "no-such-class"`)
	if code != 0 || !strings.Contains(stderr, "warning: the plan is empty: the filters kept none of the 500 rows read (--where dropped") {
		t.Errorf("an empty plan: exit %d, stderr %q", code, stderr)
	}
}
