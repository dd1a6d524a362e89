package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/jobs/local"
	"github.com/s3batchkit/s3batchkit/largecopy"
)

const catEngine = "Local engine:"

// engineFlags are shared by serve and run: where tasks act and how many
// run at once.
func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Category: catEngine, Name: "local-root", Usage: "run tasks against `DIR`, a directory of buckets (DIR/<bucket>/<key>) instead of S3"},
		&cli.StringFlag{Category: catEngine, Name: "lambda-url", Usage: "POST LambdaInvoke events (schema 1.0/2.0 JSON) to `URL` (functions other than s3batchkit-large-copy, which runs in this process)"},
		countFlag(catEngine, "workers", local.DefaultWorkers, "at most `N` tasks in flight across all jobs"),
		countFlag(catEngine, "max-active-jobs", local.DefaultMaxActiveJobs, "at most `N` jobs Active at once (higher priority first)"),
		countFlag(catEngine, "task-attempts", local.DefaultTaskAttempts, "`N` attempts per task on transient errors (throttling, 5xx, Lambda TemporaryFailure)"),
		&cli.StringFlag{Category: catEngine, Name: "copy-size-check", Value: "auto", Usage: "`WHEN` a copy HEADs its source to fail sources over 5 GB as AWS does: auto (except the copy route of a plan, whose objects were routed by their inventory size), always, never (leave it to the server: AWS S3 enforces it, most others do not)"},
		&cli.BoolFlag{Category: catEngine, Name: "skip-copy-size-check", Hidden: true, Usage: "same as --copy-size-check never"},
	}
}

func checkEngineFlags(c *cli.Context) error {
	switch {
	case c.String("lambda-url") != "" && !strings.HasPrefix(c.String("lambda-url"), "http://") && !strings.HasPrefix(c.String("lambda-url"), "https://"):
		return usagef("--lambda-url must start with http:// or https://, got %q", c.String("lambda-url"))
	case c.Int("workers") < 1 || c.Int("workers") > 4096:
		return usagef("--workers must be 1 to 4096, got %d", c.Int("workers"))
	case c.Int("max-active-jobs") < 1 || c.Int("max-active-jobs") > 1000:
		return usagef("--max-active-jobs must be 1 to 1000, got %d", c.Int("max-active-jobs"))
	case c.Int("task-attempts") < 1 || c.Int("task-attempts") > 100:
		return usagef("--task-attempts must be 1 to 100, got %d", c.Int("task-attempts"))
	}
	if root := c.String("local-root"); root != "" {
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			return usagef("--local-root %s: not a directory", root)
		}
	}
	return nil
}

