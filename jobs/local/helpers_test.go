package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const testAccount = "123456789012"

// dirEnv is a directory of buckets for tests.
type dirEnv struct {
	t    *testing.T
	root string
	st   *DirStorage
}

func newDirEnv(t *testing.T, buckets ...string) *dirEnv {
	t.Helper()
	root := t.TempDir()
	for _, b := range buckets {
		if err := os.MkdirAll(filepath.Join(root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &dirEnv{t: t, root: root, st: &DirStorage{Root: root}}
}

func (d *dirEnv) put(bucket, key, data string) {
	d.t.Helper()
	p := filepath.Join(d.root, bucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func (d *dirEnv) get(bucket, key string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(d.root, bucket, filepath.FromSlash(key)))
	return string(b), err == nil
}

// manifestOf writes the manifest lines of keys (in bucket) and returns
// its key and MD5.
func (d *dirEnv) manifestOf(name, bucket string, keys []string) (string, string) {
	var b []byte
	for _, k := range keys {
		b = manifest.AppendRow(b, []byte(bucket), []byte(k), nil, false)
	}
	d.put("manifests", name, string(b))
	s := md5.Sum(b)
	return name, hex.EncodeToString(s[:])
}

func newTestEngine(t *testing.T, o Options) *Engine {
	t.Helper()
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = time.Millisecond
	}
	o.Logf = t.Logf
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// The access key the tests sign requests to the engine's handler with.
const testKeyID, testSecret = "AKIDLOCAL", "secret"

// testHandler is the engine's HTTP front accepting testKeyID.
func testHandler(t *testing.T, e *Engine) http.Handler {
	t.Helper()
	h, err := e.Handler(APIOptions{Credentials: StaticCredentials(Credential{AccessKeyID: testKeyID, SecretAccessKey: testSecret})})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sdkClient is the real SDK's S3 Control client for the engine's handler,
// signing with testKeyID.
func sdkClient(t *testing.T, e *Engine) *s3control.Client {
	t.Helper()
	srv := httptest.NewServer(testHandler(t, e))
	t.Cleanup(srv.Close)
	oc := objio.New(objio.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "")})
	cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{IO: oc, Endpoint: srv.URL, RetryMaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func createInput(token, manifestKey, etag string, op types.JobOperation) *s3control.CreateJobInput {
	return &s3control.CreateJobInput{
		AccountId: aws.String(testAccount), ClientRequestToken: aws.String(token),
		ConfirmationRequired: aws.Bool(false), Priority: aws.Int32(10),
		RoleArn:   aws.String("arn:aws:iam::" + testAccount + ":role/batch"),
		Operation: &op,
		Manifest: &types.JobManifest{
			Spec:     &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: []types.JobManifestFieldName{"Bucket", "Key"}},
			Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::manifests/" + manifestKey), ETag: aws.String(etag)},
		},
		Report: &types.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::reports"), Prefix: aws.String("runs/r1"),
			Format: types.JobReportFormatReportCsv20180820, ReportScope: types.JobReportScopeAllTasks},
	}
}

func copyOp(dst, prefix string) types.JobOperation {
	c := &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::" + dst)}
	if prefix != "" {
		c.TargetKeyPrefix = aws.String(prefix)
	}
	return types.JobOperation{S3PutObjectCopy: c}
}

func keysN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func waitStatus(t *testing.T, e *Engine, id string) *types.JobDescriptor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := e.Wait(ctx, testAccount, id)
	if err != nil {
		t.Fatalf("waiting for job %s: %v", id, err)
	}
	return d
}
