package iampolicy

// The AWS documents the statements rest on. docs/iam.md says what each
// one contributes; the explanation of every statement lists the ones it
// follows.
const (
	// The trust policy, and the per-operation permission policies (copy,
	// tagging, ACL, restore, Object Lock, replication, compute checksum,
	// update encryption); the notes on version-specific actions and KMS.
	SrcRolePolicies = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html"
	// S3ReplicateObject with a manifest the user supplies: s3:InitiateReplication.
	SrcBatchReplication = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-policies.html"
	// LambdaInvoke: the role needs lambda:InvokeFunction, the manifest read
	// and the report write.
	SrcInvokeLambda = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-invoke-lambda.html"
	// Lambda authorizes Invoke against the FunctionName the caller passes
	// (function, version or alias ARN).
	SrcLambdaResources = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html"
	// CopyObject: s3:GetObject on the source, s3:PutObject on a general
	// purpose destination, s3express:CreateSession on a directory bucket.
	SrcCopyObject = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"
	// The batch copy operation: without NewObjectTagging the source's tags
	// are copied.
	SrcCopyOperation = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_S3CopyObjectOperation.html"
	// Service Authorization Reference for S3: the IAM actions CopyObject
	// can need (s3:PutObjectRetention, s3:PutObjectLegalHold, ...).
	SrcS3Actions = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"
	// Bypassing a GOVERNANCE retention needs s3:BypassGovernanceRetention.
	SrcPutObjectRetention = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html"
	// Completion reports are written under <prefix>/job-<id>/.
	SrcReports = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-examples-reports.html"
	// A role that cannot read the manifest fails the job with
	// "Reading the manifest is forbidden: AccessDenied".
	SrcTroubleshooting = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshooting-batch-operations.html"
	// The cross-service confused deputy problem and aws:SourceAccount.
	SrcConfusedDeputy = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
	// A condition key missing from the request context fails the condition.
	SrcConditionKeys = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
	// '*' and '?' are wildcards inside a resource ARN.
	SrcResourceElement = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
	// A policy document may hold only tab, LF, CR and U+0020 to U+00FF.
	SrcPutRolePolicy = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html"
	// Inline role policies: 10,240 characters in all, whitespace not counted.
	SrcIAMQuotas = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
	// An alias in a Resource element names the alias, not its KMS key.
	SrcKMSAliases = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html"
)
