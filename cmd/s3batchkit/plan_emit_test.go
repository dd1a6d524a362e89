package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/deploy"
	"github.com/s3batchkit/s3batchkit/partition"
)

// The tests of --emit run a stand-in for `plan split`: a command with
// the plan's flags, a --ranges count and the --emit flags, whose Before
// is checkEmitFlags and whose Action calls emitPlanJobs, as the split
// does once ranges.json is written.

const emitRanges = "s3://plans/run-1/ranges.json"

func splitStandIn(run splitRun) *cli.Command {
	return &cli.Command{
		Name: "split",
		Flags: concatFlags(planFlagsWithout("ranges", "range"), []cli.Flag{
			countFlag(catInput, "ranges", 0, "ranges `N`"),
		}, planEmitFlags()),
		Before: checkEmitFlags,
		Action: func(c *cli.Context) error { return emitPlanJobs(c, run) },
	}
}

// planFlagsWithout is the plan command's flags less those named.
func planFlagsWithout(names ...string) []cli.Flag {
	var out []cli.Flag
	for _, f := range newPlanCommand().Flags {
		if !slices.Contains(names, f.Names()[0]) {
			out = append(out, f)
		}
	}
	return out
}

// runEmit runs `s3batchkit [global] split ARGS` and returns stdout,
// stderr and the error.
func runEmit(t *testing.T, run splitRun, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &cli.App{Name: "s3batchkit", Flags: globalFlags(), Writer: &stdout, ErrWriter: &stderr, Before: configureStorage,
		Commands: []*cli.Command{splitStandIn(run)}, ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run(append([]string{"s3batchkit"}, args...))
	return stdout.String(), stderr.String(), err
}

// emitArgs is a split command line with filters a shell would mangle,
// flags the workers must not get, and global flags.
var emitArgs = []string{
	"--region", "eu-west-1", "--profile", "prod",
	"split", "--inventory", "s3://inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json", "--inventory", "s3://inv/other/cfg/",
	"--inventory-date", "2024-11-01",
	"--prefix", "photos 2024/", "--prefix", "it's \"x\"", "--where", `key matches "^a b" and size >= bytes("1MiB")`,
	"--latest-only", "--sort=true", "--max-objects", "1e6", "--memory", "2GiB", "--price-per-job", "0.5",
	"--workers", "4", "--tmp-dir", "/scratch", "--quiet", "--ranges", "8", "--out", emitRanges,
	"--image", "registry.example.com/s3batchkit:1", "--job-name", "photos",
}

// wantWorkerPlanArgs are the workers' plan arguments for emitArgs: in the
// plan command's flag order.
var wantWorkerPlanArgs = []string{
	"--inventory=s3://inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json", "--inventory=s3://inv/other/cfg/",
	"--inventory-date=2024-11-01",
	"--prefix=photos 2024/", "--prefix=it's \"x\"", "--latest-only=true", `--where=key matches "^a b" and size >= bytes("1MiB")`,
	"--sort=true", "--memory=2GiB", "--max-objects=1000000", "--price-per-job=0.5",
}

func TestEmitAWSBatch(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRETemitKEY")
	t.Setenv("AWS_SESSION_TOKEN", "SECRETemitTOKEN")
	run := splitRun{RangesFile: emitRanges, Ranges: 8, Slices: 2}
	args := append(append([]string{}, emitArgs...), "--emit", "aws-batch", "--job-queue", "plans", "--job-role-arn", "arn:aws:iam::123456789012:role/plan", "--job-attempts", "5")
	out, stderr, err := runEmit(t, run, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc deploy.BatchDocument
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not one BatchDocument: %v\n%s", err, out)
	}
	if len(doc.SubmitJobs) != 3 || doc.SubmitJobs[0].JobName != "photos-scatter" || doc.SubmitJobs[1].ArrayProperties.Size != 8 || doc.SubmitJobs[0].ArrayProperties.Size != 2 {
		t.Fatalf("jobs %+v", doc.SubmitJobs)
	}
	worker := doc.RegisterJobDefinitions[1]
	want := append(append([]string{"--region=eu-west-1", "plan"}, wantWorkerPlanArgs...), "--ranges="+emitRanges)
	if !reflect.DeepEqual(worker.ContainerProperties.Command, want) {
		t.Errorf("worker command\n%q\nwant\n%q", worker.ContainerProperties.Command, want)
	}
	if worker.RetryStrategy.Attempts != 5 || worker.ContainerProperties.JobRoleArn != "arn:aws:iam::123456789012:role/plan" ||
		doc.SubmitJobs[2].JobQueue != "plans" {
		t.Errorf("definition %+v", worker)
	}
	// 2GiB of sort: 2240 MiB soft limit, 2816 MiB container.
	if got := worker.ContainerProperties.ResourceRequirements; got[1] != (deploy.BatchResourceRequirement{Type: "MEMORY", Value: "2816"}) {
		t.Errorf("resources %+v", got)
	}
	for _, leak := range []string{"SECRETemit", "prod", "profile", "/scratch", "--workers", "--quiet", "--out"} {
		if strings.Contains(out, leak) {
			t.Errorf("stdout holds %q", leak)
		}
	}
	if stderr != "" { // --quiet: no summary
		t.Errorf("stderr %q", stderr)
	}
}

func TestEmitK8s(t *testing.T) {
	run := splitRun{RangesFile: emitRanges, Ranges: 8,
		Inventories: []string{"s3://inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json", "s3://inv/other/cfg/2024-11-01T01-00Z/manifest.json"}}
	args := append(append([]string{}, emitArgs...), "--emit", "k8s", "--namespace", "batch", "--service-account", "plan", "--parallelism", "4", "--container-memory", "3000MiB", "--vcpus", "4")
	args = slicesWithout(args, "--quiet")
	out, stderr, err := runEmit(t, run, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want, err := deploy.Kubernetes(deploy.Spec{
		Image: "registry.example.com/s3batchkit:1", Name: "photos", Root: "s3://plans/run-1", Ranges: 8,
		// the resolved deliveries replace --inventory and --inventory-date
		PlanArgs:   append([]string{"--inventory=" + run.Inventories[0], "--inventory=" + run.Inventories[1]}, wantWorkerPlanArgs[3:]...),
		GlobalArgs: []string{"--region=eu-west-1"}, Worker: deploy.Resources{VCPUs: 4, MemoryMiB: 3000},
		Kubernetes: deploy.K8sOptions{Namespace: "batch", ServiceAccount: "plan", Parallelism: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("stdout\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(stderr, "k8s job definitions on stdout: workers (8) → merge") {
		t.Errorf("stderr %q", stderr)
	}
}

func slicesWithout(args []string, drop string) []string {
	var out []string
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// TestEmitWorkerArgsParse reads the workers' arguments back with the
// plan command's own flags: the options they give are the split's.
func TestEmitWorkerArgsParse(t *testing.T) {
	run := splitRun{RangesFile: emitRanges, Ranges: 8}
	var splitOpts partition.Options
	cmd := splitStandIn(run)
	cmd.Action = func(c *cli.Context) error {
		var err error
		splitOpts, err = planOptionsFromFlags(c, false)
		if err != nil {
			return err
		}
		return emitPlanJobs(c, run)
	}
	var stdout bytes.Buffer
	app := &cli.App{Name: "s3batchkit", Flags: globalFlags(), Writer: &stdout, ErrWriter: &bytes.Buffer{}, Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
	args := append(append([]string{"s3batchkit"}, emitArgs...), "--emit", "aws-batch", "--job-queue", "q")
	if err := app.Run(args); err != nil {
		t.Fatal(err)
	}
	var doc deploy.BatchDocument
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	worker := doc.RegisterJobDefinitions[0].ContainerProperties.Command

	var workerOpts partition.Options
	var region string
	plan := newPlanCommand()
	if !slices.ContainsFunc(plan.Flags, func(f cli.Flag) bool { return f.Names()[0] == "ranges" }) {
		plan.Flags = append(plan.Flags, &cli.StringFlag{Name: "ranges"}) // the workers' --ranges LOC/ranges.json
	}
	plan.Before = nil
	plan.Action = func(c *cli.Context) error {
		var err error
		workerOpts, err = planOptionsFromFlags(c, false)
		region = c.String("region")
		return err
	}
	app = &cli.App{Name: "s3batchkit", Flags: globalFlags(), Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}, Commands: []*cli.Command{plan}, ExitErrHandler: func(*cli.Context, error) {}}
	// --out and --workers are the worker's own: set them alike.
	if err := app.Run(append(append([]string{"s3batchkit"}, worker...), "--out", emitRanges, "--workers", "4", "--tmp-dir", "/scratch")); err != nil {
		t.Fatalf("the plan command refused the workers' arguments %q: %v", worker, err)
	}
	if region != "eu-west-1" {
		t.Errorf("region %q", region)
	}
	if !reflect.DeepEqual(workerOpts, splitOpts) {
		t.Errorf("worker options\n%+v\nsplit options\n%+v", workerOpts, splitOpts)
	}
}

// TestEmitFlagTypes: every plan flag is of a type flagValues can pass on.
func TestEmitFlagTypes(t *testing.T) {
	for _, f := range append(newPlanCommand().Flags, globalFlags()...) {
		switch f.(type) {
		case *cli.StringSliceFlag, *cli.StringFlag, *cli.BoolFlag, *cli.Float64Flag, *cli.IntFlag, *cli.Int64Flag, *cli.DurationFlag:
		case *cli.GenericFlag:
			if _, ok := f.(*cli.GenericFlag).Value.(interface{ String() string }); !ok {
				t.Errorf("--%s: a generic flag without String", f.Names()[0])
			}
		default:
			t.Errorf("--%s: %T is not passed on by flagValues", f.Names()[0], f)
		}
	}
}

func TestEmitUsageErrors(t *testing.T) {
	base := []string{"split", "--inventory", "s3://inv/m.json", "--ranges", "4", "--out", emitRanges}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"image without --emit", []string{"--image", "x"}, "--image is for the job definitions of --emit"},
		{"unknown engine", []string{"--emit", "nomad", "--image", "x"}, "--emit must be aws-batch or k8s"},
		{"no image", []string{"--emit", "k8s"}, "--emit needs --image"},
		{"no job queue", []string{"--emit", "aws-batch", "--image", "x"}, "--emit aws-batch needs --job-queue"},
		{"namespace on batch", []string{"--emit", "aws-batch", "--image", "x", "--job-queue", "q", "--namespace", "n"}, "--namespace is for --emit k8s"},
		{"job queue on k8s", []string{"--emit", "k8s", "--image", "x", "--job-queue", "q"}, "--job-queue is for --emit aws-batch"},
		{"bad name", []string{"--emit", "k8s", "--image", "x", "--job-name", "Photos_1"}, "--job-name \"Photos_1\""},
		{"too many attempts", []string{"--emit", "k8s", "--image", "x", "--job-attempts", "11"}, "--job-attempts must be 1 to 10"},
		{"short timeout", []string{"--emit", "k8s", "--image", "x", "--attempt-timeout", "30s"}, "--attempt-timeout"},
		{"small container", []string{"--emit", "k8s", "--image", "x", "--container-memory", "100MiB"}, "--container-memory must be at least 256MiB"},
		{"no vcpu", []string{"--emit", "k8s", "--image", "x", "--vcpus", "0"}, "--vcpus must be at least 1"},
		{"json too", []string{"--emit", "k8s", "--image", "x", "--json"}, "--emit and --json exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runEmit(t, splitRun{RangesFile: emitRanges, Ranges: 4}, append(append([]string{}, base...), tt.args...)...)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a usage error with %q", err, tt.want)
			}
		})
	}
	// A local --out: the containers would not see it.
	_, _, err := runEmit(t, splitRun{RangesFile: "/tmp/run/ranges.json", Ranges: 4},
		"split", "--inventory", "s3://inv/m.json", "--out", "/tmp/run/ranges.json", "--emit", "k8s", "--image", "x")
	if !errors.As(err, new(*usageError)) || !strings.Contains(err.Error(), "must be s3://") {
		t.Fatalf("local --out: %v", err)
	}
	// No range: said at emit time, naming --ranges.
	_, _, err = runEmit(t, splitRun{RangesFile: emitRanges, Ranges: 0}, append(append([]string{}, base...), "--emit", "aws-batch", "--image", "x", "--job-queue", "q")...)
	if !errors.As(err, new(*usageError)) || !strings.Contains(err.Error(), "--ranges \"0\"") {
		t.Fatalf("no range: %v", err)
	}
}

// TestEmitProfileRegion: without --region, the workers get the region the
// split's profile names, never the profile.
func TestEmitProfileRegion(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/config"
	if err := os.WriteFile(cfg, []byte("[profile prod]\nregion = ap-southeast-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	t.Setenv("AWS_REGION", "")
	os.Unsetenv("AWS_REGION")
	t.Setenv("AWS_DEFAULT_REGION", "")
	os.Unsetenv("AWS_DEFAULT_REGION")
	out, stderr, err := runEmit(t, splitRun{RangesFile: emitRanges, Ranges: 2}, "--profile", "prod", "split", "--inventory", "s3://inv/m.json",
		"--out", emitRanges, "--emit", "aws-batch", "--image", "x", "--job-queue", "q")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc deploy.BatchDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"--region=ap-southeast-2", "plan", "--inventory=s3://inv/m.json", "--ranges=" + emitRanges}
	if got := doc.RegisterJobDefinitions[0].ContainerProperties.Command; !reflect.DeepEqual(got, want) {
		t.Errorf("worker command %q, want %q", got, want)
	}
	if strings.Contains(out, "prod") {
		t.Error("the profile's name is in the definitions")
	}
}
