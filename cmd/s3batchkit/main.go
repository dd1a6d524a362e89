// Command s3batchkit plans, runs and audits S3 Batch Operations jobs over
// S3 Inventory reports. See `s3batchkit help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// Exit codes scripts can rely on.
const (
	exitOK       = 0
	exitFailure  = 1 // I/O, S3 or internal failure
	exitUsage    = 2 // bad flags or arguments
	exitBadInput = 3 // the input data is malformed or fails its checksums
	// 4: `report --fail-on-failures` found failed tasks (report.ExitFailures)
	exitCanceled = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Stderr)
	code := Main(ctx, os.Args, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// Main runs the CLI with args (args[0] is the program name) and returns
// the exit code. A usage error prints one line and a hint naming the
// command's help on stderr, nothing on stdout, and exits 2.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runApp(ctx, newApp(stdout, stderr), args, stderr)
}

// runApp is Main with the app given: tests read, after it returns, the
// storage client it built in app.Metadata (see storage).
func runApp(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
	setCompletion(app, args)
	cl, err := normalizeArgs(app, args)
	if err == nil {
		for _, w := range cl.warnings {
			fmt.Fprintf(stderr, "s3batchkit: %s\n", w)
		}
		err = app.RunContext(ctx, cl.args)
	}
	if err == nil {
		return exitOK
	}
	var ce *objio.CredentialsError
	if errors.As(err, &ce) {
		// One message that says what was tried and what to do, without
		// the layers of context (and SDK text) wrapped around it.
		err = ce
	}
	fmt.Fprintf(stderr, "s3batchkit: %v\n", err)
	code := exitCode(ctx, err)
	if code == exitUsage {
		cmd := cl.path
		var ue *usageError
		if errors.As(err, &ue) && ue.cmd != "" {
			cmd = ue.cmd
		}
		fmt.Fprintln(stderr, usageHint(cmd))
	}
	return code
}

func exitCode(ctx context.Context, err error) int {
	var ue *usageError
	var de *inventory.DataError
	var re *manifest.RowError
	var rde *report.DataError
	var ec interface{ ExitCode() int }
	switch {
	case errors.Is(err, inventory.ErrInternal): // a recovered panic: a bug, whatever wraps it
		return exitFailure
	case errors.Is(err, objio.ErrCredentials), errors.Is(err, objio.ErrAccessDenied), errors.Is(err, objio.ErrUnreachable),
		objio.Transient(err) && !errors.Is(err, io.ErrUnexpectedEOF):
		// Not the input's fault, whatever wraps it: S3 failing after its
		// retries (throttled, 5xx, no answer) exits 1, which job engines
		// retry, even inside a data file's error. (A body cut short is
		// also what a truncated local file gives: left to the cases
		// below.)
		return exitFailure
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitCanceled
	case errors.As(err, &de), errors.As(err, &re), errors.As(err, &rde), errors.Is(err, inventory.ErrManifest),
		errors.Is(err, inventory.ErrFormat), errors.Is(err, inventory.ErrChecksum), errors.Is(err, manifest.ErrJobsFile):
		return exitBadInput
	}
	return exitFailure
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "s3batchkit",
		Usage: "plan, run and audit S3 Batch Operations over S3 Inventory reports",
		Description: `s3batchkit reads S3 Inventory reports (CSV.gz, ORC, Parquet) by their
manifest.json, filters them, and writes exact Batch Operations CSV manifests,
cut into shards, with a plan.json that lists them.

Exit codes: 0 success, 1 failure, 2 usage error, 3 bad input data
(malformed report, checksum mismatch), 4 failed tasks found (report
--fail-on-failures), 130 interrupted.`,
		Flags:                globalFlags(),
		Before:               configureStorage,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands: withPreflight([]*cli.Command{
			newPlanCommand(),
			newDiffCommand(),
			newGenCommand(),
			newCatCommand(),
			newReportCommand(),
			newSubmitCommand(),
			newIAMPolicyCommand(),
			newStatusCommand(),
			newJobsCommand(),
			newServeCommand(),
			newRunCommand(),
			newBenchCommand(),
			newVersionCommand(),
			newCompletionCommand(),
		}),
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				currentBuild().writeText(c.App.Writer)
				return nil
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return usagef("%s", flagParseMessage(err, c.App.Flags))
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	prepareCommands(app.Commands, "")
	for _, f := range app.Flags {
		tidyFlag(f)
	}
	return app
}

// globalFlags are the AWS settings shared by every command; the rest of
// the configuration (credentials, retries) comes from the standard AWS
// chain. They go before the command: s3batchkit --profile prod plan ….
func globalFlags() []cli.Flag {
	const cat = "AWS (credentials come from the standard chain: environment, ~/.aws, SSO, instance role):"
	return []cli.Flag{
		&cli.StringFlag{Category: cat, Name: "endpoint-url", EnvVars: []string{"AWS_ENDPOINT_URL"}, Usage: "custom S3 endpoint `URL` (MinIO, Ceph, versitygw …), addressed path-style"},
		&cli.StringFlag{Category: cat, Name: "region", EnvVars: []string{"AWS_REGION"}, Usage: "AWS `REGION` (default: from the profile, else us-east-1)"},
		&cli.StringFlag{Category: cat, Name: "profile", EnvVars: []string{"AWS_PROFILE"}, Usage: "shared-config `PROFILE`"},
		&cli.GenericFlag{Category: cat, Name: "max-attempts", Value: &countValue{}, EnvVars: []string{"AWS_MAX_ATTEMPTS"}, DefaultText: fmt.Sprintf("the profile's max_attempts, else %d", objio.DefaultRetryMaxAttempts),
			Usage: "attempts per AWS request `N` (throttling, 5xx, connection errors and answers cut short are retried with backoff)"},
		&cli.DurationFlag{Category: cat, Name: "retry-base-delay", EnvVars: []string{"S3BATCHKIT_RETRY_BASE_DELAY"}, Value: objio.DefaultRetryBaseDelay,
			Usage: "first wait `DURATION` after throttling or a 5xx answer (connection errors: a twentieth); doubles each attempt"},
		&cli.DurationFlag{Category: cat, Name: "retry-max-backoff", EnvVars: []string{"S3BATCHKIT_RETRY_MAX_BACKOFF"}, Value: objio.DefaultRetryMaxBackoff,
			Usage: "longest wait `DURATION` between two attempts of an AWS request"},
		&cli.BoolFlag{Name: "debug", EnvVars: []string{"S3BATCHKIT_DEBUG"}, Usage: "print the AWS SDK's own log lines and every retry on stderr"},
		&cli.BoolFlag{Name: "version", Usage: "print the version (as s3batchkit version does)"},
	}
}

