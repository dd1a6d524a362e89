package main

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/deploy"
	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// `plan split --emit aws-batch|k8s`: after the split has written
// LOC/ranges.json, print the job definitions that run the rest of the
// distributed plan — scatter (shuffle mode), the N range workers, the
// merge — on AWS Batch or Kubernetes (package deploy, docs/scale-out.md).
// newPlanSplitCommand adds planEmitFlags to its flags, calls
// checkEmitFlags in its Before and emitPlanJobs once ranges.json is
// written, instead of its summary (with --emit nothing else goes to
// stdout).

const catEmit = "Running on an engine (--emit; docs/scale-out.md):"

// Engines of --emit.
const (
	emitAWSBatch = "aws-batch"
	emitK8s      = "k8s"
)

// planEmitFlags are the flags of --emit.
func planEmitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Category: catEmit, Name: "emit", Usage: "print on stdout the job definitions that run the plan on `ENGINE`: aws-batch (RegisterJobDefinition and SubmitJob inputs, JSON) or k8s (Indexed Jobs, YAML)"},
		&cli.StringFlag{Category: catEmit, Name: "image", Usage: "container `IMAGE` whose entrypoint is s3batchkit (the repository's Dockerfile builds it); required with --emit"},
		&cli.StringFlag{Category: catEmit, Name: "job-name", Usage: "`NAME` prefixing the jobs' names: lowercase letters, digits, hyphens (default: s3batchkit- and a hash of --out)"},
		countFlag(catEmit, "vcpus", deploy.DefaultVCPUs, "vCPUs of each worker and scatter container, `N`"),
		&cli.StringFlag{Category: catEmit, Name: "container-memory", Usage: "memory of each worker and scatter container, `SIZE` (default: --memory plus the readers' share and headroom; 1GiB for the default --memory)"},
		countFlag(catEmit, "job-attempts", deploy.DefaultAttempts, "runs of each step, `N` (1 to 10): retried on exit 1 and lost hosts or nodes, never on exit 2 or 3"),
		&cli.DurationFlag{Category: catEmit, Name: "attempt-timeout", Usage: "stop an attempt that runs longer than `DURATION` (at least 1m)", DefaultText: "no limit"},
		&cli.StringFlag{Category: catEmit, Name: "job-queue", Usage: "aws-batch: the job `QUEUE` (name or ARN); required"},
		&cli.StringFlag{Category: catEmit, Name: "job-role-arn", Usage: "aws-batch: the IAM role `ARN` the containers run as (reads the inventory, writes --out's prefix)"},
		&cli.StringFlag{Category: catEmit, Name: "namespace", Usage: "k8s: the Jobs' `NAMESPACE` (default: kubectl's)"},
		&cli.StringFlag{Category: catEmit, Name: "service-account", Usage: "k8s: the pods' service account `NAME`, bound to an IAM role by IRSA or EKS Pod Identity"},
		&cli.GenericFlag{Category: catEmit, Name: "parallelism", Value: &countValue{}, Usage: "k8s: at most `N` pods of a step at once", DefaultText: "all"},
	}
}

// emitOnly are the flags that mean something only with --emit, and the
// engine they belong to ("" for both).
var emitOnly = []struct{ flag, engine string }{
	{"image", ""}, {"job-name", ""}, {"vcpus", ""}, {"container-memory", ""}, {"job-attempts", ""}, {"attempt-timeout", ""},
	{"job-queue", emitAWSBatch}, {"job-role-arn", emitAWSBatch},
	{"namespace", emitK8s}, {"service-account", emitK8s}, {"parallelism", emitK8s},
}

// splitRun is what the split knows once ranges.json is written.
type splitRun struct {
	// RangesFile is where ranges.json was written, LOC/ranges.json: an
	// s3:// location, since the containers share nothing else.
	RangesFile string
	// Ranges is N; Slices the scatter slices (0: no input is shuffled).
	Ranges, Slices int
	// Inventories are the manifest.json each --inventory resolved to, in
	// the flags' order, so that every worker reads the delivery the split
	// read even when a newer one arrives; nil passes the flags as given.
	Inventories []string
	// Diff is set for 'diff split': the workers run diff, with the
	// --source and --target the split resolved.
	Diff *diffInputs
}

