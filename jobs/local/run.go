package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// LocalAccount is the account of the jobs RunPlan creates.
const LocalAccount = "000000000000"

// RunOptions say which plan to run and how. Engine configures the engine
// (Storage is required; an empty StateDir is a temporary folder, removed
// at the end, so the run cannot be resumed).
type RunOptions struct {
	// Plan is the plan directory (local or s3://) holding plan.json.
	Plan string
	// Operation is the operation of every job.
	Operation types.JobOperation
	// Routes selects the plan's routes; empty: all.
	Routes []string
	// Report is the report prefix location (a folder or s3://bucket/
	// prefix): each job's report goes to <Report>/job-<id>/. Empty: no
	// report.
	Report string
	// ReportScope is AllTasks (zero value) or FailedTasksOnly.
	ReportScope types.JobReportScope
	// Engine configures the engine the jobs run in.
	Engine Options
	// OnJob, when set, is called as each job ends, never concurrently.
	OnJob func(RunJob)
}

// RunJob is the outcome of one shard's job.
type RunJob struct {
	Shard, Route, JobID string
	Status              types.JobStatus
	Total               int64
	Succeeded, Failed   int64
	FailureReasons      []string
	// Report is the job's report folder, <Report>/job-<id>; "" when no
	// report was written.
	Report string
}

// RunResult sums up a run.
type RunResult struct {
	PlanID string
	Jobs   []RunJob // in plan order
	// TaskRetries counts the task attempts repeated after a transient
	// error (Engine.TaskRetries).
	TaskRetries int64
}

// RunPlan runs one job per selected shard of a plan in an engine of its
// own, without a server, and waits for them all. With the same
// Engine.StateDir a rerun after a crash or Ctrl-C resumes: each shard's job
// is found again by its ClientRequestToken (derived from the plan, the
// shard, the operation and the report settings) and continues after its
// last recorded task.
func RunPlan(ctx context.Context, o RunOptions) (*RunResult, error) {
	if err := jobs.ValidateOperation(o.Operation); err != nil {
		return nil, err
	}
	plan, err := manifest.ReadPlan(ctx, o.Plan)
	if err != nil {
		return nil, err
	}
	raw, err := objio.ReadAll(ctx, objio.Join(o.Plan, manifest.PlanFile))
	if err != nil {
		return nil, err
	}
	planID := jobs.PlanID(raw)
	shards, err := selectShards(plan, o.Routes)
	if err != nil {
		return nil, err
	}
	if o.ReportScope == "" {
		o.ReportScope = types.JobReportScopeAllTasks
	}
	eo := o.Engine
	if eo.StateDir == "" {
		dir, err := os.MkdirTemp("", "s3batchkit-run-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		eo.StateDir = dir
	}
	e, err := New(eo)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	opJSON, _ := json.Marshal(o.Operation)
	reportBucket := "arn:aws:s3:::s3batchkit-local-reports"
	if objio.IsS3(o.Report) {
		b, _, err := objio.ParseS3(o.Report)
		if err != nil {
			return nil, err
		}
		reportBucket = "arn:aws:s3:::" + b
	}
	res := &RunResult{PlanID: planID}
	ids := make([]string, len(shards))
	for i, sh := range shards {
		h := sha256.New()
		for _, s := range []string{"s3batchkit-run-v1", planID, sh.Path, strings.ToLower(sh.MD5), string(opJSON), o.Report, string(o.ReportScope)} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		token := "s3bk-run-" + hex.EncodeToString(h.Sum(nil))[:48]
		op := o.Operation
		fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}
		if sh.VersionIDs {
			fields = append(fields, types.JobManifestFieldNameVersionId)
		}
		in := &s3control.CreateJobInput{
			AccountId: aws.String(LocalAccount), ClientRequestToken: aws.String(token),
			ConfirmationRequired: aws.Bool(false), Priority: aws.Int32(10),
			Description: aws.String("s3batchkit run " + planID + " " + sh.Path),
			RoleArn:     aws.String("arn:aws:iam::" + LocalAccount + ":role/s3batchkit-local"),
			Operation:   &op,
			Manifest: &types.JobManifest{
				Spec:     &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: fields},
				Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::s3batchkit-local/" + planID + "/" + sh.Path), ETag: aws.String(sh.MD5)},
			},
			Report: &types.JobReport{Enabled: o.Report != "", Bucket: aws.String(reportBucket),
				Format: types.JobReportFormatReportCsv20180820, ReportScope: o.ReportScope},
			// The tags submit gives the same shard's job on AWS.
			Tags: []types.S3Tag{
				{Key: aws.String(jobs.TagPlan), Value: aws.String(planID)},
				{Key: aws.String(jobs.TagShard), Value: aws.String(sh.Path)},
				{Key: aws.String(jobs.TagRoute), Value: aws.String(sh.Route)},
			},
		}
		id, err := e.CreateLocalJob(ctx, LocalAccount, JobSpec{Input: in, ManifestLoc: objio.Join(o.Plan, sh.Path), ReportLoc: o.Report})
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", sh.Path, err)
		}
		ids[i] = id
	}
	for i, sh := range shards {
		d, err := e.Wait(ctx, LocalAccount, ids[i])
		if err != nil {
			res.TaskRetries = e.TaskRetries()
			return res, err
		}
		rj := RunJob{Shard: sh.Path, Route: sh.Route, JobID: ids[i], Status: d.Status}
		if p := d.ProgressSummary; p != nil {
			rj.Total, rj.Succeeded, rj.Failed = aws.ToInt64(p.TotalNumberOfTasks), aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed)
		}
		for _, f := range d.FailureReasons {
			rj.FailureReasons = append(rj.FailureReasons, aws.ToString(f.FailureCode)+": "+aws.ToString(f.FailureReason))
		}
		if o.Report != "" && rj.Succeeded+rj.Failed > 0 {
			rj.Report = objio.Join(o.Report, "job-"+ids[i])
		}
		res.Jobs = append(res.Jobs, rj)
		if o.OnJob != nil {
			o.OnJob(rj)
		}
	}
	res.TaskRetries = e.TaskRetries()
	return res, e.Close()
}

