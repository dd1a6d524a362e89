package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// The large route rehearsed on versitygw: a generated inventory whose
// plan routes objects over 5 GiB to `large`, small stand-ins of those
// objects put in the source bucket, the route run by the local engine,
// which runs s3batchkit-large-copy in process with 5 MiB test parts
// (S3BATCHKIT_PART_SIZE, as the deployed function reads it).

const (
	testPartSize = largecopy.MinPartSize
	largeFuncARN = "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy"
)

// Roles of the large route's first objects; the others are copied in
// one part.
const (
	roleOnePart   = iota // 1,000 bytes: one part
	roleManyParts        // 4 parts
	roleFlaky            // 3 parts; part 2 fails its first 3 requests: TemporaryFailure, retried, resumed
	roleMissing          // not put: PermanentFailure
	roleStuck            // every part fails: TemporaryFailure on every attempt, reported
	numRoles
)

// largeRehearsal is one rehearsal's setup.
type largeRehearsal struct {
	oc       *objio.Client // the test server's
	src, dst string
	plan     string
	rows     []manifest.Row // the large route's, in order
	data     map[string][]byte
	proxy    *s3fault.Proxy
}

// newLargeRehearsal generates and plans an inventory of a new source
// bucket, puts the stand-ins, and points the CLI at a fault proxy in front
// of the test server that fails the parts the roles say (503 SlowDown).
func newLargeRehearsal(t *testing.T) *largeRehearsal {
	t.Helper()
	oc, src := objiotest.Setup(t)
	_, dst := objiotest.Setup(t)
	r := &largeRehearsal{oc: oc, src: src, dst: dst, data: map[string][]byte{}}
	dir := t.TempDir()
	// Seed 4 of 5,000 rows puts 5 objects over 5 GiB in STANDARD-like
	// classes: the large route.
	if code, _, stderr := s3bk(t, "gen", "--rows", "5000", "--files", "1", "--seed", "4", "--bucket", r.src, "--out", filepath.Join(dir, "inv")); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	r.plan = filepath.Join(dir, "plan")
	if code, _, stderr := s3bk(t, "plan", "--inventory", filepath.Join(dir, "inv", "manifest.json"), "--out", r.plan, "--min-objects", "0", "--quiet"); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	p, err := manifest.ReadPlan(context.Background(), oc, r.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range p.Shards {
		if sh.Route != "large" {
			continue
		}
		f, err := os.Open(filepath.Join(r.plan, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			row, err := manifest.ParseRow(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			row.Bucket, row.Key = strings.Clone(row.Bucket), strings.Clone(row.Key)
			r.rows = append(r.rows, row)
		}
		f.Close()
	}
	if len(r.rows) < numRoles {
		t.Fatalf("the plan's large route has %d objects, the test needs %d: pick another gen seed", len(r.rows), numRoles)
	}
	ctx := context.Background()
	for i, row := range r.rows {
		var n int
		switch i {
		case roleOnePart:
			n = 1000
		case roleManyParts:
			n = 3*testPartSize + 77
		case roleFlaky:
			n = 2*testPartSize + 5
		case roleMissing:
			continue
		case roleStuck:
			n = 10
		default:
			n = 100 + i
		}
		b := bytes.Repeat([]byte(strconv.Itoa(i)+row.Key), n/(len(row.Key)+1)+1)[:n]
		r.data[row.Key] = b
		if _, err := oc.Upload(ctx, "s3://"+r.src+"/"+row.Key, bytes.NewReader(b), int64(n), objio.UploadOptions{SinglePart: true}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { abortAll(t, oc, r.dst) })

	var mu sync.Mutex
	flaky := 0
	r.proxy = faultProxy(t, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.SlowDown}, Seed: 5,
		Match: func(q *http.Request) bool {
			if q.Method != http.MethodPut || q.Header.Get("X-Amz-Copy-Source") == "" || !q.URL.Query().Has("uploadId") {
				return false
			}
			switch {
			case strings.HasSuffix(q.URL.Path, "/"+r.rows[roleStuck].Key):
				return true
			case strings.HasSuffix(q.URL.Path, "/"+r.rows[roleFlaky].Key) && q.URL.Query().Get("partNumber") == "2":
				mu.Lock()
				defer mu.Unlock()
				flaky++
				return flaky <= 3
			}
			return false
		}})
	t.Setenv(largecopy.EnvPartSize, strconv.Itoa(testPartSize))
	// Parts in order: the retry of the flaky object resumes exactly
	// part 1.
	t.Setenv(largecopy.EnvConcurrency, "1")
	return r
}

// operation is the large route's LambdaInvoke.
func (r *largeRehearsal) operation() string {
	return `{"LambdaInvoke": {"FunctionArn": "` + largeFuncARN + `", "InvocationSchemaVersion": "2.0",
		"UserArguments": {"TargetResource": "arn:aws:s3:::` + r.dst + `", "TargetKeyPrefix": "big"}}}`
}

// check checks the copies and the job's report rows under reportLoc
// (byte for byte as AWS writes them for Lambda jobs), then that `report
// --plan` classes the failures: the missing source permanent, the stuck
// one retryable, each in its re-run plan.
func (r *largeRehearsal) check(t *testing.T, reportLoc string) {
	t.Helper()
	oc := r.oc
	ctx := context.Background()
	cl, err := oc.S3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(k string) string { return string(manifest.AppendEncoded(nil, []byte(k))) }
	prefix := func(k string) string {
		return fmt.Sprintf("copy of s3://%s/%s to s3://%s/big/%s failed: ", r.src, k, r.dst, k)
	}
	var want []string
	for i, row := range r.rows {
		line := r.src + "," + csvQuote(enc(row.Key)) + ",,"
		switch i {
		case roleMissing:
			line += "failed,200,PermanentFailure," + csvQuote(prefix(row.Key)+"reading the source (HeadObject): NoSuchKey (HTTP 404) — the source object does not exist (deleted since the manifest was written?)")
		case roleStuck:
			line += "failed,200,TemporaryFailure," + csvQuote(prefix(row.Key)+"copying parts (UploadPartCopy): SlowDown (HTTP 503): Please reduce your request rate. (0 of 1 parts copied); Batch Operations retries the task")
		default:
			dk := "big/" + row.Key
			got, err := oc.ReadAll(ctx, "s3://"+r.dst+"/"+dk)
			if err != nil || !bytes.Equal(got, r.data[row.Key]) {
				t.Errorf("copy of %s: %d bytes, %v; want the source's %d", row.Key, len(got), err, len(r.data[row.Key]))
			}
			h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.dst, Key: &dk})
			if err != nil {
				t.Fatal(err)
			}
			n := int64(len(r.data[row.Key]))
			parts := int((n + testPartSize - 1) / testPartSize)
			word, resumed := "parts", 0
			if parts == 1 {
				word = "part"
			}
			if i == roleFlaky {
				resumed = 1
			}
			line += "succeeded,200,," + csvQuote(fmt.Sprintf("Copied to s3://%s/%s: %d bytes in %d %s of %d bytes (%d resumed), ETag %s", r.dst, dk, n, parts, word, testPartSize, resumed, aws.ToString(h.ETag)))
		}
		want = append(want, line)
	}
	slices.Sort(want)
	files, err := oc.List(ctx, reportLoc+"/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		if !strings.Contains(f.Name, "/results/") {
			continue
		}
		raw, err := oc.ReadAll(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("report rows\n got %q\nwant %q", got, want)
	}
	// The destination shows the copies only: no companion upload, no
	// half copy.
	if all, err := oc.List(ctx, "s3://"+r.dst+"/"); err != nil || len(all) != len(r.rows)-2 {
		t.Errorf("the destination holds %d objects, want %d: %v", len(all), len(r.rows)-2, err)
	}

	out := t.TempDir()
	code, stdout, stderr := s3bk(t, "report", "--plan", r.plan, "--out", out)
	if code != 0 {
		t.Fatalf("report --plan: %d\n%s\n%s", code, stdout, stderr)
	}
	s := readSummary(t, out)
	n := int64(len(r.rows))
	if s.Tasks.Total != n || s.Tasks.Failed != 2 || s.ByClass["permanent"] != 1 || s.ByClass["retryable"] != 1 {
		t.Errorf("summary: tasks %+v, by class %v; want %d tasks, 2 failed: 1 permanent, 1 retryable", s.Tasks, s.ByClass, n)
	}
	if p := s.Plan; p == nil || p.Succeeded != n-2 || p.Failed != 2 || p.FailedByClass["permanent"] != 1 || p.FailedByClass["retryable"] != 1 {
		t.Errorf("plan summary %+v", s.Plan)
	}
	for class, role := range map[string]int{"permanent": roleMissing, "retryable": roleStuck} {
		lines := planLines(t, filepath.Join(out, "rerun", class))
		if want := r.src + "," + enc(r.rows[role].Key); len(lines) != 1 || lines[0] != want {
			t.Errorf("rerun/%s: %q, want %q", class, lines, want)
		}
	}
}

