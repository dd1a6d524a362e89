package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	reportARN = "arn:aws:s3:::report-bucket"
	userKey   = "arn:aws:kms:us-east-1:111122223333:key/0f0f0f0f-1111-2222-3333-444444444444"
)

func shard(route, bucket string, n int, versioned bool, first, last string) manifest.Shard {
	return manifest.Shard{
		Path: "shards/" + route + "/0000" + string(rune('0'+n)) + ".csv", Route: route, Bucket: bucket,
		Objects: 10, VersionIDs: versioned, FirstKey: first, LastKey: last,
	}
}

// basePlan has two routes over two buckets; logs-bucket lists version ids.
func basePlan() *manifest.Plan {
	return &manifest.Plan{Version: 1, Options: map[string]any{"sort": true}, Shards: []manifest.Shard{
		shard("copy", "data-bucket", 0, false, "a/1", "z/9"),
		shard("copy", "logs-bucket", 1, true, "2024/01", "2024/12"),
		shard("restore", "data-bucket", 0, false, "cold/1", "cold/9"),
	}}
}

func readOp(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ops", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func localOptions(t testing.TB, op string) Options {
	t.Helper()
	parsed, _, err := jobs.ParseOperation(readOp(t, op))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Plan: basePlan(), PlanDir: "plan", PlanID: "0123456789abcdef", Operation: parsed,
		ManifestPrefix: "s3://manifest-bucket/batch", ReportBucket: reportARN, ReportPrefix: "reports"}
}

// TestBuildGolden builds the role of every operation and compares the
// JSON document with testdata/golden/<case>.json (-update rewrites).
func TestBuildGolden(t *testing.T) {
	cases := []struct {
		name string
		op   string
		edit func(*Options)
	}{
		{"copy", "copy", nil},
		{"copy-kms-lock-account", "copy-kms-lock", func(o *Options) { o.AccountID = "111122223333"; o.KMSKeyARNs = []string{userKey} }},
		{"copy-express", "copy-express", nil},
		{"tagging", "tagging", nil},
		{"delete-tagging", "delete-tagging", nil},
		{"acl", "acl", nil},
		{"restore", "restore", func(o *Options) { o.Routes = []string{"restore"} }},
		{"retention", "retention", nil},
		{"retention-bypass", "retention-bypass", nil},
		{"legal-hold", "legal-hold", nil},
		{"replicate", "replicate", nil},
		{"checksum-kms", "checksum", func(o *Options) { o.KMSKeyARNs = []string{userKey} }},
		{"update-encryption", "update-encryption", nil},
		{"lambda", "lambda", nil},
		{"s3-plan-prefixes", "tagging", func(o *Options) {
			o.PlanDir = "s3://plans-bucket/runs/7"
			o.ManifestPrefix = ""
			o.PlanID = ""
			o.ReportPrefix = "/audit/"
			o.Plan = &manifest.Plan{Version: 1, Options: map[string]any{"prefixes": []any{"logs/2024/", "logs/", "img/a*b/"}}, Shards: []manifest.Shard{
				shard("all", "data-bucket", 0, false, "img/a*b/1", "logs/2024/09"),
			}}
		}},
		{"prefixes-not-covering", "restore", func(o *Options) {
			o.Plan.Options["prefixes"] = []any{"cold/"}
		}},
		{"diff-plan-prefixes-ignored", "restore", func(o *Options) {
			o.Plan.Options["prefixes"] = []any{"a/"}
			o.Plan.Options["diff"] = map[string]any{"source": "x"}
		}},
		{"china-partition", "tagging", func(o *Options) {
			o.ReportBucket = "arn:aws-cn:s3:::report-bucket"
		}},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := localOptions(t, c.op)
			if c.edit != nil {
				c.edit(&o)
			}
			r, err := Build(o)
			if err != nil {
				t.Fatal(err)
			}
			got := r.JSON()
			checkDocument(t, got)
			seen[c.op] = true
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file (run with -update after checking the diff):\n%s", path, got)
			}
		})
	}
	// Every operation file is covered, and every operation name.
	ops, _ := filepath.Glob(filepath.Join("testdata", "ops", "*.json"))
	names := map[string]bool{}
	for _, f := range ops {
		op := strings.TrimSuffix(filepath.Base(f), ".json")
		if !seen[op] {
			t.Errorf("testdata/ops/%s.json has no golden case", op)
		}
		_, n, err := jobs.ParseOperation(readOp(t, op))
		if err != nil {
			t.Fatal(err)
		}
		names[n] = true
	}
	for _, n := range jobs.OperationNames {
		if !names[n] {
			t.Errorf("operation %s has no case under testdata/ops", n)
		}
	}
}

