package local

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// reportRows reads every row of a job's completion report.
func reportRows(t *testing.T, oc *objio.Client, reportLoc, id string) [][]string {
	t.Helper()
	ctx := context.Background()
	files, err := oc.List(ctx, objio.Join(reportLoc, "job-"+id+"/results")+"/")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, f := range files {
		raw, err := oc.ReadAll(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	return rows
}

func restoreOp(days int32) types.JobOperation {
	r := &types.S3InitiateRestoreObjectOperation{GlacierJobTier: types.S3GlacierJobTierBulk}
	if days > 0 {
		r.ExpirationInDays = aws.Int32(days)
	}
	return types.JobOperation{S3InitiateRestoreObject: r}
}

// TestRestoreDirectory: a directory of buckets has no archive, so a
// restore of an object that exists fails 501 NotImplemented, saying that
// nothing was restored; a missing object fails 404.
func TestRestoreDirectory(t *testing.T) {
	env := newDirEnv(t, "src", "manifests", "reports")
	env.put("src", "a", "a")
	e := newTestEngine(t, Options{Storage: env.st})
	mkey, etag := env.manifestOf("m.csv", "src", []string{"a", "missing"})
	id, err := e.CreateJob(context.Background(), testAccount, createInput("restore", mkey, etag, restoreOp(3)))
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || aws.ToInt64(d.ProgressSummary.NumberOfTasksFailed) != 2 || e.TaskRetries() != 0 {
		t.Fatalf("job %s, %d failed, %d retries; want Complete with 2 failed tasks, no retry", d.Status, aws.ToInt64(d.ProgressSummary.NumberOfTasksFailed), e.TaskRetries())
	}
	for _, r := range reportRows(t, nil, filepath.Join(env.root, "reports", "runs/r1"), id) {
		switch r[1] {
		case "a":
			if r[3] != "failed" || r[4] != "501" || r[5] != "NotImplemented" || !strings.Contains(r[6], "no archive") || !strings.Contains(r[6], "nothing was restored") {
				t.Errorf("restore of an existing file: %q", r)
			}
		case "missing":
			if r[3] != "failed" || r[4] != "404" || r[5] != "NoSuchKey" {
				t.Errorf("restore of a missing file: %q", r)
			}
		default:
			t.Errorf("row %q", r)
		}
	}
}

// TestRestoreVersitygw sends RestoreObject to the test S3 server, which
// has no archive tiers and answers 501 NotImplemented: every task fails
// with that answer, says nothing was restored, and is not retried.
func TestRestoreVersitygw(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	if err := oc.WriteFileAtomic(ctx, "s3://"+bucket+"/data/a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	var man []byte
	for _, k := range []string{"data/a", "data/missing"} {
		man = manifest.AppendRow(man, []byte(bucket), []byte(k), nil, false)
	}
	up, err := oc.Upload(ctx, "s3://"+bucket+"/manifests/m.csv", strings.NewReader(string(man)), int64(len(man)), objio.UploadOptions{SinglePart: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewS3Storage(ctx, oc, 4)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, Options{IO: oc, Storage: st})
	in := createInput("restore", "m.csv", up.ETag, restoreOp(2))
	in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + bucket + "/manifests/m.csv")
	in.Report.Bucket = aws.String("arn:aws:s3:::" + bucket)
	id, err := e.CreateJob(ctx, testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || e.TaskRetries() != 0 {
		t.Fatalf("job %s %+v, %d retries", d.Status, d.FailureReasons, e.TaskRetries())
	}
	rows := reportRows(t, oc, "s3://"+bucket+"/runs/r1", id)
	if len(rows) != 2 {
		t.Fatalf("%d report rows, want 2", len(rows))
	}
	for _, r := range rows {
		if r[3] != "failed" || r[4] != "501" || r[5] != "NotImplemented" || !strings.Contains(r[6], "does not implement RestoreObject") {
			t.Errorf("row %q: want failed, 501 NotImplemented, saying the store has no archive", r)
		}
	}
}

// stubS3 answers RestoreObject and CopyObject as AWS S3 does in cases the
// test S3 server cannot produce (it has no archive and no object ACLs),
// and records the requests' headers.
type stubS3 struct {
	mu      sync.Mutex
	headers []http.Header
	restore map[string]int // key → status of the RestoreObject answer
}

func (s *stubS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	io.Copy(io.Discard, r.Body)
	key := strings.TrimPrefix(r.URL.Path, "/b/")
	switch {
	case r.Method == http.MethodPost && r.URL.Query().Has("restore"):
		switch s.restore[key] {
		case 409:
			w.WriteHeader(409)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>RestoreAlreadyInProgress</Code><Message>Object restore is already in progress</Message></Error>`)
		case 403:
			w.WriteHeader(403)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidObjectState</Code><Message>Restore is not allowed for the object's current storage class</Message></Error>`)
		default:
			w.WriteHeader(202)
		}
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>`)
	default:
		w.WriteHeader(400)
	}
}

func stubStorage(t *testing.T, h http.Handler) *S3Storage {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	return &S3Storage{Client: cl}
}

// TestRestoreAnswers: RestoreAlreadyInProgress is a success, as Batch
// Operations reports it; InvalidObjectState (an object that is not
// archived) a permanent failure; an accepted restore a success. The
// request carries the days and the tier.
func TestRestoreAnswers(t *testing.T) {
	stub := &stubS3{restore: map[string]int{"busy": 409, "plain": 403}}
	st := stubStorage(t, stub)
	ctx := context.Background()
	for _, tc := range []struct {
		key      string
		wantErr  string
		wantMsg  string
		retrying bool
	}{
		{"cold", "", "", false},
		{"busy", "", "already in progress", false},
		{"plain", "InvalidObjectState", "", false},
	} {
		msg, err := st.Restore(ctx, ObjectRef{Bucket: "b", Key: tc.key}, aws.Int32(5), types.S3GlacierJobTierBulk)
		var te *TaskError
		switch {
		case tc.wantErr == "" && (err != nil || !strings.Contains(msg, tc.wantMsg)):
			t.Errorf("%s: %q, %v; want a success saying %q", tc.key, msg, err, tc.wantMsg)
		case tc.wantErr != "" && (!errors.As(err, &te) || te.Code != tc.wantErr || te.HTTPStatus != 403 || te.Retryable):
			t.Errorf("%s: %v; want a permanent %s", tc.key, err, tc.wantErr)
		}
	}
}

// TestCopyGrants: AccessControlGrants are sent as the x-amz-grant-*
// headers of the copy.
func TestCopyGrants(t *testing.T) {
	stub := &stubS3{}
	st := stubStorage(t, stub)
	op := &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::b"), AccessControlGrants: []types.S3Grant{
		{Grantee: &types.S3Grantee{TypeIdentifier: types.S3GranteeTypeIdentifierCanonical, Identifier: aws.String("abc123")}, Permission: types.S3PermissionRead},
		{Grantee: &types.S3Grantee{TypeIdentifier: types.S3GranteeTypeIdentifierEmailAddress, Identifier: aws.String("x@example.com")}, Permission: types.S3PermissionRead},
		{Grantee: &types.S3Grantee{TypeIdentifier: types.S3GranteeTypeIdentifierGroup, Identifier: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")}, Permission: types.S3PermissionReadAcp},
	}}
	if err := st.Copy(context.Background(), ObjectRef{Bucket: "b", Key: "src"}, "b", "dst", op); err != nil {
		t.Fatal(err)
	}
	h := stub.headers[len(stub.headers)-1]
	if got := h.Get("X-Amz-Grant-Read"); got != `id="abc123", emailAddress="x@example.com"` {
		t.Errorf("x-amz-grant-read %q", got)
	}
	if got := h.Get("X-Amz-Grant-Read-Acp"); got != `uri="http://acs.amazonaws.com/groups/global/AllUsers"` {
		t.Errorf("x-amz-grant-read-acp %q", got)
	}
}

// TestCreateJobRefusesWhatItWouldIgnore: requests the engine would accept
// and then not carry out are refused at CreateJob, naming the field.
func TestCreateJobRefusesWhatItWouldIgnore(t *testing.T) {
	env := newDirEnv(t, "src", "dst", "manifests", "reports")
	env.put("src", "a", "a")
	mkey, etag := env.manifestOf("m.csv", "src", []string{"a"})
	dirEngine := newTestEngine(t, Options{Storage: env.st})
	s3Engine := newTestEngine(t, Options{Storage: &S3Storage{}})
	copyWith := func(f func(c *types.S3CopyObjectOperation)) types.JobOperation {
		op := copyOp("dst", "")
		f(op.S3PutObjectCopy)
		return op
	}
	grant := func(p types.S3Permission) []types.S3Grant {
		return []types.S3Grant{{Grantee: &types.S3Grantee{TypeIdentifier: types.S3GranteeTypeIdentifierCanonical, Identifier: aws.String("x")}, Permission: p}}
	}
	for _, tc := range []struct {
		name    string
		e       *Engine
		op      types.JobOperation
		edit    func(in *manifestEdit)
		wantErr string // "" : accepted
	}{
		{"dir storage class", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) { c.StorageClass = types.S3StorageClassGlacier }), nil, "StorageClass GLACIER"},
		{"dir standard class", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) { c.StorageClass = types.S3StorageClassStandard }), nil, ""},
		{"dir canned acl", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.CannedAccessControlList = types.S3CannedAccessControlListPrivate
		}), nil, "ACLs"},
		{"dir kms", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.SSEAwsKmsKeyId = aws.String("arn:aws:kms:us-east-1:123456789012:key/k")
		}), nil, "encryption"},
		{"dir metadata", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.MetadataDirective, c.NewObjectMetadata = types.S3MetadataDirectiveReplace, &types.S3ObjectMetadata{ContentType: aws.String("text/plain")}
		}), nil, "NewObjectMetadata"},
		{"dir lock", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.ObjectLockLegalHoldStatus = types.S3ObjectLockLegalHoldStatusOn
		}), nil, "object locks"},
		{"dir since", dirEngine, copyWith(func(c *types.S3CopyObjectOperation) { c.ModifiedSinceConstraint = aws.Time(time.Unix(0, 0)) }), nil, ""},
		{"s3 metadata without replace", s3Engine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.NewObjectMetadata = &types.S3ObjectMetadata{ContentType: aws.String("x")}
		}), nil, "MetadataDirective REPLACE"},
		{"s3 content length", s3Engine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.MetadataDirective, c.NewObjectMetadata = types.S3MetadataDirectiveReplace, &types.S3ObjectMetadata{ContentLength: aws.Int64(3)}
		}), nil, "ContentLength"},
		{"s3 write grant", s3Engine, copyWith(func(c *types.S3CopyObjectOperation) { c.AccessControlGrants = grant(types.S3PermissionWrite) }), nil, "cannot be granted"},
		{"s3 grants and canned", s3Engine, copyWith(func(c *types.S3CopyObjectOperation) {
			c.AccessControlGrants, c.CannedAccessControlList = grant(types.S3PermissionRead), types.S3CannedAccessControlListPrivate
		}), nil, "exclude each other"},
		{"s3 read grant", s3Engine, copyWith(func(c *types.S3CopyObjectOperation) { c.AccessControlGrants = grant(types.S3PermissionRead) }), nil, ""},
		{"composite checksum", dirEngine, types.JobOperation{S3ComputeObjectChecksum: &types.S3ComputeObjectChecksumOperation{
			ChecksumAlgorithm: types.ComputeObjectChecksumAlgorithmCrc32, ChecksumType: types.ComputeObjectChecksumTypeComposite}}, nil, "COMPOSITE"},
		{"manifest version", dirEngine, copyOp("dst", ""), func(m *manifestEdit) { m.versionID = aws.String("v1") }, "ObjectVersionId"},
		{"manifest fields", dirEngine, copyOp("dst", ""), func(m *manifestEdit) { m.fields = []types.JobManifestFieldName{"Ignore", "Key"} }, "Spec.Fields"},
		{"bucket owner", dirEngine, copyOp("dst", ""), func(m *manifestEdit) { m.owner = aws.String("123456789012") }, "ExpectedBucketOwner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := createInput("t-"+strings.ReplaceAll(tc.name, " ", "-"), mkey, etag, tc.op)
			if tc.edit != nil {
				m := &manifestEdit{}
				tc.edit(m)
				in.Manifest.Location.ObjectVersionId = m.versionID
				if m.fields != nil {
					in.Manifest.Spec.Fields = m.fields
				}
				in.Report.ExpectedBucketOwner = m.owner
			}
			_, err := tc.e.CreateJob(context.Background(), testAccount, in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (!errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v; want BadRequest saying %q", err, tc.wantErr)
			}
		})
	}
}

type manifestEdit struct {
	versionID *string
	fields    []types.JobManifestFieldName
	owner     *string
}

// TestTransportErrorsAreHonest copies through a proxy that cuts every
// CopyObject answer after its 200 status line: each task fails with HTTP
// status 0 and code RequestTimeout, with the transport error as its
// message, and is retried as a transient failure.
func TestTransportErrorsAreHonest(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	cfg := oc.Config()
	ctx := context.Background()
	keys := []string{"a", "b", "c"}
	var man []byte
	for _, k := range keys {
		if err := oc.WriteFileAtomic(ctx, "s3://"+bucket+"/src/"+k, []byte(k)); err != nil {
			t.Fatal(err)
		}
		man = manifest.AppendRow(man, []byte(bucket), []byte("src/"+k), nil, false)
	}
	up, err := oc.Upload(ctx, "s3://"+bucket+"/manifests/m.csv", strings.NewReader(string(man)), int64(len(man)), objio.UploadOptions{SinglePart: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.Truncate}, Seed: 1,
		Match: func(r *http.Request) bool { return r.Header.Get("X-Amz-Copy-Source") != "" }})
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
	e := newTestEngine(t, Options{IO: oc, Storage: st, TaskAttempts: 2, CopySizeCheck: CopySizeNever})
	in := createInput("cut", "m.csv", up.ETag, copyOp(bucket, "copied"))
	in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + bucket + "/manifests/m.csv")
	in.Report.Bucket = aws.String("arn:aws:s3:::" + bucket)
	id, err := e.CreateJob(ctx, testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || e.TaskRetries() != int64(len(keys)) {
		t.Fatalf("job %s, %d task retries; want Complete and one retry per task", d.Status, e.TaskRetries())
	}
	rows := reportRows(t, oc, "s3://"+bucket+"/runs/r1", id)
	if len(rows) != len(keys) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r[3] != "failed" || r[4] != "0" || r[5] != TransportErrorCode || !strings.Contains(r[6], "no usable answer") {
			t.Errorf("row %q: want failed, 0, %s", r, TransportErrorCode)
		}
	}
}

// TestDirCopyConditions: a directory checks a copy's source conditions
// against the file's modification time (412 PreconditionFailed).
func TestDirCopyConditions(t *testing.T) {
	env := newDirEnv(t, "src", "dst")
	env.put("src", "a", "a")
	ctx := context.Background()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, tc := range []struct {
		mod, unmod *time.Time
		ok         bool
	}{
		{&past, nil, true}, {&future, nil, false}, {nil, &future, true}, {nil, &past, false},
	} {
		op := &types.S3CopyObjectOperation{ModifiedSinceConstraint: tc.mod, UnModifiedSinceConstraint: tc.unmod}
		err := env.st.Copy(ctx, ObjectRef{Bucket: "src", Key: "a"}, "dst", "a", op)
		var te *TaskError
		if tc.ok != (err == nil) || (!tc.ok && (!errors.As(err, &te) || te.HTTPStatus != 412 || te.Code != "PreconditionFailed")) {
			t.Errorf("modified since %v, unmodified since %v: %v", tc.mod, tc.unmod, err)
		}
	}
}

// TestCredentialsEndTheJob runs a job whose storage signs with a wrong
// secret: the S3 server refuses every request (SignatureDoesNotMatch).
// That is the engine's problem, not the objects': the job fails with
// FailureCredentials before any task is recorded, no report is written
// (no task was invoked), nothing is retried task by task, and the engine
// keeps the error for RunPlan to end the run with.
func TestCredentialsEndTheJob(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	var man []byte
	for i := range 50 {
		k := fmt.Sprintf("data/%02d", i)
		if err := oc.WriteFileAtomic(ctx, "s3://"+bucket+"/"+k, []byte(k)); err != nil {
			t.Fatal(err)
		}
		man = manifest.AppendRow(man, []byte(bucket), []byte(k), nil, false)
	}
	up, err := oc.Upload(ctx, "s3://"+bucket+"/manifests/m.csv", strings.NewReader(string(man)), int64(len(man)), objio.UploadOptions{SinglePart: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(cfg.EndpointURL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv(objiotest.EnvAccessKey), "wrong-secret-0123456789", "")})
	e := newTestEngine(t, Options{IO: oc, Storage: &S3Storage{Client: bad, IO: oc}, Workers: 4})
	op := types.JobOperation{S3PutObjectTagging: &types.S3SetObjectTaggingOperation{TagSet: []types.S3Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
	in := createInput("creds", "m.csv", up.ETag, op)
	in.Manifest.Location.ObjectArn = aws.String("arn:aws:s3:::" + bucket + "/manifests/m.csv")
	in.Report.Bucket = aws.String("arn:aws:s3:::" + bucket)
	id, err := e.CreateJob(ctx, testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusFailed || len(d.FailureReasons) != 1 || aws.ToString(d.FailureReasons[0].FailureCode) != FailureCredentials ||
		!strings.Contains(aws.ToString(d.FailureReasons[0].FailureReason), "SignatureDoesNotMatch") {
		t.Fatalf("job %s %+v", d.Status, d.FailureReasons)
	}
	if p := d.ProgressSummary; aws.ToInt64(p.NumberOfTasksSucceeded)+aws.ToInt64(p.NumberOfTasksFailed) != 0 || e.TaskRetries() != 0 {
		t.Fatalf("tasks recorded: %+v, %d retries", p, e.TaskRetries())
	}
	if strings.Contains(aws.ToString(d.FailureReasons[0].FailureReason), "wrong-secret") {
		t.Fatal("the failure reason holds the secret")
	}
	if ok, _ := oc.Exists(ctx, "s3://"+bucket+"/runs/r1/job-"+id+"/manifest.json"); ok {
		t.Error("a report was written for a job none of whose tasks was invoked")
	}
	if err := e.CredentialsError(); !errors.Is(err, objio.ErrCredentials) {
		t.Fatalf("CredentialsError() = %v", err)
	}
}
