package report

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/manifest"
)

func readAllRows(t *testing.T, path string, opt ReaderOptions) ([]Row, *ResultReader, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := NewResultReader(f, path, opt)
	var out []Row
	var b Batch
	for {
		err := rr.ReadBatch(&b)
		for _, r := range b.Rows {
			out = append(out, cloneRow(r))
		}
		if err == io.EOF {
			return out, rr, nil
		}
		if err != nil {
			return out, rr, err
		}
	}
}

func cloneRow(r Row) Row {
	c := func(b []byte) []byte { return append([]byte{}, b...) }
	r.Bucket, r.Key, r.RawKey, r.VersionID, r.ErrorCode, r.Message = c(r.Bucket), c(r.Key), c(r.RawKey), c(r.VersionID), c(r.ErrorCode), c(r.Message)
	return r
}

func firstFile(t *testing.T, jobDir string, failed bool) (string, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(jobDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseReportManifest(raw, jobDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Results {
		if (r.TaskExecutionStatus == "failed") == failed {
			return filepath.Join(filepath.Dir(jobDir), r.Key), r.MD5Checksum
		}
	}
	t.Fatalf("no file in %s", jobDir)
	return "", ""
}

func TestResultReaderRows(t *testing.T) {
	path, md5 := firstFile(t, "testdata/run1/job-11111111-aaaa", true)
	for _, batchRows := range []int{1, 2, 100} {
		rows, rr, err := readAllRows(t, path, ReaderOptions{WantMD5: md5, BatchRows: batchRows})
		if err != nil {
			t.Fatal(err)
		}
		if rr.Order() != OrderPhysical {
			t.Errorf("order %v", rr.Order())
		}
		type want struct {
			key, version, code, msg string
			http                    int
			line                    int64
		}
		wants := []want{
			{"photos/a b+c.jpg", "", "SlowDown", "Please reduce your request rate. (Service: Amazon S3; Status Code: 503; Error Code: SlowDown; Request ID: 4QD6XKH3ZC8BSQ1V)", 503, 1},
			{"photos/denied.jpg", "", "AccessDenied", "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: 7HJW2R0Y5M1TQZ9K)", 403, 2},
			{"docs/gone,1.txt", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "NoSuchKey", "The specified key does not exist.\nKey: \"docs/gone,1.txt\", version 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", 404, 3},
			{"lambda/x.json", "", "PermanentFailure", `Lambda returned function error: {"errorMessage":"bad input, line 12","errorType":"ValueError"}`, 200, 5},
			{"prefix/file", "", "InvalidRequest", "Task failed due to missing VersionId", 400, 6},
			{"archive/r.bin", "", "RestoreAlreadyInProgress", "Object restore is already in progress", 409, 7},
			{"photos/slow2.jpg", "", "SlowDown", "Please reduce your request rate. (Service: Amazon S3; Status Code: 503; Error Code: SlowDown; Request ID: 9ZZ1AB2CD3EF4GH5)", 503, 8},
		}
		if len(rows) != len(wants) {
			t.Fatalf("batch %d: %d rows, want %d", batchRows, len(rows), len(wants))
		}
		for i, w := range wants {
			r := rows[i]
			got := want{string(r.Key), string(r.VersionID), string(r.ErrorCode), string(r.Message), r.HTTPStatus, r.Line}
			if got != w || string(r.Bucket) != "src" || !r.Failed {
				t.Errorf("batch %d row %d:\n got %+v\nwant %+v", batchRows, i, got, w)
			}
		}
	}
}

func TestResultReaderSucceededCRLFAndNoFinalNewline(t *testing.T) {
	path, md5 := firstFile(t, "testdata/run1/job-11111111-aaaa", false)
	rows, _, err := readAllRows(t, path, ReaderOptions{WantMD5: md5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || string(rows[1].Message) != "Successful" || string(rows[1].Key) != "top.txt" || rows[0].Failed {
		t.Fatalf("rows %+v", rows)
	}
	if string(rows[2].Message) != `{"checksum_base64":"ZmFrZQ==","etag":"abc"}` {
		t.Errorf("message %q", rows[2].Message)
	}
	path, md5 = firstFile(t, "testdata/run1/job-22222222-bbbb", true)
	rows, _, err = readAllRows(t, path, ReaderOptions{WantMD5: md5})
	if err != nil || len(rows) != 1 || string(rows[0].Key) != "photos/slow2.jpg" {
		t.Fatalf("no final newline: %v %+v", err, rows)
	}
}

func TestPlusAsSpace(t *testing.T) {
	for _, tt := range []struct {
		in   string
		plus bool
		want string
	}{
		{"a+b%20c%2B", false, "a+b c+"},
		{"a+b%20c%2B", true, "a b c+"},
		{"plain", true, "plain"},
		{"x+y", true, "x y"},
	} {
		v := []byte(tt.in)
		n, err := decodeInPlace(v, tt.plus)
		if err != nil || string(v[:n]) != tt.want {
			t.Errorf("decode(%q, %v) = %q, %v; want %q", tt.in, tt.plus, v[:n], err, tt.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		dir       string
		wantErr   error
		wantField string
		wantLine  int64
	}{
		{"md5", ErrChecksum, "", 0},
		{"columns", ErrFieldCount, "", 2},
		{"http", ErrBadValue, "HTTPStatusCode", 2},
		{"quote", ErrSyntax, "", 1},
		{"escape", ErrBadEscape, "Key", 1},
		{"status", ErrBadValue, "TaskStatus", 1},
		{"missing", ErrMissingFile, "Results[0].Key", 0},
		{"format", ErrReportManifest, "Format", 0},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			out := t.TempDir()
			_, err := Run(context.Background(), Options{Prefixes: []string{filepath.Join("testdata/malformed", tt.dir)}, Out: out})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *DataError", err)
			}
			if de.Field != tt.wantField || de.Line != tt.wantLine || de.Job == "" || de.File == "" {
				t.Errorf("DataError %+v: want field %q line %d, a job and a file", de, tt.wantField, tt.wantLine)
			}
			if _, err := os.Stat(filepath.Join(out, SummaryFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("summary written despite the error")
			}
		})
	}
}

func TestKeepGoing(t *testing.T) {
	s, err := Run(context.Background(), Options{
		Prefixes:  []string{"testdata/failedonly", "testdata/malformed/md5", "testdata/malformed/missing", "testdata/malformed/format", "testdata/malformed/columns"},
		Out:       t.TempDir(),
		KeepGoing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 4 {
		t.Errorf("warnings %q, want 4", s.Warnings)
	}
	// failedonly: 1 row; md5: 1 row (counted, warned); columns: none (the
	// batch holding the bad row is dropped whole, and the warning says 0).
	if s.Tasks.Total != 2 {
		t.Errorf("tasks %+v", s.Tasks)
	}
}

func run1(t *testing.T, o Options) (*Summary, string) {
	t.Helper()
	o.Out = t.TempDir()
	if o.Prefixes == nil && o.Plan == "" {
		o.Prefixes = []string{"testdata/run1"}
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s, o.Out
}

func TestMergeRun1(t *testing.T) {
	s, out := run1(t, Options{})
	if want := (TaskCounts{Total: 12, Succeeded: 4, TreatedAsSuccess: 1, Failed: 7}); s.Tasks != want {
		t.Errorf("tasks %+v, want %+v", s.Tasks, want)
	}
	if want := map[string]int64{"retryable": 3, "permanent": 4, "unknown": 0}; !reflect.DeepEqual(s.ByClass, want) {
		t.Errorf("by class %v, want %v", s.ByClass, want)
	}
	o := s.Objects
	if o.FailedObjects != 6 || o.LatestFailed != 5 || o.LaterSucceeded != 1 || o.FailedSeveralTimes != 1 {
		t.Errorf("objects %+v", o)
	}
	if want := map[string]int64{"retryable": 1, "permanent": 4, "unknown": 0}; !reflect.DeepEqual(o.LatestByClass, want) {
		t.Errorf("latest by class %v, want %v", o.LatestByClass, want)
	}
	if o.DistinctEstimate != 10 || o.Distinct != 10 {
		t.Errorf("distinct %d, estimate %d, want 10", o.Distinct, o.DistinctEstimate)
	}
	if s.ByErrorCode[0] != (CodeCount{Code: "SlowDown", HTTPStatus: 503, Class: Retryable, Tasks: 3}) {
		t.Errorf("top code %+v", s.ByErrorCode[0])
	}
	if len(s.ByJob) != 2 || s.ByJob[0].JobID != "11111111-aaaa" || s.ByJob[0].Failed != 6 || s.ByJob[1].Failed != 1 || s.ByJob[1].Succeeded != 1 {
		t.Errorf("by job %+v", s.ByJob)
	}
	if p := s.ByPrefix.Prefixes[0]; p.Prefix != "src/photos/" || p.Tasks != 6 || p.Failed != 4 {
		t.Errorf("top prefix %+v", p)
	}
	// The two SlowDown messages of job 1 and the one of job 2 differ only by request id.
	if m := s.Messages.Messages[0]; m.Tasks != 3 || m.Code != "SlowDown" || !strings.Contains(m.Message, "Request ID: <id>") {
		t.Errorf("top message %+v", m)
	}
	raw, err := os.ReadFile(filepath.Join(out, SummaryFile))
	if err != nil || !bytes.Contains(raw, []byte(`"version": 1`)) {
		t.Fatalf("summary.json: %v", err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, s, 5); err != nil || !strings.Contains(text.String(), "SlowDown") {
		t.Errorf("text: %v\n%s", err, text.String())
	}
}

// readShards parses every shard of a rerun plan back with manifest.ParseRow.
func readShards(t *testing.T, dir string) (*manifest.Plan, []manifest.Row) {
	t.Helper()
	p, err := manifest.ReadPlan(context.Background(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []manifest.Row
	for _, sh := range p.Shards {
		f, err := os.Open(filepath.Join(dir, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			r, err := manifest.ParseRow(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", sh.Path, err)
			}
			if r.Bucket != sh.Bucket || r.HasVersion != sh.VersionIDs {
				t.Errorf("%s: row %+v in a shard of bucket %s, versions %v", sh.Path, r, sh.Bucket, sh.VersionIDs)
			}
			rows = append(rows, r)
		}
		f.Close()
	}
	return p, rows
}

func TestRerunManifests(t *testing.T) {
	_, out := run1(t, Options{MaxShardObjects: 2})
	p, rows := readShards(t, filepath.Join(out, "rerun", "permanent"))
	want := []manifest.Row{
		{Bucket: "src", Key: "lambda/x.json"},
		{Bucket: "src", Key: "photos/denied.jpg"},
		{Bucket: "src", Key: "prefix/file"},
		{Bucket: "src", Key: "docs/gone,1.txt", VersionID: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", HasVersion: true},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("permanent rows\n got %+v\nwant %+v", rows, want)
	}
	if len(p.Shards) != 3 || p.Counters.RowsRead != 4 || p.Counters.RowsKept != 4 {
		t.Errorf("permanent plan: %d shards, counters %+v", len(p.Shards), p.Counters)
	}
	p, rows = readShards(t, filepath.Join(out, "rerun", "retryable"))
	// photos/a b+c.jpg succeeded in the later job; photos/slow2.jpg failed twice.
	if want := []manifest.Row{{Bucket: "src", Key: "photos/slow2.jpg"}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("retryable rows %+v, want %+v", rows, want)
	}
	if c := p.Counters; c.RowsRead != 3 || c.RowsKept != 1 || c.Dropped["later_succeeded"] != 1 || c.Dropped["superseded"] != 1 {
		t.Errorf("retryable counters %+v", c)
	}
	if p.Shards[0].Route != UnroutedRoute {
		t.Errorf("route %q", p.Shards[0].Route)
	}
	p, rows = readShards(t, filepath.Join(out, "rerun", "unknown"))
	if len(rows) != 0 || len(p.Shards) != 0 {
		t.Errorf("unknown: %+v", rows)
	}
}

func TestPlanWithJobsJSON(t *testing.T) {
	plan := t.TempDir()
	abs, _ := filepath.Abs("testdata/run1")
	// Submission order says job 2 came first: then job 1's failure of
	// "photos/a b+c.jpg" is the latest outcome.
	js := `{"jobs":[
	 {"shard":"shards/copy/00001.csv","route":"copy","job_id":"22222222-bbbb","report_prefix":"` + abs + `"},
	 {"shard":"shards/copy/00000.csv","route":"copy","job_id":"11111111-aaaa","report_prefix":"` + abs + `"}]}`
	if err := os.WriteFile(filepath.Join(plan, manifest.JobsFile), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	s, out := run1(t, Options{Plan: plan})
	if s.ByRoute[0].Route != "copy" || s.ByRoute[0].Jobs != 2 || s.ByJob[0].Shard != "shards/copy/00001.csv" {
		t.Errorf("routes %+v jobs %+v", s.ByRoute, s.ByJob)
	}
	_, rows := readShards(t, filepath.Join(out, "rerun", "retryable"))
	want := []manifest.Row{{Bucket: "src", Key: "photos/a b+c.jpg"}, {Bucket: "src", Key: "photos/slow2.jpg"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %+v, want %+v", rows, want)
	}
	raw, _ := os.ReadFile(filepath.Join(out, "rerun", "retryable", "shards", "copy", "00000.csv"))
	if string(raw) != "src,photos/a%20b%2Bc.jpg\nsrc,photos/slow2.jpg\n" {
		t.Errorf("shard bytes %q", raw)
	}
}

func TestScopesAndLayouts(t *testing.T) {
	tests := []struct {
		name            string
		prefix          string
		total, failed   int64
		schemaOrder     int
		firstCode       string
		firstCodeStatus int
	}{
		{"FailedTasksOnly", "testdata/failedonly", 1, 1, 0, "InternalError", 500},
		{"ReportSchema order", "testdata/schemaorder", 2, 1, 1, "NoSuchKey", 404},
		{"key relative to an ancestor", "testdata/nested/reports", 1, 0, 0, "", 0},
		{"job folder", "testdata/failedonly/job-33333333-cccc", 1, 1, 0, "InternalError", 500},
		{"manifest path", "testdata/failedonly/job-33333333-cccc/manifest.json", 1, 1, 0, "InternalError", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := run1(t, Options{Prefixes: []string{tt.prefix}})
			if s.Tasks.Total != tt.total || s.Tasks.Failed != tt.failed || s.Files.SchemaOrderFiles != tt.schemaOrder {
				t.Errorf("tasks %+v files %+v", s.Tasks, s.Files)
			}
			if tt.firstCode != "" && (s.ByErrorCode[0].Code != tt.firstCode || s.ByErrorCode[0].HTTPStatus != tt.firstCodeStatus) {
				t.Errorf("codes %+v", s.ByErrorCode)
			}
		})
	}
}

// TestClassify: the class of failed rows, from codes AWS documents and
// rows seen in real reports (docs/formats.md#failure-classes).
func TestClassify(t *testing.T) {
	c := NewClassifier()
	tests := []struct {
		http int
		code string
		want Class
	}{
		// S3 errors to retry, SDK throttling codes, Lambda's redrive.
		{503, "SlowDown", Retryable},
		{503, "ServiceUnavailable", Retryable},
		{500, "InternalError", Retryable},
		{400, "RequestTimeout", Retryable},
		{409, "OperationAborted", Retryable},
		{400, "ThrottlingException", Retryable},
		{429, "TooManyRequestsException", Retryable},
		{403, "RequestTimeTooSkewed", Retryable},
		{200, "TemporaryFailure", Retryable},
		// By status when the code says nothing.
		{429, "", Retryable},
		{502, "SomethingNew", Retryable},
		{504, "", Retryable},
		{0, "", Retryable},
		{0, "RequestTimeout", Retryable},
		{0, "SomethingNew", Retryable},
		{501, "", Permanent},
		{403, "Forbidden", Permanent},
		// A response cut after its status line (the local engine's
		// "failed,200,OK,...failed to decode response body... reset").
		{200, "OK", Retryable},
		{200, "", Retryable},
		{206, "Partial Content", Retryable},
		// Permanent S3 errors.
		{403, "AccessDenied", Permanent},
		{404, "NoSuchKey", Permanent},
		{404, "NoSuchVersion", Permanent},
		{404, "NoSuchBucket", Permanent},
		{400, "InvalidRequest", Permanent},
		{403, "InvalidObjectState", Permanent},
		{400, "EntityTooLarge", Permanent},
		{501, "NotImplemented", Permanent},
		{200, "PermanentFailure", Permanent},
		// Replication failure reasons: the code decides, not the 500.
		{500, "SrcObjectNotFound", Permanent},
		{500, "SrcGetObjectNotPermitted", Permanent},
		{403, "DstPutObjectNotPermitted", Permanent},
		{400, "DstBucketUnversioned", Permanent},
		{500, "AssumeRoleNotPermitted", Permanent},
		{500, "SrcKmsKeyInvalidState", Permanent},
		// Done after all.
		{409, "RestoreAlreadyInProgress", Success},
		// Nothing known.
		{400, "WeirdError", Unknown},
		{200, "ValueError", Unknown},
		{301, "PermanentRedirect", Unknown},
	}
	for _, tt := range tests {
		if got := c.Classify(tt.http, []byte(tt.code)); got != tt.want {
			t.Errorf("Classify(%d, %q) = %v, want %v", tt.http, tt.code, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.Classify(503, []byte("SlowDown")) }); n != 0 {
		t.Errorf("Classify allocates %v", n)
	}
}

func TestLoadClasses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		wantErr       error
		check         map[string]Class // "http code" → class
	}{
		{"json", `{"WeirdError":"retryable","AccessDenied":"retryable","400":"permanent"}`, nil,
			map[string]Class{"400 WeirdError": Retryable, "403 AccessDenied": Retryable, "400 Other": Permanent}},
		{"csv", "# comment\ncode,class\nWeirdError, permanent\n418,retryable\n", nil,
			map[string]Class{"400 WeirdError": Permanent, "418 ": Retryable}},
		{"bad class", `{"X":"maybe"}`, ErrClasses, nil},
		{"bad csv", "a,b,c\n", ErrClasses, nil},
		{"crlf, quotes, blank lines", "\r\n\"Weird,Error\",\"retryable\"\r\n  \r\n# x,y,z\r\n\"He said \"\"no\"\"\",permanent", nil,
			map[string]Class{"400 Weird,Error": Retryable, `400 He said "no"`: Permanent}},
		{"blanks before quotes", "code, class\n \"Slow, Down\",\t \"retryable\"\nWeirdError,  \"permanent\" \n", nil,
			map[string]Class{"503 Slow, Down": Retryable, "400 WeirdError": Permanent}},
		{"bare quote", "code,class\nWeird\"Error,retryable\n", ErrClasses, nil},
		{"one field", "code,class\nWeirdError\n", ErrClasses, nil},
		{"bad json", `{"X":`, ErrClasses, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			os.WriteFile(p, []byte(tt.content), 0o644)
			c := NewClassifier()
			err := c.LoadClasses(context.Background(), nil, p)
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for k, want := range tt.check {
				var http int
				code, _ := strings.CutPrefix(k, k[:4])
				http = int(k[0]-'0')*100 + int(k[1]-'0')*10 + int(k[2]-'0')
				if got := c.Classify(http, []byte(code)); got != want {
					t.Errorf("%s: %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Request ID: 4QD6XKH3ZC8BSQ1V)", "Request ID: <id>)"},
		{"Status Code: 503;  Error\nCode", "Status Code: <n>; Error Code"},
		{"at 2024-01-02T03:04:05.123Z", "at <id>:<n>:<n>.<id>"},
		{"uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301 done", "uuid <id> done"},
		{"S3 v2 keeps short words", "S3 v2 keeps short words"},
		// Request and host ids, whatever their bytes.
		{"RequestID: AB12, HostID: z7k9+Qa/Bc=, api error", "RequestID: <id>, HostID: <id>, api error"},
		{"(x-amz-request-id: tx000abc; x-amz-id-2: Zm9v+YmFy/==)", "(x-amz-request-id: <id>; x-amz-id-2: <id>)"},
		// Hosts, ports and URLs as Go's network errors write them.
		{"read tcp 127.0.0.1:41234->127.0.0.1:27070: read: connection reset by peer",
			"read tcp <addr>: read: connection reset by peer"},
		{"dial tcp [::1]:9000: connect: connection refused", "dial tcp <addr>: connect: connection refused"},
		{`Put "https://dst.s3.us-east-1.amazonaws.com/a%20b?x-id=PutObject": EOF`, `Put "<url>": EOF`},
		{"lookup s3.local on 10.0.0.2:53: no such host", "lookup s3.local on <addr>: no such host"},
		{"host 10.1.2.3 down", "host <addr> down"},
	}
	for _, tt := range tests {
		if got := string(AppendNormalized(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Two transport failures that differ only by request id, local port
	// and key normalise to one message.
	a := "operation error S3: CopyObject, https response error StatusCode: 200, RequestID: 17C4A2, HostID: dd90+25/ba=, deserialization failed, failed to decode response body, read tcp 127.0.0.1:50111->127.0.0.1:27070: read: connection reset by peer"
	b := "operation error S3: CopyObject, https response error StatusCode: 200, RequestID: 9F00E1B, HostID: Q+x/y=, deserialization failed, failed to decode response body, read tcp 127.0.0.1:61999->127.0.0.1:27070: read: connection reset by peer"
	if na, nb := AppendNormalized(nil, []byte(a)), AppendNormalized(nil, []byte(b)); !bytes.Equal(na, nb) {
		t.Errorf("not folded to one message:\n%s\n%s", na, nb)
	}
	buf := make([]byte, 0, 512)
	msg := []byte("Please reduce your request rate. (Service: Amazon S3; Status Code: 503; Request ID: 4QD6XKH3ZC8BSQ1V) read tcp 127.0.0.1:1->127.0.0.1:2: reset")
	if n := testing.AllocsPerRun(100, func() { buf = AppendNormalized(buf[:0], msg) }); n != 0 {
		t.Errorf("AppendNormalized allocates %v", n)
	}
}

func TestHTML(t *testing.T) {
	s, _ := run1(t, Options{})
	page, err := HTML(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "SlowDown 503 (retryable)", "src/photos/", "11111111-aaaa"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if bytes.Contains(bytes.ReplaceAll(page, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil), []byte(bad)) {
			t.Errorf("page holds %q: not self-contained", bad)
		}
	}
}
