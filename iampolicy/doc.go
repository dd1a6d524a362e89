// Package iampolicy writes the IAM role an S3 Batch Operations job runs
// as: the trust policy that lets batchoperations.s3.amazonaws.com assume
// it, and a least-privilege permissions policy for one operation over the
// buckets of one plan (see docs/iam.md).
//
// Every statement carries the reason it is there and the AWS documents it
// rests on (Result.Explanation). The action lists follow AWS's per-operation
// policies in "Granting permissions for Batch Operations" (user guide,
// batch-ops-iam-role-policies), narrowed where the plan and the operation
// allow it:
//
//   - version-specific actions (s3:GetObjectVersion, s3:PutObjectVersionTagging,
//     ...) only on buckets whose shards list version ids;
//   - object ARNs limited to the plan's key prefixes (its --prefix filters),
//     to the copy's TargetKeyPrefix, to the shards' upload location and to
//     the report prefix's job-* folders;
//   - no wildcard action and no Resource "*" (AWS's own Lambda example
//     uses Resource "*", which lambda:InvokeFunction does not need).
//
// Build does no I/O; LoadPlan reads a plan directory (local or s3://).
package iampolicy
