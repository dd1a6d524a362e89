package main

import (
	"bytes"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// Clients written by someone else (docs/serve.md, docs/testing.md#clients-written-by-others): Debian's
// AWS CLI 2.9 and boto3 1.26. /usr/bin is named on purpose: `aws` and
// `python3` on PATH can be other installations (a pip CLI v1, a python
// without boto3).
const (
	debianAWS    = "/usr/bin/aws"
	debianPython = "/usr/bin/python3"
	testAcct     = "123456789012"
)

// serveEnv is the environment of a serve process (or a client) that runs
// with the access key key/secret and nothing else from the caller's AWS
// configuration or proxies.
func serveEnv(t *testing.T, key, secret string) []string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(name); {
		case strings.HasPrefix(u, "AWS_"), u == "HTTP_PROXY", u == "HTTPS_PROXY", u == "NO_PROXY", u == "ALL_PROXY",
			strings.HasPrefix(u, "S3BATCHKIT_SERVE_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+none, "AWS_SHARED_CREDENTIALS_FILE="+none)
}

// needClient skips (outside CI) or fails (CI=true) when a client is not
// installed.
func needClient(t *testing.T, what, pkg string, check ...string) {
	t.Helper()
	if err := exec.Command(check[0], check[1:]...).Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not usable (%v): .ci/run installs the Debian package %s", what, err, pkg)
		}
		t.Skipf("%s is not usable (%v): apt-get install %s", what, err, pkg)
	}
}

// clientJob is the directory of buckets of a client test: n source objects
// (one of them missing) and their manifest.
type clientJob struct {
	root, etag string
	keys       []string
	missing    string
}

