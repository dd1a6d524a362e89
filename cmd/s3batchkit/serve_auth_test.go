package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go"
)

// controlClient is an S3 Control client of the SDK with its own endpoint
// rules (the account in front of localhost), dialling serve's address.
func sdkControlClient(serveURL, key, secret string) *s3control.Client {
	addr := strings.TrimPrefix(serveURL, "http://")
	port := addr[strings.LastIndexByte(addr, ':'):]
	var d net.Dialer
	return s3control.New(s3control.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint: aws.String("http://localhost" + port), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}},
	})
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// runServe runs `serve args…` with env until it exits (a refusal to
// start) or 20 s pass; it returns the exit code and stderr.
func runServe(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve"}, args...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("serve %v: %v (it should have refused to start)\n%s", args, err, stderr.String())
	}
	return ee.ExitCode(), stderr.String()
}

// TestServeCredentials: serve refuses to start on a non-loopback address
// without --credentials-file, with a credentials file others can read or
// of the wrong shape, and with no credentials at all; with a credentials
// file it accepts exactly the keys in it (not its own), and then listens
// on any address. No secret is ever printed.
func TestServeCredentials(t *testing.T) {
	bin := testBinary(t)
	root, state := t.TempDir(), t.TempDir()
	own := serveEnv(t, "AKIDLOCAL", "own-secret-9Xq")
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("# who may use serve\nFILEKEY file-secret-7Zp\nOTHERKEY other-secret-3Wv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open-keys")
	os.WriteFile(open, []byte("FILEKEY file-secret-7Zp\n"), 0o644)
	os.Chmod(open, 0o644)
	bad := filepath.Join(t.TempDir(), "bad-keys")
	os.WriteFile(bad, []byte("FILEKEY file-secret-7Zp\nFILEKEY\tsecond-secret-4Rt\n"), 0o600)
	noCreds := append(serveEnv(t, "", ""), "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")

	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"non-loopback listen", own, []string{"--listen", "0.0.0.0:0"}, exitUsage, "--credentials-file"},
		{"listen on a name", own, []string{"--listen", "myhost.example:0"}, exitUsage, "not a loopback address"},
		{"readable by others", own, []string{"--credentials-file", open}, exitUsage, "mode 0644"},
		{"an id given twice", own, []string{"--credentials-file", bad}, exitUsage, "bad-keys:2: access key id FILEKEY is also on line 1"},
		{"missing file", own, []string{"--credentials-file", bad + ".none"}, exitUsage, "no such file"},
		{"no credentials at all", noCreds, nil, exitFailure, "--credentials-file"},
		{"bad --allow-host", own, []string{"--allow-host", "a/b"}, exitUsage, "a/b"},
	} {
		args := append([]string{"--state-dir", state, "--local-root", root}, c.args...)
		code, stderr := runServe(t, bin, c.env, args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, stderr, c.code, c.want)
		}
		for _, s := range []string{"own-secret-9Xq", "file-secret-7Zp", "second-secret-4Rt"} {
			if strings.Contains(stderr, s) {
				t.Errorf("%s: stderr shows a secret: %q", c.name, stderr)
			}
		}
	}

	// With the file: its keys only, on every address.
	p := startServeWith(t, bin, own, "--listen", "0.0.0.0:0", "--state-dir", state, "--local-root", root, "--credentials-file", keys)
	defer p.kill()
	url := "http://127.0.0.1" + p.url[strings.LastIndexByte(p.url, ':'):]
	ctx := context.Background()
	in := &s3control.ListJobsInput{AccountId: aws.String("123456789012")}
	for _, c := range []struct{ key, secret, code string }{
		{"FILEKEY", "file-secret-7Zp", ""},
		{"OTHERKEY", "other-secret-3Wv", ""},
		{"OTHERKEY", "file-secret-7Zp", "SignatureDoesNotMatch"},
		{"AKIDLOCAL", "own-secret-9Xq", "InvalidAccessKeyId"}, // serve's own key is not in the file
	} {
		_, err := sdkControlClient(url, c.key, c.secret).ListJobs(ctx, in)
		if got := errorCode(err); got != c.code || (c.code == "" && err != nil) {
			t.Errorf("key %s: %v, want %q", c.key, err, c.code)
		}
	}
}

// TestServeOwnCredentials: with no other configuration serve accepts the
// key it runs with (the AWS chain, here the environment) and no other.
func TestServeOwnCredentials(t *testing.T) {
	bin := testBinary(t)
	p := startServeWith(t, bin, serveEnv(t, "AKIDOWN", "own-secret-9Xq"), "--listen", "127.0.0.1:0", "--state-dir", t.TempDir(), "--local-root", t.TempDir())
	defer p.kill()
	ctx := context.Background()
	in := &s3control.ListJobsInput{AccountId: aws.String("123456789012")}
	for _, c := range []struct{ key, secret, code string }{
		{"AKIDOWN", "own-secret-9Xq", ""},
		{"AKIDOWN", "another", "SignatureDoesNotMatch"},
		{"AKIDLOCAL", "own-secret-9Xq", "InvalidAccessKeyId"},
	} {
		_, err := sdkControlClient(p.url, c.key, c.secret).ListJobs(ctx, in)
		if got := errorCode(err); got != c.code || (c.code == "" && err != nil) {
			t.Errorf("key %s: %v, want %q", c.key, err, c.code)
		}
	}
	// A plain HTTP request, as a browser page would send it: refused.
	resp, err := http.Post(p.url+"/v20180820/jobs", "application/xml", strings.NewReader("<CreateJobRequest/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned POST: %d, want 403", resp.StatusCode)
	}
}
