package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// JobsFile is the name of a plan directory's run record: the jobs created
// for its shards (by submit, or by run on the local engine).
const JobsFile = "jobs.json"

// JobsVersion is the version of the jobs.json layout written here. A file
// without a version (0) is accepted as this version: it was written by
// hand, for report.
const JobsVersion = 1

// ErrJobsFile is returned (inside a *JobsFileError) when jobs.json cannot
// be parsed or one of its entries lacks what every reader needs.
var ErrJobsFile = errors.New("invalid jobs.json")

// Run is the content of DIR/jobs.json: the jobs created for the shards of
// one plan, in plan order (route, then shard number). It is the one
// definition of the file: jobs writes it, report and status read it.
//
// No credential, signature or session token is ever written here; the
// ClientRequestToken is an idempotency key derived from public inputs, not
// a secret.
type Run struct {
	Version   int    `json:"version"`
	PlanID    string `json:"plan_id"` // short hash of plan.json
	AccountID string `json:"account_id"`
	Region    string `json:"region,omitempty"`
	// ControlEndpoint is the S3 Control endpoint the jobs were created
	// at, so that status, jobs and report need not be told again: a
	// fixed endpoint URL (serve, a test server; never with credentials),
	// EndpointRun for the in-process engine of `run`, or empty for AWS's
	// regional endpoint (https://<account>.s3-control.<region>.amazonaws.com).
	ControlEndpoint string   `json:"control_endpoint,omitempty"`
	Jobs            []RunJob `json:"jobs"`
}

// EndpointRun is Run.ControlEndpoint of a run by `s3batchkit run`: the
// jobs ran in that process's engine, which no longer answers; their
// statuses are the ones recorded here.
const EndpointRun = "s3batchkit-run"

// RunJob is one shard's job.
type RunJob struct {
	Shard string `json:"shard"` // path in the plan, e.g. shards/copy/00000.csv
	Route string `json:"route"`
	JobID string `json:"job_id"`
	// Token is the job's ClientRequestToken; submit needs it to resume.
	Token string `json:"client_request_token"`
	// ReportPrefix is the report location (s3://bucket/prefix or a local
	// folder): the job's report is at <report_prefix>/job-<job_id>/.
	ReportPrefix string `json:"report_prefix"`
	Manifest     string `json:"manifest"`      // s3://bucket/key of the uploaded shard
	ETag         string `json:"manifest_etag"` // the shard's ETag (its MD5)
	Operation    string `json:"operation"`
	Objects      int64  `json:"objects"`
	// Versions is the shard's versions (VersionsNoncurrent,
	// VersionsCurrent) when its rows carry version ids: the current
	// versions of a route are submitted once its noncurrent jobs are
	// Complete.
	Versions string `json:"versions,omitempty"`
	// Status is the job's status as last seen by submit, run or status:
	// New at creation, then what DescribeJob said; Complete, Failed and
	// Cancelled are final.
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// StatusAt is when Status was seen; absent until a job is described.
	StatusAt *time.Time `json:"status_at,omitempty"`
	// Tasks are the job's task counts when Status was seen; absent until
	// a job is described.
	Tasks *RunTasks `json:"tasks,omitempty"`
	// FailureReasons are the job's failure reasons ("code: reason") when
	// Status was seen.
	FailureReasons []string `json:"failure_reasons,omitempty"`
}

// RunTasks are a job's task counts, as DescribeJob's ProgressSummary
// gives them.
type RunTasks struct {
	Total     int64 `json:"total"`
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
}

// JobsFileError names what is wrong in a jobs.json.
type JobsFileError struct {
	File     string // the jobs.json location
	Field    string // e.g. "jobs[3].job_id"; empty for the whole file
	Value    string // the offending value, shortened; may be empty
	Expected string
}

func (e *JobsFileError) Error() string {
	var b bytes.Buffer
	b.WriteString(e.File)
	b.WriteString(": ")
	b.WriteString(ErrJobsFile.Error())
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	if e.Expected != "" {
		b.WriteString(": expected ")
		b.WriteString(e.Expected)
	}
	return b.String()
}

