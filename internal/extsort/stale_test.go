//go:build unix

package extsort

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStaleSpillsRemoved: a spill folder left by a process that is gone
// is removed when a sort next spills in the same temp dir; folders of live
// processes, and folders whose names carry no process id, stay.
func TestStaleSpillsRemoved(t *testing.T) {
	tmp := t.TempDir()
	// A process that has exited: its id names no process (unless reused
	// at once, which the live-folder check below would then also cover).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	dead := cmd.Process.Pid
	mk := func(name string) string {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(p, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "run-000001.arrows"), []byte("spill"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := mk(fmt.Sprintf("%s%d-123", spillDirPrefix, dead))
	live := mk(fmt.Sprintf("%s%d-456", spillDirPrefix, os.Getppid()))
	legacy := mk(spillDirPrefix + "789")
	other := mk("unrelated-folder")

	s := New(Options{Memory: 16 << 10, TmpDir: tmp})
	defer s.Close()
	for i := range 4000 {
		if err := s.Add(fmt.Appendf(nil, "key %d", i*7919%4000), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.dir == "" {
		t.Fatal("the sort did not spill")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale spill folder of dead process %d still there (%v)", dead, err)
	}
	for _, p := range []string{live, legacy, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	if want := fmt.Sprintf("%s%d-", spillDirPrefix, os.Getpid()); filepath.Base(s.dir)[:len(want)] != want {
		t.Errorf("spill folder %s does not carry this process id", s.dir)
	}
}
