package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// snakeKey is the spelling of every key of s3batchkit's --json documents.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// dataKeys are the keys whose value is an object keyed by data (AWS
// error codes, job statuses, IAM's own documents), whose keys are not
// s3batchkit's to spell.
var dataKeys = map[string]bool{
	"classes":            true, // error code or HTTP status -> class
	"jobs_by_status":     true, // job status -> count
	"trust_policy":       true, // IAM policy documents
	"permissions_policy": true,
	"options":            true, // plan.json's options: flag names
}

// jsonProblems walks the --json output raw (one or more documents): every
// key snake_case, no null anywhere (an empty list is [], an absent object
// is left out). It returns what is wrong.
func jsonProblems(raw []byte, allowNull bool) []string {
	var out []string
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	n := 0
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return append(out, fmt.Sprintf("not JSON: %v", err))
		}
		n++
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case nil:
				if !allowNull {
					out = append(out, path+" is null")
				}
			case map[string]any:
				for k, e := range v {
					if !snakeKey.MatchString(k) {
						out = append(out, fmt.Sprintf("key %s.%q is not snake_case", path, k))
					}
					if !dataKeys[k] {
						walk(path+"."+k, e)
					}
				}
			case []any:
				for i, e := range v {
					walk(fmt.Sprintf("%s[%d]", path, i), e)
				}
			}
		}
		walk("$", v)
	}
	if n == 0 {
		out = append(out, "no JSON document")
	}
	return out
}

func checkJSONDoc(t *testing.T, what string, raw []byte) {
	t.Helper()
	// cat's rows hold null for an empty value, as the reader sees it.
	for _, p := range jsonProblems(raw, what == "cat") {
		t.Errorf("%s: %s\n%.300s", what, p, raw)
	}
}

// TestJSONOutputs runs every command that prints a result with --json,
// offline, and checks each document's keys and lists (checkJSONDoc).
func TestJSONOutputs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAS3BKJSONTEST0001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "json/test/secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	inv, inv2 := filepath.Join(dir, "inv"), filepath.Join(dir, "inv2")
	plan, buckets := filepath.Join(dir, "plan"), filepath.Join(dir, "buckets")
	os.Mkdir(buckets, 0o755)
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst"}}`
	ctrl := localtest.New(t, local.Options{Hold: true})
	steps := []struct {
		name string
		args []string
	}{
		{"gen", []string{"gen", "--rows", "3000", "--versions", "--out", inv}},
		{"gen 2", []string{"gen", "--rows", "2500", "--seed", "2", "--out", inv2, "--bucket", "other-bucket"}},
		{"plan", []string{"plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--max-objects", "800", "--min-objects", "0"}},
		{"plan --dry-run", []string{"plan", "--inventory", filepath.Join(inv, "manifest.json"), "--dry-run", "--where", `size < 0`}},
		{"diff", []string{"diff", "--source", filepath.Join(inv, "manifest.json"), "--target", filepath.Join(inv2, "manifest.json"), "--cross-bucket", "--out", filepath.Join(dir, "diff")}},
		{"diff --dry-run", []string{"diff", "--source", filepath.Join(inv, "manifest.json"), "--target", filepath.Join(inv, "manifest.json"), "--dry-run"}},
		{"iam-policy", []string{"iam-policy", "--plan", plan, "--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://manifests/p"}},
		{"submit --dry-run", []string{"submit", "--plan", plan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/r",
			"--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://manifests/p", "--dry-run"}},
		{"run --dry-run", []string{"run", "--plan", plan, "--operation", op, "--local-root", buckets, "--dry-run"}},
		{"run", []string{"run", "--plan", plan, "--routes", "copy", "--operation", op, "--local-root", buckets, "--materialize"}},
		{"status", []string{"status", "--plan", plan}},
		{"report", []string{"report", "--plan", plan, "--out", filepath.Join(dir, "audit")}},
		{"version", []string{"version"}},
		{"bench", []string{"bench", "--rows", "2000", "--formats", "csv", "--stages", "read", "--runs", "1", "--in-process", "--dir", filepath.Join(dir, "bench")}},
	}
	for _, s := range steps {
		args := append(append([]string{}, s.args...), "--json")
		code, stdout, stderr := s3bk(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", s.name, code, stderr)
		}
		checkJSONDoc(t, s.name, []byte(stdout))
	}
	// jobs: the jobs of a submitted run, at a control endpoint that no
	// longer knows them (skipped, with the reason).
	other := filepath.Join(dir, "submitted")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(inv2, "manifest.json"), "--out", other, "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	run := &manifest.Run{PlanID: "p1", AccountID: "123456789012", ControlEndpoint: ctrl.URL, Jobs: []manifest.RunJob{
		{Shard: "shards/copy/00000.csv", Route: "copy", JobID: "00000000-gone", ReportPrefix: filepath.Join(dir, "reports")}}}
	if err := manifest.WriteRun(t.Context(), nil, other, run); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"jobs", "cancel", "--plan", other, "--json"},
		{"jobs", "cancel", "--plan", other, "--json", "--dry-run"},
		{"jobs", "priority", "--plan", other, "--priority", "1e3", "--json"},
	} {
		code, stdout, stderr := s3bk(t, args...)
		if code != 0 || !strings.Contains(stdout, `"skipped"`) {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		checkJSONDoc(t, strings.Join(args[:2], " "), []byte(stdout))
	}
	// cat prints JSON lines.
	code, stdout, stderr := s3bk(t, "cat", "--limit", "20", filepath.Join(inv, "manifest.json"))
	if code != 0 {
		t.Fatal(stderr)
	}
	checkJSONDoc(t, "cat", []byte(stdout))
}

// TestJSONProblems: the checker finds what it is meant to find.
func TestJSONProblems(t *testing.T) {
	for in, want := range map[string]int{
		`{"plan_id": "x", "jobs": [], "s3": {"requests": 1}}`: 0,
		`{"classes": {"SlowDown": "retryable"}}`:              0,
		`{"planId": 1}`:                                       1,
		`{"a": null, "b": [null]}`:                            2,
		`{"x": {"Version": 1}}`:                               1,
		`{"a": 1} {"B": 2}`:                                   1,
		``:                                                    1,
	} {
		if got := jsonProblems([]byte(in), false); len(got) != want {
			t.Errorf("%s: %q, want %d problems", in, got, want)
		}
	}
}
