package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// JobsFile is the name of the run record submit writes beside plan.json.
const JobsFile = "jobs.json"

// JobsVersion is the version of the jobs.json layout.
const JobsVersion = 1

// Run is the content of DIR/jobs.json: the jobs created for the shards of
// one plan. The report package reads shard, route, job_id and
// report_prefix of each entry. No credential, signature or session token
// is ever written here; the ClientRequestToken is an idempotency key
// derived from public inputs, not a secret.
type Run struct {
	Version   int     `json:"version"`
	PlanID    string  `json:"plan_id"` // short hash of plan.json
	AccountID string  `json:"account_id"`
	Region    string  `json:"region,omitempty"`
	Jobs      []Entry `json:"jobs"` // in plan order (route, then shard number)
}

// Entry is one shard's job.
type Entry struct {
	Shard        string    `json:"shard"` // path in the plan, e.g. shards/copy/00000.csv
	Route        string    `json:"route"`
	JobID        string    `json:"job_id"`
	Token        string    `json:"client_request_token"`
	ReportPrefix string    `json:"report_prefix"` // report location: <report_prefix>/job-<job_id>/
	Manifest     string    `json:"manifest"`      // s3://bucket/key of the uploaded shard
	ETag         string    `json:"manifest_etag"`
	Operation    string    `json:"operation"`
	Objects      int64     `json:"objects"`
	Status       string    `json:"status"` // as last seen by submit (New at creation)
	CreatedAt    time.Time `json:"created_at"`
}

// ReadRun reads DIR/jobs.json; a missing file wraps objio.ErrNotFound.
func ReadRun(ctx context.Context, dir string) (*Run, error) {
	loc := objio.Join(dir, JobsFile)
	raw, err := objio.ReadAll(ctx, loc)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", loc, ErrJobsFile, err)
	}
	if r.Version != JobsVersion {
		return nil, fmt.Errorf("%s: %w: version %d, expected %d", loc, ErrJobsFile, r.Version, JobsVersion)
	}
	for i, e := range r.Jobs {
		if e.Shard == "" || e.JobID == "" || e.Token == "" {
			return nil, fmt.Errorf("%s: %w: jobs[%d] needs shard, job_id and client_request_token", loc, ErrJobsFile, i)
		}
	}
	return &r, nil
}

// readRunIfAny is ReadRun, with nil for a missing file.
func readRunIfAny(ctx context.Context, dir string) (*Run, error) {
	r, err := ReadRun(ctx, dir)
	if errors.Is(err, objio.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

func (r *Run) marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
