//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileModes: what gen, plan, diff, run and report write in a plan
// or report folder is a 0644 file in a 0755 folder (under umask 022),
// whatever wrote it — the shard writers, the atomic writes of plan.json,
// jobs.json and diff.json, the report's re-run plans and HTML page.
// That includes what objio.WriteFileAtomic writes (report's summary.json,
// the local engine's completion reports under plan/reports/).
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	inv, inv2 := filepath.Join(dir, "inv"), filepath.Join(dir, "inv2")
	plan, buckets := filepath.Join(dir, "plan"), filepath.Join(dir, "buckets")
	os.Mkdir(buckets, 0o755)
	for _, args := range [][]string{
		{"gen", "--rows", "3000", "--out", inv, "--files", "2"},
		{"gen", "--rows", "2000", "--out", inv2, "--format", "parquet", "--bucket", "other"},
		{"plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--max-objects", "1000", "--min-objects", "0"},
		{"diff", "--source", filepath.Join(inv, "manifest.json"), "--target", filepath.Join(inv2, "manifest.json"), "--cross-bucket", "--out", filepath.Join(dir, "diff")},
		{"run", "--plan", plan, "--routes", "copy", "--local-root", buckets, "--materialize", "--operation", `{"S3PutObjectTagging": {"TagSet": []}}`},
		{"report", "--plan", plan, "--out", filepath.Join(dir, "audit"), "--html", filepath.Join(dir, "audit", "report.html")},
	} {
		if code, _, stderr := s3bk(t, append(args, "--quiet")...); code != 0 {
			t.Fatalf("%s: exit %d %s", args[0], code, stderr)
		}
	}
	files := 0
	for _, root := range []string{inv, inv2, plan, filepath.Join(dir, "diff"), filepath.Join(dir, "audit")} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Error(err)
				return nil
			}
			want := fs.FileMode(0o644)
			if d.IsDir() {
				want = 0o755
			} else {
				files++
			}
			if st.Mode().Perm() != want {
				rel, _ := filepath.Rel(dir, p)
				t.Errorf("%s: mode %v, want %v", rel, st.Mode().Perm(), want)
			}
			return nil
		})
	}
	if files < 20 {
		t.Errorf("only %d files checked", files)
	}
}
