package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/manifest"
)

func newRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a plan's shards with the local engine, in this process, without S3 Control",
		UsageText: "s3batchkit run --plan DIR --operation JSON|@FILE [--report DIR|s3://B/P] [--local-root DIR | --endpoint-url URL] [options]",
		Description: `Runs one job per shard of the plan, as 'serve' would after 'submit', but in
this process: it is 'submit' against an engine of its own, then a wait. The
same operation JSON, the same jobs (routes, tokens, requests), the same
tasks and completion reports (<report>/job-<id>/manifest.json and results/,
AWS's layout); it prints one line per job as it ends. The jobs are
recorded in DIR/jobs.json as submit records them, with their final
statuses, so 'status --plan DIR' and 'report --plan DIR' work after it.

Routes: without --routes, the routes the operation can serve run and the
others are listed as skipped (a copy does not serve 'large' or the restore
routes; a restore with ExpirationInDays serves 'restore', one without it
'restore-tiering'); --routes the operation cannot serve are refused.
Versioned plans: the jobs of a route's current versions start once its
noncurrent-version jobs are Complete.

The large route (objects over 5 GiB) is served by LambdaInvoke of the
s3batchkit-large-copy function (docs/large-objects.md): a FunctionArn
naming it (any account, region, version or alias) runs the function here,
a multipart UploadPartCopy per object against the S3 store (not
--local-root), with the report rows AWS writes for Lambda jobs. It reads
the deployed function's environment: S3BATCHKIT_PART_SIZE (bytes; default
256 MiB), S3BATCHKIT_CONCURRENCY (parts one task copies at once; default 4
here, at most max(--workers, it) parts in flight), and for schema 1.0 jobs
TargetResource, TargetKeyPrefix … Other functions need --lambda-url.

The shards are copied into the engine's state (--state-dir) and the jobs
read that copy. Reports go to --report (default: DIR/reports).

Tasks act on a directory of buckets (--local-root DIR: DIR/<bucket>/<key>)
or on S3 (the global --endpoint-url for an S3-compatible server, and the
AWS chain), the store that s3:// plans and reports use too. With
--state-dir the run can be resumed: the same command after a crash or
Ctrl-C continues every job after its last recorded task.

--materialize (with --local-root) first creates every source object the
shards name that does not exist yet (its content is its key), and the copy
destination bucket: for demos and rehearsals of plans made from 'gen'.

Exit codes: 0 every job Complete (tasks may have failed: see the report);
1 a job Failed or was Cancelled, or an I/O failure; 2 bad flags, or
--routes the operation cannot serve; 3 no plan.json, or a jobs.json made
with other settings (operation, report); 130 interrupted (resume with the
same --state-dir).

Examples (plan/ as the examples of 's3batchkit plan' make it):
   # copy the copy-route shards between folders of buckets (--materialize
   # first creates the sources a plan of a gen inventory names), then audit
   s3batchkit run --plan plan/ --routes copy --local-root buckets/ --materialize --report reports/ \
       --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::backup"}}'
   s3batchkit report --plan plan/ --out audit/

   # the jobs a tagging run would run, and the routes it leaves out
   s3batchkit run --plan plan/ --dry-run \
       --operation '{"S3PutObjectTagging": {"TagSet": [{"Key": "tier", "Value": "cold"}]}}'

   # rehearse the large route on a MinIO: the function runs in this process
   s3batchkit --endpoint-url http://127.0.0.1:9000 run --plan plan/ --routes large \
       --report s3://reports/large --operation '{"LambdaInvoke": {
           "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy",
           "InvocationSchemaVersion": "2.0",
           "UserArguments": {"TargetResource": "arn:aws:s3:::dst", "TargetKeyPrefix": "big"}}}'

   # tag every object on a MinIO, resumable
   s3batchkit run --plan plan/ --endpoint-url http://127.0.0.1:9000 --state-dir .run-state \
       --operation '{"S3PutObjectTagging": {"TagSet": [{"Key": "tier", "Value": "cold"}]}}' \
       --report s3://reports/tagging`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding plan.json", Required: true},
			&cli.StringSliceFlag{Category: catInput, Name: "routes", Usage: "run only these `ROUTES` (default: every route the operation serves)"},
			&cli.StringFlag{Category: catInput, Name: "operation", Usage: "the operation as `JSON` (AWS CLI shape), or @FILE", Required: true},
			&cli.StringFlag{Category: catInput, Name: "report", Usage: "write completion reports under `DIR` or s3://BUCKET/PREFIX (default: the plan's reports/)"},
			&cli.StringFlag{Category: catInput, Name: "report-scope", Value: "AllTasks", Usage: "`AllTasks` or FailedTasksOnly"},
			&cli.StringFlag{Category: catEngine, Name: "state-dir", Usage: "keep the engine's state in `DIR` so the run can be resumed (default: a temporary folder)"},
			&cli.BoolFlag{Category: catEngine, Name: "materialize", Usage: "with --local-root: first create the missing source objects (demos)"},
			&cli.BoolFlag{Category: catInput, Name: "dry-run", Usage: "list the jobs that would run (shards, routes, objects) and the routes left out; run nothing, write nothing"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the outcome as JSON on stdout: jobs (status, task counts), totals, skipped routes"},
			quietFlag(),
		}, engineFlags()...),
		Before: func(c *cli.Context) error {
			if err := checkEngineFlags(c); err != nil {
				return err
			}
			if s := c.String("report-scope"); s != "AllTasks" && s != "FailedTasksOnly" {
				return usagef("--report-scope must be AllTasks or FailedTasksOnly, got %q", s)
			}
			if c.Bool("materialize") && c.String("local-root") == "" {
				return usagef("--materialize needs --local-root: it creates files, not S3 objects")
			}
			if c.Bool("materialize") && c.Bool("dry-run") {
				return usagef("--materialize and --dry-run exclude each other: a dry run creates nothing")
			}
			_, err := readOperation(c.String("operation"))
			return err
		},
		Action: func(c *cli.Context) error {
			op, err := readOperation(c.String("operation"))
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				return runDryRun(c.Context, storage(c), c.App.Writer, c.String("plan"), op, commaList(c.StringSlice("routes")), c.Bool("json"))
			}
			eo, err := engineOptions(c)
			if err != nil {
				return err
			}
			eo.StateDir = c.String("state-dir")
			o := local.RunOptions{Plan: c.String("plan"), Operation: op, Routes: commaList(c.StringSlice("routes")),
				Report: c.String("report"), ReportScope: types.JobReportScope(c.String("report-scope")), Engine: eo}
			if o.Report != "" && !objio.IsS3(o.Report) {
				if err := os.MkdirAll(o.Report, 0o755); err != nil {
					return err
				}
			}
			if o.Report == "" {
				o.Report = objio.Join(o.Plan, "reports")
			}
			var w io.Writer = c.App.Writer
			if c.Bool("json") || c.Bool("quiet") {
				w = io.Discard
			}
			if c.Bool("materialize") {
				n, err := local.MaterializeSources(c.Context, eo.IO, o.Plan, o.Routes, eo.Storage.(*local.DirStorage), op)
				if err != nil {
					return jobsError(err)
				}
				fmt.Fprintf(w, "materialized %d source objects under %s\n", n, c.String("local-root"))
			}
			// Progress on a terminal: the engine's task attempts, counted
			// at its storage.
			counter, ended := &taskCounter{}, &atomic.Int64{}
			o.Engine.Storage = countingStorage{o.Engine.Storage, counter}
			var planned int64
			shards := selectedShards(c.Context, eo.IO, o.Plan, op, o.Routes)
			for _, sh := range shards {
				planned += sh.Objects
			}
			live := startLine(c.App.ErrWriter, w, !c.Bool("quiet") && isTerminal(c.App.ErrWriter), runProgress(counter, planned, len(shards), ended))
			defer live.Stop()
			w = live
			var mu sync.Mutex
			o.OnShard = func(s jobs.ShardJob) {
				if s.State == "held" {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(w, "held back  %-28s %s\n", s.Shard, s.Detail)
				}
			}
			o.OnJob = func(j local.RunJob) {
				mu.Lock()
				defer mu.Unlock()
				ended.Add(1)
				line := fmt.Sprintf("%-10s %-28s job %s  %s/%s tasks, %s failed", j.Status, j.Shard, j.JobID,
					humanCount(j.Succeeded+j.Failed), humanCount(j.Total), humanCount(j.Failed))
				if len(j.FailureReasons) > 0 {
					line += "  (" + strings.Join(j.FailureReasons, "; ") + ")"
				}
				fmt.Fprintln(w, line)
			}
			res, err := local.RunPlan(c.Context, o)
			live.Stop()
			if c.Bool("json") {
				if jerr := writeJSON(c.App.Writer, newRunOutput(eo.IO, o.Plan, res, err)); jerr != nil && err == nil {
					err = jerr
				}
			}
			// The S3 requests of the run and their retries close the
			// summary, also after a failure.
			if line := s3StatsLine(eo.IO.Stats()); line != "" {
				if res != nil {
					line += fmt.Sprintf("; %s task attempts retried", humanCount(res.TaskRetries))
				}
				defer fmt.Fprintln(w, line)
			}
			if res != nil {
				printSkipped(w, res.Skipped)
			}
			if err != nil {
				return jobsError(err)
			}
			var total, failed int64
			bad := 0
			for _, j := range res.Jobs {
				total += j.Succeeded + j.Failed
				failed += j.Failed
				if j.Status != types.JobStatusComplete {
					bad++
				}
			}
			fmt.Fprintf(w, "plan %s: %d jobs, %s tasks run, %s failed; reports under %s; jobs in %s (s3batchkit report --plan %s --out DIR)\n",
				res.PlanID, len(res.Jobs), humanCount(total), humanCount(failed), res.Report, objio.Join(o.Plan, manifest.JobsFile), o.Plan)
			if bad > 0 {
				return fmt.Errorf("%d of %d jobs did not complete", bad, len(res.Jobs))
			}
			return nil
		},
	}
}

// readOperation parses --operation: inline JSON, @FILE or file://FILE.
func readOperation(s string) (types.JobOperation, error) {
	raw := []byte(s)
	if strings.HasPrefix(s, "@") || strings.HasPrefix(s, "file://") {
		b, err := os.ReadFile(strings.TrimPrefix(strings.TrimPrefix(s, "@"), "file://"))
		if err != nil {
			return types.JobOperation{}, usagef("--operation: %v", err)
		}
		raw = b
	}
	op, _, err := jobs.ParseOperation(raw)
	if err != nil {
		return op, usagef("--operation: %v", err)
	}
	return op, nil
}
