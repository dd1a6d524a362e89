package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/report"
)

// reportRow is a parsed completion report row.
type reportRow struct {
	Bucket, Key, Version string
	Failed               bool
	HTTP                 int
	Code, Message        string
}

// readReports parses every job report under prefix with the report
// package, as `s3batchkit report` reads AWS's: manifest.json, MD5s,
// physical column order.
func readReports(t *testing.T, prefix string) map[string][]reportRow {
	t.Helper()
	ctx := context.Background()
	js, err := report.FindJobs(ctx, nil, "", []string{prefix}, nil)
	if err != nil {
		t.Fatalf("finding reports under %s: %v", prefix, err)
	}
	out := map[string][]reportRow{}
	for _, j := range js {
		for _, f := range j.Files {
			o, err := os.Open(f.Location) // reports of a directory of buckets
			if err != nil {
				t.Fatal(err)
			}
			rr := report.NewResultReader(o, f.Location, report.ReaderOptions{WantMD5: f.MD5})
			var b report.Batch
			for {
				err := rr.ReadBatch(&b)
				for _, r := range b.Rows {
					if r.Failed != f.Failed {
						t.Errorf("%s: row %q in a %v file", f.Location, r.Key, f.Failed)
					}
					out[j.ID] = append(out[j.ID], reportRow{string(r.Bucket), string(r.Key), string(r.VersionID), r.Failed, r.HTTPStatus, string(r.ErrorCode), string(r.Message)})
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("reading %s: %v", f.Location, err)
				}
			}
			if rr.Order() != report.OrderPhysical {
				t.Errorf("%s: column order %v, want physical", f.Location, rr.Order())
			}
			o.Close()
		}
	}
	for _, rows := range out {
		sort.Slice(rows, func(a, b int) bool { return rows[a].Key < rows[b].Key })
	}
	return out
}

var trickyKeys = []string{
	"plain.txt", "with space.txt", "plus+sign.txt", "a+b c%20d", "ünïcödé/ключ/鍵.bin", "new\nline.txt",
	"comma,quote\"percent%.txt", "tab\tkey", "emoji 🎉/x", "semi;colon?query#frag&amp=1", "  leading-spaces",
}

// TestTrickyKeysAndReport copies tricky keys to exactly the right
// destination keys and checks the report row by row through the report
// package: URL-encoded keys that decode to the real ones, the failure of
// a missing source as NoSuchKey 404, and the summary `s3batchkit report`
// computes.
func TestTrickyKeysAndReport(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	for _, k := range trickyKeys {
		env.put("src-bucket", k, "data of "+k)
	}
	keys := append(append([]string{}, trickyKeys...), "missing key+.txt")
	mkey, etag := env.manifestOf("tricky.csv", "src-bucket", keys)
	e := newTestEngine(t, Options{Storage: env.st})
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok", mkey, etag, copyOp("dst-bucket", "out/")))
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusComplete || *d.ProgressSummary.NumberOfTasksFailed != 1 || *d.ProgressSummary.NumberOfTasksSucceeded != int64(len(trickyKeys)) {
		t.Fatalf("job: %s %+v", d.Status, d.ProgressSummary)
	}
	for _, k := range trickyKeys {
		if got, ok := env.get("dst-bucket", "out/"+k); !ok || got != "data of "+k {
			t.Errorf("destination of %q: %q %v", k, got, ok)
		}
	}
	prefix := filepath.Join(env.root, "reports", "runs", "r1")
	rows := readReports(t, prefix)[id]
	if len(rows) != len(keys) {
		t.Fatalf("%d report rows, want %d", len(rows), len(keys))
	}
	byKey := map[string]reportRow{}
	for _, r := range rows {
		byKey[r.Key] = r
	}
	for _, k := range trickyKeys {
		r, ok := byKey[k]
		if !ok || r.Failed || r.HTTP != 200 || r.Message != "Successful" || r.Bucket != "src-bucket" {
			t.Errorf("row of %q: %+v (found %v)", k, r, ok)
		}
	}
	if r := byKey["missing key+.txt"]; !r.Failed || r.HTTP != 404 || r.Code != "NoSuchKey" {
		t.Errorf("missing source: %+v", r)
	}
	// The raw files: keys as the manifest wrote them, physical order.
	raw, err := os.ReadFile(filepath.Join(prefix, "job-"+id, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := report.ParseReportManifest(raw, "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Results) != 2 || m.Results[0].TaskExecutionStatus != "failed" || m.Results[0].Bucket != "reports" ||
		m.Results[0].Key[:len("runs/r1/job-")] != "runs/r1/job-" || m.ReportSchema != ReportSchema {
		t.Fatalf("report manifest: %+v", m)
	}
	failed, _ := os.ReadFile(filepath.Join(prefix, m.Results[0].Key[len("runs/r1/"):]))
	if want := "src-bucket,missing%20key%2B.txt,,failed,404,NoSuchKey,"; string(failed[:len(want)]) != want {
		t.Errorf("failed row %q, want prefix %q", failed, want)
	}

	s, err := report.Run(context.Background(), report.Options{Prefixes: []string{prefix}, Out: t.TempDir(), NoRerun: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Tasks.Total != int64(len(keys)) || s.Tasks.Failed != 1 || s.Tasks.Succeeded != int64(len(trickyKeys)) {
		t.Fatalf("report summary: %+v", s.Tasks)
	}
}

// TestReportScopeFailedOnly writes only the failed file.
func TestReportScopeFailedOnly(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	env.put("src-bucket", "ok", "x")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"ok", "gone"})
	e := newTestEngine(t, Options{Storage: env.st})
	in := createInput("tok", mkey, etag, copyOp("dst-bucket", ""))
	in.Report.ReportScope = types.JobReportScopeFailedTasksOnly
	id, err := e.CreateJob(context.Background(), testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, id)
	rows := readReports(t, filepath.Join(env.root, "reports", "runs", "r1"))[id]
	if len(rows) != 1 || rows[0].Key != "gone" || !rows[0].Failed {
		t.Fatalf("rows %+v, want the failed one only", rows)
	}
}
