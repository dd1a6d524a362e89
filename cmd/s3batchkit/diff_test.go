package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
)

func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	gen := func(name, format, bucket string, seed uint64) string {
		res, err := gen.Generate(context.Background(), gen.Options{Rows: 3000, Format: format, Out: filepath.Join(dir, name), Seed: seed, Versions: true, Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		return res.Manifest
	}
	a := gen("a", "csv", "src", 1)
	b := gen("b", "orc", "dst", 1) // the same objects in another bucket
	c := gen("c", "csv", "dst", 2) // other objects
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"s3batchkit", "diff"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	out := filepath.Join(dir, "out")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout (or stderr when the exit code is not 0)
	}{
		{"buckets differ", []string{"--source", a, "--target", b, "--out", out}, exitUsage, "--cross-bucket"},
		{"same objects", []string{"--source", a, "--target", b, "--out", out, "--cross-bucket"}, exitOK, "only in source                   0"},
		{"other objects", []string{"--source", a, "--target", c, "--out", out, "--cross-bucket", "--compare", "size,mtime", "--max-objects", "100", "--min-objects", "0"}, exitOK, "delete"},
		{"latest-only is implied", []string{"--source", a, "--target", a, "--out", out, "--latest-only"}, exitUsage, "--latest-only applies only with --all-versions"},
		{"all versions across buckets", []string{"--source", a, "--target", b, "--out", out, "--all-versions", "--cross-bucket"}, exitUsage, "version ids never match"},
		{"bad compare", []string{"--source", a, "--target", a, "--out", out, "--compare", "md5"}, exitUsage, "--compare"},
		{"bad map", []string{"--source", a, "--target", a, "--out", out, "--map", "nomap"}, exitUsage, "--map"},
		{"missing target", []string{"--source", a, "--target", filepath.Join(dir, "nope.json"), "--out", out}, exitFailure, "nope.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(tt.args...)
			text := stdout
			if code != exitOK {
				text = stderr
			}
			if code != tt.wantCode || !strings.Contains(text, tt.wantOut) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.wantCode, tt.wantOut, stdout, stderr)
			}
		})
	}
	code, stdout, stderr := run("--source", a, "--target", c, "--out", out, "--cross-bucket", "--json", "--workers", "1", "--memory", "16MiB")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var js struct {
		Classes map[string]map[string]int64 `json:"classes"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil {
		t.Fatal(err)
	}
	if js.Classes["only_in_source"]["objects"] == 0 || js.Classes["only_in_target"]["objects"] == 0 {
		t.Errorf("--json classes %v", js.Classes)
	}
	for _, f := range []string{"plan.json", "diff.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