func selectShards(plan *manifest.Plan, routes []string) ([]manifest.Shard, error) {
	have := map[string]bool{}
	var names []string
	for _, r := range plan.Routes {
		have[r.Route] = true
		names = append(names, r.Route)
	}
	want := map[string]bool{}
	for _, r := range routes {
		if !have[r] {
			return nil, fmt.Errorf("%w: route %q is not in the plan, whose routes are: %s", jobs.ErrInvalid, r, strings.Join(names, ", "))
		}
		want[r] = true
	}
	var out []manifest.Shard
	for _, sh := range plan.Shards {
		if len(routes) == 0 || want[sh.Route] {
			out = append(out, sh)
		}
	}
	return out, nil
}

// MaterializeSources creates, under a directory of buckets, every object
// the selected shards of a plan name that does not exist yet (content: the
// key, so objects differ), and the destination bucket of a copy. It is
// for demos and rehearsals of a plan made from a synthetic inventory; it
// returns the number of objects created.
func MaterializeSources(ctx context.Context, plan string, routes []string, st *DirStorage, op types.JobOperation) (int64, error) {
	p, err := manifest.ReadPlan(ctx, plan)
	if err != nil {
		return 0, err
	}
	shards, err := selectShards(p, routes)
	if err != nil {
		return 0, err
	}
	if c := op.S3PutObjectCopy; c != nil {
		if m := targetRE.FindStringSubmatch(aws.ToString(c.TargetResource)); m != nil {
			if err := os.MkdirAll(filepath.Join(st.Root, m[1]+m[2]), 0o755); err != nil {
				return 0, err
			}
		}
	}
	var n int64
	for _, sh := range shards {
		f, err := objio.Open(ctx, objio.Join(plan, sh.Path))
		if err != nil {
			return n, err
		}
		err = eachLine(f, func(line []byte) error {
			row, err := manifest.ParseRow(line)
			if err != nil {
				return err
			}
			path, err := st.path(row.Bucket, row.Key)
			if err != nil {
				return nil // a key a directory cannot hold: its task reports it
			}
			if _, err := os.Stat(path); err == nil {
				return nil
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil
			}
			if err := os.MkdirAll(filepath.Join(st.Root, row.Bucket), 0o755); err != nil {
				return err
			}
			if err := st.writeFile(path, row.Key, strings.NewReader(row.Key)); err != nil {
				var te *TaskError
				if errors.As(err, &te) {
					return nil
				}
				return err
			}
			n++
			return ctx.Err()
		})
		f.Close()
		if err != nil {
			return n, fmt.Errorf("%s: %w", sh.Path, err)
		}
	}
	return n, nil
}
