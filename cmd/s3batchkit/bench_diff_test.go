package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/s3batchkit/s3batchkit/bench"
)

// checkBenchDiff checks the diff stages of a `bench --json` result: each
// measured (the harness checked it found the generated differences) over
// the rows of both reports.
func checkBenchDiff(t *testing.T, raw []byte, formats ...string) {
	t.Helper()
	var res bench.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, raw)
	}
	if len(res.Stages) != len(formats) {
		t.Fatalf("%d stage results, want %d: %+v", len(res.Stages), len(formats), res.Stages)
	}
	for i, sr := range res.Stages {
		if sr.Stage != bench.StageDiff || sr.Format != formats[i] || sr.Skipped != "" || len(sr.Runs) != 1 {
			t.Errorf("%s: %+v, want a measured diff stage", formats[i], sr)
			continue
		}
		// The target holds 3,000 rows less 10 missing plus 10 extra.
		if sr.TargetRows != 3000 || sr.Rows != 6000 || sr.Files != 4 {
			t.Errorf("%s: %d rows (%d of them in the target) in %d files; want 6,000 (3,000) in 4", sr.Format, sr.Rows, sr.TargetRows, sr.Files)
		}
		if sr.RowsKept <= 0 || sr.RowsKept >= sr.Rows || sr.InputBytes <= 0 || sr.WallSeconds <= 0 || sr.PeakBytes <= 0 {
			t.Errorf("%s: measurements %+v", sr.Format, sr)
		}
	}
}

// TestBenchDiffStage runs `bench --stages diff` through Main, in process:
// the harness runs package diff.
func TestBenchDiffStage(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"s3batchkit", "bench", "--stages", "diff", "--rows", "3000", "--files", "2",
		"--formats", "csv", "--runs", "1", "--in-process", "--json", "--dir", filepath.Join(dir, "cache"), "--tmp-dir", dir}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	checkBenchDiff(t, out.Bytes(), "csv")
	if left, _ := filepath.Glob(filepath.Join(dir, "s3batchkit-*")); len(left) != 0 {
		t.Errorf("left behind in --tmp-dir: %v", left)
	}
}

// TestBenchDiffStageChild runs the diff stage as `s3batchkit bench` does
// by default, each run in a child process.
func TestBenchDiffStageChild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and starts child processes")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "bench", "--stages", "diff", "--rows", "3000", "--files", "2",
		"--formats", "csv,parquet", "--runs", "1", "--json", "--dir", filepath.Join(dir, "cache"), "--tmp-dir", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	checkBenchDiff(t, out, "csv", "parquet")
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("--tmp-dir holds %d entries, want the cache alone", len(entries))
	}
}
