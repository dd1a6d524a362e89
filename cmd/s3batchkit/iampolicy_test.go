package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/s3batchkit/s3batchkit/iampolicy"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// iamPlan makes a local plan of n generated rows (default routes) and
// returns its folder.
func iamPlan(t *testing.T, rows string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	inv, plan := filepath.Join(dir, "inventory"), filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "gen", "--rows", rows, "--out", inv); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	args := append([]string{"plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", plan, "--quiet"}, extra...)
	if code, _, stderr := s3bk(t, args...); code != 0 {
		t.Fatalf("plan: %d %s", code, stderr)
	}
	return plan
}

// shellWords splits a command line as a POSIX shell does for the subset
// the help examples use: blanks, '...' and "..." quotes, and
// backslash-newline continuations.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	s = strings.ReplaceAll(s, "\\\n", " ")
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				t.Fatalf("unbalanced %c in %q", c, s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// arnMatch says whether an IAM resource pattern ('*' any run, '?' one
// character) matches arn.
func arnMatch(pattern, arn string) bool {
	re := "(?s)^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

func allowed(p iampolicy.Policy, action, arn string) bool {
	for _, s := range p.Statement {
		for _, a := range s.Action {
			for _, r := range s.Resource {
				if a == action && arnMatch(r, arn) {
					return true
				}
			}
		}
	}
	return false
}

// TestIAMPolicyMatchesSubmit: the role lets the jobs read exactly the
// manifests submit would create them with (a dry run of jobs.Submit, the
// same flags), write the reports where they go, and act on every object
// of the selected shards, and only those.
func TestIAMPolicyMatchesSubmit(t *testing.T) {
	plan := iamPlan(t, "3000", "--max-objects", "500", "--min-objects", "0", "--prefix", "data/", "--prefix", "logs/")
	const (
		mb      = "s3://manifest-bucket/batch/"
		report  = "arn:aws:s3:::report-bucket"
		rprefix = "runs/7/"
		op      = `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`
	)
	code, stdout, stderr := s3bk(t, "iam-policy", "--plan", plan, "--routes", "copy", "--manifest-bucket", mb,
		"--operation", op, "--report-bucket", report, "--report-prefix", rprefix, "--json")
	if code != 0 {
		t.Fatalf("iam-policy: %d %s", code, stderr)
	}
	var r iampolicy.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jobs.ParseOperation([]byte(op))
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Submit(context.Background(), jobs.SubmitOptions{Plan: plan, AccountID: "123456789012",
		RoleArn: "arn:aws:iam::123456789012:role/r", Operation: parsed, ReportBucket: report, ReportPrefix: rprefix,
		Routes: []string{"copy"}, ManifestPrefix: mb, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Shards) < 2 {
		t.Fatalf("%d copy shards, want several", len(res.Shards))
	}
	p := r.PermissionsPolicy
	for _, sj := range res.Shards {
		bucket, key, _ := objio.ParseS3(sj.Manifest)
		if arn := "arn:aws:s3:::" + bucket + "/" + key; !allowed(p, "s3:GetObject", arn) {
			t.Errorf("the role cannot read the manifest %s", arn)
		}
		rb, rk, _ := objio.ParseS3(sj.ReportPrefix)
		if arn := "arn:aws:s3:::" + rb + "/" + rk + "/job-0123/results/abc.csv"; !allowed(p, "s3:PutObject", arn) {
			t.Errorf("the role cannot write the report %s", arn)
		}
	}
	// Every object of the copy shards may be tagged; the other routes'
	// manifests may not be read.
	pl, err := manifest.ReadPlan(context.Background(), nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sh := range pl.Shards {
		f, err := os.ReadFile(filepath.Join(plan, filepath.FromSlash(sh.Path)))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
			fields := strings.Split(line, ",")
			key, err := url.PathUnescape(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			arn := "arn:aws:s3:::" + fields[0] + "/" + key
			if got := allowed(p, "s3:PutObjectTagging", arn); sh.Route == "copy" && !got {
				t.Fatalf("shard %s: the role cannot tag %s", sh.Path, arn)
			}
			checked++
		}
		if sh.Route != "copy" && allowed(p, "s3:GetObject", "arn:aws:s3:::manifest-bucket/batch/"+res.PlanID+"/"+sh.Path) {
			t.Errorf("the role reads %s, a shard of route %s", sh.Path, sh.Route)
		}
	}
	if checked == 0 {
		t.Fatal("no rows checked")
	}
	// The plan's --prefix filters scope the objects.
	if allowed(p, "s3:PutObjectTagging", "arn:aws:s3:::example-source-bucket/other/key") {
		t.Error("the role may tag keys outside the plan's prefixes")
	}
}

// TestIAMPolicyErrors: usage errors exit 2 with one line on stderr and
// nothing on stdout; a folder without plan.json exits 3.
func TestIAMPolicyErrors(t *testing.T) {
	plan := iamPlan(t, "200")
	op := `{"S3DeleteObjectTagging": {}}`
	base := []string{"iam-policy", "--plan", plan, "--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket/p"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"report bucket as s3 url", []string{"iam-policy", "--plan", plan, "--operation", op, "--report-bucket", "s3://reports", "--manifest-bucket", "s3://mm-bucket"}, exitUsage, "--report-bucket"},
		{"no manifest bucket for a local plan", []string{"iam-policy", "--plan", plan, "--operation", op, "--report-bucket", "arn:aws:s3:::reports"}, exitUsage, "--manifest-bucket"},
		{"manifest bucket for an s3 plan", []string{"iam-policy", "--plan", "s3://plans/x", "--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket"}, exitUsage, "--manifest-bucket"},
		{"bad operation", []string{"iam-policy", "--plan", plan, "--operation", `{"S3Delete": {}}`, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket"}, exitUsage, "--operation"},
		{"operation file missing", []string{"iam-policy", "--plan", plan, "--operation", "@/nonexistent/op.json", "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket"}, exitUsage, "--operation"},
		{"kms alias", with("--kms-key-arn", "arn:aws:kms:us-east-1:123456789012:alias/x"), exitUsage, "--kms-key-arn"},
		{"bad account", with("--account-id", "42"), exitUsage, "--account-id"},
		{"bad role name", with("--role-name", "my role"), exitUsage, "--role-name"},
		{"unknown route", with("--routes", "nosuch"), exitUsage, "--routes"},
		{"no plan.json", []string{"iam-policy", "--plan", t.TempDir(), "--operation", op, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket"}, exitBadInput, "plan.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := s3bk(t, c.args...)
			lines := 1 // the error
			if c.code == exitUsage {
				lines = 2 // and the hint naming the help
			}
			if code != c.code || stdout != "" || !strings.Contains(stderr, c.mention) || strings.Count(stderr, "\n") != lines {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %d lines mentioning %q)", code, c.code, stdout, stderr, lines, c.mention)
			}
		})
	}
}

// TestIAMPolicyAWSCLI pastes the printed commands into a shell and runs
// Debian's AWS CLI against a stand-in IAM endpoint: the role and policy
// documents IAM receives are the ones printed, byte for byte.
func TestIAMPolicyAWSCLI(t *testing.T) {
	needClient(t, "the AWS CLI", "awscli", debianAWS, "--version")
	plan := iamPlan(t, "500")
	code, stdout, stderr := s3bk(t, "iam-policy", "--plan", plan, "--manifest-bucket", "s3://manifests/it's",
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst", "TargetKeyPrefix": "o'brien/"}}`,
		"--report-bucket", "arn:aws:s3:::reports", "--account-id", testAcct, "--role-name", "batch-role")
	if code != 0 {
		t.Fatalf("iam-policy: %d %s", code, stderr)
	}
	var got []url.Values
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		got = append(got, form)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "CreateRole":
			fmt.Fprint(w, `<CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateRoleResult><Role><Path>/</Path><RoleName>batch-role</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::123456789012:role/batch-role</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></Role></CreateRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></CreateRoleResponse>`)
		default:
			fmt.Fprint(w, `<PutRolePolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></PutRolePolicyResponse>`)
		}
	}))
	defer srv.Close()
	var cmds []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "aws iam ") {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) != 2 {
		t.Fatalf("%d aws iam commands in the output, want 2", len(cmds))
	}
	for _, c := range cmds {
		cmd := exec.Command("/bin/sh", "-c", debianAWS+strings.TrimPrefix(c, "aws")+" --endpoint-url "+srv.URL+" --output json")
		cmd.Env = serveEnv(t, "AKIDEXAMPLE", "secret")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
	}
	if len(got) != 2 || got[0].Get("Action") != "CreateRole" || got[1].Get("Action") != "PutRolePolicy" {
		t.Fatalf("IAM received %v", got)
	}
	if got[0].Get("RoleName") != "batch-role" || got[1].Get("RoleName") != "batch-role" || got[1].Get("PolicyName") != "s3batchkit-S3PutObjectCopy" {
		t.Errorf("names: %v", got)
	}
	var r iampolicy.Result
	code, js, _ := s3bk(t, "iam-policy", "--plan", plan, "--manifest-bucket", "s3://manifests/it's",
		"--operation", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst", "TargetKeyPrefix": "o'brien/"}}`,
		"--report-bucket", "arn:aws:s3:::reports", "--account-id", testAcct, "--json")
	if code != 0 || json.Unmarshal([]byte(js), &r) != nil {
		t.Fatalf("--json: %d", code)
	}
	if doc := got[0].Get("AssumeRolePolicyDocument"); doc != string(r.TrustPolicy.Compact()) {
		t.Errorf("IAM received the trust policy\n%s\nwant\n%s", doc, r.TrustPolicy.Compact())
	}
	if doc := got[1].Get("PolicyDocument"); doc != string(r.PermissionsPolicy.Compact()) {
		t.Errorf("IAM received the permissions policy\n%s\nwant\n%s", doc, r.PermissionsPolicy.Compact())
	}
	if !strings.Contains(got[1].Get("PolicyDocument"), "arn:aws:s3:::dst/o'brien/*") {
		t.Errorf("the quote in TargetKeyPrefix did not survive the shell: %s", got[1].Get("PolicyDocument"))
	}
}