// csvQuote quotes a field as the report writer does (RFC 4180).
func csvQuote(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// abortAll aborts the multipart uploads left in bucket (the stuck
// object's, kept for a later attempt as on AWS), so it can be removed.
func abortAll(t *testing.T, oc *objio.Client, bucket string) {
	ctx := context.Background()
	cl, err := oc.S3(ctx)
	if err != nil {
		return
	}
	out, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		return
	}
	for _, u := range out.Uploads {
		cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
	}
}

// TestRunLargeRoute: plan → run --routes large on versitygw, the
// function in process, no --lambda-url.
func TestRunLargeRoute(t *testing.T) {
	r := newLargeRehearsal(t)
	code, stdout, stderr := s3bk(t, "--max-attempts", "1", "run", "--plan", r.plan, "--routes", "large", "--operation", r.operation(),
		"--report", "s3://"+r.src+"/reports", "--task-attempts", "2", "--workers", "4")
	want := fmt.Sprintf("%d/%d tasks, 2 failed", len(r.rows), len(r.rows))
	if code != 0 || !strings.Contains(stdout, "Complete") || !strings.Contains(stdout, want) || !strings.Contains(stdout, "2 task attempts retried") {
		t.Fatalf("run --routes large: exit %d, want 0, %q and 2 task retries (the flaky object's and the stuck one's)\n%s\n%s", code, want, stdout, stderr)
	}
	r.check(t, "s3://"+r.src+"/reports")

	// A directory of buckets cannot copy in parts: refused up front.
	fresh := filepath.Join(t.TempDir(), "plan")
	copyTree(t, r.plan, fresh)
	os.Remove(filepath.Join(fresh, manifest.JobsFile))
	code, _, stderr = s3bk(t, "run", "--plan", fresh, "--routes", "large", "--operation", r.operation(), "--local-root", t.TempDir(), "--report", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "only an S3-compatible store can do") {
		t.Errorf("run --routes large --local-root: exit %d\n%s", code, stderr)
	}
}

