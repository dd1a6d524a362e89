// Package objiotest connects tests to the S3 server of the integration
// tests (versitygw, started by .ci/run): it reads the endpoint and keys
// from the environment, builds an objio.Client for it, and makes a fresh
// bucket per test.
//
//	S3BATCHKIT_TEST_S3_ENDPOINT    http://127.0.0.1:PORT
//	S3BATCHKIT_TEST_S3_ACCESS_KEY  the server's access key
//	S3BATCHKIT_TEST_S3_SECRET_KEY  the server's secret key
//
// Without the endpoint the tests skip, with a message; when CI=true they
// fail instead, so that CI never passes without running them.
package objiotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Environment variables read by Setup.
const (
	EnvEndpoint  = "S3BATCHKIT_TEST_S3_ENDPOINT"
	EnvAccessKey = "S3BATCHKIT_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "S3BATCHKIT_TEST_S3_SECRET_KEY"
)

// Config returns the objio configuration of the test server, skipping (or,
// in CI, failing) the test when the server is not configured.
func Config(t testing.TB) objio.Config {
	t.Helper()
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		msg := EnvEndpoint + " is not set: integration test against a real S3 server skipped (.ci/run starts versitygw and sets it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return objio.Config{
		EndpointURL: ep,
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey), ""),
	}
}

// Client returns a client for the test server, its configuration tuned
// by the functions in tune (part size, concurrency …).
func Client(t testing.TB, tune ...func(*objio.Config)) *objio.Client {
	t.Helper()
	cfg := Config(t)
	for _, f := range tune {
		f(&cfg)
	}
	return objio.New(cfg)
}

// Bucket creates a new, empty bucket through c and returns its name; the
// bucket is removed with its objects when the test ends.
func Bucket(t testing.TB, c *objio.Client) string {
	t.Helper()
	ctx := context.Background()
	cl, err := c.S3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	bucket := "s3bk-test-" + hex.EncodeToString(b[:])
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("creating test bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		objs, err := c.List(ctx, "s3://"+bucket+"/")
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		for _, o := range objs {
			c.Remove(ctx, o.Name)
		}
		if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Logf("cleanup: deleting bucket %s: %v", bucket, err)
		}
	})
	return bucket
}

// Setup returns a client for the test server (see Client) and a new,
// empty bucket made through it (see Bucket).
func Setup(t testing.TB, tune ...func(*objio.Config)) (*objio.Client, string) {
	t.Helper()
	c := Client(t, tune...)
	return c, Bucket(t, c)
}
