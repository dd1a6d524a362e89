package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// LocalAccount is the account of the jobs RunPlan creates.
const LocalAccount = "000000000000"

// LocalRole is the role ARN of the jobs RunPlan creates (not used: the
// engine has no IAM).
const LocalRole = "arn:aws:iam::" + LocalAccount + ":role/s3batchkit-local"

// ManifestBucket is the bucket RunPlan's client mounts on the engine's
// state (StateDir/manifests): the shards of the plan are copied there, as
// submit uploads them to a manifest bucket, and the jobs read that copy.
const ManifestBucket = "s3batchkit-run-manifests"

// ReportBucket is the bucket RunPlan's client mounts on a local report
// folder.
const ReportBucket = "s3batchkit-run-reports"

// RunOptions say which plan to run and how. Engine configures the engine
// (Storage is required; an empty StateDir is a temporary folder, removed
// at the end, so the run cannot be resumed).
type RunOptions struct {
	// Plan is the plan directory (local or s3://) holding plan.json.
	Plan string
	// Operation is the operation of every job.
	Operation types.JobOperation
	// Routes selects the plan's routes, each of which the operation must
	// serve; empty: every route it serves (jobs.SelectShards).
	Routes []string
	// Report is the report prefix location (a folder or s3://bucket/
	// prefix): each job's report goes to <Report>/job-<id>/. Empty:
	// <Plan>/reports.
	Report string
	// ReportScope is AllTasks (zero value) or FailedTasksOnly.
	ReportScope types.JobReportScope
	// Engine configures the engine the jobs run in.
	Engine Options
	// OnShard, when set, is called as each shard is settled (its job
	// created or found again), never concurrently with itself.
	OnShard func(jobs.ShardJob)
	// OnJob, when set, is called as each job ends, never concurrently.
	OnJob func(RunJob)
}

// RunJob is the outcome of one shard's job.
type RunJob struct {
	Shard, Route, JobID string
	Versions            string // manifest.Shard.Versions
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
	// Skipped lists the routes of the plan the operation cannot serve
	// (when no Routes were given).
	Skipped []jobs.RouteSkip
	// Report is the report prefix location the jobs wrote to.
	Report string
	// TaskRetries counts the task attempts repeated after a transient
	// error (Engine.TaskRetries).
	TaskRetries int64
}

