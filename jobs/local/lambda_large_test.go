package local

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const (
	largeARN  = "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy"
	testPart  = largecopy.MinPartSize // versitygw takes no smaller part but the last
	slowDown  = "SlowDown (HTTP 503): Please reduce your request rate."
	notCopied = "; Batch Operations retries the task"
)

func largeOp(version string, args map[string]string) types.JobOperation {
	return types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(largeARN),
		InvocationSchemaVersion: aws.String(version), UserArguments: args}}
}

// seeded returns n bytes of noise.
func seeded(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// uploadManifest writes the manifest of keys (in bucket) under key and
// returns its ETag.
func uploadManifest(t *testing.T, oc *objio.Client, bucket, key string, keys []string) string {
	t.Helper()
	var man []byte
	for _, k := range keys {
		man = manifest.AppendRow(man, []byte(bucket), []byte(k), nil, false)
	}
	up, err := oc.Upload(context.Background(), "s3://"+bucket+"/"+key, bytes.NewReader(man), int64(len(man)), objio.UploadOptions{SinglePart: true})
	if err != nil {
		t.Fatal(err)
	}
	return up.ETag
}

// rawReport returns the completion report's CSV lines of job id under
// reportLoc, sorted, as the files hold them (quoting included).
func rawReport(t *testing.T, oc *objio.Client, reportLoc, id string) []string {
	t.Helper()
	ctx := context.Background()
	files, err := oc.List(ctx, objio.Join(reportLoc, "job-"+id+"/results")+"/")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range files {
		raw, err := oc.ReadAll(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")...)
	}
	slices.Sort(lines)
	return lines
}

func headETag(t *testing.T, cl *s3.Client, bucket, key string) string {
	t.Helper()
	h, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("HEAD s3://%s/%s: %v", bucket, key, err)
	}
	return aws.ToString(h.ETag)
}

// csvField quotes a field as the report writer does (RFC 4180).
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// TestLargeCopyInProcess runs LambdaInvoke jobs naming
// s3batchkit-large-copy against versitygw with no Lambda URL: the
// engine runs the function's handler itself. Objects of one part and of
// many (5 MiB test parts) are copied; a missing source fails
// PermanentFailure; a part failing (503 SlowDown through s3fault, past
// the client's and the function's own attempts) fails the invocation
// with TemporaryFailure, which the engine retries, and the retry resumes
// the upload; a task failing every attempt is reported
// failed,200,TemporaryFailure. Schema 1.0 events take the engine's
// Arguments; an argument of a wrong name fails every task, naming it. The
// report rows are compared byte for byte with what AWS writes for Lambda
// jobs.
func TestLargeCopyInProcess(t *testing.T) {
	oc, src := objiotest.Setup(t)
	_, dst := objiotest.Setup(t)
	cfg := oc.Config()
	ctx := context.Background()
	direct, err := oc.S3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{
		"one part.bin":          seeded(1000, 1),
		"many/parts+€ x.bin":    seeded(3*testPart+12345, 2),
		"flaky.bin":             seeded(2*testPart+7, 3),
		"stuck.bin":             seeded(10, 4),
		"v1/schema one.bin":     seeded(99, 5),
		"typo/arguments.bin":    seeded(5, 6),
		"exactly one part.data": seeded(testPart, 7),
	}
	for k, b := range objects {
		if _, err := oc.Upload(ctx, "s3://"+src+"/"+k, bytes.NewReader(b), int64(len(b)), objio.UploadOptions{SinglePart: true}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { abortUploads(t, direct, dst) })

	// Part 2 of flaky.bin fails its first 3 requests (the function's
	// own attempts, with one client attempt each); every part of
	// stuck.bin fails.
	var mu sync.Mutex
	flakyFaults := 0
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.SlowDown}, Seed: 1,
		Match: func(r *http.Request) bool {
			if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") == "" || !r.URL.Query().Has("uploadId") {
				return false
			}
			switch {
			case strings.HasSuffix(r.URL.Path, "/stuck.bin"):
				return true
			case strings.HasSuffix(r.URL.Path, "/flaky.bin") && r.URL.Query().Get("partNumber") == "2":
				mu.Lock()
				defer mu.Unlock()
				flakyFaults++
				return flakyFaults <= 3
			}
			return false
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	pcfg := cfg
	pcfg.EndpointURL, pcfg.RetryMaxAttempts = p.URL, 1
	st, err := NewS3Storage(ctx, objio.New(pcfg), 4)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrency 1: parts in order, so that the retry of flaky.bin
	// resumes exactly part 1.
	e := newTestEngine(t, Options{IO: oc, Storage: st, TaskAttempts: 3, Workers: 4,
		LargeCopy: LargeCopyOptions{PartSize: testPart, Concurrency: 1, Arguments: map[string]string{"TargetResource": "arn:aws:s3:::" + dst, "TargetKeyPrefix": "v1-copies"}}})

	run := func(token string, keys []string, op types.JobOperation) (*types.JobDescriptor, []string) {
		t.Helper()
		etag := uploadManifest(t, oc, src, "manifests/"+token+".csv", keys)
		in := createInput(token, token+".csv", etag, op)
		in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + src + "/manifests/" + token + ".csv")
		in.Report.Bucket = aws.String("arn:aws:s3:::" + src)
		id, err := e.CreateJob(ctx, testAccount, in)
		if err != nil {
			t.Fatal(err)
		}
		d := waitStatus(t, e, id)
		return d, rawReport(t, oc, "s3://"+src+"/runs/r1", id)
	}
	enc := func(k string) string { return string(manifest.AppendEncoded(nil, []byte(k))) }
	copied := func(key string, parts int, resumed int) string {
		dk := "big/" + key
		n := len(objects[key])
		word := "parts"
		if parts == 1 {
			word = "part"
		}
		msg := fmt.Sprintf("Copied to s3://%s/%s: %d bytes in %d %s of %d bytes (%d resumed), ETag %s", dst, dk, n, parts, word, testPart, resumed, headETag(t, direct, dst, dk))
		return src + "," + csvField(enc(key)) + ",,succeeded,200,," + csvField(msg)
	}
	failedRow := func(key, code, msg string) string {
		return src + "," + csvField(enc(key)) + ",,failed,200," + code + "," + csvField(msg)
	}

	retries0 := e.TaskRetries()
	keys := []string{"one part.bin", "exactly one part.data", "many/parts+€ x.bin", "missing.bin", "flaky.bin", "stuck.bin"}
	d, rows := run("large", keys, largeOp("2.0", map[string]string{"TargetResource": "arn:aws:s3:::" + dst, "TargetKeyPrefix": "big"}))
	if d.Status != types.JobStatusComplete || aws.ToInt64(d.ProgressSummary.NumberOfTasksSucceeded) != 4 || aws.ToInt64(d.ProgressSummary.NumberOfTasksFailed) != 2 {
		t.Fatalf("job %s %+v %+v", d.Status, d.ProgressSummary, d.FailureReasons)
	}
	// flaky.bin once, stuck.bin on each of its attempts but the last.
	if got := e.TaskRetries() - retries0; got != 1+2 {
		t.Errorf("%d task retries, want 3 (flaky.bin 1, stuck.bin 2)", got)
	}
	prefix := func(key string) string {
		return fmt.Sprintf("copy of s3://%s/%s to s3://%s/big/%s failed: ", src, key, dst, key)
	}
	want := []string{
		copied("one part.bin", 1, 0),
		copied("exactly one part.data", 1, 0),
		copied("many/parts+€ x.bin", 4, 0),
		copied("flaky.bin", 3, 1),
		failedRow("missing.bin", "PermanentFailure", prefix("missing.bin")+"reading the source (HeadObject): NoSuchKey (HTTP 404) — the source object does not exist (deleted since the manifest was written?)"),
		failedRow("stuck.bin", "TemporaryFailure", prefix("stuck.bin")+"copying parts (UploadPartCopy): "+slowDown+" (0 of 1 parts copied)"+notCopied),
	}
	slices.Sort(want)
	if !slices.Equal(rows, want) {
		t.Errorf("report rows\n got %q\nwant %q", rows, want)
	}
	for _, k := range []string{"one part.bin", "exactly one part.data", "many/parts+€ x.bin", "flaky.bin"} {
		got, err := oc.ReadAll(ctx, "s3://"+dst+"/big/"+k)
		if err != nil || !bytes.Equal(got, objects[k]) {
			t.Errorf("copy of %q: %d bytes, %v; want the source's %d", k, len(got), err, len(objects[k]))
		}
	}
	// Only stuck.bin's upload (and its companion) is left, for a later
	// attempt to resume, as on AWS (a lifecycle rule removes it).
	left := map[string]bool{}
	for _, u := range uploads(t, direct, dst) {
		left[strings.SplitN(aws.ToString(u.Key), "/", 2)[1]] = true
	}
	if len(left) != 2 || !left["stuck.bin"] {
		t.Errorf("uploads left in the destination: %v; want stuck.bin's and its companion", left)
	}

	// Schema 1.0: the arguments are the engine's (the deployed
	// function's environment); the bucket comes as an ARN.
	d, rows = run("schema1", []string{"v1/schema one.bin"}, largeOp("1.0", nil))
	h := headETag(t, direct, dst, "v1-copies/v1/schema one.bin")
	wantRow := src + "," + enc("v1/schema one.bin") + ",,succeeded,200,," + csvField(fmt.Sprintf("Copied to s3://%s/v1-copies/v1/schema one.bin: 99 bytes in 1 part of %d bytes (0 resumed), ETag %s", dst, testPart, h))
	if d.Status != types.JobStatusComplete || len(rows) != 1 || rows[0] != wantRow {
		t.Errorf("schema 1.0 job %s, rows %q; want %q", d.Status, rows, wantRow)
	}

	// A misspelt argument: every task fails, naming it; nothing copied.
	d, rows = run("typo", []string{"typo/arguments.bin"}, largeOp("2.0", map[string]string{"TargetResource": "arn:aws:s3:::" + dst, "TargetKeyPrefx": "big"}))
	if d.Status != types.JobStatusComplete || len(rows) != 1 || !strings.HasPrefix(rows[0], src+",typo/arguments.bin,,failed,200,PermanentFailure,") || !strings.Contains(rows[0], "TargetKeyPrefx") {
		t.Errorf("job with a misspelt argument: %s, rows %q", d.Status, rows)
	}
	if _, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &dst, Key: aws.String("typo/arguments.bin")}); err == nil {
		t.Error("typo/arguments.bin was copied despite the misspelt argument")
	}
}

