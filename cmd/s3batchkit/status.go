package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
)

func newStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the progress of every job of a submitted plan, and of the run",
		UsageText: "s3batchkit status --plan DIR [--watch] [--json]",
		Description: `Reads DIR/jobs.json and calls DescribeJob for every job (at most
--workers at once) at the S3 Control endpoint jobs.json records
(--control-endpoint-url overrides it): one line per job (status, tasks
succeeded, failed and total, percent) and a total for the run, with the
jobs by status and an estimate of the time left (tasks left over the
current task rate of the running jobs). What it sees is recorded in
jobs.json (each job's last seen status and task counts). For a run of
's3batchkit run' it shows the statuses recorded when the run ended. --watch refreshes every --interval until every job has
ended (Complete, Cancelled or Failed). --json prints the same as JSON, one
object per refresh.

Exit codes: 0 success; 1 failure; 2 usage error; 3 unreadable jobs.json;
4 with --watch, when every job has ended but some Failed or were
Cancelled (or are no longer known to S3 Control); 130 interrupted.

Examples:
   s3batchkit status --plan plan/
   s3batchkit status --plan plan/ --watch --interval 1m
   s3batchkit status --plan s3://my-plans/run-7 --json | jq '.jobs_by_status'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding jobs.json", Required: true},
			&cli.BoolFlag{Category: catInput, Name: "watch", Aliases: []string{"w"}, Usage: "refresh until every job has ended"},
			&cli.DurationFlag{Category: catInput, Name: "interval", Value: 30 * time.Second, Usage: "`DURATION` between refreshes with --watch"},
			&cli.BoolFlag{Category: catInput, Name: "json", Usage: "print JSON on stdout"},
			countFlag(catControl, "workers", jobs.DefaultConcurrency, "at most `N` DescribeJob calls in flight"),
			controlEndpointFlag(),
		},
		Before: func(c *cli.Context) error {
			switch {
			case c.Duration("interval") < time.Second:
				return usagef("--interval must be at least 1s, got %v", c.Duration("interval"))
			case c.Int("workers") < 1 || c.Int("workers") > 1000:
				return usagef("--workers must be 1 to 1000, got %d", c.Int("workers"))
			case c.IsSet("interval") && !c.Bool("watch"):
				return usagef("--interval is for --watch")
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			cl, err := controlClient(c, c.String("plan"))
			if err != nil {
				return err
			}
			o := jobs.StatusOptions{Plan: c.String("plan"), Client: cl, Concurrency: c.Int("workers"), IO: storage(c)}
			w := c.App.Writer
			redraw := c.Bool("watch") && !c.Bool("json") && isTerminal(w)
			var outage time.Time // when the current run of failed refreshes began
			wait := c.Duration("interval")
			for {
				rs, err := jobs.Status(c.Context, o)
				if err != nil {
					// --watch rides out an outage of the endpoint (each
					// refresh has already retried with backoff): it tries
					// again, waiting twice as long each time (up to 5 min),
					// for up to watchOutageLimit.
					if !c.Bool("watch") || !objio.Transient(err) {
						return jobsError(err)
					}
					if outage.IsZero() {
						outage = time.Now()
					}
					down := time.Since(outage).Round(time.Second)
					if down > watchOutageLimit {
						return fmt.Errorf("S3 Control did not answer for %v: %w", down, err)
					}
					fmt.Fprintf(c.App.ErrWriter, "status: no answer (%v so far), trying again in %v: %v\n", down, wait, err)
					if err := objio.Sleep(c.Context, wait); err != nil {
						return err
					}
					wait = min(2*wait, max(c.Duration("interval"), 5*time.Minute))
					continue
				}
				outage, wait = time.Time{}, c.Duration("interval")
				if redraw {
					fmt.Fprint(w, "\x1b[H\x1b[2J") // home, clear screen
				}
				if c.Bool("json") {
					write := writeJSON
					if c.Bool("watch") {
						write = writeJSONLine
					}
					if err := write(w, rs); err != nil {
						return err
					}
				} else {
					printStatus(w, rs, c.Bool("watch"))
				}
				if rs.RecordError != "" {
					fmt.Fprintf(c.App.ErrWriter, "s3batchkit status: warning: the statuses were not recorded in jobs.json: %s\n", rs.RecordError)
				}
				if rs.Recorded {
					// A run of 's3batchkit run': nothing changes any more.
					return nil
				}
				if !c.Bool("watch") {
					return nil
				}
				if rs.Done {
					if n := rs.ByStatus["Failed"] + rs.ByStatus["Cancelled"] + rs.ByStatus["NotFound"]; n > 0 {
						return &exitError{fmt.Errorf("%d of %d jobs failed, were cancelled or are unknown", n, len(rs.Jobs)), exitTasksFailed}
					}
					return nil
				}
				if err := objio.Sleep(c.Context, c.Duration("interval")); err != nil {
					return err
				}
			}
		},
	}
}

// watchOutageLimit is how long status --watch keeps trying through an
// endpoint outage before it gives up.
const watchOutageLimit = 30 * time.Minute

func printStatus(w io.Writer, rs *jobs.RunStatus, bar bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\troute\tjob id\tstatus\tsucceeded\tfailed\ttotal\t%\t")
	for _, j := range rs.Jobs {
		pct := "-"
		if j.Total > 0 {
			pct = fmt.Sprintf("%.1f", 100*float64(j.Succeeded+j.Failed)/float64(j.Total))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", j.Shard, j.Route, j.JobID, j.Status,
			humanCount(j.Succeeded), humanCount(j.Failed), humanCount(j.Total), pct)
	}
	tw.Flush()
	for _, j := range rs.Jobs {
		for _, r := range j.FailureReasons {
			fmt.Fprintf(w, "  %s (job %s): %s\n", j.Shard, j.JobID, r)
		}
		if j.Error != "" {
			fmt.Fprintf(w, "  %s (job %s): %s\n", j.Shard, j.JobID, j.Error)
		}
	}
	var by []string
	for _, s := range rs.Statuses() {
		by = append(by, fmt.Sprintf("%d %s", rs.ByStatus[s], s))
	}
	eta := "unknown"
	switch d := rs.ETA(); {
	case rs.Done:
		eta = "done"
	case d >= 0:
		eta = d.Round(time.Second).String()
	}
	fmt.Fprintf(w, "run %s: %d jobs (%s); tasks %s succeeded, %s failed of %s (%.1f%%); time left %s\n",
		rs.PlanID, len(rs.Jobs), strings.Join(by, ", "), humanCount(rs.Succeeded), humanCount(rs.Failed), humanCount(rs.Total), rs.Percent, eta)
	if rs.Recorded {
		fmt.Fprintln(w, "(as recorded in jobs.json when 's3batchkit run' ended)")
	}
	if bar {
		const width = 50
		n := int(rs.Percent / 100 * width)
		fmt.Fprintf(w, "[%s%s] %5.1f%%\n", strings.Repeat("#", n), strings.Repeat(".", width-n), rs.Percent)
	}
}
