package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/iampolicy"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// exitError gives an error its exit code (cli.ExitCoder).
type exitError struct {
	err  error
	code int
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// jobsExitCode maps the errors of package jobs: bad options and
// operations are usage errors; a missing plan, an ETag that differs from
// the plan and a jobs.json conflict are bad input.
func jobsError(err error) error {
	err = jobsHint(err)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jobs.ErrInvalid), errors.Is(err, jobs.ErrOperation):
		return &exitError{err, exitUsage}
	case errors.Is(err, manifest.ErrNoPlan), errors.Is(err, jobs.ErrETagMismatch), errors.Is(err, jobs.ErrConflict), errors.Is(err, manifest.ErrJobsFile):
		return &exitError{err, exitBadInput}
	}
	return err
}

// hintedError is an error of a library package followed by what to do
// about it in terms of this command line (the library names no flags).
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// jobsHint adds to the errors of package jobs the commands and flags that
// answer them (once).
func jobsHint(err error) error {
	var h *hintedError
	switch {
	case err == nil || errors.As(err, &h):
		return err
	case errors.Is(err, jobs.ErrNoncurrentIncomplete):
		return &hintedError{err, "copy the noncurrent versions that did not run (s3batchkit report --plan), then submit the current versions from a plan made with --latest-only"}
	case errors.Is(err, jobs.ErrShardTooLarge):
		return &hintedError{err, "re-plan with --max-manifest-bytes"}
	}
	return err
}

const catControl = "S3 Control:"

// controlEndpointFlag is shared by the commands that call S3 Control.
func controlEndpointFlag() cli.Flag {
	return &cli.StringFlag{Category: catControl, Name: "control-endpoint-url", EnvVars: []string{configEnv("control_endpoint_url"), "AWS_ENDPOINT_URL_S3_CONTROL"},
		Usage: "fixed S3 Control endpoint `URL` (s3batchkit serve, a test server)", DefaultText: "the one jobs.json records, else AWS's https://ACCOUNT.s3-control.REGION.amazonaws.com"}
}

func newSubmitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "create one Batch Operations job per shard of a plan, idempotently, recorded in jobs.json",
		UsageText: "s3batchkit submit --plan DIR --account-id ID --role-arn ARN --operation JSON|@FILE --report-bucket ARN [--manifest-bucket s3://B/P] [options]",
		Description: `Uploads each shard of a local plan to --manifest-bucket (one PUT, so its
ETag is the MD5 plan.json records; checked), then calls CreateJob once per
shard: manifest S3BatchOperations_CSV_20180820 (Bucket,Key[,VersionId]),
the operation, a completion report, tags s3batchkit:plan/shard/route, and a
ClientRequestToken derived from the plan, the shard and these settings.
Shards of a plan in S3 are used where they are.

Each job is recorded in DIR/jobs.json (shard → job id, token, status) as
soon as it exists, with the S3 Control endpoint (so that status, jobs and
report need not be told it again). Run the same command again after a
failure or Ctrl-C: it creates only the jobs that are missing, never a
duplicate. Everything (flags, operation, plan, jobs.json) is checked before
the first call. Throttling and 5xx answers are retried with backoff.

Routes: without --routes, the routes of the plan the operation can serve
are submitted and the others are listed as skipped, with the reason (a copy
fails for objects over 5 GB, 'large', and for archived ones, 'restore' and
'restore-tiering'; a restore with ExpirationInDays serves 'restore', one
without it 'restore-tiering'). --routes the operation cannot serve are
refused (exit 2).

Versioned plans: Batch Operations runs a job's tasks in no particular
order, so the plan keeps noncurrent and current versions in shards of
their own, and the current-version jobs of a route are created only once
all its noncurrent-version jobs are Complete. Until then they are held
back (listed; exit 5): run the same command again later, or use --wait to
wait for them here (DescribeJob every --poll-interval).

--operation takes the JSON of the AWS CLI's s3control create-job
--operation, inline or from a file (@op.json or file://op.json): exactly one
of LambdaInvoke, S3PutObjectCopy, S3PutObjectAcl, S3PutObjectTagging,
S3DeleteObjectTagging, S3InitiateRestoreObject, S3PutObjectLegalHold,
S3PutObjectRetention, S3ReplicateObject, S3ComputeObjectChecksum,
S3UpdateObjectEncryption. Timestamps are RFC 3339.

Exit codes: 0 every selected shard has its job; 1 an S3 or S3 Control
failure (jobs created so far are recorded: run again to resume), or a
noncurrent-version job that ended Failed or Cancelled (its route's current
versions are not submitted); 2 bad flags or operation, or --routes the
operation cannot serve; 3 bad input (no plan.json, a shard whose ETag
differs from the plan, jobs.json made for other settings); 5 current-version
jobs held back until the noncurrent ones complete (run again, or --wait);
130 interrupted.

Examples (plan/ as the examples of 's3batchkit plan' make it):
   # copy every object of the plan to another bucket, as Standard-IA
   s3batchkit submit --plan plan/ --account-id 123456789012 \
       --role-arn arn:aws:iam::123456789012:role/batch-ops \
       --manifest-bucket s3://my-manifests/batch \
       --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::my-destination", "StorageClass": "STANDARD_IA"}}' \
       --report-bucket arn:aws:s3:::my-reports --report-prefix batch/reports

   # restore the archived objects first; see what would be created (calls nothing)
   s3batchkit submit --plan plan/ --routes restore --account-id 123456789012 \
       --role-arn arn:aws:iam::123456789012:role/batch-ops --manifest-bucket s3://my-manifests/batch \
       --operation '{"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}}' \
       --report-bucket arn:aws:s3:::my-reports --dry-run

   # tag objects with an operation kept in a file; jobs wait for confirmation;
   # the account, role and report bucket from S3BATCHKIT_* or the config file
   s3batchkit submit --plan s3://my-plans/run-7 --operation @tag.json \
       --report-scope FailedTasksOnly --confirm`,
		Flags: []cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding plan.json", Required: true},
			&cli.StringFlag{Category: catInput, Name: "manifest-bucket", EnvVars: []string{configEnv("manifest_bucket")}, Usage: "upload the shards of a local plan to `s3://BUCKET[/PREFIX]` (under <prefix>/<plan id>/shards/…)"},
			&cli.StringSliceFlag{Category: catInput, Name: "routes", Usage: "submit only these `ROUTES` (copy,large,restore,…; default: all)"},
			&cli.StringFlag{Category: catControl, Name: "account-id", EnvVars: []string{configEnv("account_id")}, Usage: "12-digit AWS account `ID` the jobs are created in", Required: true},
			&cli.StringFlag{Category: catControl, Name: "role-arn", EnvVars: []string{configEnv("role_arn")}, Usage: "IAM role `ARN` Batch Operations assumes", Required: true},
			&cli.StringFlag{Category: catControl, Name: "operation", Usage: "the operation as `JSON` (AWS CLI shape), or @FILE", Required: true},
			&cli.StringFlag{Category: catControl, Name: "report-bucket", EnvVars: []string{configEnv("report_bucket")}, Usage: "completion report bucket `ARN` (arn:aws:s3:::bucket)", Required: true},
			&cli.StringFlag{Category: catControl, Name: "report-prefix", EnvVars: []string{configEnv("report_prefix")}, Usage: "completion report key `PREFIX`"},
			&cli.StringFlag{Category: catControl, Name: "report-scope", Value: "AllTasks", Usage: "`AllTasks` or FailedTasksOnly (report needs AllTasks to count successes)"},
			countFlag(catControl, "priority", 10, "job `PRIORITY`, 0 to 2147483647; higher runs sooner"),
			&cli.BoolFlag{Category: catControl, Name: "confirm", Usage: "create the jobs Suspended, waiting for confirmation (ConfirmationRequired)"},
			countFlag(catControl, "workers", jobs.DefaultConcurrency, "at most `N` shards uploaded and CreateJob calls in flight"),
			&cli.BoolFlag{Category: catControl, Name: "dry-run", Usage: "print the jobs that would be created; call nothing, write nothing"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the outcome as JSON on stdout: jobs (shard, route, state, job id), counts, skipped routes"},
			quietFlag(),
			&cli.BoolFlag{Category: catControl, Name: "wait", Usage: "wait for the noncurrent-version jobs of versioned routes to complete, then create the current-version jobs"},
			&cli.DurationFlag{Category: catControl, Name: "poll-interval", Value: 30 * time.Second, Usage: "`DURATION` between DescribeJob rounds with --wait"},
			controlEndpointFlag(),
		},
		Before: func(c *cli.Context) error {
			_, err := submitOptionsFromFlags(c)
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := submitOptionsFromFlags(c)
			if err != nil {
				return err
			}
			if !o.DryRun {
				cl, err := jobs.NewClient(c.Context, jobs.ClientOptions{IO: o.IO, Endpoint: c.String("control-endpoint-url")})
				if err != nil {
					return jobsError(err)
				}
				o.Client = cl
			}
			o.ControlEndpoint = recordableEndpoint(c.String("control-endpoint-url"))
			return runSubmit(c.Context, c.App.Writer, c.App.ErrWriter, o, outputMode{json: c.Bool("json"), quiet: c.Bool("quiet")})
		},
	}
}

