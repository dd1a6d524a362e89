package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
)

// Recognisable test credentials: none of them may appear in any output.
const (
	testKeyID        = "AKIAS3BKTESTKEYID0001"
	testSecret       = "s3bk/TEST+secret/Zq9vW4xR7tN2mK8pL5jH3gF6dS1aQ0"
	testSessionToken = "s3bk-TEST-session-token-Yx8cV3bN6mQ9wE2rT5yU7iO4pA1s"
	testProfSecret   = "s3bk/TEST+profile+secret/Lk4Jh7Gf2Ds9Aq5Wz"
)

// scanForSecrets fails the test when any of secrets is in text.
func scanForSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds a credential (%.8s…)", what, s)
		}
	}
}

// scanTree scans every file under dir.
func scanTree(t *testing.T, dir string, secrets []string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("reading %s: %v", p, err)
			return nil
		}
		scanForSecrets(t, p, string(raw), secrets)
		n++
		return nil
	})
	return n
}

// fakeS3 answers every request with an S3 error, as a server that refuses
// the signature would, and records the requests.
func fakeS3(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>1</RequestId></Error>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsNeverWritten runs gen, plan, submit, status and report —
// successful and failing — with recognisable credentials in the
// environment and in a shared credentials file, and scans stdout, stderr
// and every file written (plans, jobs.json, summaries, temporary files)
// for them. With the test S3 server configured, submit also runs to the
// end and its secret is scanned for as well.
func TestSecretsNeverWritten(t *testing.T) {
	work := t.TempDir()
	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(tmp, 0o755)
	t.Setenv("TMPDIR", tmp)
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+testKeyID+"\naws_secret_access_key = "+testProfSecret+"\n"+
		"[other]\naws_access_key_id = "+testKeyID+"\naws_secret_access_key = "+testProfSecret+"\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(work, "no-config"))
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_SESSION_TOKEN", testSessionToken)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	s3 := fakeS3(t)
	t.Setenv("AWS_ENDPOINT_URL", s3.URL)
	secrets := []string{testSecret, testSessionToken, testProfSecret}

	ctrl := localtest.New(t, local.Options{Hold: true})
	var all strings.Builder
	run := func(wantOK bool, args ...string) {
		t.Helper()
		code, stdout, stderr := s3bk(t, args...)
		all.WriteString(stdout + stderr)
		if (code == 0) != wantOK {
			t.Errorf("%s: exit %d\n%s", args[0], code, stderr)
		}
	}
	inv := filepath.Join(work, "inv")
	plan := filepath.Join(work, "plan")
	run(true, "gen", "--rows", "3000", "--files", "2", "--seed", "9", "--out", inv)
	run(true, "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--max-objects", "500", "--min-objects", "0")
	run(true, "--profile", "other", "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--dry-run", "--json")
	submit := []string{"submit", "--plan", plan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/batch-ops",
		"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`, "--report-bucket", "arn:aws:s3:::my-reports",
		"--manifest-bucket", "s3://my-manifests/batch", "--control-endpoint-url", ctrl.URL}
	run(true, append(submit, "--dry-run")...)
	// The S3 server refuses the signature: the upload fails with its error.
	run(false, submit...)
	run(false, "plan", "--inventory", "s3://inventory-bucket/src/config/manifest.json", "--out", filepath.Join(work, "plan-s3"))
	run(false, "report", "--report", "s3://my-reports/batch", "--out", filepath.Join(work, "report-s3"))
	run(false, "status", "--plan", "s3://my-plans/run-1", "--control-endpoint-url", ctrl.URL)
	// A jobs.json whose jobs the control server refuses to describe.
	os.WriteFile(filepath.Join(plan, "jobs.json"), []byte(`{"version": 1, "plan_id": "p", "account_id": "123456789012", "jobs": [`+
		`{"shard": "shards/copy/00000.csv", "route": "copy", "job_id": "00000000-aaaa", "client_request_token": "t", "report_prefix": "`+filepath.ToSlash(filepath.Join(work, "reports"))+`"}]}`), 0o644)
	ctrl.Fail("DescribeJob", localtest.Fault{Status: 403, Code: "AccessDenied"})
	run(false, "status", "--plan", plan, "--control-endpoint-url", ctrl.URL)
	genCompletionReports(t, filepath.Join(work, "reports"), 1, 2, 200)
	run(true, "report", "--plan", plan, "--out", filepath.Join(work, "report"), "--html", filepath.Join(work, "report.html"))

	if cfg := os.Getenv("S3BATCHKIT_TEST_S3_ENDPOINT"); cfg != "" {
		// The whole path against the test S3 server, with its real keys.
		secrets = append(secrets, os.Getenv("S3BATCHKIT_TEST_S3_SECRET_KEY"))
		t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("S3BATCHKIT_TEST_S3_ACCESS_KEY"))
		t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("S3BATCHKIT_TEST_S3_SECRET_KEY"))
		t.Setenv("AWS_SESSION_TOKEN", "")
		t.Setenv("AWS_ENDPOINT_URL", cfg)
		var rb [6]byte
		rand.Read(rb[:])
		bucket := "s3bk-sec-" + hex.EncodeToString(rb[:])
		run(true, "plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", filepath.Join(work, "plan2"), "--max-objects", "500", "--min-objects", "0")
		makeBucket(t, bucket)
		s2 := append([]string{}, submit...)
		s2[2] = filepath.Join(work, "plan2")
		s2[len(s2)-3] = "s3://" + bucket + "/manifests"
		run(true, s2...)
		run(true, "status", "--plan", filepath.Join(work, "plan2"), "--control-endpoint-url", ctrl.URL)
	}

	scanForSecrets(t, "stdout and stderr", all.String(), secrets)
	files := scanTree(t, work, secrets)
	if files < 10 {
		t.Errorf("only %d files scanned", files)
	}
	t.Logf("scanned %d files and %d bytes of output for %d secrets", files, all.Len(), len(secrets))
}