func uploads(t *testing.T, cl *s3.Client, bucket string) []s3types.MultipartUpload {
	t.Helper()
	out, err := cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("listing the uploads of %s: %v", bucket, err)
	}
	return out.Uploads
}

// abortUploads aborts what a test left in bucket, so that it can be
// removed.
func abortUploads(t *testing.T, cl *s3.Client, bucket string) {
	for _, u := range uploads(t, cl, bucket) {
		cl.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
	}
}

// TestLargeCopyCreateJob: a LambdaInvoke naming s3batchkit-large-copy
// (any account, region, version or alias) needs no Lambda URL on an S3
// store; a directory of buckets refuses it at CreateJob, saying why and
// what to use; another function still needs the URL.
func TestLargeCopyCreateJob(t *testing.T) {
	env := newDirEnv(t, "src", "manifests", "reports")
	mkey, etag := env.manifestOf("m.csv", "src", []string{"a"})
	s3Engine := newTestEngine(t, Options{Storage: &S3Storage{Client: s3.New(s3.Options{Region: "us-east-1"})}, Hold: true})
	dirEngine := newTestEngine(t, Options{Storage: env.st})
	urlEngine := newTestEngine(t, Options{Storage: env.st, LambdaURL: "http://127.0.0.1:1/invoke"})
	// A program that names the settings its own way (serve and run: flags).
	flags := map[string]string{"S3Storage": "--endpoint-url", "DirStorage": "--local-root", "LambdaURL": "--lambda-url"}
	namedEngine := newTestEngine(t, Options{Storage: env.st, OptionName: func(o string) string { return flags[o] }})
	args := map[string]string{"TargetResource": "arn:aws:s3:::dst"}
	for _, tc := range []struct {
		name    string
		e       *Engine
		arn     string
		wantErr string
	}{
		{"s3 store", s3Engine, largeARN, ""},
		{"s3 store, version", s3Engine, "arn:aws:lambda:eu-west-3:210987654321:function:s3batchkit-large-copy:7", ""},
		{"s3 store, alias", s3Engine, "arn:aws-cn:lambda:cn-north-1:210987654321:function:s3batchkit-large-copy:live", ""},
		{"s3 store, another function", s3Engine, "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy-v2", "needs the engine's Lambda URL"},
		{"directory", dirEngine, largeARN, "only an S3-compatible store can do: run the engine against an S3 endpoint (S3Storage)"},
		{"directory with a Lambda URL", urlEngine, largeARN, "not a directory of buckets (DirStorage)"},
		{"directory, settings named", namedEngine, largeARN, "run the engine against an S3 endpoint (--endpoint-url), not a directory of buckets (--local-root)"},
		{"directory, another function, settings named", namedEngine, "arn:aws:lambda:us-east-1:123456789012:function:other", "needs the engine's Lambda URL (--lambda-url)"},
		{"directory, another function with a URL", urlEngine, "arn:aws:lambda:us-east-1:123456789012:function:other", ""},
	} {
		op := types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(tc.arn), InvocationSchemaVersion: aws.String("2.0"), UserArguments: args}}
		err := tc.e.validate(testAccount, createInput("t", mkey, etag, op))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v; want an error saying %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := New(Options{StateDir: t.TempDir(), Storage: env.st, LargeCopy: LargeCopyOptions{PartSize: 1 << 20}}); err == nil || !strings.Contains(err.Error(), "PartSize") {
		t.Errorf("New with a 1 MiB part size: %v", err)
	}
}

