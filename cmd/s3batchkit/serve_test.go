package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// servedKeys are copied through the engine; "missing" is in the manifest
// but not in the bucket.
var servedKeys = []string{
	"plain.txt", "with space.txt", "plus+sign", "a+b c%20d", "ünïcödé/ключ/鍵", "new\nline.txt",
	"comma,\"quote\".csv", "emoji 🎉/x y", "deep/er/still/deeper/file.bin",
}

// writePlan writes a one-shard copy plan of keys in bucket.
func writePlan(t *testing.T, dir, bucket string, keys []string) {
	t.Helper()
	pd, err := manifest.CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pd.NewShard("copy", bucket, false)
	if err != nil {
		t.Fatal(err)
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for _, k := range sorted {
		if err := w.Add([]byte(bucket), []byte(k), nil, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := pd.Commit(context.Background(), &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}}); err != nil {
		t.Fatal(err)
	}
}

// TestServeEndToEnd: versitygw (started by .ci/run), the engine's HTTP
// server started here, `s3batchkit submit` creating the job through the
// real SDK, the objects really copied and tagged under exactly the right
// keys, the report written to the report bucket and read back by
// `s3batchkit report`; then a checksum job created with the SDK.
func TestServeEndToEnd(t *testing.T) {
	cfg := objiotest.Config(t)
	oc, src := objiotest.Setup(t)
	_, dst := objiotest.Setup(t)
	_, reports := objiotest.Setup(t)
	_, mbucket := objiotest.Setup(t)
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(objiotest.EnvAccessKey))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(objiotest.EnvSecretKey))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", cfg.EndpointURL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	for _, k := range servedKeys {
		data := []byte("data of " + k)
		if _, err := oc.Upload(ctx, "s3://"+src+"/"+k, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	plan := t.TempDir()
	writePlan(t, plan, src, append(append([]string{}, servedKeys...), "missing"))

	st, err := local.NewS3Storage(ctx, oc, 8)
	if err != nil {
		t.Fatal(err)
	}
	e, err := local.New(local.Options{StateDir: t.TempDir(), Storage: st, Workers: 8, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// As serve does by default: requests are signed with the credentials
	// it runs with.
	acfg, err := oc.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.Handler(local.APIOptions{Credentials: local.ProviderCredentials(acfg.Credentials)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	const acct = "123456789012"
	op := `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::` + dst + `", "TargetKeyPrefix": "copied",
		"NewObjectTagging": [{"Key": "origin", "Value": "batch run"}], "MetadataDirective": "COPY"}}`
	code, stdout, stderr := s3bk(t, "submit", "--plan", plan, "--account-id", acct, "--role-arn", "arn:aws:iam::"+acct+":role/batch",
		"--manifest-bucket", "s3://"+mbucket+"/manifests", "--operation", op, "--report-bucket", "arn:aws:s3:::"+reports,
		"--report-prefix", "batch/reports", "--control-endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("submit: %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := manifest.ReadRun(ctx, oc, plan)
	if err != nil || len(run.Jobs) != 1 {
		t.Fatalf("jobs.json: %+v %v", run, err)
	}
	id := run.Jobs[0].JobID
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d, err := e.Wait(wctx, acct, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != types.JobStatusComplete || *d.ProgressSummary.NumberOfTasksSucceeded != int64(len(servedKeys)) || *d.ProgressSummary.NumberOfTasksFailed != 1 {
		t.Fatalf("job: %s %+v %+v", d.Status, d.ProgressSummary, d.FailureReasons)
	}
	// jobs.json still says New: report --plan asks the endpoint jobs.json
	// records (no --control-endpoint-url) for the final status.
	{
		code, stdout, stderr := s3bk(t, "report", "--plan", plan, "--out", t.TempDir(), "--json")
		var s struct {
			Plan struct {
				Succeeded int64 `json:"succeeded"`
				NotRun    int64 `json:"not_run"`
			} `json:"plan"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &s) != nil || s.Plan.Succeeded != int64(len(servedKeys)) || s.Plan.NotRun != 0 || strings.Contains(stdout, "could not be refreshed") {
			t.Fatalf("report before status, with the endpoint jobs.json records: %d\n%s\n%s", code, stdout, stderr)
		}
	}
	if code, stdout, stderr := s3bk(t, "status", "--plan", plan); code != 0 || !strings.Contains(stdout, "Complete") {
		t.Fatalf("status at the endpoint jobs.json records: %d\n%s\n%s", code, stdout, stderr)
	}

	s3c, _ := oc.S3(ctx)
	for _, k := range servedKeys {
		dk := "copied/" + k
		got, err := oc.ReadAll(ctx, "s3://"+dst+"/"+dk)
		if err != nil || string(got) != "data of "+k {
			t.Errorf("copy of %q: %q %v", k, got, err)
			continue
		}
		tg, err := s3c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &dst, Key: &dk})
		if err != nil || len(tg.TagSet) != 1 || aws.ToString(tg.TagSet[0].Value) != "batch run" {
			t.Errorf("tags of %q: %+v %v", dk, tg, err)
		}
	}
	all, err := oc.List(ctx, "s3://"+dst+"/")
	if err != nil || len(all) != len(servedKeys) {
		t.Fatalf("destination holds %d objects, want %d: %v", len(all), len(servedKeys), err)
	}

	out := t.TempDir()
	code, stdout, stderr = s3bk(t, "report", "--plan", plan, "--out", out)
	if code != 0 {
		t.Fatalf("report: %d\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Tasks       report.TaskCounts `json:"tasks"`
		ByErrorCode []struct {
			Code string `json:"code"`
		} `json:"by_error_code"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Tasks.Total != int64(len(servedKeys)+1) || sum.Tasks.Failed != 1 || len(sum.ByErrorCode) != 1 || sum.ByErrorCode[0].Code != "NoSuchKey" {
		t.Fatalf("summary: %+v %+v", sum.Tasks, sum.ByErrorCode)
	}

	// A checksum job on the uploaded manifest, through the SDK.
	cl, err := jobs.NewClient(ctx, jobs.ClientOptions{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mb, mk, _ := objio.ParseS3(run.Jobs[0].Manifest)
	cj, err := cl.CreateJob(ctx, &s3control.CreateJobInput{
		AccountId: aws.String(acct), ClientRequestToken: aws.String("checksum-1"), ConfirmationRequired: aws.Bool(false),
		Priority: aws.Int32(1), RoleArn: aws.String("arn:aws:iam::" + acct + ":role/batch"),
		Operation: &types.JobOperation{S3ComputeObjectChecksum: &types.S3ComputeObjectChecksumOperation{ChecksumAlgorithm: types.ComputeObjectChecksumAlgorithmSha256}},
		Manifest: &types.JobManifest{Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: []types.JobManifestFieldName{"Bucket", "Key"}},
			Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::" + mb + "/" + mk), ETag: aws.String(run.Jobs[0].ETag)}},
		Report: &types.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::" + reports), Prefix: aws.String("checksums"), Format: types.JobReportFormatReportCsv20180820, ReportScope: types.JobReportScopeAllTasks},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err = e.Wait(wctx, acct, aws.ToString(cj.JobId)); err != nil || d.Status != types.JobStatusComplete {
		t.Fatalf("checksum job: %v %v", d, err)
	}
	js, err := report.FindJobs(ctx, oc, "", []string{"s3://" + reports + "/checksums/job-" + aws.ToString(cj.JobId) + "/manifest.json"}, nil)
	if err != nil || len(js) != 1 {
		t.Fatalf("checksum report: %v %v", js, err)
	}
	checked := 0
	for _, f := range js[0].Files {
		if f.Failed {
			continue
		}
		o, err := oc.Open(ctx, f.Location)
		if err != nil {
			t.Fatal(err)
		}
		rr := report.NewResultReader(o, f.Location, report.ReaderOptions{WantMD5: f.MD5})
		var b report.Batch
		for {
			err := rr.ReadBatch(&b)
			for _, r := range b.Rows {
				var m struct {
					Hex  string `json:"checksum_hex"`
					Alg  string `json:"checksumAlgorithm"`
					Type string `json:"checksumType"`
				}
				if jerr := json.Unmarshal(r.Message, &m); jerr != nil {
					t.Fatalf("checksum message %q: %v", r.Message, jerr)
				}
				want := sha256.Sum256([]byte("data of " + string(r.Key)))
				if m.Hex != hex.EncodeToString(want[:]) || m.Alg != "SHA256" || m.Type != "FULL_OBJECT" {
					t.Errorf("checksum of %q: %+v", r.Key, m)
				}
				checked++
			}
			if err != nil {
				break
			}
		}
		o.Close()
	}
	if checked != len(servedKeys) {
		t.Fatalf("%d checksums checked, want %d", checked, len(servedKeys))
	}
}