func (e *JobsFileError) Unwrap() error { return ErrJobsFile }

// ReadRun reads DIR/jobs.json through oc. A missing file wraps objio.ErrNotFound;
// one that does not parse is a *JobsFileError.
func ReadRun(ctx context.Context, oc *objio.Client, dir string) (*Run, error) {
	loc := objio.Join(dir, JobsFile)
	raw, err := oc.ReadAll(ctx, loc)
	if err != nil {
		return nil, err
	}
	return ParseRun(raw, loc)
}

// ReadRunIfAny is ReadRun with nil, nil for a missing file.
func ReadRunIfAny(ctx context.Context, oc *objio.Client, dir string) (*Run, error) {
	r, err := ReadRun(ctx, oc, dir)
	if errors.Is(err, objio.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// ParseRun parses jobs.json bytes; name is the file's location, for
// errors. Every entry needs a job id and a report prefix; job ids and
// routes must be plain names, since they name folders (job-<id>,
// rerun/<class>/shards/<route>).
func ParseRun(raw []byte, name string) (*Run, error) {
	var r Run
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&r); err != nil {
		return nil, &JobsFileError{File: name, Value: shorten(err.Error()), Expected: `{"version": 1, "jobs": [...]}`}
	}
	if dec.More() {
		return nil, &JobsFileError{File: name, Value: "content after the JSON object", Expected: "one JSON object"}
	}
	if r.Version == 0 {
		r.Version = JobsVersion
	}
	if r.Version != JobsVersion {
		return nil, &JobsFileError{File: name, Field: "version", Value: fmt.Sprint(r.Version), Expected: fmt.Sprint(JobsVersion)}
	}
	if ep := r.ControlEndpoint; ep != "" && ep != EndpointRun {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, &JobsFileError{File: name, Field: "control_endpoint", Value: shorten(ep), Expected: "http(s)://host[:port] without credentials, or " + EndpointRun}
		}
	}
	for i, j := range r.Jobs {
		field := func(f string) string { return fmt.Sprintf("jobs[%d].%s", i, f) }
		switch {
		case j.Shard == "":
			return nil, &JobsFileError{File: name, Field: field("shard"), Expected: "the shard's path in the plan"}
		case j.JobID == "":
			return nil, &JobsFileError{File: name, Field: field("job_id"), Expected: "a job id"}
		case !PlainName(j.JobID):
			return nil, &JobsFileError{File: name, Field: field("job_id"), Value: shorten(j.JobID), Expected: "a job id without path separators"}
		case j.Route != "" && !PlainName(j.Route):
			return nil, &JobsFileError{File: name, Field: field("route"), Value: shorten(j.Route), Expected: "a route name without path separators"}
		case j.ReportPrefix == "":
			return nil, &JobsFileError{File: name, Field: field("report_prefix"), Expected: "the report prefix"}
		case j.Versions != "" && j.Versions != VersionsCurrent && j.Versions != VersionsNoncurrent:
			return nil, &JobsFileError{File: name, Field: field("versions"), Value: shorten(j.Versions), Expected: VersionsCurrent + " or " + VersionsNoncurrent}
		}
	}
	return &r, nil
}

// Marshal returns the file's bytes: indented JSON, HTML characters not
// escaped, with a final newline.
func (r *Run) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteRun writes DIR/jobs.json atomically.
func WriteRun(ctx context.Context, oc *objio.Client, dir string, r *Run) error {
	data, err := r.Marshal()
	if err == nil {
		err = oc.WriteFileAtomic(ctx, objio.Join(dir, JobsFile), data)
	}
	if err == nil && !objio.IsS3(dir) {
		err = os.Chmod(objio.Join(dir, JobsFile), 0o644)
	}
	if err != nil {
		return fmt.Errorf("recording jobs in %s: %w", objio.Join(dir, JobsFile), err)
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
