package deploy

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// AWS Batch: the inputs of RegisterJobDefinition and SubmitJob, in the
// API's own field names (service model batch 2016-08-10), so that each
// element can be given to `aws batch register-job-definition
// --cli-input-json` or `aws batch submit-job --cli-input-json` as it is.

// BatchDocument is what AWSBatch prints.
type BatchDocument struct {
	Engine string `json:"engine"` // "aws-batch"
	Run    string `json:"run"`    // Spec.Name
	Ranges string `json:"ranges"` // Spec.RangesLocation()
	// Note says how to submit, in one line, for whoever opens the file.
	Note string `json:"note"`
	// RegisterJobDefinitions are RegisterJobDefinition inputs, one per
	// step.
	RegisterJobDefinitions []BatchJobDefinition `json:"register_job_definitions"`
	// SubmitJobs are SubmitJob inputs in submission order. A dependsOn
	// jobId holds the jobName of the job waited for: replace it by the
	// jobId SubmitJob returned for that job (docs/scale-out.md).
	SubmitJobs []BatchSubmitJob `json:"submit_jobs"`
}

// BatchJobDefinition is a RegisterJobDefinition input.
type BatchJobDefinition struct {
	JobDefinitionName    string                   `json:"jobDefinitionName"`
	Type                 string                   `json:"type"`
	PlatformCapabilities []string                 `json:"platformCapabilities"`
	ContainerProperties  BatchContainerProperties `json:"containerProperties"`
	RetryStrategy        BatchRetryStrategy       `json:"retryStrategy"`
	Timeout              *BatchTimeout            `json:"timeout,omitempty"`
}

// BatchContainerProperties is a job definition's containerProperties.
type BatchContainerProperties struct {
	Image                string                     `json:"image"`
	Command              []string                   `json:"command"`
	JobRoleArn           string                     `json:"jobRoleArn,omitempty"`
	ResourceRequirements []BatchResourceRequirement `json:"resourceRequirements"`
}

// BatchResourceRequirement is one of VCPU or MEMORY (MiB).
type BatchResourceRequirement struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// BatchRetryStrategy is a job definition's retryStrategy.
type BatchRetryStrategy struct {
	Attempts       int                 `json:"attempts"`
	EvaluateOnExit []BatchEvaluateExit `json:"evaluateOnExit"`
}

// BatchEvaluateExit is one evaluateOnExit rule; the first that matches
// decides.
type BatchEvaluateExit struct {
	OnExitCode     string `json:"onExitCode,omitempty"`
	OnStatusReason string `json:"onStatusReason,omitempty"`
	OnReason       string `json:"onReason,omitempty"`
	Action         string `json:"action"`
}

// BatchTimeout is a job definition's timeout.
type BatchTimeout struct {
	AttemptDurationSeconds int64 `json:"attemptDurationSeconds"`
}

// BatchSubmitJob is a SubmitJob input.
type BatchSubmitJob struct {
	JobName         string                `json:"jobName"`
	JobQueue        string                `json:"jobQueue"`
	JobDefinition   string                `json:"jobDefinition"`
	ArrayProperties *BatchArrayProperties `json:"arrayProperties,omitempty"`
	DependsOn       []BatchJobDependency  `json:"dependsOn,omitempty"`
}

// BatchArrayProperties makes a job an array job of Size children, each
// with AWS_BATCH_JOB_ARRAY_INDEX set to its index.
type BatchArrayProperties struct {
	Size int `json:"size"`
}

// BatchJobDependency: with no type, the job waits for the whole job
// JobId, every child of an array job.
type BatchJobDependency struct {
	JobID string `json:"jobId"`
}

