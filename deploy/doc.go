// Package deploy writes the job definitions that run a distributed plan
// (docs/scale-out.md) on an engine the user already has: AWS Batch array
// jobs, or Kubernetes Indexed Jobs. It runs nothing and calls no API.
//
// In: a Spec — the container image, a name for the run, the run root (an
// s3:// prefix holding ranges.json, the parts and, at the end, plan.json),
// the number of ranges N and of scatter slices S (shuffle mode), the plan
// arguments as the user gave them, resources and retries, and the
// engine's own settings. Out: bytes to print —
//
//   - AWSBatch: one JSON document whose register_job_definitions and
//     submit_jobs hold, verbatim, the inputs of the Batch API's
//     RegisterJobDefinition and SubmitJob (what `aws batch … --cli-input-json`
//     takes): in shuffle mode the scatter array job first, then the array
//     job of the N range workers, then the merge job that depends on it;
//   - Kubernetes: a multi-document YAML stream of batch/v1 Jobs — the
//     scatter Indexed Job (shuffle mode), the workers' Indexed Job and the
//     merge Job — to be applied one step after the other.
//
// The steps' command lines (Spec.WorkerArgs, ScatterArgs, MergeArgs) are
// argument vectors handed to the image's entrypoint, never a shell
// string, so keys and filters with spaces, quotes or dollars reach the
// binary as typed. Each worker finds its index in the variable the engine
// sets (AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX); every step exits
// 1 when a retry may help, 2 on a usage error or a part that does not
// match ranges.json, 3 on bad input data, and the definitions retry only
// exit 1 (and the loss of a host or node).
//
// Nothing written holds a secret: the steps get their AWS credentials
// from the job role (AWS Batch) or the service account (IRSA or EKS Pod
// Identity), never from the definitions.
package deploy
