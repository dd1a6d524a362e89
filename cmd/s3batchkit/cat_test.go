package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const orcSamples = "/work/shared/testdata/orc"

// TestCatGolden runs cat over generated reports and data files of every
// format and over the shared ORC samples, and compares exit code, stdout
// and stderr with testdata/cat/<case>.txt (go test -run TestCatGolden
// -update rewrites them). The three formats of one report must print the
// same rows, so they share one golden file.
func TestCatGolden(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	for _, f := range []string{"csv", "parquet", "orc"} {
		var out, errb bytes.Buffer
		args := []string{"s3batchkit", "gen", "--rows", "300", "--versions", "--files", "2", "--seed", "5", "--format", f, "--out", "inv-" + f}
		if code := Main(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("gen %s: %s", f, errb.String())
		}
	}
	first := func(pattern string) string {
		m, _ := filepath.Glob(pattern)
		if len(m) == 0 {
			t.Fatalf("no file matches %s", pattern)
		}
		return filepath.ToSlash(m[0])
	}
	csvSchema := "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm"
	sample := func(name string) string { return filepath.Join(orcSamples, name) }
	for _, tc := range []struct {
		golden string
		args   []string
		sample bool // needs the shared ORC samples
	}{
		{"report", []string{"--limit", "12", "inv-csv/manifest.json"}, false},
		{"report", []string{"--limit", "12", "inv-parquet/manifest.json"}, false},
		{"report", []string{"-n", "12", "inv-orc/manifest.json"}, false},
		{"report-columns", []string{"--columns", "key,VersionId", "--columns", "is_delete_marker", "-n", "40", "inv-orc/manifest.json"}, false},
		{"orc-file", []string{"-n", "4", "-c", "key,size,last_modified_date", first("inv-orc/data/*.orc")}, false},
		{"orc-file-raw", []string{"-n", "2", "--raw", first("inv-orc/data/*.orc")}, false},
		{"parquet-file", []string{"-n", "4", "-c", "key,size,last_modified_date", first("inv-parquet/data/*.parquet")}, false},
		{"csv-file", []string{"-n", "4", "--schema", csvSchema, "-c", "key,size,last_modified_date", first("inv-csv/data/*.csv.gz")}, false},
		{"csv-file-no-schema", []string{first("inv-csv/data/*.csv.gz")}, false},
		{"unknown-column", []string{"-c", "nope", "inv-orc/manifest.json"}, false},
		{"sample-test1", []string{sample("TestOrcFile.test1.orc")}, true},
		{"sample-timestamp", []string{"-n", "6", sample("TestOrcFile.testTimestamp.orc")}, true},
		{"sample-date1900", []string{"-n", "3", sample("TestOrcFile.testDate1900.orc")}, true},
		{"sample-over1k", []string{"-n", "3", sample("over1k_bloom.orc")}, true},
		{"sample-nulls", []string{"-n", "2", "--columns", "_col0,_col6", sample("nulls-at-end-snappy.orc")}, true},
		{"sample-empty", []string{sample("TestOrcFile.emptyFile.orc")}, true},
		{"sample-corrupt", []string{sample("corrupt/negative_dict_entry_lengths.orc")}, true},
	} {
		t.Run(tc.golden+"/"+filepath.Base(tc.args[len(tc.args)-1]), func(t *testing.T) {
			if tc.sample {
				if _, err := os.Stat(orcSamples); err != nil {
					t.Skip("shared ORC samples not found:", err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), append([]string{"s3batchkit", "cat"}, tc.args...), &stdout, &stderr)
			got := fmt.Sprintf("== exit\n%d\n== stdout\n%s== stderr\n%s", code, stdout.String(), stderr.String())
			wantPath := filepath.Join(testdataDir(t), "cat", tc.golden+".txt")
			if *update {
				if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("cat %s: output differs from %s\n--- got\n%s\n--- want\n%s", strings.Join(tc.args, " "), wantPath, got, want)
			}
		})
	}
}

// testdataDir is the package's testdata folder, whatever the current
// directory.
func testdataDir(t *testing.T) string {
	t.Helper()
	d, ok := os.LookupEnv("S3BATCHKIT_CMD_TESTDATA")
	if ok {
		return d
	}
	return catTestdata
}

// catTestdata is set before any test changes directory.
var catTestdata = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata")
}()
