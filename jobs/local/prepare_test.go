package local

import (
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/report"
)

// manifestFault is a manifest line the engine must refuse before any task
// runs, with the words its failure reason names.
type manifestFault struct {
	name, line, want string
}

var manifestFaults = []manifestFault{
	{"unterminated quote", `"lsrc,key`, "unterminated quoted field"},
	{"NUL byte", "src-bucket,a\x00b", "NUL byte"},
	{"empty line", "", "empty line"},
	{"stray quote", `src-bucket,k"x`, "stray quote"},
	{"bad escape", "src-bucket,k%zz", "bad percent escape"},
	{"field count", "src-bucket,k,extra", "wrong number of fields"},
	{"invalid UTF-8", "src-bucket,k%C3%28", "invalid UTF-8"},
	{"empty key", "src-bucket,", "empty field"},
}

// putManifest stores data as a manifest and returns its key and MD5.
func (d *dirEnv) putManifest(name string, data []byte) (string, string) {
	d.put("manifests", name, string(data))
	s := md5.Sum(data)
	return name, hex.EncodeToString(s[:])
}

// failedAtPrepare creates a copy job of the manifest and checks that it
// fails with ManifestParseFailed naming line and want, with no task run.
func failedAtPrepare(t *testing.T, e *Engine, env *dirEnv, name string, data []byte, line int, want string) {
	t.Helper()
	mkey, etag := env.putManifest(name, data)
	id, err := e.CreateJob(context.Background(), testAccount, createInput("tok-"+name, mkey, etag, copyOp("dst-bucket", "")))
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, e, id)
	if d.Status != types.JobStatusFailed || len(d.FailureReasons) != 1 {
		t.Fatalf("job %s %+v, want Failed with one reason", d.Status, d.FailureReasons)
	}
	fr := d.FailureReasons[0]
	reason := aws.ToString(fr.FailureReason)
	if aws.ToString(fr.FailureCode) != "ManifestParseFailed" || !strings.Contains(reason, fmt.Sprintf("line %d:", line)) || !strings.Contains(reason, want) {
		t.Fatalf("failure %s: %q, want ManifestParseFailed naming line %d and %q", aws.ToString(fr.FailureCode), reason, line, want)
	}
	if p := d.ProgressSummary; p != nil && aws.ToInt64(p.NumberOfTasksSucceeded)+aws.ToInt64(p.NumberOfTasksFailed) != 0 {
		t.Fatalf("tasks ran: %+v", p)
	}
}

// TestManifestFaults: a manifest with a bad line fails the job before any
// task, naming the line and what is wrong.
func TestManifestFaults(t *testing.T) {
	for _, f := range manifestFaults {
		t.Run(f.name, func(t *testing.T) {
			env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
			env.put("src-bucket", "a", "x")
			env.put("src-bucket", "b", "y")
			e := newTestEngine(t, Options{Storage: env.st})
			failedAtPrepare(t, e, env, "m.csv", []byte("src-bucket,a\n"+f.line+"\nsrc-bucket,b\n"), 2, f.want)
			if _, ok := env.get("dst-bucket", "a"); ok {
				t.Fatal("a task ran before the manifest was checked")
			}
		})
	}
}

// TestManifestFaults100k puts each fault at a random line of a
// 100,000-line manifest.
func TestManifestFaults100k(t *testing.T) {
	const n = 100_000
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	e := newTestEngine(t, Options{Storage: env.st})
	rng := rand.New(rand.NewPCG(22, 4))
	for i, f := range manifestFaults {
		at := 1 + rng.IntN(n)
		var b []byte
		for l := 1; l <= n; l++ {
			if l == at {
				b = append(b, f.line...)
			} else {
				b = fmt.Appendf(b, "src-bucket,obj%%20%d", l)
			}
			b = append(b, '\n')
		}
		failedAtPrepare(t, e, env, fmt.Sprintf("big-%d.csv", i), b, at, f.want)
	}
}

// TestManifestLayouts runs copy jobs whose Spec.Fields put an Ignore
// column first, and a VersionId column last: the right objects are
// copied, and the report echoes the manifest's fields as written.
func TestManifestLayouts(t *testing.T) {
	const plusVersion = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
	for _, tt := range []struct {
		name     string
		fields   []types.JobManifestFieldName
		data     string
		copied   []string
		rows     []string // bucket,key,version,status,http,code as the report has them
		versions bool
	}{
		{"ignore first", []types.JobManifestFieldName{"Ignore", "Bucket", "Key"},
			"note 1,src-bucket,a%20b\n\"x,y\",src-bucket,c%2Bd\r\n",
			[]string{"a b", "c+d"},
			[]string{"src-bucket,a%20b,,succeeded,200,", "src-bucket,c%2Bd,,succeeded,200,"}, false},
		{"version last", []types.JobManifestFieldName{"Bucket", "Key", "VersionId"},
			"src-bucket,a%20b,null\nsrc-bucket,c%2Bd," + plusVersion + "\n",
			[]string{"a b"},
			[]string{"src-bucket,a%20b,null,succeeded,200,", "src-bucket,c%2Bd," + plusVersion + ",failed,404,NoSuchVersion"}, true},
		{"version left empty", []types.JobManifestFieldName{"Bucket", "Key", "VersionId"},
			"src-bucket,a%20b,\nsrc-bucket,c%2Bd,null\n",
			[]string{"c+d"},
			[]string{"src-bucket,a%20b,,failed,400,InvalidRequest", "src-bucket,c%2Bd,null,succeeded,200,"}, true},
		{"key before bucket", []types.JobManifestFieldName{"Key", "Ignore", "Bucket"},
			"a%20b,,src-bucket\n",
			[]string{"a b"},
			[]string{"src-bucket,a%20b,,succeeded,200,"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
			env.put("src-bucket", "a b", "A")
			env.put("src-bucket", "c+d", "C")
			mkey, etag := env.putManifest("m.csv", []byte(tt.data))
			e := newTestEngine(t, Options{Storage: env.st})
			in := createInput("tok", mkey, etag, copyOp("dst-bucket", ""))
			in.Manifest.Spec.Fields = tt.fields
			id, err := e.CreateJob(context.Background(), testAccount, in)
			if err != nil {
				t.Fatal(err)
			}
			d := waitStatus(t, e, id)
			if d.Status != types.JobStatusComplete {
				t.Fatalf("job %s %+v", d.Status, d.FailureReasons)
			}
			for _, k := range tt.copied {
				if _, ok := env.get("dst-bucket", k); !ok {
					t.Errorf("%q not copied", k)
				}
			}
			var got []string
			for _, r := range rawReportRows(t, filepath.Join(env.root, "reports", "runs", "r1"), id) {
				got = append(got, strings.Join(r[:6], ","))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.rows) {
				t.Fatalf("report rows\n got %q\nwant %q", got, tt.rows)
			}
		})
	}
}

// rawReportRows reads the rows of job id's report under prefix as the
// result files hold them (fields unquoted, nothing decoded), sorted.
func rawReportRows(t *testing.T, prefix, id string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(prefix, "job-"+id, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := report.ParseReportManifest(raw, "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, r := range m.Results {
		f, err := os.Open(filepath.Join(prefix, "job-"+id, "results", filepath.Base(r.Key)))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, recs...)
	}
	sort.Slice(rows, func(a, b int) bool { return strings.Join(rows[a], ",") < strings.Join(rows[b], ",") })
	return rows
}
