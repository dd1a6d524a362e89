package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Defaults of a Spec, applied by WithDefaults.
const (
	// DefaultVCPUs is the vCPUs of a worker or scatter container.
	DefaultVCPUs = 2
	// DefaultAttempts is how many times a step may run: the first run and
	// two retries.
	DefaultAttempts = 3
	// DefaultMergeVCPUs and DefaultMergeMemoryMiB size the merge, which
	// reads part.json files and writes plan.json.
	DefaultMergeVCPUs     = 1
	DefaultMergeMemoryMiB = 2048
	// MaxArraySize is the largest AWS Batch array job, and the bound on
	// ranges and slices here.
	MaxArraySize = 10000
	// MaxAttempts is AWS Batch's bound on retryStrategy.attempts.
	MaxAttempts = 10
	// MaxNameLen bounds Spec.Name so that every job name derived from it
	// ("-workers", and a pod's "-<index>-<suffix>") stays a valid
	// Kubernetes label value.
	MaxNameLen = 40
)

// RangesFile is the name of the split's output under the run root.
const RangesFile = "ranges.json"

// The flags that give a step its index when no engine variable does (a
// job of one on AWS Batch, which has no array of one).
const (
	RangeFlag = "--range"
	SliceFlag = "--slice"
)

// Step names: the suffix of each job's name, and the value of the
// app.kubernetes.io/component label that selects it.
const (
	StepScatter = "scatter"
	StepWorkers = "workers"
	StepMerge   = "merge"
)

// Spec describes one distributed plan to run. The zero value of each
// optional field means its default (see WithDefaults).
type Spec struct {
	// Image is the container image whose entrypoint is the s3batchkit
	// binary (the repository's Dockerfile builds one). Required.
	Image string
	// Name prefixes the names of the jobs and job definitions: lowercase
	// letters, digits and hyphens, at most MaxNameLen. Default:
	// "s3batchkit-" and 8 hex digits of the SHA-256 of Root, so that the
	// same run gets the same names.
	Name string
	// Root is the run root, an s3:// prefix: ranges.json is Root/ranges.json,
	// the parts are written under Root/parts/, plan.json at Root/plan.json.
	// Required.
	Root string
	// Ranges is N, the number of key ranges (workers): 1 to MaxArraySize.
	// (AWS Batch has no array of one: one range is a plain job given
	// --range=0.)
	Ranges int
	// Slices is S, the number of scatter slices in shuffle mode: 0 when no
	// input is shuffled (no scatter step), else 1 to MaxArraySize (one
	// slice on AWS Batch: a plain job given --slice=0).
	Slices int
	// Command is the command the workers and the merge run: "plan" (the
	// default when empty) or "diff". The scatter step is "plan scatter"
	// for both.
	Command string
	// PlanArgs are the plan's (or the diff's) arguments — inventories, filters, bounds,
	// options — each one argument (e.g. "--where=key startsWith \"a b\"").
	// They are passed to every worker as they are, after "plan".
	PlanArgs []string
	// GlobalArgs are the global flags every step gets before its command
	// name (e.g. "--region=eu-west-1", "--endpoint-url=…"). Never a
	// profile or a credential: the steps' credentials come from the job
	// role or the service account.
	GlobalArgs []string
	// SortMemory is the plan's sort budget in bytes (its --memory; zero:
	// partition.DefaultSortMemory). Only used to derive Worker.MemoryMiB.
	SortMemory int64
	// Worker sizes each worker and scatter container. Zero VCPUs:
	// DefaultVCPUs; zero MemoryMiB: WorkerMemoryMiB(SortMemory).
	Worker Resources
	// Merge sizes the merge container. Zero fields: DefaultMergeVCPUs,
	// DefaultMergeMemoryMiB.
	Merge Resources
	// Attempts is how many times a step may run: 1 (no retry) to
	// MaxAttempts. Zero: DefaultAttempts. AWS Batch retries exit 1 and
	// lost hosts; Kubernetes retries any failure but exits 2 and 3
	// (backoffLimitPerIndex = Attempts−1), and evictions do not count.
	Attempts int
	// AttemptTimeout stops one attempt that runs longer (AWS Batch
	// timeout.attemptDurationSeconds; the pod's activeDeadlineSeconds).
	// Zero: no limit; else at least 60 s, whole seconds.
	AttemptTimeout time.Duration
	// AWS holds the settings used only by AWSBatch.
	AWS AWSOptions
	// Kubernetes holds the settings used only by Kubernetes.
	Kubernetes K8sOptions
}

