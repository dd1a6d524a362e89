package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunLocal plans a generated inventory, runs its copy shards against a
// directory of buckets with `run`, and reads the reports with `report`.
func TestRunLocal(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "1500", "--files", "1", "--seed", "3", "--out", filepath.Join(dir, "inv")); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	plan := filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(dir, "inv", "manifest.json"), "--out", plan, "--max-objects", "500", "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	root := filepath.Join(dir, "buckets")
	os.MkdirAll(root, 0o755)
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::backup-bucket"}}`
	reports := filepath.Join(dir, "reports")
	code, stdout, stderr := s3bk(t, "run", "--plan", plan, "--routes", "copy", "--local-root", root, "--materialize", "--report", reports, "--operation", op, "--workers", "4")
	if code != 0 || !strings.Contains(stdout, "Complete") || strings.Contains(stdout, "Failed ") {
		t.Fatalf("run: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = s3bk(t, "report", "--report", reports, "--out", filepath.Join(dir, "audit"))
	if code != 0 || !strings.Contains(stdout, " 0 failed") {
		t.Fatalf("report: %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestRunServeFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--plan", dir, "--operation", "{}"}, "--operation"},
		{[]string{"run", "--plan", dir, "--operation", `{"S3DeleteObjectTagging": {}}`, "--materialize"}, "--materialize needs --local-root"},
		{[]string{"run", "--plan", dir, "--operation", `{"S3DeleteObjectTagging": {}}`, "--s3-endpoint", "ftp://x"}, "--endpoint-url must start with http"},
		{[]string{"serve", "--state-dir", dir, "--listen", "nonsense"}, "--listen"},
		{[]string{"serve", "--state-dir", dir, "--workers", "0"}, "--workers"},
	} {
		code, _, stderr := s3bk(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