// engineOptions turns the engine flags into options. Tasks on S3 use the
// command's objio client (the global --endpoint-url, the AWS chain), as
// the manifests and reports do: one store, whose requests it counts.
func engineOptions(c *cli.Context) (local.Options, error) {
	o := local.Options{
		LambdaURL: c.String("lambda-url"), Workers: c.Int("workers"), MaxActiveJobs: c.Int("max-active-jobs"),
		TaskAttempts: c.Int("task-attempts"), Region: c.String("region"),
		OptionName: flagNames(engineFlag), IO: storage(c),
	}
	check, err := local.ParseCopySizeCheck(c.String("copy-size-check"))
	if err != nil {
		return o, usagef("--copy-size-check: %v", err)
	}
	if c.Bool("skip-copy-size-check") {
		check = local.CopySizeNever
	}
	o.CopySizeCheck = check
	// The in-process s3batchkit-large-copy reads the environment the
	// deployed function reads (docs/large-objects.md).
	lc, err := largecopy.EnvOptions(os.LookupEnv)
	if err != nil {
		return o, usagef("%v", err)
	}
	o.LargeCopy = local.LargeCopyOptions{PartSize: lc.PartSize, Concurrency: lc.Concurrency, Arguments: lc.Arguments}
	if root := c.String("local-root"); root != "" {
		o.Storage = &local.DirStorage{Root: root}
		return o, nil
	}
	st, err := local.NewS3Storage(c.Context, o.IO, o.Workers)
	if err != nil {
		return o, err
	}
	o.Storage = st
	return o, nil
}

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "a local S3 Control endpoint that runs Batch Operations jobs itself",
		UsageText: "s3batchkit serve --state-dir DIR [--listen 127.0.0.1:PORT] [--endpoint-url URL | --local-root DIR] [--lambda-url URL] [--workers N]",
		Description: `Answers CreateJob, DescribeJob, ListJobs, UpdateJobStatus,
UpdateJobPriority and Get/Put/DeleteJobTagging as S3 Control does (REST-XML,
the SDK's error codes), and runs the jobs against an S3-compatible endpoint
(--endpoint-url: MinIO, Ceph, versitygw …) or a directory of buckets
(--local-root DIR, buckets are DIR/<bucket>/). Manifests are read and
completion reports written in the same store, in AWS's layout, so that
'submit', 'status' and 'report' work unchanged: point them at it with
--control-endpoint-url. The AWS CLI and boto3 work too (docs/serve.md).

Operations: S3PutObjectCopy (5 GB source limit as on AWS; metadata,
storage class, ACL and tagging directives; a directory keeps bytes and
tags only and refuses the rest), S3PutObjectTagging, S3DeleteObjectTagging,
S3InitiateRestoreObject (RestoreObject; stores without archive tiers
answer 501 NotImplemented, reported as such), S3ComputeObjectChecksum
(computed here, FULL_OBJECT) and LambdaInvoke, one task per event: a
FunctionArn naming s3batchkit-large-copy (the large route's function, any
account, region, version or alias) runs that function here, against the
S3 store (not --local-root), other functions are POSTed to --lambda-url.
What the engine cannot do is refused at CreateJob. Transient errors
are retried per task; a job fails once 1,000 tasks have run and more than
half failed.

State (jobs and every finished task) is kept in --state-dir: a killed
serve started again on the same directory resumes every job that had not
ended, skipping the tasks already recorded.

Every request must be signed (AWS Signature Version 4), as S3 requires;
unsigned or mis-signed requests are answered 403 and change nothing. By
default serve accepts the credentials it runs with itself (the AWS
credential chain: environment, profile, SSO …), so the same user's SDK
and CLI work unchanged; --credentials-file names a file of other keys
(one "ACCESS_KEY_ID SECRET_ACCESS_KEY" per line, mode 600) and then only
those are accepted. A --listen address other than loopback needs
--credentials-file. Requests must also name serve in their Host header
(localhost, the --listen host, a loopback address, each with the SDKs'
"123456789012." in front, or an --allow-host name), and bodies are at
most 1 MiB.

The in-process s3batchkit-large-copy reads the environment the deployed
function reads (docs/large-objects.md): S3BATCHKIT_PART_SIZE (bytes, 5 MiB
to 5 GiB; default 256 MiB), S3BATCHKIT_CONCURRENCY (parts one task copies
at once; default 4 here, and at most max(--workers, it) parts in flight
over all tasks), and for schema 1.0 jobs TargetResource, TargetKeyPrefix
… Each invocation has Lambda's 900 s limit.

Exit codes: 0 after Ctrl-C or SIGTERM (jobs resume on the next start);
1 the address or the state cannot be used; 2 bad flags.

Examples:
   # run jobs against a local versitygw/MinIO; submit a plan to it
   s3batchkit serve --state-dir ~/.s3batchkit/engine --listen 127.0.0.1:9180 \
       --endpoint-url http://127.0.0.1:7070
   s3batchkit --endpoint-url http://127.0.0.1:7070 submit --plan plan/ \
       --control-endpoint-url http://127.0.0.1:9180 --account-id 123456789012 \
       --role-arn arn:aws:iam::123456789012:role/batch --manifest-bucket s3://manifests \
       --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst"}}' \
       --report-bucket arn:aws:s3:::reports

   # then the large route, copied by s3batchkit-large-copy run in serve
   s3batchkit --endpoint-url http://127.0.0.1:7070 submit --plan plan/ --routes large \
       --control-endpoint-url http://127.0.0.1:9180 --account-id 123456789012 \
       --role-arn arn:aws:iam::123456789012:role/batch --manifest-bucket s3://manifests \
       --operation '{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy",
           "InvocationSchemaVersion": "2.0", "UserArguments": {"TargetResource": "arn:aws:s3:::dst"}}}' \
       --report-bucket arn:aws:s3:::reports

   # a directory of buckets and a Lambda stand-in on port 9000
   s3batchkit serve --state-dir state/ --local-root buckets/ --lambda-url http://127.0.0.1:9000/invoke`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Category: catEngine, Name: "listen", Value: "127.0.0.1:9180", Usage: "`HOST:PORT` to listen on (port 0: any free port, printed)"},
			&cli.StringFlag{Category: catEngine, Name: "state-dir", Usage: "`DIR` of the engine's durable state (jobs, finished tasks)", Required: true},
			&cli.StringFlag{Category: catEngine, Name: "credentials-file", EnvVars: []string{"S3BATCHKIT_SERVE_CREDENTIALS_FILE"}, Usage: "accept requests signed with the keys in `FILE` (lines \"ACCESS_KEY_ID SECRET_ACCESS_KEY\", mode 600) instead of serve's own AWS credentials"},
			&cli.StringSliceFlag{Category: catEngine, Name: "allow-host", Usage: "also answer requests whose Host header is `NAME` (e.g. a proxy's name; localhost, loopback addresses and the --listen host always are)"},
		}, engineFlags()...),
		Before: func(c *cli.Context) error {
			host, _, err := net.SplitHostPort(c.String("listen"))
			if err != nil {
				return usagef("--listen must be HOST:PORT, got %q", c.String("listen"))
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && c.String("credentials-file") == "" {
				return usagef("--listen %s is not a loopback address: give --credentials-file too, naming the keys that may use serve from other machines", c.String("listen"))
			}
			return checkEngineFlags(c)
		},
		Action: func(c *cli.Context) error {
			o, err := engineOptions(c)
			if err != nil {
				return err
			}
			o.StateDir = c.String("state-dir")
			o.Logf = func(format string, a ...any) {
				fmt.Fprintf(c.App.ErrWriter, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
			}
			api := local.APIOptions{Hosts: c.StringSlice("allow-host")}
			if api.Credentials, err = serveCredentials(c); err != nil {
				return err
			}
			return serve(c.Context, c.App.Writer, c.String("listen"), o, api)
		},
	}
}

