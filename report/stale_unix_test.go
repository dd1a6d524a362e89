//go:build unix

package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStaleSpillsRemovedWithoutSpilling: what a killed report left in its
// output folder (a sort's spill folder, the tracker's hash file) is
// removed by the next report there, even one too small to spill; a
// spill folder of a live process stays.
func TestStaleSpillsRemovedWithoutSpilling(t *testing.T) {
	dir := t.TempDir()
	mr := genModelRun(t, dir, 3, 200, 2)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	out := filepath.Join(dir, "out")
	mk := func(name string) string {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("spill"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The sorts' folders are s3batchkit-sort-<pid>-<random> (extsort).
	stale := filepath.Dir(mk(fmt.Sprintf("s3batchkit-sort-%d-123/run-000001.s2", cmd.Process.Pid)))
	hashes := mk(".s3batchkit-report-spill-42")
	live := filepath.Dir(mk(fmt.Sprintf("s3batchkit-sort-%d-456/run-000001.s2", os.Getppid())))
	runs := sortRuns.Load()
	if _, err := Run(context.Background(), Options{Plan: mr.plan, Out: out}); err != nil {
		t.Fatal(err)
	}
	if sortRuns.Load() != runs {
		t.Fatal("the report spilled")
	}
	for _, p := range []string{stale, hashes} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left (%v)", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's spill folder removed: %v", err)
	}
}
