package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// exitTasksFailed is returned by report --fail-on-failures when the
// summary was written and at least one task failed.
const exitTasksFailed = 4

// tasksFailedError carries exit code 4; it implements cli.ExitCoder.
type tasksFailedError struct{ failed int64 }

func (e *tasksFailedError) Error() string {
	return fmt.Sprintf("%d tasks failed (--fail-on-failures)", e.failed)
}

func (e *tasksFailedError) ExitCode() int { return exitTasksFailed }

func newReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "merge completion reports, classify failures, write re-run manifests",
		UsageText: "s3batchkit report (--plan DIR | --report LOCATION [--report LOCATION ...]) --out DIR2 [options]",
		Description: `Finds every job-<id>/manifest.json of the run (from DIR/jobs.json, or
under each --report location), verifies the MD5 of every result file, and
merges all rows into one summary: tasks by status, error code, HTTP status,
job, route and key prefix; the most common failure messages (ids, numbers,
hosts and ports folded); objects seen in several jobs counted once with
their latest outcome.

With --plan DIR, every object the plan holds gets exactly one outcome:
succeeded, failed (by class) or not run — its job Failed (for example at
the failure threshold: 1,000 tasks run, over half failed) or was Cancelled
before running it, never started (no job in jobs.json), has not ended, or
left no report. On a Complete job, what the report does not list as failed
succeeded (FailedTasksOnly and AllTasks alike); on a Failed or Cancelled
job, what it does not list did not run. Each job's final status is the one
jobs.json recorded; a status that is not final (New, Active, ...) is first
refreshed with DescribeJob (at the S3 Control endpoint jobs.json records,
or --control-endpoint-url; the AWS credentials),
unless --no-refresh; a job whose status stays unknown leaves its unreported
objects not run, and the summary says so. The summary and the table show,
per shard and in total, planned = succeeded + failed + not run. Without
--plan, report says which jobs failed at the threshold and that objects
which never ran cannot be listed.

Every failure gets a class from its error code (AWS's S3 error codes, the
SDKs' throttling codes, Lambda result codes, S3 Replication failure
reasons), else from its HTTP status: retryable (SlowDown, InternalError,
RequestTimeout, throttling, Lambda TemporaryFailure, 5xx, no answer),
permanent (AccessDenied, NoSuchKey, NoSuchVersion, InvalidRequest,
InvalidObjectState, SrcObjectNotFound, Lambda PermanentFailure) or unknown.
RestoreAlreadyInProgress counts as a success. --classes FILE adds or
overrides rules: a JSON object {"CodeOrStatus": "class"} or CSV lines
"CodeOrStatus,class", where class is retryable, permanent, unknown or
success and a 3-digit name is an HTTP status.

Writes DIR2/summary.json and DIR2/rerun/{retryable,permanent,unknown,not-run}/,
each a plan directory (shards + plan.json) ready for 'submit --plan' or
'run --plan', whose lines are the bytes the plan (or the manifests the
reports came from) wrote.

Exit codes: 0 when the summary was written, even if tasks failed; with
--fail-on-failures, 4 when any task failed (or, with --plan, any object
failed or did not run); 3 for a bad or missing report, or a shard changed
since it was planned (unless --keep-going); 2 for bad flags.

Examples (plan/ and reports/ as the examples of 's3batchkit run' make them):
   # every object of a submitted (or run) plan
   s3batchkit report --plan plan/ --out audit/

   # the completion reports under a folder (or an s3:// prefix), key
   # prefixes two folders deep, an HTML page
   s3batchkit report --report reports/ --out audit/ --prefix-depth 2 --html audit/report.html

   # in CI: JSON on stdout, fail the step (exit 4) when an object failed or did not run
   s3batchkit report --plan plan/ --out audit/ --json --fail-on-failures

   # own error classes, skip damaged result files instead of stopping
   s3batchkit report --plan plan/ --out audit/ --classes classes.csv --keep-going`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "plan", Usage: "plan `DIR` whose jobs.json lists the jobs and their report prefixes"},
			&cli.StringSliceFlag{Name: "report", Usage: "completion reports at `LOCATION` (a folder or s3:// prefix with job-<id>/ folders, a job folder, or a job's manifest.json); repeatable"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output `DIR2` for summary.json and rerun/", Required: true},
			countFlag("", "prefix-depth", report.DefaultPrefixDepth, "`N` '/'-segments per key prefix in the by-prefix counts"),
			&cli.StringFlag{Name: "classes", Usage: "`FILE` of extra failure classes (JSON or CSV code,class)"},
			&cli.StringFlag{Name: "html", Usage: "also write a self-contained HTML page to `FILE`"},
			&cli.BoolFlag{Name: "json", Usage: "print summary.json on stdout instead of the table"},
			countFlag("", "top", report.DefaultTop, "`N` rows per table section"),
			&cli.BoolFlag{Name: "keep-going", Usage: "turn bad or missing report files into warnings in the summary"},
			&cli.BoolFlag{Name: "fail-on-failures", Usage: "exit 4 when any task failed"},
			countFlag("", "max-objects", report.DefaultMaxShardObjects, "at most `N` objects per re-run shard"),
			&cli.IntFlag{Name: "max-tracked", Hidden: true, Usage: "no effect, kept for scripts: failed objects are now followed across jobs exactly, in bounded memory (external sorts)"},
			workersFlag("", "result files read at once", "number of CPUs"),
			&cli.BoolFlag{Name: "plus-as-space", Usage: "decode '+' in report keys as a space (for manifests written form-style by other tools)"},
			&cli.BoolFlag{Name: "no-rerun", Usage: "do not write rerun/"},
			quietFlag(),
			&cli.BoolFlag{Category: catControl, Name: "no-refresh", Usage: "with --plan: take job statuses as jobs.json recorded them, without DescribeJob"},
			&cli.DurationFlag{Category: catControl, Name: "refresh-timeout", Value: 2 * time.Minute, Usage: "with --plan: give up refreshing job statuses after `DURATION`"},
			controlEndpointFlag(),
		},
		Before: func(c *cli.Context) error {
			if c.String("plan") == "" && len(c.StringSlice("report")) == 0 {
				return usagef("give --plan DIR or at least one --report LOCATION")
			}
			for _, p := range c.StringSlice("report") {
				if p == "" {
					return usagef("--report must not be empty")
				}
			}
			if c.Int("prefix-depth") < 1 {
				return usagef("--prefix-depth must be at least 1, got %d", c.Int("prefix-depth"))
			}
			if c.Int("top") < 1 {
				return usagef("--top must be at least 1, got %d", c.Int("top"))
			}
			if c.Int64("max-objects") < 1 {
				return usagef("--max-objects must be at least 1, got %d", c.Int64("max-objects"))
			}
			if c.IsSet("max-tracked") && c.Int("max-tracked") < 1 {
				return usagef("--max-tracked must be at least 1, got %d", c.Int("max-tracked"))
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			classes := report.NewClassifier()
			if f := c.String("classes"); f != "" {
				if err := classes.LoadClasses(c.Context, storage(c), f); err != nil {
					return fmt.Errorf("report: --classes: %w", err)
				}
			}
			var notes []string
			var statuses map[string]string
			if c.String("plan") != "" && !c.Bool("no-refresh") {
				statuses, notes = refreshStatuses(c)
			}
			o := report.Options{
				IO:         storage(c),
				OptionName: flagNames(reportFlag),
				Statuses:   statuses,
				Notes:      notes,
				Plan:       c.String("plan"),
				Prefixes:   c.StringSlice("report"),
				Out:        c.String("out"),
				Merge: report.MergeOptions{
					PrefixDepth: c.Int("prefix-depth"),
					Top:         c.Int("top"),
					Classes:     classes,
				},
				Workers:         c.Int("workers"),
				KeepGoing:       c.Bool("keep-going"),
				PlusAsSpace:     c.Bool("plus-as-space"),
				MaxShardObjects: c.Int64("max-objects"),
				NoRerun:         c.Bool("no-rerun"),
			}
			// Progress on a terminal: rows merged, and with a plan the time
			// left (a plan's objects are about the rows its reports hold).
			o.Progress = &report.Progress{}
			var planned int64
			if o.Plan != "" {
				if p, err := manifest.ReadPlan(c.Context, o.IO, o.Plan); err == nil {
					for _, r := range p.Routes {
						planned += r.Objects
					}
				}
			}
			live := startLine(c.App.ErrWriter, c.App.Writer, !c.Bool("quiet") && isTerminal(c.App.ErrWriter), func(el time.Duration) string {
				rows := o.Progress.Rows.Load()
				return fmt.Sprintf("report: %s result files, %s rows merged, %s", humanCount(o.Progress.Files.Load()), humanCount(rows), rateAndETA(rows, planned, el))
			})
			s, err := report.Run(c.Context, o)
			live.Stop()
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if h := c.String("html"); h != "" {
				if err := writeHTML(c.Context, o.IO, h, s); err != nil {
					return fmt.Errorf("report: --html: %w", err)
				}
			}
			switch {
			case c.Bool("json"):
				fillEmpty(s) // [] and {} for what the summary has none of
				data, err := report.MarshalSummary(s)
				if err != nil {
					return err
				}
				if _, err := c.App.Writer.Write(data); err != nil {
					return err
				}
			case !c.Bool("quiet"):
				if err := report.WriteText(c.App.Writer, s, c.Int("top")); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "\nsummary written to %s\n", objio.Join(o.Out, report.SummaryFile))
			default:
				// --quiet: the table (which lists them) is not printed.
				for _, w := range s.Warnings {
					fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
				}
			}
			if c.Bool("fail-on-failures") {
				if s.Tasks.Failed > 0 {
					return &tasksFailedError{failed: s.Tasks.Failed}
				}
				if s.Plan != nil && s.Plan.Failed+s.Plan.NotRun > 0 {
					return &tasksFailedError{failed: s.Plan.Failed + s.Plan.NotRun}
				}
			}
			return nil
		},
	}
}