// diffInputs are the reports a diff split read.
type diffInputs struct{ Source, Target string }

// isDiffSplit tells 'diff split' from 'plan split' by its flags.
func isDiffSplit(c *cli.Context) bool {
	for _, f := range c.Command.Flags {
		if f.Names()[0] == "source" {
			return true
		}
	}
	return false
}

// checkEmitFlags checks the --emit flags and their combinations without
// I/O (for the split's Before); errors are usage errors naming flags.
func checkEmitFlags(c *cli.Context) error {
	engine := c.String("emit")
	if engine == "" {
		for _, f := range emitOnly {
			if c.IsSet(f.flag) {
				return usagef("--%s is for the job definitions of --emit", f.flag)
			}
		}
		return nil
	}
	if engine != emitAWSBatch && engine != emitK8s {
		return usagef("--emit must be %s or %s, got %q", emitAWSBatch, emitK8s, engine)
	}
	for _, f := range emitOnly {
		if f.engine != "" && f.engine != engine && c.IsSet(f.flag) {
			return usagef("--%s is for --emit %s, not %s", f.flag, f.engine, engine)
		}
	}
	if c.Bool("json") {
		return usagef("--emit and --json exclude each other: both print on stdout")
	}
	if c.String("image") == "" {
		return usagef("--emit needs --image: the container image that runs s3batchkit (docs/scale-out.md: the Dockerfile)")
	}
	if engine == emitAWSBatch && c.String("job-queue") == "" {
		return usagef("--emit aws-batch needs --job-queue: the AWS Batch job queue the jobs go to")
	}
	out := c.String("out")
	if out != "" && !objio.IsS3(out) {
		return usagef("--emit: --out %s must be s3://…/%s: the containers share nothing but S3", out, deploy.RangesFile)
	}
	for _, loc := range append(c.StringSlice("inventory"), c.String("data-root"), c.String("source"), c.String("target")) {
		if loc != "" && !objio.IsS3(loc) {
			return usagef("--emit: %s must be an s3:// location (reports, --data-root): the containers share nothing but S3", loc)
		}
	}
	// Every other check of the definitions, with a stand-in for what
	// the split decides.
	stand := splitRun{RangesFile: "s3://bucket/" + deploy.RangesFile, Ranges: 2}
	if isDiffSplit(c) {
		stand.Diff = &diffInputs{Source: c.String("source"), Target: c.String("target")}
	}
	spec, err := emitSpec(c, stand)
	if err != nil {
		return err
	}
	return emitCheck(engine, spec)
}

// emitPlanJobs prints on stdout the definitions of --emit for run.
func emitPlanJobs(c *cli.Context, run splitRun) error {
	spec, err := emitSpec(c, run)
	if err != nil {
		return err
	}
	var out []byte
	switch c.String("emit") {
	case emitAWSBatch:
		out, err = deploy.AWSBatch(spec)
	case emitK8s:
		out, err = deploy.Kubernetes(spec)
	default:
		return usagef("--emit must be %s or %s, got %q", emitAWSBatch, emitK8s, c.String("emit"))
	}
	if err != nil {
		return emitError(err)
	}
	if _, err := c.App.Writer.Write(out); err != nil {
		return err
	}
	if !c.Bool("quiet") {
		fmt.Fprintln(c.App.ErrWriter, emitSummary(c.String("emit"), run))
	}
	return nil
}

// emitCheck builds the definitions of engine to check spec.
func emitCheck(engine string, spec deploy.Spec) error {
	var err error
	if engine == emitAWSBatch {
		_, err = deploy.BatchDefinitions(spec)
	} else {
		_, err = deploy.K8sJobs(spec)
	}
	return emitError(err)
}

