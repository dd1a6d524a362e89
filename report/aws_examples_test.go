package report

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestAWSExamplesGolden reads completion-report rows shaped exactly as the
// AWS documentation shows them, laid out as Batch Operations writes them,
// and compares the whole summary.json with a golden file.
func TestAWSExamplesGolden(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("testdata", "aws-examples"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	jobDir := filepath.Join(root, "reports", "job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955")
	if err := os.MkdirAll(filepath.Join(jobDir, "results"), 0o755); err != nil {
		t.Fatal(err)
	}
	var results []map[string]string
	for _, f := range []struct{ name, status, hash string }{
		{"failed.csv", "failed", "6217b0fab0de85c408b4be96aeaca9b195a7daa5"},
		{"succeeded.csv", "succeeded", "b9afdcf1334866945e36150183fdd508e1123462"},
	} {
		raw, err := os.ReadFile(filepath.Join(src, f.name))
		if err != nil {
			t.Fatal(err)
		}
		key := "reports/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/" + f.hash + ".csv"
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(key)), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(raw)
		results = append(results, map[string]string{"TaskExecutionStatus": f.status, "Bucket": "my-job-reports",
			"MD5Checksum": hex.EncodeToString(sum[:]), "Key": key})
	}
	man, _ := json.MarshalIndent(map[string]any{
		"Format": "Report_CSV_20180820", "ReportCreationDate": "2019-04-05T17:48:39.725Z", "Results": results,
		"ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
	}, "", " ")
	if err := os.WriteFile(filepath.Join(jobDir, "manifest.json"), man, 0o644); err != nil {
		t.Fatal(err)
	}
	// Relative paths, so that the locations in summary.json do not
	// depend on the temporary folder.
	t.Chdir(root)
	out := "audit"
	if _, err := Run(context.Background(), Options{Prefixes: []string{"reports"}, Out: out}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(src, "summary.golden.json")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("summary.json differs from %s (go test ./report -run AWSExamples -update rewrites it; review the diff):\n%s", golden, got)
	}
}