// makeBucket creates bucket on the test S3 server, removed with its
// objects at the end of the test.
func makeBucket(t *testing.T, bucket string) {
	t.Helper()
	ctx := context.Background()
	oc := objio.New(objio.Config{EndpointURL: os.Getenv("AWS_ENDPOINT_URL"), Region: "us-east-1"})
	cl, err := oc.S3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		objs, _ := oc.List(ctx, "s3://"+bucket+"/")
		for _, o := range objs {
			oc.Remove(ctx, o.Name)
		}
		cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
}

// TestWritesStayInFolder: whatever keys, routes, job ids or report paths
// contain (../, absolute paths), plan and report write inside their
// output folder only.
func TestWritesStayInFolder(t *testing.T) {
	// Deep enough that every ../ of the hostile names stays inside the
	// test's temporary folder, where it is seen.
	top := t.TempDir()
	root := filepath.Join(top, "a", "b", "c", "d", "e", "f", "g", "h", "i", "root")
	work := filepath.Join(root, "work")
	os.MkdirAll(work, 0o755)
	t.Setenv("TMPDIR", filepath.Join(root, "tmp"))
	os.MkdirAll(filepath.Join(root, "tmp"), 0o755)
	hostile := []string{"../../../../escape-key", "/abs/escape-key", "a/../../../b", "..", "../", "./../x", `..\..\win`}

	// An inventory whose keys are hostile paths.
	src := filepath.Join(work, "src")
	os.MkdirAll(filepath.Join(src, "data"), 0o755)
	os.WriteFile(filepath.Join(src, "schema.txt"), []byte("Bucket, Key, Size\n"), 0o644)
	var csv strings.Builder
	for i, k := range hostile {
		csv.WriteString(`"../bucket","` + strings.ReplaceAll(k, "/", "%2F") + `","` + string(rune('1'+i)) + `"` + "\n")
		csv.WriteString(`"src","` + k + `","1"` + "\n")
	}
	os.WriteFile(filepath.Join(src, "data", "a.csv"), []byte(csv.String()), 0o644)
	buildReport(t, src, filepath.Join(work, "inv"))
	plan := filepath.Join(work, "out", "plan")
	code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(work, "inv", "manifest.json"), "--out", plan, "--min-objects", "0", "--quiet")
	if code != 0 {
		t.Fatalf("plan: %d %s", code, stderr)
	}

	// Completion reports and a jobs.json naming hostile routes, job ids,
	// report prefixes and keys.
	reports := filepath.Join(work, "reports")
	genCompletionReports(t, reports, 1, 1, 50)
	var entries []map[string]string
	for i, r := range []string{"../../../../../../../../escape-route", "/abs/escape-route", "copy"} {
		entries = append(entries, map[string]string{"shard": "shards/copy/0000" + string(rune('0'+i)) + ".csv", "route": r,
			"job_id": "00000000-aaaa", "report_prefix": reports})
	}
	entries = append(entries, map[string]string{"shard": "../../x.csv", "route": "copy", "job_id": "../../../../etc", "report_prefix": "/"})
	raw, _ := json.Marshal(map[string]any{"version": 1, "jobs": entries})
	os.WriteFile(filepath.Join(plan, "jobs.json"), raw, 0o644)
	for i, args := range [][]string{
		{"report", "--plan", plan, "--quiet"},
		{"report", "--plan", plan, "--quiet", "--keep-going"},
		{"report", "--report", reports, "--quiet"},
	} {
		out := filepath.Join(work, "out", "report"+string(rune('1'+i)))
		before := tree(top)
		code, _, stderr := s3bk(t, append(args, "--out", out)...)
		t.Logf("%v: exit %d %s", args, code, strings.TrimSpace(stderr))
		rel, _ := filepath.Rel(top, out)
		tmp, _ := filepath.Rel(top, filepath.Join(root, "tmp"))
		for _, p := range diffTrees(before, tree(top)) {
			if p != filepath.ToSlash(rel) && !strings.HasPrefix(p, filepath.ToSlash(rel)+"/") && !strings.HasPrefix(p, filepath.ToSlash(tmp)+"/") {
				t.Errorf("%v: written outside %s: %s", args, rel, p)
			}
		}
	}
	for _, p := range tree(top) {
		if strings.Contains(p, "escape") && !strings.Contains(p, "/work/src/") && !strings.Contains(p, "/work/inv/") {
			t.Errorf("a hostile name became a path: %s", p)
		}
	}
}

// TestServersListenOnLoopback: every command that serves has a listen
// address on 127.0.0.1 by default.
func TestServersListenOnLoopback(t *testing.T) {
	found := 0
	for _, c := range newApp(io.Discard, io.Discard).Commands {
		for _, f := range c.Flags {
			sf, ok := f.(*cli.StringFlag)
			if !ok || (sf.Name != "listen" && sf.Name != "addr" && sf.Name != "address") {
				continue
			}
			found++
			if !strings.HasPrefix(sf.Value, "127.0.0.1:") && !strings.HasPrefix(sf.Value, "[::1]:") && !strings.HasPrefix(sf.Value, "localhost:") {
				t.Errorf("%s --%s defaults to %q: not a loopback address", c.Name, sf.Name, sf.Value)
			}
		}
	}
	if found == 0 {
		t.Skip("no command serves yet")
	}
	t.Logf("%d listen flags default to loopback", found)
}