// TestLargeCopyPartsBounded: Workers tasks of Concurrency parts each
// would be 12 UploadPartCopy requests at once; the engine has at most
// max(Workers, Concurrency) = 4 in flight. Counted at a proxy in front of
// versitygw that holds each part copy 100 ms.
func TestLargeCopyPartsBounded(t *testing.T) {
	oc, src := objiotest.Setup(t)
	cfg := oc.Config()
	ctx := context.Background()
	keys := []string{"a", "b", "c", "d"}
	for i, k := range keys {
		b := seeded(2*testPart+1, byte(i)) // 3 parts
		if _, err := oc.Upload(ctx, "s3://"+src+"/"+k, bytes.NewReader(b), int64(len(b)), objio.UploadOptions{SinglePart: true}); err != nil {
			t.Fatal(err)
		}
	}
	up, err := url.Parse(cfg.EndpointURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
		pr.Out.Host = pr.In.Host
	}}
	var inFlight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && r.URL.Query().Has("uploadId") {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(100 * time.Millisecond)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	pcfg := cfg
	pcfg.EndpointURL = srv.URL
	st, err := NewS3Storage(ctx, objio.New(pcfg), 4)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, Options{IO: oc, Storage: st, Workers: 4, LargeCopy: LargeCopyOptions{PartSize: testPart, Concurrency: 3}})
	etag := uploadManifest(t, oc, src, "manifests/m.csv", keys)
	in := createInput("bounded", "m.csv", etag, largeOp("2.0", map[string]string{"TargetResource": "arn:aws:s3:::" + src, "TargetKeyPrefix": "copies"}))
	in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + src + "/manifests/m.csv")
	in.Report.Bucket = aws.String("arn:aws:s3:::" + src)
	id, err := e.CreateJob(ctx, testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || aws.ToInt64(d.ProgressSummary.NumberOfTasksSucceeded) != int64(len(keys)) {
		t.Fatalf("job %s %+v", d.Status, d.ProgressSummary)
	}
	t.Logf("at most %d part copies in flight", most.Load())
	if m := most.Load(); m > 4 || m < 2 {
		t.Errorf("%d part copies in flight at most; want 2 to 4 (4 workers × 3 parts, capped at 4)", m)
	}
}
