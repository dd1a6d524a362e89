package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartProfile(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		t.Setenv(profileEnv, "")
		var stderr bytes.Buffer
		startProfile(&stderr)()
		if stderr.Len() != 0 {
			t.Errorf("stderr %q, want nothing", stderr.String())
		}
	})
	t.Run("written", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cpu.prof")
		t.Setenv(profileEnv, path)
		var stderr bytes.Buffer
		stop := startProfile(&stderr)
		if code := Main(t.Context(), []string{"s3batchkit", "--help"}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		stop()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// A pprof profile is gzip-compressed protobuf.
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			t.Fatalf("profile of %d bytes does not start with the gzip magic", len(data))
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		t.Setenv(profileEnv, filepath.Join(t.TempDir(), "missing", "cpu.prof"))
		var stderr bytes.Buffer
		startProfile(&stderr)()
		if !strings.Contains(stderr.String(), profileEnv) || !strings.Contains(stderr.String(), "running without a profile") {
			t.Errorf("stderr %q, want a note naming %s", stderr.String(), profileEnv)
		}
	})
}