// RunPlan runs a plan in an engine of its own, in this process: it is
// jobs.Submit against the engine's in-process client (Client), then a
// wait for every job. So the shards, the tokens, the CreateJob requests,
// the routes each operation serves, the order of versioned copies
// (noncurrent versions' jobs complete before the current ones' start) and
// DIR/jobs.json are those of submit; jobs.json records the jobs with
// Run.ControlEndpoint manifest.EndpointRun and their final statuses.
//
// The shards are copied into the engine's state (ManifestBucket) and each
// job reads its copy, checked against the plan's MD5. With the same
// Engine.StateDir a rerun after a crash or Ctrl-C resumes: each shard's
// job is found again by its ClientRequestToken and continues after its
// last recorded task.
func RunPlan(ctx context.Context, o RunOptions) (*RunResult, error) {
	if err := jobs.ValidateOperation(o.Operation); err != nil {
		return nil, err
	}
	if o.ReportScope == "" {
		o.ReportScope = types.JobReportScopeAllTasks
	}
	if o.Report == "" {
		o.Report = objio.Join(o.Plan, "reports")
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
	cl := e.NewClient()
	if err := cl.Mount(ManifestBucket, filepath.Join(eo.StateDir, "manifests")); err != nil {
		return nil, err
	}
	reportBucket, reportPrefix := ReportBucket, ""
	if objio.IsS3(o.Report) {
		b, k, err := objio.ParseS3(o.Report)
		if err != nil {
			return nil, err
		}
		reportBucket, reportPrefix = b, strings.Trim(k, "/")
		if err := cl.Mount(b, "s3://"+b); err != nil {
			return nil, err
		}
	} else if err := cl.Mount(ReportBucket, o.Report); err != nil {
		return nil, err
	}

	res := &RunResult{Report: o.Report}
	var (
		mu      sync.Mutex // guards res.Jobs, waitErr, waited and OnJob
		waitErr error
		waiting sync.WaitGroup
		waited  = map[string]bool{}
	)
	wctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	wait := func(sj jobs.ShardJob) {
		defer waiting.Done()
		d, err := e.Wait(wctx, LocalAccount, sj.JobID)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if waitErr == nil {
				waitErr = fmt.Errorf("waiting for job %s of shard %s: %w", sj.JobID, sj.Shard, err)
			}
			return
		}
		rj := RunJob{Shard: sj.Shard, Route: sj.Route, JobID: sj.JobID, Versions: sj.Versions, Status: d.Status}
		if p := d.ProgressSummary; p != nil {
			rj.Total, rj.Succeeded, rj.Failed = aws.ToInt64(p.TotalNumberOfTasks), aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed)
		}
		for _, f := range d.FailureReasons {
			rj.FailureReasons = append(rj.FailureReasons, aws.ToString(f.FailureCode)+": "+aws.ToString(f.FailureReason))
		}
		if rj.Succeeded+rj.Failed > 0 {
			rj.Report = objio.Join(sj.ReportPrefix, "job-"+sj.JobID)
		}
		res.Jobs = append(res.Jobs, rj)
		if o.OnJob != nil {
			o.OnJob(rj)
		}
	}
	so := jobs.SubmitOptions{
		Plan: o.Plan, AccountID: LocalAccount, RoleArn: LocalRole, Operation: o.Operation,
		ReportBucket: "arn:aws:s3:::" + reportBucket, ReportPrefix: reportPrefix, ReportScope: o.ReportScope,
		Priority: 10, Routes: o.Routes, ManifestPrefix: "s3://" + ManifestBucket,
		ControlEndpoint: manifest.EndpointRun, Wait: true, PollInterval: 50 * time.Millisecond, Recreate: true,
		Client: cl, Store: cl, IO: o.Engine.IO,
		OnShard: func(sj jobs.ShardJob) {
			if o.OnShard != nil {
				o.OnShard(sj)
			}
			if sj.JobID == "" || sj.State == "held" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !waited[sj.JobID] {
				waited[sj.JobID] = true
				waiting.Add(1)
				go wait(sj)
			}
		},
	}
	sres, err := jobs.Submit(ctx, so)
	if sres != nil {
		res.PlanID, res.Skipped = sres.PlanID, sres.Skipped
	}
	if err != nil {
		stopWaiting()
	}
	waiting.Wait()
	res.TaskRetries = e.TaskRetries()
	if ce := e.CredentialsError(); ce != nil {
		// Not the plan's nor the objects' fault: the run ends with it.
		err = ce
	}
	if err == nil {
		err = waitErr
	}
	order := map[string]int{}
	if sres != nil {
		for i, sj := range sres.Shards {
			order[sj.Shard] = i
		}
	}
	sort.SliceStable(res.Jobs, func(a, b int) bool { return order[res.Jobs[a].Shard] < order[res.Jobs[b].Shard] })
	if len(res.Jobs) > 0 {
		// The final statuses, for status and report --plan; also after an
		// interruption, for the jobs that ended.
		if _, serr := jobs.Status(context.WithoutCancel(ctx), jobs.StatusOptions{Plan: o.Plan, Client: cl, IO: o.Engine.IO}); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return res, err
	}
	return res, e.Close()
}

// MaterializeSources creates, under a directory of buckets, every object
// the selected shards of a plan name that does not exist yet (content: the
// key, so objects differ), and the destination bucket of a copy. It is
// for demos and rehearsals of a plan made from a synthetic inventory; it
// returns the number of objects created. Routes are selected as RunPlan
// selects them for op.
func MaterializeSources(ctx context.Context, oc *objio.Client, plan string, routes []string, st *DirStorage, op types.JobOperation) (int64, error) {
	p, err := manifest.ReadPlan(ctx, oc, plan)
	if err != nil {
		return 0, err
	}
	shards, _, err := jobs.SelectShards(p, op, routes)
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
		f, err := oc.Open(ctx, objio.Join(plan, sh.Path))
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