// emitFlagOf names the flag behind each Spec field a user can set.
var emitFlagOf = map[string]string{
	"Image": "--image", "Name": "--job-name", "VCPUs": "--vcpus", "MemoryMiB": "--container-memory",
	"Attempts": "--job-attempts", "AttemptTimeout": "--attempt-timeout", "AWS.JobQueue": "--job-queue",
	"Kubernetes.Parallelism": "--parallelism", "Root": "--out", "Ranges": "--ranges",
}

// emitError turns a deploy.SpecError on a field a flag sets into a
// usage error naming the flag.
func emitError(err error) error {
	if err == nil {
		return nil
	}
	if se, ok := err.(*deploy.SpecError); ok {
		if f := emitFlagOf[se.Field]; f != "" {
			return usagef("--emit: %s %q: expected %s", f, se.Value, se.Expected)
		}
		return usagef("--emit: %v", err)
	}
	return err
}

// emitSpec builds the deploy.Spec of run from the flags.
func emitSpec(c *cli.Context, run splitRun) (deploy.Spec, error) {
	if path.Base(run.RangesFile) != deploy.RangesFile {
		return deploy.Spec{}, usagef("--emit: the steps read LOC/%s; give --out LOC/%s, not %s", deploy.RangesFile, deploy.RangesFile, run.RangesFile)
	}
	s := deploy.Spec{
		Image:          c.String("image"),
		Name:           c.String("job-name"),
		Root:           objio.Dir(run.RangesFile),
		Ranges:         run.Ranges,
		Slices:         run.Slices,
		Attempts:       int(c.Int64("job-attempts")),
		AttemptTimeout: c.Duration("attempt-timeout"),
		AWS:            deploy.AWSOptions{JobQueue: c.String("job-queue"), JobRoleARN: c.String("job-role-arn")},
		Kubernetes: deploy.K8sOptions{Namespace: c.String("namespace"), ServiceAccount: c.String("service-account"),
			Parallelism: int(c.Int64("parallelism"))},
	}
	if c.IsSet("job-attempts") && (s.Attempts < 1 || s.Attempts > deploy.MaxAttempts) {
		return s, usagef("--job-attempts must be 1 to %d, got %d", deploy.MaxAttempts, s.Attempts)
	}
	s.Worker.VCPUs = int(c.Int64("vcpus"))
	if s.Worker.VCPUs < 1 {
		return s, usagef("--vcpus must be at least 1")
	}
	var err error
	if s.SortMemory, err = sortMemoryFromFlags(c); err != nil {
		return s, err
	}
	mem, err := sizeFlag(c, "container-memory")
	if err != nil {
		return s, err
	}
	if c.IsSet("container-memory") {
		if mem < 256<<20 {
			return s, usagef("--container-memory must be at least 256MiB, got %s", c.String("container-memory"))
		}
		s.Worker.MemoryMiB = int((mem + 1<<20 - 1) >> 20)
	}
	if run.Diff != nil {
		s.Command = deploy.CommandDiff
		s.PlanArgs, err = workerDiffArgs(c, *run.Diff)
	} else {
		s.PlanArgs, err = workerPlanArgs(c, run.Inventories)
	}
	if err != nil {
		return s, err
	}
	if s.GlobalArgs, err = flagArgs(c, globalFlags(), func(name string) bool { return emitGlobal[name] }); err != nil {
		return s, err
	}
	if !c.IsSet("region") {
		// The region the split's profile or environment gave: the
		// containers have neither, and the workers must use the split's.
		if ac, err := storage(c).AWSConfig(c.Context); err == nil && ac.Region != "" && ac.Region != objio.DefaultRegion {
			s.GlobalArgs = append([]string{"--region=" + ac.Region}, s.GlobalArgs...)
		}
	}
	return s, nil
}

// emitGlobal are the global flags the steps get when they were given to
// the split (on its command line or from the environment): where S3 is
// and how to retry. Never --profile: in a container the credentials are
// the job role's or the service account's; the region a profile named is
// passed as --region.
var emitGlobal = map[string]bool{"region": true, "endpoint-url": true, "max-attempts": true, "retry-base-delay": true, "retry-max-backoff": true}