// TestIAMPolicyS3Plan reads a plan stored in S3 (the test S3 server): the
// role reads the shards where they are.
func TestIAMPolicyS3Plan(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", cfg.EndpointURL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "400", "--out", gen); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	planLoc := "s3://" + bucket + "/plans/iam"
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(gen, "manifest.json"), "--out", planLoc, "--quiet"); code != 0 {
		t.Fatalf("plan to s3://: %d %s", code, stderr)
	}
	code, stdout, stderr := s3bk(t, "iam-policy", "--plan", planLoc, "--operation", `{"S3InitiateRestoreObject": {"ExpirationInDays": 1}}`,
		"--report-bucket", "arn:aws:s3:::"+bucket, "--json")
	if code != 0 {
		t.Fatalf("iam-policy: %d %s", code, stderr)
	}
	var r iampolicy.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	pl, err := manifest.ReadPlan(context.Background(), oc, planLoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range pl.Shards {
		if arn := "arn:aws:s3:::" + bucket + "/plans/iam/" + sh.Path; !allowed(r.PermissionsPolicy, "s3:GetObject", arn) {
			t.Errorf("the role cannot read %s", arn)
		}
	}
	if code, _, stderr := s3bk(t, "iam-policy", "--plan", "s3://"+bucket+"/plans/none", "--operation", `{"S3ReplicateObject": {}}`,
		"--report-bucket", "arn:aws:s3:::"+bucket); code != exitBadInput || !strings.Contains(stderr, "plan.json") {
		t.Errorf("a prefix without plan.json: exit %d, %s", code, stderr)
	}
}

