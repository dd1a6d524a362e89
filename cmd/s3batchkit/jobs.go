package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/jobs"
)

func newJobsCommand() *cli.Command {
	common := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding jobs.json", Required: true},
			&cli.StringSliceFlag{Category: catInput, Name: "routes", Usage: "only the jobs of these `ROUTES` (default: every job of the run)"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the outcome per job as JSON on stdout"},
			&cli.BoolFlag{Category: catInput, Name: "dry-run", Usage: "say what would be done to each job (DescribeJob only); change nothing"},
			countFlag(catControl, "workers", jobs.DefaultConcurrency, "at most `N` calls in flight"),
			controlEndpointFlag(),
		}
	}
	reason := &cli.StringFlag{Category: catControl, Name: "reason", Usage: "StatusUpdateReason `TEXT` (1–256 characters; default: s3batchkit jobs <action>)"}
	run := func(action jobs.Action) cli.ActionFunc {
		return func(c *cli.Context) error {
			cl, err := controlClient(c, c.String("plan"))
			if err != nil {
				return err
			}
			if cl == nil {
				return usagef("the jobs of %s ran in 's3batchkit run', which has ended: there is no job left to %s", c.String("plan"), action)
			}
			if c.Bool("dry-run") {
				cl = dryRunControl{cl}
			}
			routes := commaList(c.StringSlice("routes"))
			out, err := jobs.Update(c.Context, jobs.UpdateOptions{
				Plan: c.String("plan"), Client: cl, Action: action, Priority: int32(c.Int64("priority")),
				Reason: c.String("reason"), Routes: routes, Concurrency: c.Int("workers"), IO: storage(c),
			})
			if c.Bool("dry-run") {
				for i := range out {
					if out[i].Result == "updated" {
						out[i].Result = "would_update"
					}
				}
			}
			if c.Bool("json") {
				if jerr := writeJSON(c.App.Writer, &jobsOutput{Action: string(action), DryRun: c.Bool("dry-run"), Jobs: out}); jerr != nil && err == nil {
					err = jerr
				}
			} else {
				printUpdate(c.App.Writer, action, out, c.Bool("dry-run"))
			}
			if err != nil {
				return jobsError(err)
			}
			return nil
		}
	}
	validate := func(c *cli.Context) error {
		if n := c.Int("workers"); n < 1 || n > 1000 {
			return usagef("--workers must be 1 to 1000, got %d", n)
		}
		if len(c.String("reason")) > 256 {
			return usagef("--reason must be at most 256 characters")
		}
		return nil
	}
	return &cli.Command{
		Name:  "jobs",
		Usage: "confirm, cancel or reprioritise every job of a submitted run",
		Description: `Applies one change to every job recorded in DIR/jobs.json (or the jobs of
--routes), at most --workers calls at once, through UpdateJobStatus or
UpdateJobPriority, at the S3 Control endpoint jobs.json records
(--control-endpoint-url overrides it). A job whose state forbids the change — confirming a job
that is not Suspended, cancelling one that has ended — is skipped and listed
as such; that is not an error.

Exit codes: 0 every job was updated or skipped; 1 an S3 Control failure
(rerun: updates are idempotent); 2 usage error; 3 unreadable jobs.json.`,
		Subcommands: []*cli.Command{
			{
				Name:      "confirm",
				Usage:     "start jobs submitted with --confirm (Suspended → Ready)",
				UsageText: "s3batchkit jobs confirm --plan DIR [--routes R] [--reason TEXT]",
				Description: `Examples:
   s3batchkit jobs confirm --plan plan/
   s3batchkit jobs confirm --plan plan/ --routes restore --reason "restore window opened"`,
				Flags:  append(common(), reason),
				Before: validate,
				Action: run(jobs.ActionConfirm),
			},
			{
				Name:      "cancel",
				Usage:     "cancel every job of the run that has not ended",
				UsageText: "s3batchkit jobs cancel --plan DIR [--routes R] [--reason TEXT]",
				Description: `Examples:
   s3batchkit jobs cancel --plan plan/ --reason "wrong destination bucket"
   s3batchkit jobs cancel --plan s3://my-plans/run-7 --routes large --json`,
				Flags:  append(common(), reason),
				Before: validate,
				Action: run(jobs.ActionCancel),
			},
			{
				Name:      "priority",
				Usage:     "set the priority of every job of the run",
				UsageText: "s3batchkit jobs priority --plan DIR --priority N [--routes R]",
				Description: `Higher priorities run sooner (the order is not strict).

Examples:
   s3batchkit jobs priority --plan plan/ --priority 100
   s3batchkit jobs priority --plan plan/ --routes copy --priority 5`,
				Flags: append(common(), &cli.GenericFlag{Category: catControl, Name: "priority", Value: &countValue{}, Usage: "new priority `N`, 0 to 2147483647", Required: true}),
				Before: func(c *cli.Context) error {
					if p := c.Int64("priority"); p < 0 || p > 2147483647 {
						return usagef("--priority must be 0 to 2147483647, got %d", p)
					}
					return validate(c)
				},
				Action: run(jobs.ActionPriority),
			},
		},
	}
}