// refreshStatuses asks S3 Control for the status of the jobs of the
// plan's jobs.json whose recorded status is not final. It returns the
// statuses it found and notes for the summary: what it could not refresh,
// and why. jobs.json is not rewritten.
func refreshStatuses(c *cli.Context) (map[string]string, []string) {
	plan := c.String("plan")
	run, err := manifest.ReadRunIfAny(c.Context, storage(c), plan)
	if err != nil || run == nil {
		return nil, nil // report reads it again and says what is wrong
	}
	var open []string
	for _, j := range run.Jobs {
		if !report.TerminalStatus(j.Status) {
			open = append(open, j.JobID)
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	unknown := func(why string) []string {
		return []string{fmt.Sprintf("the final status of %d job(s) of %s (%s) is not recorded and could not be refreshed: %s; their unreported objects count as not run",
			len(open), manifest.JobsFile, strings.Join(first(open, 5), ", "), why)}
	}
	// The endpoint: the flag, else the one jobs.json records (AWS's when
	// it records none).
	endpoint := c.String("control-endpoint-url")
	if endpoint == "" {
		endpoint = run.ControlEndpoint
		if endpoint == manifest.EndpointRun || endpoint == "" && run.AccountID == local.LocalAccount {
			return nil, unknown("they ran on the local engine of 's3batchkit run', which no longer knows them (give --control-endpoint-url for a serve that does)")
		}
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("refresh-timeout"))
	defer cancel()
	cl, err := jobs.NewClient(ctx, jobs.ClientOptions{IO: storage(c), Endpoint: endpoint, RetryMaxAttempts: 4})
	if err != nil {
		return nil, unknown(err.Error())
	}
	rs, err := jobs.Status(ctx, jobs.StatusOptions{Plan: plan, Client: cl, IO: storage(c)})
	if err != nil {
		return nil, unknown("DescribeJob: " + err.Error())
	}
	statuses := map[string]string{}
	var gone []string
	for _, j := range rs.Jobs {
		switch {
		case j.Status == "NotFound":
			gone = append(gone, j.JobID)
		case j.Status != "":
			statuses[j.JobID] = j.Status
		}
	}
	var notes []string
	if len(gone) > 0 {
		notes = append(notes, fmt.Sprintf("S3 Control no longer knows %d job(s) (%s): their status is the one %s recorded", len(gone), strings.Join(first(gone, 5), ", "), manifest.JobsFile))
	}
	return statuses, notes
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("%d more", len(s)-n))
	}
	return s
}

func writeHTML(ctx context.Context, oc *objio.Client, path string, s *report.Summary) error {
	page, err := report.HTML(s)
	if err != nil {
		return err
	}
	if err := oc.WriteFileAtomic(ctx, path, page); err != nil || objio.IsS3(path) {
		return err
	}
	return os.Chmod(path, 0o644)
}
