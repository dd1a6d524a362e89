package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// awsEnv points the CLI at the test server with the given keys (none when
// key is empty: no credentials anywhere in the chain, IMDS off).
func awsEnv(t *testing.T, endpoint, key, secret string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	if key == "" {
		os.Unsetenv("AWS_ACCESS_KEY_ID")
		os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// TestCredentialsBeforeWork: a wrong secret, an unknown access key and no
// credentials at all end plan, submit, report and run with exit 1 and
// one message on stderr that names the credentials (never the secret)
// and what to do, before any work: nothing is written, no job created,
// no task run. No SDK chatter reaches stderr without --debug.
func TestCredentialsBeforeWork(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	gen := t.TempDir()
	if code, _, stderr := s3bk(t, "gen", "--rows", "200", "--out", gen); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	inv := "s3://" + bucket + "/inv"
	uploadDir(t, oc, gen, inv)
	localPlan := t.TempDir()
	writePlan(t, localPlan, bucket, []string{"a", "b"})
	srv := localtest.New(t, local.Options{Hold: true})

	key := os.Getenv(objiotest.EnvAccessKey)
	const badSecret = "wrong-secret-9876543210"
	for _, tc := range []struct {
		name, key, secret string
		says              []string
	}{
		{"wrong secret", key, badSecret, []string{"SignatureDoesNotMatch", "access key " + key, "AWS_SECRET_ACCESS_KEY"}},
		{"unknown key", "AKIAUNKNOWN000000000", badSecret, []string{"refused the credentials", "access key AKIAUNKNOWN000000000", "unknown to this endpoint", "--endpoint-url"}},
		{"no credentials", "", "", []string{"no usable AWS credentials", "default chain", "AWS_PROFILE", "aws sso login", "AWS_ACCESS_KEY_ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			awsEnv(t, cfg.EndpointURL, tc.key, tc.secret)
			out := t.TempDir()
			reports := t.TempDir()
			for _, args := range [][]string{
				{"plan", "--inventory", inv + "/manifest.json", "--out", out},
				{"plan", "--inventory", inv + "/manifest.json", "--out", "s3://" + bucket + "/plans/" + strings.ReplaceAll(tc.name, " ", "-")},
				// A local inventory planned to S3 fails before it is read.
				{"plan", "--inventory", filepath.Join(gen, "manifest.json"), "--out", "s3://" + bucket + "/plans/local-" + strings.ReplaceAll(tc.name, " ", "-")},
				{"submit", "--plan", localPlan, "--account-id", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/r",
					"--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`, "--report-bucket", "arn:aws:s3:::" + bucket,
					"--manifest-bucket", "s3://" + bucket + "/manifests", "--control-endpoint-url", srv.URL},
				{"report", "--report", "s3://" + bucket + "/reports", "--out", out},
				{"run", "--plan", localPlan, "--operation", `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`, "--report", reports},
			} {
				code, stdout, stderr := s3bk(t, args...)
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if code != exitFailure || len(lines) != 1 || strings.Contains(stderr, badSecret) || strings.Contains(stderr, "WARN") ||
					strings.Contains(stderr, "not found") || strings.Contains(stderr, "no plan.json") {
					t.Errorf("%s: exit %d, want %d and one message\nstdout: %s\nstderr: %s", args[0], code, exitFailure, stdout, stderr)
				}
				for _, s := range tc.says {
					if !strings.Contains(stderr, s) {
						t.Errorf("%s: stderr does not say %q: %s", args[0], s, stderr)
					}
				}
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("%d entries written to the output folder", len(ents))
			}
			if ents, _ := os.ReadDir(reports); len(ents) != 0 {
				t.Errorf("run wrote %d report entries", len(ents))
			}
			if n := srv.Calls("CreateJob"); n != 0 {
				t.Errorf("%d CreateJob calls", n)
			}
		})
	}
	if l, err := oc.List(ctx, "s3://"+bucket+"/plans/"); err != nil || len(l) != 0 {
		t.Errorf("plans written to S3: %v %v", l, err)
	}
	if _, err := manifest.ReadRun(ctx, oc, localPlan); err == nil {
		t.Error("submit wrote jobs.json")
	}

	// --debug shows the SDK's log lines and retries; without it they are
	// dropped (the CLI's own message stays).
	awsEnv(t, "http://127.0.0.1:1", key, badSecret)
	code, _, stderr := s3bk(t, "--debug", "--retry-max-backoff", "1ms", "plan", "--inventory", inv+"/manifest.json", "--dry-run")
	if code != exitFailure || !strings.Contains(stderr, "debug: retry 1 after") || !strings.Contains(stderr, "S3 endpoint unreachable at http://127.0.0.1:1") {
		t.Errorf("--debug against a closed port: exit %d\n%s", code, stderr)
	}
	code, _, stderr = s3bk(t, "--retry-max-backoff", "1ms", "plan", "--inventory", inv+"/manifest.json", "--dry-run")
	if code != exitFailure || strings.Contains(stderr, "debug:") || len(strings.Split(strings.TrimSpace(stderr), "\n")) != 1 {
		t.Errorf("closed port without --debug: exit %d\n%s", code, stderr)
	}
}