func newClientJob(t *testing.T) *clientJob {
	t.Helper()
	j := &clientJob{root: t.TempDir(), missing: "gone/missing.txt",
		keys: []string{"plain.txt", "with space.txt", "plus+sign", "ünïcödé/鍵", "comma,\"quote\".csv", "deep/er/file.bin"}}
	for _, b := range []string{"src", "dst", "reports", "manifests"} {
		if err := os.MkdirAll(filepath.Join(j.root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var m []byte
	for _, k := range append(append([]string{}, j.keys...), j.missing) {
		m = manifest.AppendRow(m, []byte("src"), []byte(k), nil, false)
		if k == j.missing {
			continue
		}
		p := filepath.Join(j.root, "src", filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("data of "+k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(j.root, "manifests", "m.csv"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	s := md5.Sum(m)
	j.etag = hex.EncodeToString(s[:])
	return j
}

// check verifies what the job left: every object copied under prefix,
// and a completion report under reports/<prefix>/job-<id>/ listing each
// task once with its outcome.
func (j *clientJob) check(t *testing.T, id, prefix string) {
	t.Helper()
	for _, k := range j.keys {
		got, err := os.ReadFile(filepath.Join(j.root, "dst", prefix, filepath.FromSlash(k)))
		if err != nil || string(got) != "data of "+k {
			t.Errorf("copy of %q: %q %v", k, got, err)
		}
	}
	dir := filepath.Join(j.root, "reports", prefix, "job-"+id)
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("the report's manifest.json: %v", err)
	}
	var rm struct {
		Results []struct{ TaskExecutionStatus, Key string }
	}
	if err := json.Unmarshal(raw, &rm); err != nil || len(rm.Results) == 0 {
		t.Fatalf("report manifest.json: %v %s", err, raw)
	}
	seen := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "results", "*.csv"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range rows {
			k, err := url.QueryUnescape(r[1])
			if err != nil {
				t.Fatalf("%s: key %q: %v", f, r[1], err)
			}
			if _, dup := seen[k]; dup {
				t.Fatalf("%q reported twice", k)
			}
			seen[k] = r[3]
		}
	}
	for _, k := range j.keys {
		if seen[k] != "succeeded" {
			t.Errorf("report: %q is %q, want succeeded", k, seen[k])
		}
	}
	if seen[j.missing] != "failed" || len(seen) != len(j.keys)+1 {
		t.Errorf("report: %d tasks, missing one %q; want %d and failed", len(seen), seen[j.missing], len(j.keys)+1)
	}
}

// accountHostResolves tells whether 123456789012.localhost resolves here
// (systemd-resolved or an /etc/hosts line do; glibc alone does not).
func accountHostResolves() bool {
	addrs, err := net.LookupHost(testAcct + ".localhost")
	return err == nil && len(addrs) > 0
}

// TestServeAWSCLI runs a whole job through Debian's AWS CLI against the
// serve binary: create-job (Manifest Spec Fields, Tags, confirmation
// required), describe-job, list-jobs, get/put/delete-job-tagging,
// update-job-priority, update-job-status Ready, the job run to Complete
// with every object copied and its report written; and the CLI refused
// with a wrong secret or an unknown key. The CLI puts the account in
// front of the host (123456789012.localhost:PORT); when that name does
// not resolve here, the CLI's HTTP proxy is serve itself, which takes
// the request as sent, Host included.
func TestServeAWSCLI(t *testing.T) {
	needClient(t, "the AWS CLI ("+debianAWS+")", "awscli", debianAWS, "--version")
	bin := testBinary(t)
	j := newClientJob(t)
	p := startServe(t, bin, j.root, t.TempDir())
	defer p.kill()
	port := p.url[strings.LastIndexByte(p.url, ':')+1:]
	home := t.TempDir()

	aws := func(key, secret string, args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(debianAWS, append([]string{"--endpoint-url", "http://localhost:" + port, "--output", "json", "s3control"}, args...)...)
		cmd.Env = append(serveEnv(t, key, secret), "HOME="+home, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "NO_PROXY=", "no_proxy=")
		if !accountHostResolves() {
			cmd.Env = append(cmd.Env, "HTTP_PROXY="+p.url, "http_proxy="+p.url)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		out := map[string]any{}
		if err == nil && stdout.Len() > 0 {
			if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
				t.Fatalf("aws %s: output is not JSON: %v\n%s", args[0], jerr, stdout.String())
			}
		}
		return out, stderr.String(), err
	}
	run := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := aws("AKIDLOCAL", "secret", args...)
		if err != nil {
			t.Fatalf("aws s3control %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	tags := func(id string) map[string]string {
		t.Helper()
		out := run("get-job-tagging", "--account-id", testAcct, "--job-id", id)
		m := map[string]string{}
		list, _ := out["Tags"].([]any)
		for _, x := range list {
			kv := x.(map[string]any)
			m[fmt.Sprint(kv["Key"])] = fmt.Sprint(kv["Value"])
		}
		return m
	}
	describe := func(id string) map[string]any {
		t.Helper()
		return run("describe-job", "--account-id", testAcct, "--job-id", id)["Job"].(map[string]any)
	}
	waitStatus := func(id string, want ...string) map[string]any {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			d := describe(id)
			for _, w := range want {
				if d["Status"] == w {
					return d
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s is %v, want %v", id, d["Status"], want)
			}
		}
	}

	created := run("create-job", "--account-id", testAcct, "--confirmation-required",
		"--client-request-token", "cli-1", "--priority", "10", "--description", "copy by the AWS CLI",
		"--role-arn", "arn:aws:iam::"+testAcct+":role/batch",
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst", "TargetKeyPrefix": "cli"}}`,
		"--manifest", `{"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
			"Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": "`+j.etag+`"}}`,
		"--report", `{"Bucket": "arn:aws:s3:::reports", "Prefix": "cli", "Format": "Report_CSV_20180820", "Enabled": true, "ReportScope": "AllTasks"}`,
		"--tags", `[{"Key": "team", "Value": "data"}, {"Key": "cost center", "Value": "42/a:b"}]`)
	id, _ := created["JobId"].(string)
	if id == "" {
		t.Fatalf("create-job: %v", created)
	}
	d := waitStatus(id, "Suspended")
	spec := d["Manifest"].(map[string]any)["Spec"].(map[string]any)
	if !reflect.DeepEqual(spec["Fields"], []any{"Bucket", "Key"}) || d["Description"] != "copy by the AWS CLI" || d["ConfirmationRequired"] != true {
		t.Fatalf("describe-job: %v", d)
	}
	list := run("list-jobs", "--account-id", testAcct, "--job-statuses", "Suspended")["Jobs"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["JobId"] != id {
		t.Fatalf("list-jobs Suspended: %v", list)
	}

	if got := tags(id); !reflect.DeepEqual(got, map[string]string{"team": "data", "cost center": "42/a:b"}) {
		t.Fatalf("tags from create-job: %v", got)
	}
	run("put-job-tagging", "--account-id", testAcct, "--job-id", id, "--tags", `[{"Key": "owner", "Value": "cli"}]`)
	if got := tags(id); !reflect.DeepEqual(got, map[string]string{"owner": "cli"}) {
		t.Fatalf("tags after put-job-tagging: %v", got)
	}
	run("delete-job-tagging", "--account-id", testAcct, "--job-id", id)
	if got := tags(id); len(got) != 0 {
		t.Fatalf("tags after delete-job-tagging: %v", got)
	}

	if out := run("update-job-priority", "--account-id", testAcct, "--job-id", id, "--priority", "42"); out["Priority"] != float64(42) {
		t.Fatalf("update-job-priority: %v", out)
	}
	// Refused, changing nothing: a wrong secret, an unknown key.
	for _, c := range []struct{ key, secret, code string }{{"AKIDLOCAL", "not-the-secret", "SignatureDoesNotMatch"}, {"AKIDOTHER", "secret", "InvalidAccessKeyId"}} {
		_, stderr, err := aws(c.key, c.secret, "update-job-status", "--account-id", testAcct, "--job-id", id, "--requested-job-status", "Cancelled")
		if err == nil || !strings.Contains(stderr, c.code) {
			t.Fatalf("update-job-status with key %s and a wrong secret: %v, %s; want %s", c.key, err, stderr, c.code)
		}
	}
	if d := describe(id); d["Status"] != "Suspended" || d["Priority"] != float64(42) {
		t.Fatalf("after refused requests: %v %v", d["Status"], d["Priority"])
	}

	out := run("update-job-status", "--account-id", testAcct, "--job-id", id, "--requested-job-status", "Ready", "--status-update-reason", "confirmed by the CLI")
	if out["Status"] != "Ready" && out["Status"] != "Active" {
		t.Fatalf("update-job-status: %v", out)
	}
	d = waitStatus(id, "Complete", "Failed", "Cancelled")
	ps := d["ProgressSummary"].(map[string]any)
	if d["Status"] != "Complete" || ps["TotalNumberOfTasks"] != float64(len(j.keys)+1) || ps["NumberOfTasksSucceeded"] != float64(len(j.keys)) || ps["NumberOfTasksFailed"] != float64(1) {
		t.Fatalf("job ended %v: %v", d["Status"], ps)
	}
	list = run("list-jobs", "--account-id", testAcct, "--job-statuses", "Complete")["Jobs"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["JobId"] != id {
		t.Fatalf("list-jobs Complete: %v", list)
	}
	j.check(t, id, "cli")
	t.Logf("AWS CLI: job %s Complete, %d objects copied, report written; account host resolved here: %v", id, len(j.keys), accountHostResolves())
}

// TestServeBoto3 runs testdata/serve_boto3.py with Debian's boto3 against
// the serve binary: the same steps as TestServeAWSCLI, through boto3's
// default configuration (the account label in front of the host).
func TestServeBoto3(t *testing.T) {
	needClient(t, "boto3 ("+debianPython+")", "python3-boto3", debianPython, "-c", "import boto3")
	bin := testBinary(t)
	j := newClientJob(t)
	p := startServe(t, bin, j.root, t.TempDir())
	defer p.kill()
	port := p.url[strings.LastIndexByte(p.url, ':')+1:]
	script, err := filepath.Abs(filepath.Join("testdata", "serve_boto3.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(debianPython, script)
	cmd.Env = append(serveEnv(t, "AKIDLOCAL", "secret"), "HOME="+t.TempDir(), "NO_PROXY=", "no_proxy=",
		"SERVE_ENDPOINT=http://localhost:"+port, "SERVE_ACCOUNT="+testAcct, "MANIFEST_ETAG="+j.etag,
		"EXPECT_TASKS="+fmt.Sprint(len(j.keys)+1))
	if !accountHostResolves() {
		cmd.Env = append(cmd.Env, "SERVE_PROXY="+p.url)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("serve_boto3.py: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var res struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.JobID == "" {
		t.Fatalf("serve_boto3.py printed %q: %v", stdout.String(), err)
	}
	j.check(t, res.JobID, "boto3")
	t.Logf("boto3: %s", strings.TrimSpace(stdout.String()))
}