var (
	accountIDRE    = regexp.MustCompile(`^\d{12}$`)
	roleARNFlagRE  = regexp.MustCompile(`^arn:[^:]+:iam::\d{12}:role/.+$`)
	bucketARNFlagR = regexp.MustCompile(`^arn:[^:]+:s3:::[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
)

// submitOptionsFromFlags checks the flags (naming them in errors) and the
// operation, without any I/O but reading an @FILE operation.
func submitOptionsFromFlags(c *cli.Context) (jobs.SubmitOptions, error) {
	o := jobs.SubmitOptions{
		IO:             storage(c),
		Plan:           c.String("plan"),
		AccountID:      c.String("account-id"),
		RoleArn:        c.String("role-arn"),
		ReportBucket:   c.String("report-bucket"),
		ReportPrefix:   c.String("report-prefix"),
		ReportScope:    types.JobReportScope(c.String("report-scope")),
		Confirm:        c.Bool("confirm"),
		Routes:         commaList(c.StringSlice("routes")),
		ManifestPrefix: c.String("manifest-bucket"),
		Concurrency:    c.Int("workers"),
		DryRun:         c.Bool("dry-run"),
		Wait:           c.Bool("wait"),
		PollInterval:   c.Duration("poll-interval"),
	}
	switch {
	case !accountIDRE.MatchString(o.AccountID):
		return o, usagef("--account-id must be 12 digits, got %q", o.AccountID)
	case !roleARNFlagRE.MatchString(o.RoleArn):
		return o, usagef("--role-arn must be an IAM role ARN such as arn:aws:iam::123456789012:role/batch-ops, got %q", o.RoleArn)
	case !bucketARNFlagR.MatchString(o.ReportBucket):
		return o, usagef("--report-bucket must be a bucket ARN such as arn:aws:s3:::my-reports, got %q", o.ReportBucket)
	case o.ReportScope != types.JobReportScopeAllTasks && o.ReportScope != types.JobReportScopeFailedTasksOnly:
		return o, usagef("--report-scope must be AllTasks or FailedTasksOnly, got %q", o.ReportScope)
	case c.Int("priority") < 0 || c.Int("priority") > 1<<31-1:
		return o, usagef("--priority must be 0 to 2147483647, got %d", c.Int("priority"))
	case o.Concurrency < 1 || o.Concurrency > 1000:
		return o, usagef("--workers must be 1 to 1000, got %d", o.Concurrency)
	case o.PollInterval < time.Second:
		return o, usagef("--poll-interval must be at least 1s, got %v", o.PollInterval)
	case c.IsSet("poll-interval") && !o.Wait:
		return o, usagef("--poll-interval is for --wait")
	case len(o.ReportPrefix) > 512:
		return o, usagef("--report-prefix must be at most 512 characters")
	case o.ManifestPrefix != "" && !objio.IsS3(o.ManifestPrefix):
		return o, usagef("--manifest-bucket must be s3://bucket[/prefix], got %q", o.ManifestPrefix)
	case objio.IsS3(o.Plan) && o.ManifestPrefix != "":
		return o, usagef("--manifest-bucket is for local plans: the shards of %s are in S3 already", o.Plan)
	case !objio.IsS3(o.Plan) && o.ManifestPrefix == "":
		return o, usagef("--manifest-bucket is required: the plan %s is local and its shards must be uploaded", o.Plan)
	}
	o.Priority = int32(c.Int("priority"))
	op, err := readOperation(c.String("operation"))
	if err != nil {
		return o, err
	}
	o.Operation = op
	if err := o.Validate(); err != nil {
		return o, usagef("%v", err)
	}
	return o, nil
}

// exitHeld is submit's exit code when current-version jobs were held back.
const exitHeld = 5

// outputMode is how a command prints its result: --json, --quiet, and
// whether a live progress line may be shown (on a terminal).
type outputMode struct {
	json, quiet bool
}

// submitOutput is submit's --json document.
type submitOutput struct {
	PlanID        string             `json:"plan_id"`
	DryRun        bool               `json:"dry_run"`
	Jobs          []submitJob        `json:"jobs"`
	Created       int                `json:"created"`
	Existing      int                `json:"existing"`
	Uploaded      int                `json:"uploaded"`
	Held          int                `json:"held"`
	SkippedRoutes []skippedRoute     `json:"skipped_routes"`
	JobsFile      string             `json:"jobs_file,omitempty"`
	S3            objio.RequestStats `json:"s3"`
	Error         string             `json:"error,omitempty"`
}

// submitJob is one shard of submit's --json document.
type submitJob struct {
	Shard    string `json:"shard"`
	Route    string `json:"route"`
	State    string `json:"state"` // created, existing, held, dry-run
	JobID    string `json:"job_id,omitempty"`
	Token    string `json:"client_request_token"`
	Manifest string `json:"manifest,omitempty"`
	Objects  int64  `json:"objects"`
	Uploaded bool   `json:"uploaded"`
	Detail   string `json:"detail,omitempty"`
}

// skippedRoute is a route left out because the operation cannot serve it.
type skippedRoute struct {
	Route   string `json:"route"`
	Shards  int    `json:"shards"`
	Objects int64  `json:"objects"`
	Reason  string `json:"reason"`
}

func skippedRoutes(s []jobs.RouteSkip) []skippedRoute {
	out := make([]skippedRoute, 0, len(s))
	for _, r := range s {
		out = append(out, skippedRoute{Route: r.Route, Shards: r.Shards, Objects: r.Objects, Reason: r.Reason})
	}
	return out
}

// selectedShards returns the shards a submit or run of op over the plan
// in dir would act on, for progress totals; nil when that cannot be told
// (the command itself then says what is wrong).
func selectedShards(ctx context.Context, oc *objio.Client, dir string, op types.JobOperation, routes []string) []manifest.Shard {
	p, err := manifest.ReadPlan(ctx, oc, dir)
	if err != nil {
		return nil
	}
	shards, _, err := jobs.SelectShards(p, op, routes)
	if err != nil {
		return nil
	}
	return shards
}

func runSubmit(ctx context.Context, stdout, stderr io.Writer, o jobs.SubmitOptions, mode outputMode) error {
	var mu sync.Mutex
	var settled, created int64
	total := int64(len(selectedShards(ctx, o.IO, o.Plan, o.Operation, o.Routes)))
	live := startLine(stderr, stdout, !mode.quiet && !o.DryRun && isTerminal(stderr), func(el time.Duration) string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("submit: %s of %s shards settled (%s jobs created), %s", humanCount(settled), humanCount(total), humanCount(created), rateAndETA(settled, total, el))
	})
	defer live.Stop()
	w := io.Writer(live)
	if mode.json || mode.quiet {
		w = io.Discard
	}
	var out []submitJob
	o.OnShard = func(s jobs.ShardJob) {
		mu.Lock()
		defer mu.Unlock()
		settled++
		if s.State == "created" {
			created++
		}
		out = append(out, submitJob{Shard: s.Shard, Route: s.Route, State: s.State, JobID: s.JobID, Token: s.Token,
			Manifest: s.Manifest, Objects: s.Objects, Uploaded: s.Uploaded, Detail: s.Detail})
		switch s.State {
		case "dry-run":
			fmt.Fprintf(w, "would create  %-32s %8s objects  manifest %s  token %s\n", s.Shard, humanCount(s.Objects), s.Manifest, s.Token)
			if s.Detail != "" {
				fmt.Fprintf(w, "              (%s)\n", s.Detail)
			}
		case "existing":
			fmt.Fprintf(w, "exists        %-32s job %s\n", s.Shard, s.JobID)
		case "held":
			fmt.Fprintf(w, "held back     %-32s %s\n", s.Shard, s.Detail)
		default:
			up := ""
			if s.Uploaded {
				up = "  (manifest uploaded)"
			}
			fmt.Fprintf(w, "created       %-32s job %s%s\n", s.Shard, s.JobID, up)
		}
	}
	res, err := jobs.Submit(ctx, o)
	live.Stop()
	if h, ok := iampolicy.AccessDeniedHint(err); ok {
		err = fmt.Errorf("%w; %s", err, h)
	}
	if mode.json {
		doc := submitOutput{DryRun: o.DryRun, Jobs: out, S3: o.IO.Stats()}
		if res != nil {
			doc.PlanID, doc.Created, doc.Existing, doc.Uploaded, doc.Held = res.PlanID, res.Created, res.Existing, res.Uploaded, len(res.Held)
			doc.SkippedRoutes = skippedRoutes(res.Skipped)
			if !o.DryRun {
				doc.JobsFile = objio.Join(o.Plan, manifest.JobsFile)
			}
		}
		if err != nil {
			doc.Error = err.Error()
		}
		if jerr := writeJSON(stdout, &doc); jerr != nil && err == nil {
			err = jerr
		}
	}
	if res != nil {
		printSkipped(w, res.Skipped)
		switch {
		case o.DryRun:
			fmt.Fprintf(w, "dry run (plan %s): %d jobs would be created, %d exist already; nothing called, nothing written\n", res.PlanID, len(res.Shards)-res.Existing, res.Existing)
		default:
			fmt.Fprintf(w, "plan %s: %d jobs created (%d manifests uploaded), %d existed already; recorded in %s\n",
				res.PlanID, res.Created, res.Uploaded, res.Existing, objio.Join(o.Plan, manifest.JobsFile))
		}
	}
	if line := s3StatsLine(o.IO.Stats()); line != "" {
		fmt.Fprintln(w, line)
	}
	err = jobsHint(err)
	if err != nil && res != nil && res.Created > 0 {
		err = fmt.Errorf("%w (the %d jobs created are recorded: run the same command again to create the rest)", err, res.Created)
	}
	if err == nil && res != nil && len(res.Held) > 0 {
		return &exitError{fmt.Errorf("%d current-version jobs held back until the noncurrent-version jobs of their routes are Complete: run the same command again then, or with --wait to wait for them", len(res.Held)), exitHeld}
	}
	return jobsError(err)
}

// printSkipped lists the routes left out because the operation cannot
// serve them.
func printSkipped(w io.Writer, skipped []jobs.RouteSkip) {
	for _, s := range skipped {
		fmt.Fprintf(w, "skipped route %s (%d shards, %s objects): %s\n", s.Route, s.Shards, humanCount(s.Objects), s.Reason)
	}
}

// recordableEndpoint is the S3 Control endpoint URL as jobs.json may
// record it: without credentials, query or fragment; "" when there is
// none or it does not parse.
func recordableEndpoint(ep string) string {
	if ep == "" {
		return ""
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// controlClient returns the S3 Control client of a command that reads a
// run: --control-endpoint-url when given, else the endpoint jobs.json
// records (AWS's when none). For a run of 's3batchkit run' without the
// flag it returns nil: the recorded statuses are used.
func controlClient(c *cli.Context, plan string) (jobs.Control, error) {
	ep := c.String("control-endpoint-url")
	if ep == "" {
		run, err := manifest.ReadRun(c.Context, storage(c), plan)
		if err != nil {
			return nil, jobsError(fmt.Errorf("reading the run of %s (was the plan submitted?): %w", plan, err))
		}
		if run.ControlEndpoint == manifest.EndpointRun {
			return nil, nil
		}
		ep = run.ControlEndpoint
	}
	cl, err := jobs.NewClient(c.Context, jobs.ClientOptions{IO: storage(c), Endpoint: ep})
	if err != nil {
		return nil, jobsError(err)
	}
	return cl, nil
}