// TestIAMPolicyNamesFlags: package iampolicy names its options as its API
// spells them (AccountID, KMSKeyARNs); iam-policy's explanations, notes
// and errors name the flags instead.
func TestIAMPolicyNamesFlags(t *testing.T) {
	plan := iamPlan(t, "200")
	base := []string{"iam-policy", "--plan", plan, "--report-bucket", "arn:aws:s3:::reports", "--manifest-bucket", "s3://mm-bucket/p"}
	op := func(key string) string {
		return `{"S3UpdateObjectEncryption": {"ObjectEncryption": {"SSEKMS": {"KMSKeyArn": "` + key + `"}}}}`
	}
	key := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	code, stdout, stderr := s3bk(t, append(base, "--operation", op(key), "--account-id", "111122223333", "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"create the role without --account-id.", "the keys given with --kms-key-arn,"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the policy's explanations do not say %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "AccountID") || strings.Contains(stdout, "KMSKeyARNs") {
		t.Errorf("the output names an option of package iampolicy:\n%s", stdout)
	}
	code, _, stderr = s3bk(t, append(base, "--operation", op("arn:aws:kms:us-east-1:111122223333:alias/x"))...)
	if code != exitUsage || !strings.Contains(stderr, "give the key's ARN with --kms-key-arn") {
		t.Errorf("alias in the operation: exit %d, want %d and an error naming --kms-key-arn:\n%s", code, exitUsage, stderr)
	}
}
