package largecopy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
)

// endpoint returns the test server's endpoint (skipping the test, or
// failing it in CI, when there is none).
func endpoint(t testing.TB) string {
	t.Helper()
	objiotest.Config(t)
	return os.Getenv(objiotest.EnvEndpoint)
}

// newClient returns a client of the test server's credentials for ep
// (through hc when not nil) making attempts attempts per call, with
// short backoffs.
func newClient(t testing.TB, ep string, hc *http.Client, attempts int) *s3.Client {
	cfg := objiotest.Config(t)
	o := s3.Options{Region: "us-east-1", Credentials: cfg.Credentials, BaseEndpoint: aws.String(ep), UsePathStyle: true,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = 50 * time.Millisecond
		})}
	if hc != nil {
		o.HTTPClient = hc
	}
	return s3.New(o)
}

// newBucket creates a bucket of a unique name starting with name; it is
// emptied (objects and uploads) and removed when the test ends.
func newBucket(t testing.TB, cl *s3.Client, name string) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	bucket := "lc-" + name + "-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		for _, u := range uploads(t, cl, bucket) {
			cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
		}
		p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &bucket})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Logf("cleanup: listing %s: %v", bucket, err)
				return
			}
			for _, o := range out.Contents {
				cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
			}
		}
		if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
			t.Logf("cleanup: deleting bucket %s: %v", bucket, err)
		}
	})
	return bucket
}

// uploads lists the multipart uploads in progress in bucket.
func uploads(t testing.TB, cl *s3.Client, bucket string) []s3types.MultipartUpload {
	t.Helper()
	out, err := cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("listing uploads of %s: %v", bucket, err)
	}
	return out.Uploads
}

// payload returns n bytes of seeded noise.
func payload(n int, seed uint64) []byte {
	r := mrand.New(mrand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// source describes an object a test puts.
type source struct {
	body        []byte
	metadata    map[string]string
	contentType string
	cache       string
	disposition string
	encoding    string
	language    string
	expires     *time.Time
	tagging     string
}

func put(t testing.TB, cl *s3.Client, bucket, key string, s source) {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(s.body), Metadata: s.metadata}
	set := func(dst **string, v string) {
		if v != "" {
			*dst = aws.String(v)
		}
	}
	set(&in.ContentType, s.contentType)
	set(&in.CacheControl, s.cache)
	set(&in.ContentDisposition, s.disposition)
	set(&in.ContentEncoding, s.encoding)
	set(&in.ContentLanguage, s.language)
	set(&in.Tagging, s.tagging)
	in.Expires = s.expires
	if _, err := cl.PutObject(context.Background(), in); err != nil {
		t.Fatalf("putting s3://%s/%s: %v", bucket, key, err)
	}
}

func getAll(t testing.TB, cl *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GET s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GET s3://%s/%s: %v", bucket, key, err)
	}
	return b
}

// absent checks that bucket holds no object key.
func absent(t testing.TB, cl *s3.Client, bucket, key string) {
	t.Helper()
	_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("s3://%s/%s: HEAD = %v, want NotFound (no object written)", bucket, key, err)
	}
}

// noUploads checks that no multipart upload is left in bucket.
func noUploads(t testing.TB, cl *s3.Client, bucket string) {
	t.Helper()
	if u := uploads(t, cl, bucket); len(u) > 0 {
		keys := make([]string, len(u))
		for i, x := range u {
			keys[i] = aws.ToString(x.Key)
		}
		t.Errorf("%d uploads left in %s: %q", len(u), bucket, keys)
	}
}

// event2 is a schema 2.0 event with one task per key (URL-encoded as a
// manifest writes it).
func event2(args map[string]string, bucket string, keys ...string) []byte {
	ev := Event{InvocationSchemaVersion: "2.0", InvocationID: "inv-1", Job: Job{ID: "job-1", UserArguments: args}}
	for i, k := range keys {
		ev.Tasks = append(ev.Tasks, Task{TaskID: "task-" + string(rune('a'+i)), S3Key: k, S3Bucket: bucket})
	}
	b, _ := json.Marshal(ev)
	return b
}

// invoke runs h on event and returns the parsed response.
func invoke(t testing.TB, ctx context.Context, h *Handler, event []byte) Response {
	t.Helper()
	out, err := h.Invoke(ctx, event)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var r Response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return r
}

func mustHandler(t testing.TB, o Options) *Handler {
	t.Helper()
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// hookProxy is a reverse proxy in front of the test server that lets a
// test answer or act on chosen requests: hook returns a status and S3
// error code to answer with (0 to forward the request).
type hookProxy struct {
	*httptest.Server
	mu   sync.Mutex
	hook func(r *http.Request) (status int, code string)
	seen []string // "METHOD path?query" of every request, in order
}

func newHookProxy(t testing.TB, upstream string, hook func(r *http.Request) (int, string)) *hookProxy {
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &hookProxy{hook: hook}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
		pr.Out.Host = pr.In.Host // the signed Host
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.RequestURI())
		hook := p.hook
		p.mu.Unlock()
		if hook != nil {
			if status, code := hook(r); status != 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>injected by the test</Message></Error>`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// isPartCopy reports whether r is an UploadPartCopy, and of which part.
func isPartCopy(r *http.Request) (int, bool) {
	if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") == "" || r.URL.Query().Get("uploadId") == "" {
		return 0, false
	}
	n := 0
	for _, c := range r.URL.Query().Get("partNumber") {
		n = n*10 + int(c-'0')
	}
	return n, true
}

// isCreate reports whether r is a CreateMultipartUpload.
func isCreate(r *http.Request) bool {
	_, ok := r.URL.Query()["uploads"]
	return r.Method == http.MethodPost && ok
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// etagOf returns an object's ETag without its quotes.
func etagOf(t testing.TB, cl *s3.Client, bucket, key string) string {
	t.Helper()
	h, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(aws.ToString(h.ETag), `"`)
}
