package jobs_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/jobstest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const (
	testAccount = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/batch-ops"
	testReports = "arn:aws:s3:::s3bk-reports"
	copyOpJSON  = `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::s3bk-destination", "StorageClass": "STANDARD_IA"}}`
)

// makePlan writes a plan with the given number of shards per route, each
// of objects rows, and returns its directory.
func makePlan(t testing.TB, routes map[string]int, objects int) string {
	t.Helper()
	dir := t.TempDir()
	pd, err := manifest.CreatePlanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"copy", "large", "restore"} {
		for s := 0; s < routes[route]; s++ {
			w, err := pd.NewShard(route, "s3bk-source", false)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < objects; i++ {
				if err := w.Add([]byte("s3bk-source"), fmt.Appendf(nil, "%s/%05d/key %d", route, s, i), nil, 100); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := pd.Commit(context.Background(), &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// memStore is an in-memory Store that behaves like S3 for single PUTs:
// Content-MD5 is checked, the ETag is the MD5. badETag simulates a bucket
// whose ETags are not MD5s (SSE-KMS).
type memStore struct {
	mu      sync.Mutex
	objs    map[string][]byte
	uploads int
	badETag bool
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) etag(b []byte) string {
	if m.badETag {
		return "0123456789abcdef0123456789abcdef"
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func (m *memStore) Stat(ctx context.Context, loc string) (objio.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[loc]
	if !ok {
		return objio.ObjectInfo{}, fmt.Errorf("%s: %w", loc, objio.ErrNotFound)
	}
	return objio.ObjectInfo{Name: loc, Size: int64(len(b)), ETag: m.etag(b)}, nil
}

func (m *memStore) Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o objio.UploadOptions) (objio.ObjectInfo, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.NewSectionReader(r, 0, size)); err != nil {
		return objio.ObjectInfo{}, err
	}
	s := md5.Sum(buf.Bytes())
	if o.MD5 != "" && !strings.EqualFold(o.MD5, hex.EncodeToString(s[:])) {
		return objio.ObjectInfo{}, fmt.Errorf("BadDigest")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[loc] = buf.Bytes()
	m.uploads++
	return objio.ObjectInfo{Name: loc, Size: size, ETag: m.etag(buf.Bytes())}, nil
}

// newControl starts the fake S3 Control server and a client reaching it
// through the fixed endpoint resolver, with no backoff delay.
func newControl(t testing.TB) (*jobstest.Server, *s3control.Client) {
	t.Helper()
	objio.Configure(objio.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "not-a-real-secret", "")})
	srv := jobstest.New()
	t.Cleanup(srv.Close)
	cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{
		Endpoint:         srv.URL,
		RetryMaxAttempts: 5,
		Backoff:          retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil }),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

func submitOptions(t testing.TB, plan string, cl jobs.Control, store jobs.Store) jobs.SubmitOptions {
	t.Helper()
	op, _, err := jobs.ParseOperation([]byte(copyOpJSON))
	if err != nil {
		t.Fatal(err)
	}
	return jobs.SubmitOptions{
		Plan: plan, AccountID: testAccount, RoleArn: testRole, Operation: op,
		ReportBucket: testReports, ReportPrefix: "reports/run1", Priority: 10,
		ManifestPrefix: "s3://s3bk-manifests/batch", Client: cl, Store: store,
	}
}
