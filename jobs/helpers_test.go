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
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/jobs/local/localtest"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const (
	testAccount = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/batch-ops"
	testReports = "arn:aws:s3:::s3bk-reports"
	copyOpJSON  = `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::s3bk-destination"}}`
)

// makePlan writes a plan with the given number of shards per route, each
// of objects rows, and returns its directory.
func makePlan(t testing.TB, routes map[string]int, objects int) string {
	t.Helper()
	dir := t.TempDir()
	pd, err := manifest.CreatePlanDir(nil, dir)
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

// makeVersionedPlan writes a plan of versioned shards: per route, the
// number of noncurrent-version and current-version shards, each of
// objects rows, and returns its directory.
func makeVersionedPlan(t testing.TB, routes map[string][2]int, objects int) string {
	t.Helper()
	dir := t.TempDir()
	pd, err := manifest.CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"copy", "large", "restore"} {
		for k, versions := range []string{manifest.VersionsNoncurrent, manifest.VersionsCurrent} {
			for s := 0; s < routes[route][k]; s++ {
				w, err := pd.NewShardOf(route, "s3bk-source", true, versions)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < objects; i++ {
					key := fmt.Appendf(nil, "%s/%05d/key %d", route, s, i)
					if err := w.Add([]byte("s3bk-source"), key, fmt.Appendf(nil, "%s-v%d", versions, s), 100); err != nil {
						t.Fatal(err)
					}
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

// tagOpJSON serves every route.
const tagOpJSON = `{"S3PutObjectTagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}`

// newControl starts the local engine, holding its jobs, behind an HTTP
// server, and a client reaching it through the fixed endpoint resolver
// with no backoff delay. Manifests are stored in process, where the
// engine reads them (the returned store).
func newControl(t testing.TB) (*localtest.Server, *s3control.Client, jobs.Store) {
	t.Helper()
	oc := objio.New(objio.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "not-a-real-secret", "")})
	srv := localtest.New(t, local.Options{Hold: true, Workers: 4, IO: oc})
	cl, err := jobs.NewClient(context.Background(), jobs.ClientOptions{
		IO:               oc,
		Endpoint:         srv.URL,
		RetryMaxAttempts: 5,
		Backoff:          retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil }),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl, srv.Engine.NewClient()
}

func submitOptions(t testing.TB, plan string, cl jobs.Control, store jobs.Store) jobs.SubmitOptions {
	return submitOp(t, plan, cl, store, tagOpJSON)
}

func submitOp(t testing.TB, plan string, cl jobs.Control, store jobs.Store, opJSON string) jobs.SubmitOptions {
	t.Helper()
	op, _, err := jobs.ParseOperation([]byte(opJSON))
	if err != nil {
		t.Fatal(err)
	}
	return jobs.SubmitOptions{
		Plan: plan, AccountID: testAccount, RoleArn: testRole, Operation: op,
		ReportBucket: testReports, ReportPrefix: "reports/run1", Priority: 10,
		ManifestPrefix: "s3://s3bk-manifests/batch", Client: cl, Store: store,
	}
}

// prepared waits until no job of the account is New or Preparing.
func prepared(t testing.TB, srv *localtest.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		busy := 0
		for _, d := range srv.Jobs(t, testAccount) {
			if d.Status == types.JobStatusNew || d.Status == types.JobStatusPreparing {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still not prepared", busy)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