// checkDocument checks the JSON document as a user's tools would see it,
// without this package's types: the three parts, each policy's Version
// and statements with Effect, Action and Resource (or Principal), and no
// wildcard beyond the trailing '*' of an S3 object ARN.
func checkDocument(t *testing.T, doc []byte) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"trust_policy", "permissions_policy", "explanation", "notes"} {
		if _, ok := d[k]; !ok {
			t.Fatalf("document has no %q", k)
		}
	}
	if _, ok := d["notes"].([]any); !ok {
		t.Errorf("notes is %T, want a list", d["notes"])
	}
	sids := map[string]bool{}
	for _, part := range []string{"trust_policy", "permissions_policy"} {
		p, ok := d[part].(map[string]any)
		if !ok {
			t.Fatalf("%s is %T", part, d[part])
		}
		if p["Version"] != "2012-10-17" {
			t.Errorf("%s.Version = %v", part, p["Version"])
		}
		stmts, ok := p["Statement"].([]any)
		if !ok || len(stmts) == 0 {
			t.Fatalf("%s.Statement = %v", part, p["Statement"])
		}
		for i, x := range stmts {
			s := x.(map[string]any)
			if s["Effect"] != "Allow" {
				t.Errorf("%s.Statement[%d].Effect = %v", part, i, s["Effect"])
			}
			sid, _ := s["Sid"].(string)
			if sid == "" || sids[sid] {
				t.Errorf("%s.Statement[%d].Sid %q empty or repeated", part, i, sid)
			}
			sids[sid] = true
			actions, ok := s["Action"].([]any)
			if !ok || len(actions) == 0 {
				t.Errorf("%s.Statement[%d].Action = %v", part, i, s["Action"])
			}
			for _, a := range actions {
				if strings.Contains(a.(string), "*") {
					t.Errorf("%s.Statement[%d]: wildcard action %v", part, i, a)
				}
			}
			res, hasRes := s["Resource"].([]any)
			if part == "trust_policy" {
				if hasRes || s["Principal"] == nil {
					t.Errorf("trust statement %d: Resource %v, Principal %v", i, s["Resource"], s["Principal"])
				}
				if s["Principal"].(map[string]any)["Service"] != "batchoperations.s3.amazonaws.com" {
					t.Errorf("trust principal %v", s["Principal"])
				}
				continue
			}
			if !hasRes || len(res) == 0 {
				t.Errorf("%s.Statement[%d].Resource = %v", part, i, s["Resource"])
			}
			for _, r := range res {
				r := r.(string)
				star := strings.Index(r, "*")
				switch {
				case r == "*":
					t.Errorf("%s.Statement[%d]: Resource \"*\"", part, i)
				case star >= 0 && (star != len(r)-1 || !strings.Contains(r, ":s3:::") || !strings.Contains(r[:star], "/")):
					t.Errorf("%s.Statement[%d]: %q: the only wildcard allowed is the end of an S3 object ARN", part, i, r)
				case strings.Contains(r, "?"):
					t.Errorf("%s.Statement[%d]: %q holds '?'", part, i, r)
				}
			}
		}
	}
	expl := d["explanation"].([]any)
	if len(expl) != len(sids) {
		t.Errorf("%d explanations for %d statements", len(expl), len(sids))
	}
	for _, x := range expl {
		e := x.(map[string]any)
		if !sids[e["statement"].(string)] || e["why"] == "" || len(e["sources"].([]any)) == 0 {
			t.Errorf("explanation %v: unknown statement, no reason or no source", e)
		}
		for _, s := range e["sources"].([]any) {
			if !strings.HasPrefix(s.(string), "https://docs.aws.amazon.com/") {
				t.Errorf("source %v is not an AWS document", s)
			}
		}
	}
}