// notForWorkers are the plan flags the split's command line may hold that
// the workers must not get: where and whether to write (the worker writes
// LOC/parts/<i>), how to print, and this machine's own resources (the
// workers get theirs from the engine).
var notForWorkers = map[string]bool{
	"out": true, "dry-run": true, "force": true, "json": true, "quiet": true, "workers": true, "tmp-dir": true,
	"ranges": true, "range": true, // the split's --ranges N; the workers get --ranges LOC/ranges.json
}

// workerPlanArgs are the plan's flags given to the split, as the workers
// take them: every flag of the plan command that was set, in the plan
// command's order, each as one --name=value argument. inventories, when
// not nil, replace --inventory (and --inventory-date).
func workerPlanArgs(c *cli.Context, inventories []string) ([]string, error) {
	var args []string
	for _, inv := range inventories {
		args = append(args, "--inventory="+inv)
	}
	rest, err := flagArgs(c, newPlanCommand().Flags, func(name string) bool {
		if inventories != nil && (name == "inventory" || name == "inventory-date") {
			return false
		}
		return !notForWorkers[name]
	})
	return append(args, rest...), err
}

// workerDiffArgs are workerPlanArgs for a diff: the reports the split
// read, then every other flag of the diff command that was set.
func workerDiffArgs(c *cli.Context, in diffInputs) ([]string, error) {
	args := []string{"--source=" + in.Source, "--target=" + in.Target}
	rest, err := flagArgs(c, diffFlags(), func(name string) bool {
		return name != "source" && name != "target" && !notForWorkers[name]
	})
	return append(args, rest...), err
}

// flagArgs renders the flags of defs that are set in c and that keep
// accepts as --name=value arguments, in the order of defs; the values are
// read from c, so they are the split's.
func flagArgs(c *cli.Context, defs []cli.Flag, keep func(string) bool) ([]string, error) {
	var args []string
	for _, f := range defs {
		name := f.Names()[0]
		if !keep(name) || !c.IsSet(name) {
			continue
		}
		vals, err := flagValues(c, f)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			args = append(args, "--"+name+"="+v)
		}
	}
	return args, nil
}

// flagValues is a set flag's value as text that the flag parses back: one
// per value of a repeatable flag.
func flagValues(c *cli.Context, f cli.Flag) ([]string, error) {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.StringSliceFlag:
		return c.StringSlice(name), nil
	case *cli.StringFlag:
		return []string{c.String(name)}, nil
	case *cli.BoolFlag:
		return []string{strconv.FormatBool(c.Bool(name))}, nil
	case *cli.Float64Flag:
		return []string{strconv.FormatFloat(c.Float64(name), 'g', -1, 64)}, nil
	case *cli.IntFlag:
		return []string{strconv.Itoa(c.Int(name))}, nil
	case *cli.Int64Flag:
		return []string{strconv.FormatInt(c.Int64(name), 10)}, nil
	case *cli.DurationFlag:
		return []string{c.Duration(name).String()}, nil
	case *cli.GenericFlag:
		if s, ok := c.Generic(name).(fmt.Stringer); ok {
			return []string{s.String()}, nil
		}
	}
	return nil, fmt.Errorf("--emit: internal error: cannot pass --%s (%T) to the workers", name, f)
}

// emitSummary is the one line said on stderr after the definitions
// (not with --quiet).
func emitSummary(engine string, run splitRun) string {
	steps := []string{deploy.StepWorkers + " (" + strconv.Itoa(run.Ranges) + ")", deploy.StepMerge}
	if run.Slices > 0 {
		steps = append([]string{deploy.StepScatter + " (" + strconv.Itoa(run.Slices) + ")"}, steps...)
	}
	return fmt.Sprintf("%s job definitions on stdout: %s; see docs/scale-out.md", engine, strings.Join(steps, " → "))
}