// Resources of one container.
type Resources struct {
	VCPUs     int // whole vCPUs, at least 1
	MemoryMiB int // MiB, at least 256
}

// AWSOptions are the AWS Batch settings of a Spec.
type AWSOptions struct {
	// JobQueue is the job queue (name or ARN) the jobs are submitted to.
	// Required by AWSBatch.
	JobQueue string
	// JobRoleARN is the IAM role the containers run as (read the
	// inventory, write the run root). Empty: the containers get the
	// compute environment's instance role, if any.
	JobRoleARN string
}

// K8sOptions are the Kubernetes settings of a Spec.
type K8sOptions struct {
	// Namespace of the Jobs. Empty: the namespace kubectl uses.
	Namespace string
	// ServiceAccount the pods run as (with IRSA or EKS Pod Identity, the
	// one bound to the IAM role). Empty: the namespace's default.
	ServiceAccount string
	// Parallelism bounds the pods of an Indexed Job running at once.
	// Zero: all of them (N workers, S scatter slices).
	Parallelism int
}

// WorkerMemoryMiB is the container memory a worker needs for a sort
// budget of sortMemory bytes (zero: the default budget): the soft limit
// plan sets for the Go runtime (partition.MemoryLimit: the budget plus
// the readers' share) plus a quarter of it, at least 256 MiB, for what
// the runtime does not count (stacks, page cache of the spill), rounded
// up to 256 MiB. 512 MiB of sort gives 1024 MiB.
func WorkerMemoryMiB(sortMemory int64) int {
	limit := partition.MemoryLimit(sortMemory)
	headroom := max(limit/4, 256<<20)
	mib := (limit + headroom + (1 << 20) - 1) >> 20
	return int((mib + 255) / 256 * 256)
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// WithDefaults returns a copy of s with every zero optional field set to
// its default, and Root without a trailing slash. It does not validate;
// Validate does.
func (s Spec) WithDefaults() Spec {
	s.Root = strings.TrimRight(s.Root, "/")
	if s.Name == "" {
		sum := sha256.Sum256([]byte(s.Root))
		s.Name = "s3batchkit-" + hex.EncodeToString(sum[:4])
	}
	if s.Worker.VCPUs == 0 {
		s.Worker.VCPUs = DefaultVCPUs
	}
	if s.Worker.MemoryMiB == 0 {
		s.Worker.MemoryMiB = WorkerMemoryMiB(s.SortMemory)
	}
	if s.Merge.VCPUs == 0 {
		s.Merge.VCPUs = DefaultMergeVCPUs
	}
	if s.Merge.MemoryMiB == 0 {
		s.Merge.MemoryMiB = DefaultMergeMemoryMiB
	}
	if s.Attempts == 0 {
		s.Attempts = DefaultAttempts
	}
	return s
}

// Validate checks a Spec after WithDefaults, for both engines; errors are
// *SpecError. Each engine adds its own checks.
func (s Spec) Validate() error {
	switch {
	case s.Image == "" || strings.ContainsAny(s.Image, " \t\n"):
		return specErr("Image", s.Image, "a container image reference such as registry/s3batchkit:1.0")
	case len(s.Name) > MaxNameLen || !nameRE.MatchString(s.Name):
		return specErr("Name", s.Name, "lowercase letters, digits and inner hyphens, at most "+strconv.Itoa(MaxNameLen)+" characters")
	case !objio.IsS3(s.Root):
		return specErr("Root", s.Root, "an s3:// prefix that every container can reach (the steps share nothing else)")
	case s.Ranges < 1 || s.Ranges > MaxArraySize:
		return specErr("Ranges", strconv.Itoa(s.Ranges), "1 to "+strconv.Itoa(MaxArraySize))
	case s.Slices < 0 || s.Slices > MaxArraySize:
		return specErr("Slices", strconv.Itoa(s.Slices), "0 (no scatter) to "+strconv.Itoa(MaxArraySize))
	case s.Command != "" && s.Command != CommandPlan && s.Command != CommandDiff:
		return specErr("Command", s.Command, "plan or diff")
	case s.Worker.VCPUs < 1 || s.Merge.VCPUs < 1:
		return specErr("VCPUs", strconv.Itoa(min(s.Worker.VCPUs, s.Merge.VCPUs)), "at least 1")
	case s.Worker.MemoryMiB < 256 || s.Merge.MemoryMiB < 256:
		return specErr("MemoryMiB", strconv.Itoa(min(s.Worker.MemoryMiB, s.Merge.MemoryMiB)), "at least 256")
	case s.Attempts < 1 || s.Attempts > MaxAttempts:
		return specErr("Attempts", strconv.Itoa(s.Attempts), "1 to "+strconv.Itoa(MaxAttempts))
	case s.AttemptTimeout < 0 || (s.AttemptTimeout > 0 && s.AttemptTimeout < time.Minute) || s.AttemptTimeout%time.Second != 0:
		return specErr("AttemptTimeout", s.AttemptTimeout.String(), "0 (no limit) or at least 60s, in whole seconds")
	case s.Kubernetes.Parallelism < 0:
		return specErr("Kubernetes.Parallelism", strconv.Itoa(s.Kubernetes.Parallelism), "0 (all at once) or more")
	}
	if _, _, err := objio.ParseS3(s.Root); err != nil {
		return specErr("Root", s.Root, "s3://bucket/prefix")
	}
	for _, a := range s.GlobalArgs {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "profile" {
			return specErr("GlobalArgs", a, "no --profile: the steps' credentials come from the job role or the service account")
		}
	}
	return nil
}

// RangesLocation is Root/ranges.json, the file every step is given.
func (s Spec) RangesLocation() string { return objio.Join(s.Root, RangesFile) }

// Shuffle reports whether the run has a scatter step.
func (s Spec) Shuffle() bool { return s.Slices > 0 }

// JobName is the name of a step's job (and job definition): Name-step.
func (s Spec) JobName(step string) string { return s.Name + "-" + step }

// Commands of Spec.Command.
const (
	CommandPlan = "plan"
	CommandDiff = "diff"
)

// command is Spec.Command with its default.
func (s Spec) command() string {
	if s.Command == "" {
		return CommandPlan
	}
	return s.Command
}

// WorkerArgs is the argument vector of a range worker (after the binary):
// the global flags, "plan" (or "diff"), the arguments and --ranges. The
// worker takes its range index from AWS_BATCH_JOB_ARRAY_INDEX or
// JOB_COMPLETION_INDEX and writes Root/parts/<iiii>.
func (s Spec) WorkerArgs() []string {
	return s.argv([]string{s.command()}, s.PlanArgs)
}

// ScatterArgs is the argument vector of a scatter slice: "plan scatter
// --ranges"; the slice index comes from the engine's variable, the
// filters from ranges.json.
func (s Spec) ScatterArgs() []string { return s.argv([]string{"plan", "scatter"}, nil) }

// MergeArgs is the argument vector of the merge: "plan merge --ranges"
// (or "diff merge"), which writes Root/plan.json last.
func (s Spec) MergeArgs() []string { return s.argv([]string{s.command(), "merge"}, nil) }

func (s Spec) argv(cmd, args []string) []string {
	out := make([]string, 0, len(s.GlobalArgs)+len(cmd)+len(args)+1)
	out = append(out, s.GlobalArgs...)
	out = append(out, cmd...)
	out = append(out, args...)
	return append(out, "--ranges="+s.RangesLocation())
}