// BatchRetryRules are the evaluateOnExit rules of every step: retry exit
// 1 (a retry may help) and a lost host (a Spot reclaim, a scaled-in
// instance: the status reason starts "Host EC2"), end the job on
// anything else — exit 2 (usage, a part that does not match
// ranges.json), exit 3 (bad data), an out-of-memory kill. Without the
// last rule AWS Batch would retry whatever matched no rule.
var BatchRetryRules = []BatchEvaluateExit{
	{OnExitCode: "1", Action: "RETRY"},
	{OnStatusReason: "Host EC2*", Action: "RETRY"},
	{OnReason: "*", Action: "EXIT"},
}

// AWSBatch returns the AWS Batch definitions of s as an indented JSON
// document (a BatchDocument) ending in a newline. s gets its defaults
// first; an invalid Spec, or one without a job queue, returns a
// *SpecError.
func AWSBatch(s Spec) ([]byte, error) {
	doc, err := BatchDefinitions(s)
	if err != nil {
		return nil, err
	}
	return marshalIndent(doc)
}

// BatchDefinitions builds the BatchDocument of s (see AWSBatch).
func BatchDefinitions(s Spec) (BatchDocument, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return BatchDocument{}, err
	}
	if s.AWS.JobQueue == "" {
		return BatchDocument{}, specErr("AWS.JobQueue", "", "the AWS Batch job queue (name or ARN) to submit to")
	}
	doc := BatchDocument{
		Engine: "aws-batch",
		Run:    s.Name,
		Ranges: s.RangesLocation(),
		Note:   "register each of register_job_definitions, then submit submit_jobs in order, replacing each dependsOn jobId (the jobName waited for) by the jobId SubmitJob returned for it; see docs/scale-out.md",
	}
	// add adds a step: an array job of size children, or a plain job when
	// size is 0; an array of one, which AWS Batch does not have (2 to
	// 10,000 children), is a plain job told its index by indexFlag.
	add := func(step string, args []string, r Resources, size int, indexFlag, after string) {
		name := s.JobName(step)
		if size == 1 {
			args = append(slices.Clone(args), indexFlag+"=0")
			size = 0
		}
		def := BatchJobDefinition{
			JobDefinitionName:    name,
			Type:                 "container",
			PlatformCapabilities: []string{"EC2"},
			ContainerProperties: BatchContainerProperties{
				Image:      s.Image,
				Command:    args,
				JobRoleArn: s.AWS.JobRoleARN,
				ResourceRequirements: []BatchResourceRequirement{
					{Type: "VCPU", Value: strconv.Itoa(r.VCPUs)},
					{Type: "MEMORY", Value: strconv.Itoa(r.MemoryMiB)},
				},
			},
			RetryStrategy: BatchRetryStrategy{Attempts: s.Attempts, EvaluateOnExit: slices.Clone(BatchRetryRules)},
		}
		if s.AttemptTimeout > 0 {
			def.Timeout = &BatchTimeout{AttemptDurationSeconds: int64(s.AttemptTimeout.Seconds())}
		}
		job := BatchSubmitJob{JobName: name, JobQueue: s.AWS.JobQueue, JobDefinition: name}
		if size > 0 {
			job.ArrayProperties = &BatchArrayProperties{Size: size}
		}
		if after != "" {
			job.DependsOn = []BatchJobDependency{{JobID: after}}
		}
		doc.RegisterJobDefinitions = append(doc.RegisterJobDefinitions, def)
		doc.SubmitJobs = append(doc.SubmitJobs, job)
	}
	after := ""
	if s.Shuffle() {
		add(StepScatter, s.ScatterArgs(), s.Worker, s.Slices, SliceFlag, "")
		after = s.JobName(StepScatter)
	}
	add(StepWorkers, s.WorkerArgs(), s.Worker, s.Ranges, RangeFlag, after)
	add(StepMerge, s.MergeArgs(), s.Merge, 0, "", s.JobName(StepWorkers))
	return doc, nil
}

// marshalIndent encodes v as indented JSON without HTML escaping (a
// filter's < and > stay readable), ending in a newline.
func marshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
