package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/jobs"
)

func newJobsCommand() *cli.Command {
	common := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding jobs.json", Required: true},
			&cli.StringSliceFlag{Category: catInput, Name: "routes", Usage: "only the jobs of these `ROUTES` (default: every job of the run)"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print the outcome per job as JSON on stdout"},
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
			var routes []string
			for _, r := range c.StringSlice("routes") {
				routes = append(routes, strings.Split(r, ",")...)
			}
			out, err := jobs.Update(c.Context, jobs.UpdateOptions{
				Plan: c.String("plan"), Client: cl, Action: action, Priority: int32(c.Int64("priority")),
				Reason: c.String("reason"), Routes: routes, Concurrency: c.Int("workers"),
			})
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(out); jerr != nil && err == nil {
					err = jerr
				}
			} else {
				printUpdate(c.App.Writer, action, out)
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

func printUpdate(w io.Writer, action jobs.Action, out []jobs.UpdateOutcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "shard\troute\tjob id\tresult\tstatus\tdetail")
	updated := 0
	for _, o := range out {
		if o.JobID == "" {
			continue // not reached: the update stopped on an error
		}
		if o.Result == "updated" {
			updated++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Shard, o.Route, o.JobID, o.Result, o.Status, o.Detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s: %d of %d jobs updated\n", action, updated, len(out))
}