// serveCredentials are the keys serve accepts: those of --credentials-file,
// else the one of the AWS credential chain serve itself runs with (the
// same that acts on the data), which must resolve now.
func serveCredentials(c *cli.Context) (local.Credentials, error) {
	if f := c.String("credentials-file"); f != "" {
		cr, err := local.ReadCredentialsFile(f)
		if err != nil {
			return nil, usagef("--credentials-file: %v", err)
		}
		fmt.Fprintf(c.App.ErrWriter, "s3batchkit serve: accepting requests signed with the keys of %s\n", f)
		return cr, nil
	}
	cfg, err := storage(c).AWSConfig(c.Context)
	if err != nil {
		return nil, err
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("serve accepts requests signed with its own AWS credentials, and the credential chain has none: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or give --credentials-file")
	}
	v, err := cfg.Credentials.Retrieve(c.Context)
	if err != nil {
		return nil, fmt.Errorf("serve accepts requests signed with its own AWS credentials, and the credential chain gives none (%v): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or give --credentials-file", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "s3batchkit serve: accepting requests signed with its own AWS credentials (access key %s, from %s)\n", maskKeyID(v.AccessKeyID), v.Source)
	return local.ProviderCredentials(cfg.Credentials), nil
}

// maskKeyID shows the last four characters of an access key id, as
// `aws configure list` does.
func maskKeyID(id string) string {
	if len(id) <= 4 {
		return strings.Repeat("*", len(id))
	}
	return strings.Repeat("*", len(id)-4) + id[len(id)-4:]
}

// serve runs the engine behind an HTTP server until ctx ends; api.Listen
// is set from addr.
func serve(ctx context.Context, w interface{ Write([]byte) (int, error) }, addr string, o local.Options, api local.APIOptions) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	e, err := local.New(o)
	if err != nil {
		ln.Close()
		return err
	}
	api.Listen = addr
	h, err := e.Handler(api)
	if err != nil {
		ln.Close()
		e.Close()
		return usagef("%v", err)
	}
	// A request is at most 1 MiB: a client that takes a minute to send
	// one is not served.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(w, "s3batchkit serve: S3 Control endpoint http://%s (state %s)\n", ln.Addr(), o.StateDir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if cerr := e.Close(); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}