// configureStorage builds the invocation's storage client (see storage)
// from the global flags, once, before any command runs. Nothing is read
// until S3 is first used.
func configureStorage(c *cli.Context) error {
	ep := c.String("endpoint-url")
	if ep != "" && !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
		return usagef("--endpoint-url must start with http:// or https://, got %q", ep)
	}
	if n := c.Int("max-attempts"); c.IsSet("max-attempts") && (n < 1 || n > 100) {
		return usagef("--max-attempts must be 1 to 100, got %d", n)
	}
	if d := c.Duration("retry-max-backoff"); d <= 0 {
		return usagef("--retry-max-backoff must be positive, got %v", d)
	}
	if d := c.Duration("retry-base-delay"); d <= 0 {
		return usagef("--retry-base-delay must be positive, got %v", d)
	}
	cfg := objio.Config{EndpointURL: ep, Region: c.String("region"), Profile: c.String("profile"),
		RetryBaseDelay: c.Duration("retry-base-delay"), RetryMaxBackoff: c.Duration("retry-max-backoff"),
		OptionName: flagNames(objioFlag)}
	if c.Bool("debug") {
		cfg.Debug = c.App.ErrWriter
	}
	if c.IsSet("max-attempts") {
		cfg.RetryMaxAttempts = c.Int("max-attempts")
	}
	c.App.Metadata[storageKey] = objio.New(cfg)
	return nil
}

// storageKey is the key of the command's objio client in App.Metadata.
const storageKey = "objio"

// storage returns the objio client that configureStorage built from the
// global flags for this invocation of the program: every command passes
// it to the packages it calls, and reads its request counts from it.
func storage(c *cli.Context) *objio.Client {
	cl, _ := c.App.Metadata[storageKey].(*objio.Client)
	return cl
}

// withPreflight makes every command check, before its action runs, that
// its S3 access can work at all: the first s3:// location among its flags
// gets the command's objio client's CheckAccess (credentials retrieved, one signed request), so
// missing or rejected credentials and an unreachable endpoint end the
// command with one message before any work (a plan that writes to
// s3:// learns it before reading and sorting, not at its end). `run` on
// S3 (no --local-root) checks the bucket of the plan's first shard. A
// --dry-run, which may touch no S3 location, is not checked.
func withPreflight(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		withPreflight(cmd.Subcommands)
		act := cmd.Action
		if act == nil {
			continue
		}
		name := cmd.Name
		cmd.Action = func(c *cli.Context) error {
			if c.Bool("dry-run") {
				return act(c)
			}
			loc := firstS3Flag(c)
			switch {
			case loc != "":
				if err := storage(c).CheckAccess(c.Context, loc); err != nil {
					return err
				}
			case name == "run" && !c.IsSet("local-root"):
				if err := checkRunAccess(c); err != nil {
					return err
				}
			}
			return act(c)
		}
	}
	return cmds
}

// checkRunAccess checks, for `run` on S3 with a local plan, the
// credentials its tasks will use and one signed request to the bucket of
// the plan's first shard. A plan that cannot be read is left to run to
// report.
func checkRunAccess(c *cli.Context) error {
	oc := storage(c)
	if err := oc.CheckCredentials(c.Context); err != nil {
		return err
	}
	p, err := manifest.ReadPlan(c.Context, oc, c.String("plan"))
	if err != nil || len(p.Shards) == 0 {
		return nil
	}
	return oc.CheckAccess(c.Context, "s3://"+p.Shards[0].Bucket+"/")
}

// preflightOnly names, for commands some of whose s3:// flags only name
// a location (iam-policy writes policies for --manifest-bucket and
// --report-bucket, and reads nothing there), the flags whose locations
// the command does read or write; the others are not checked.
var preflightOnly = map[string][]string{
	"iam-policy": {"plan"},
}

// firstS3Flag returns the first s3:// value among the command's flags, in
// the order the command declares them.
func firstS3Flag(c *cli.Context) string {
	if c.Command == nil {
		return ""
	}
	only, limited := preflightOnly[c.Command.Name]
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) || (limited && !slices.Contains(only, name)) {
			continue
		}
		switch v := c.Value(name).(type) {
		case string:
			if objio.IsS3(v) {
				return v
			}
		case []string:
			for _, s := range v {
				if objio.IsS3(s) {
					return s
				}
			}
		case cli.StringSlice:
			for _, s := range v.Value() {
				if objio.IsS3(s) {
					return s
				}
			}
		}
	}
	return ""
}