// TestBuildFacts checks, beside the golden files, the facts each
// operation's role rests on, so that a wrong -update cannot hide them.
func TestBuildFacts(t *testing.T) {
	grants := func(r *Result, action, resource string) bool {
		for _, s := range r.PermissionsPolicy.Statement {
			for _, a := range s.Action {
				for _, res := range s.Resource {
					if a == action && res == resource {
						return true
					}
				}
			}
		}
		return false
	}
	has := func(r *Result, action string) bool {
		for _, s := range r.PermissionsPolicy.Statement {
			for _, a := range s.Action {
				if a == action {
					return true
				}
			}
		}
		return false
	}
	build := func(op string, edit func(*Options)) *Result {
		o := localOptions(t, op)
		if edit != nil {
			edit(&o)
		}
		r, err := Build(o)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}
	manifestARN := "arn:aws:s3:::manifest-bucket/batch/0123456789abcdef/shards/copy/*"
	reportObj := "arn:aws:s3:::report-bucket/reports/job-*"
	type fact struct {
		action, resource string
		want             bool
	}
	for _, c := range []struct {
		op    string
		edit  func(*Options)
		facts []fact
	}{
		{"copy", nil, []fact{
			{"s3:GetObject", manifestARN, true},
			{"s3:GetObjectVersion", manifestARN, true},
			{"s3:PutObject", reportObj, true},
			{"s3:GetBucketLocation", "arn:aws:s3:::report-bucket", true},
			{"s3:GetObject", "arn:aws:s3:::data-bucket/*", true},
			{"s3:GetObjectTagging", "arn:aws:s3:::data-bucket/*", true},
			{"s3:GetObjectAcl", "arn:aws:s3:::data-bucket/*", true},
			{"s3:GetObjectVersion", "arn:aws:s3:::logs-bucket/*", true},
			{"s3:GetObjectVersion", "arn:aws:s3:::data-bucket/*", false}, // its shards have no version ids
			{"s3:GetObjectVersionTagging", "arn:aws:s3:::logs-bucket/*", true},
			{"s3:ListBucket", "arn:aws:s3:::data-bucket", true},
			{"s3:PutObject", "arn:aws:s3:::dst-bucket/copied/*", true},
			{"s3:PutObjectTagging", "arn:aws:s3:::dst-bucket/copied/*", true},
			{"s3:PutObjectAcl", "arn:aws:s3:::dst-bucket/copied/*", true},
			{"s3:PutObjectRetention", "arn:aws:s3:::dst-bucket/copied/*", false},
			{"s3:PutObject", "arn:aws:s3:::data-bucket/*", false}, // never write the sources
		}},
		{"copy-kms-lock", func(o *Options) { o.KMSKeyARNs = []string{userKey} }, []fact{
			{"s3:PutObjectRetention", "arn:aws:s3:::dst-locked/*", true},
			{"s3:PutObjectLegalHold", "arn:aws:s3:::dst-locked/*", true},
			{"s3:GetObjectTagging", "arn:aws:s3:::data-bucket/*", false}, // NewObjectTagging replaces the tags
			{"kms:GenerateDataKey", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
			{"kms:Decrypt", userKey, true},
		}},
		{"copy-express", nil, []fact{
			{"s3express:CreateSession", "arn:aws:s3express:us-east-1:111122223333:bucket/fast--use1-az4--x-s3", true},
		}},
		{"tagging", nil, []fact{
			{"s3:PutObjectTagging", "arn:aws:s3:::data-bucket/*", true},
			{"s3:PutObjectVersionTagging", "arn:aws:s3:::logs-bucket/*", true},
			{"s3:PutObjectVersionTagging", "arn:aws:s3:::data-bucket/*", false},
		}},
		{"delete-tagging", nil, []fact{{"s3:DeleteObjectTagging", "arn:aws:s3:::logs-bucket/*", true}, {"s3:DeleteObjectVersionTagging", "arn:aws:s3:::logs-bucket/*", true}}},
		{"acl", nil, []fact{{"s3:PutObjectAcl", "arn:aws:s3:::data-bucket/*", true}, {"s3:PutObjectVersionAcl", "arn:aws:s3:::logs-bucket/*", true}}},
		{"restore", func(o *Options) { o.Routes = []string{"restore"} }, []fact{
			{"s3:RestoreObject", "arn:aws:s3:::data-bucket/*", true},
			{"s3:RestoreObject", "arn:aws:s3:::logs-bucket/*", false}, // only in the copy route
			{"s3:GetObject", "arn:aws:s3:::manifest-bucket/batch/0123456789abcdef/shards/restore/*", true},
			{"s3:GetObject", manifestARN, false},
		}},
		{"retention", nil, []fact{
			{"s3:GetBucketObjectLockConfiguration", "arn:aws:s3:::data-bucket", true},
			{"s3:PutObjectRetention", "arn:aws:s3:::data-bucket/*", true},
			{"s3:BypassGovernanceRetention", "arn:aws:s3:::data-bucket/*", false},
		}},
		{"retention-bypass", nil, []fact{{"s3:BypassGovernanceRetention", "arn:aws:s3:::data-bucket/*", true}}},
		{"legal-hold", nil, []fact{{"s3:PutObjectLegalHold", "arn:aws:s3:::logs-bucket/*", true}, {"s3:GetBucketObjectLockConfiguration", "arn:aws:s3:::logs-bucket", true}}},
		{"replicate", nil, []fact{{"s3:InitiateReplication", "arn:aws:s3:::data-bucket/*", true}}},
		{"checksum", nil, []fact{
			{"s3:GetObject", "arn:aws:s3:::data-bucket/*", true},
			{"s3:RestoreObject", "arn:aws:s3:::data-bucket/*", true},
			{"s3:GetObjectVersion", "arn:aws:s3:::logs-bucket/*", true},
		}},
		{"update-encryption", nil, []fact{
			{"s3:UpdateObjectEncryption", "arn:aws:s3:::data-bucket/*", true},
			{"kms:ReEncryptFrom", "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
			{"kms:Encrypt", "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
		}},
		{"lambda", nil, []fact{
			{"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:rename:live", true},
			{"s3:GetObject", "arn:aws:s3:::data-bucket/*", false}, // the function has its own role
		}},
	} {
		r := build(c.op, c.edit)
		for _, f := range c.facts {
			if got := grants(r, f.action, f.resource); got != f.want {
				t.Errorf("%s: grants %s on %s = %v, want %v", c.op, f.action, f.resource, got, f.want)
			}
		}
		if has(r, "s3:DeleteObject") || has(r, "s3:PutBucketPolicy") {
			t.Errorf("%s: grants a delete or policy action", c.op)
		}
	}

	// --account-id adds the aws:SourceAccount condition, and only then.
	r := build("tagging", func(o *Options) { o.AccountID = "111122223333" })
	if got := r.TrustPolicy.Statement[0].Condition["StringEquals"]["aws:SourceAccount"]; got != "111122223333" {
		t.Errorf("trust condition = %v", r.TrustPolicy.Statement[0].Condition)
	}
	if r := build("tagging", nil); r.TrustPolicy.Statement[0].Condition != nil {
		t.Errorf("trust condition without an account: %v", r.TrustPolicy.Statement[0].Condition)
	}
}

// TestBuildErrors: bad options name the option and wrap ErrInvalid; a bad
// operation wraps jobs.ErrOperation; nothing is built.
func TestBuildErrors(t *testing.T) {
	for _, c := range []struct {
		name, op string
		edit     func(*Options)
		wantErr  error
		mention  string
	}{
		{"no plan", "copy", func(o *Options) { o.Plan = nil }, ErrInvalid, "Plan"},
		{"report bucket not an ARN", "copy", func(o *Options) { o.ReportBucket = "s3://report-bucket" }, ErrInvalid, "ReportBucket"},
		{"report bucket directory", "copy", func(o *Options) { o.ReportBucket = "arn:aws:s3express:us-east-1:111122223333:bucket/r--use1-az4--x-s3" }, ErrInvalid, "ReportBucket"},
		{"long report prefix", "copy", func(o *Options) { o.ReportPrefix = strings.Repeat("p", 513) }, ErrInvalid, "ReportPrefix"},
		{"bad account", "copy", func(o *Options) { o.AccountID = "12345" }, ErrInvalid, "AccountID"},
		{"local plan without manifest prefix", "copy", func(o *Options) { o.ManifestPrefix = "" }, ErrInvalid, "ManifestPrefix"},
		{"s3 plan with manifest prefix", "copy", func(o *Options) { o.PlanDir = "s3://plans/x" }, ErrInvalid, "ManifestPrefix"},
		{"manifest prefix not s3", "copy", func(o *Options) { o.ManifestPrefix = "/tmp/x" }, ErrInvalid, "ManifestPrefix"},
		{"local plan without id", "copy", func(o *Options) { o.PlanID = "" }, ErrInvalid, "PlanID"},
		{"kms alias", "copy", func(o *Options) { o.KMSKeyARNs = []string{"arn:aws:kms:us-east-1:111122223333:alias/data"} }, ErrInvalid, "describe-key"},
		{"kms not an ARN", "copy", func(o *Options) { o.KMSKeyARNs = []string{"1234abcd-12ab-34cd-56ef-1234567890ab"} }, ErrInvalid, "KMSKeyARNs"},
		{"kms other partition", "copy", func(o *Options) { o.KMSKeyARNs = []string{"arn:aws-cn:kms:cn-north-1:111122223333:key/abc"} }, ErrInvalid, "partition"},
		{"unknown route", "copy", func(o *Options) { o.Routes = []string{"large"} }, ErrInvalid, "copy, restore"},
		{"empty plan", "copy", func(o *Options) { o.Plan.Shards = nil }, ErrInvalid, "no shards"},
		{"bad bucket in plan", "copy", func(o *Options) { o.Plan.Shards[0].Bucket = "b*" }, ErrInvalid, "not a bucket name"},
		{"destination in other partition", "copy", func(o *Options) { o.ReportBucket = "arn:aws-cn:s3:::report-bucket" }, ErrInvalid, "TargetResource"},
		{"lambda in other partition", "lambda", func(o *Options) { o.ReportBucket = "arn:aws-us-gov:s3:::report-bucket" }, ErrInvalid, "FunctionArn"},
		{"operation key alias alone", "copy", func(o *Options) {
			s := "arn:aws:kms:us-east-1:111122223333:alias/data"
			o.Operation.S3PutObjectCopy.SSEAwsKmsKeyId = &s
		}, ErrInvalid, "SSEAwsKmsKeyId"},
		{"no operation", "copy", func(o *Options) { o.Operation.S3PutObjectCopy = nil }, jobs.ErrOperation, "exactly one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := localOptions(t, c.op)
			c.edit(&o)
			r, err := Build(o)
			if err == nil {
				t.Fatalf("no error; got %d statements", len(r.PermissionsPolicy.Statement))
			}
			if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q: want %v mentioning %q", err, c.wantErr, c.mention)
			}
		})
	}

	// An operation key given as an alias is accepted when the key ARN is
	// given too, with a note.
	o := localOptions(t, "copy")
	s := "arn:aws:kms:us-east-1:111122223333:alias/data"
	o.Operation.S3PutObjectCopy.SSEAwsKmsKeyId = &s
	o.KMSKeyARNs = []string{userKey}
	r, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "alias/data") {
		t.Errorf("no note about the alias: %q", r.Notes)
	}
}
