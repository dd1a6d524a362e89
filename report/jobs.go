package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// JobsFile is the name of the file submit writes beside plan.json.
const JobsFile = "jobs.json"

// JobsIndex is the part of DIR/jobs.json that report reads: which job ran
// which shard and where its completion report goes. submit may write more
// fields; they are ignored here.
//
//	{"jobs": [{"shard": "shards/copy/00000.csv", "route": "copy",
//	           "job_id": "…", "report_prefix": "s3://bucket/prefix"}]}
//
// report_prefix is the JobReport Prefix as a location (s3://bucket/prefix
// or a local folder); the report is at <report_prefix>/job-<job_id>/.
// Entries are in submission order; a later entry is a newer job.
type JobsIndex struct {
	Jobs []JobEntry `json:"jobs"`
}

// JobEntry is one submitted shard.
type JobEntry struct {
	Shard        string `json:"shard"`
	Route        string `json:"route"`
	JobID        string `json:"job_id"`
	ReportPrefix string `json:"report_prefix"`
}

// ReadJobs reads DIR/jobs.json. Errors wrap ErrJobs (or objio.ErrNotFound
// when the file is missing).
func ReadJobs(ctx context.Context, dir string) (*JobsIndex, error) {
	loc := objio.Join(dir, JobsFile)
	raw, err := objio.ReadAll(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return nil, fmt.Errorf("%s: no jobs.json (was the plan submitted?): %w", dir, err)
		}
		return nil, err
	}
	return ParseJobs(raw, loc)
}

// ParseJobs parses jobs.json bytes; name is used in errors.
func ParseJobs(raw []byte, name string) (*JobsIndex, error) {
	var ji JobsIndex
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&ji); err != nil {
		return nil, &DataError{File: name, Value: shorten([]byte(err.Error())), Expected: `{"jobs": [...]}`, Err: ErrJobs}
	}
	for i, j := range ji.Jobs {
		if j.JobID == "" {
			return nil, &DataError{File: name, Field: fmt.Sprintf("jobs[%d].job_id", i), Expected: "a job id", Err: ErrJobs}
		}
		if !manifest.PlainName(j.JobID) {
			return nil, &DataError{File: name, Field: fmt.Sprintf("jobs[%d].job_id", i), Value: shorten([]byte(j.JobID)), Expected: "a job id without path separators", Err: ErrJobs}
		}
		if j.Route != "" && !manifest.PlainName(j.Route) {
			// The route names a folder of the re-run plans.
			return nil, &DataError{File: name, Field: fmt.Sprintf("jobs[%d].route", i), Value: shorten([]byte(j.Route)), Expected: "a route name without path separators", Err: ErrJobs}
		}
		if j.ReportPrefix == "" {
			return nil, &DataError{File: name, Field: fmt.Sprintf("jobs[%d].report_prefix", i), Expected: "the report prefix", Err: ErrJobs}
		}
	}
	return &ji, nil
}