// jobsOutput is the --json document of jobs confirm, cancel and priority.
type jobsOutput struct {
	Action string               `json:"action"`
	DryRun bool                 `json:"dry_run"`
	Jobs   []jobs.UpdateOutcome `json:"jobs"`
}

func printUpdate(w io.Writer, action jobs.Action, out []jobs.UpdateOutcome, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "shard\troute\tjob id\tresult\tstatus\tdetail")
	updated := 0
	for _, o := range out {
		if o.JobID == "" {
			continue // not reached: the update stopped on an error
		}
		if o.Result == "updated" || o.Result == "would_update" {
			updated++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Shard, o.Route, o.JobID, strings.ReplaceAll(o.Result, "_", " "), o.Status, o.Detail)
	}
	tw.Flush()
	if dryRun {
		fmt.Fprintf(w, "dry run, %s: %d of %d jobs would be updated; nothing changed\n", action, updated, len(out))
		return
	}
	fmt.Fprintf(w, "%s: %d of %d jobs updated\n", action, updated, len(out))
}

// dryRunControl is an S3 Control client that changes nothing: it answers
// UpdateJobStatus and UpdateJobPriority from DescribeJob as S3 Control
// would (the status the job would go to, or the JobStatusException of a
// job whose state forbids the change), so that jobs --dry-run reports
// exactly what the same command without it would do.
type dryRunControl struct{ jobs.Control }

func (d dryRunControl) UpdateJobStatus(ctx context.Context, in *s3control.UpdateJobStatusInput, _ ...func(*s3control.Options)) (*s3control.UpdateJobStatusOutput, error) {
	out, err := d.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: in.AccountId, JobId: in.JobId})
	if err != nil {
		return nil, err
	}
	cur := out.Job.Status
	refuse := func(why string) error {
		return &types.JobStatusException{Message: aws.String(fmt.Sprintf("Job %s is %s: %s", aws.ToString(in.JobId), cur, why))}
	}
	next := types.JobStatus(in.RequestedJobStatus)
	switch in.RequestedJobStatus {
	case types.RequestedJobStatusReady:
		if cur != types.JobStatusSuspended {
			return nil, refuse("only a Suspended job can be confirmed")
		}
	case types.RequestedJobStatusCancelled:
		switch cur {
		case types.JobStatusComplete, types.JobStatusFailed, types.JobStatusCancelled, types.JobStatusCancelling, types.JobStatusCompleting, types.JobStatusFailing:
			return nil, refuse("it cannot be cancelled")
		case types.JobStatusActive, types.JobStatusPausing, types.JobStatusPaused:
			next = types.JobStatusCancelling
		}
	}
	return &s3control.UpdateJobStatusOutput{JobId: in.JobId, Status: next}, nil
}

func (d dryRunControl) UpdateJobPriority(ctx context.Context, in *s3control.UpdateJobPriorityInput, _ ...func(*s3control.Options)) (*s3control.UpdateJobPriorityOutput, error) {
	if _, err := d.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: in.AccountId, JobId: in.JobId}); err != nil {
		return nil, err
	}
	return &s3control.UpdateJobPriorityOutput{JobId: in.JobId, Priority: in.Priority}, nil
}