// TestServeLargeRoute: serve (run here, on a free port) against
// versitygw; `submit --routes large` creates the job, `status --watch`
// follows it to the end; the function runs in serve.
func TestServeLargeRoute(t *testing.T) {
	r := newLargeRehearsal(t)
	ctx, stop := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"s3batchkit", "--max-attempts", "1", "serve", "--listen", "127.0.0.1:0", "--state-dir", t.TempDir(),
			"--task-attempts", "2", "--workers", "4"}, &out, &errOut)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "S3 Control endpoint "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		t.Fatalf("serve did not print its endpoint:\n%s\n%s", out.String(), errOut.String())
	}
	const acct = "123456789012"
	code, stdout, stderr := s3bk(t, "submit", "--plan", r.plan, "--routes", "large", "--account-id", acct, "--role-arn", "arn:aws:iam::"+acct+":role/batch",
		"--manifest-bucket", "s3://"+r.src+"/manifests", "--operation", r.operation(), "--report-bucket", "arn:aws:s3:::"+r.src,
		"--report-prefix", "large-reports", "--control-endpoint-url", url)
	if code != 0 {
		t.Fatalf("submit --routes large: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = s3bk(t, "status", "--plan", r.plan, "--watch", "--interval", "1s", "--control-endpoint-url", url)
	if code != 0 || !strings.Contains(stdout, "Complete") {
		t.Fatalf("status --watch: %d\n%s\n%s\nserve:\n%s", code, stdout, stderr, errOut.String())
	}
	r.check(t, "s3://"+r.src+"/large-reports")
	if !strings.Contains(errOut.String(), "Complete") {
		t.Errorf("serve's log does not show the job ending:\n%s", errOut.String())
	}
}

// TestLargeCopyEnvironment: a bad setting of the in-process function is a
// usage error naming the variable, before anything runs.
func TestLargeCopyEnvironment(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, value, want string }{
		{largecopy.EnvPartSize, "1024", largecopy.EnvPartSize + `="1024"`},
		{largecopy.EnvPartSize, "256MiB", "expected a number of bytes"},
		{largecopy.EnvConcurrency, "1000", largecopy.EnvConcurrency + `="1000"`},
	} {
		t.Setenv(tc.name, tc.value)
		for _, cmd := range [][]string{
			{"run", "--plan", dir, "--local-root", dir, "--operation", `{"S3DeleteObjectTagging": {}}`},
			{"serve", "--state-dir", dir, "--local-root", dir, "--listen", "127.0.0.1:0"},
		} {
			code, _, stderr := s3bk(t, cmd...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s=%s %s: exit %d, %q; want %d and %q", tc.name, tc.value, cmd[0], code, stderr, exitUsage, tc.want)
			}
		}
		os.Unsetenv(tc.name)
	}
}
