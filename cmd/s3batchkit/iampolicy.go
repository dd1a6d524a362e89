package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/iampolicy"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

const catRole = "Role:"

func newIAMPolicyCommand() *cli.Command {
	return &cli.Command{
		Name:      "iam-policy",
		Usage:     "print the IAM role (trust and least-privilege permissions policies) a plan's jobs need",
		UsageText: "s3batchkit iam-policy --plan DIR --operation JSON|@FILE --report-bucket ARN [--manifest-bucket s3://B/P] [options]",
		Description: `Prints the trust policy that lets S3 Batch Operations
(batchoperations.s3.amazonaws.com) assume the role, and the permissions
policy a job of --operation needs over the plan's shards: read the
manifests where submit puts them (<manifest-bucket>/<plan id>/shards/...,
or the plan's own s3:// folder), write the completion reports
(<report-prefix>/job-*), and the actions AWS documents for the operation
on the plan's buckets (only their --prefix filters' keys), the copy's
destination (TargetResource + TargetKeyPrefix), the Lambda function or
the KMS keys. Version-specific actions are granted only on buckets whose
shards list version ids. Nothing is called: this reads plan.json only.

Give the same --plan, --routes, --manifest-bucket, --operation,
--report-bucket and --report-prefix as to submit. The default output shows
both policies as indented JSON, why each statement is there (with the AWS
pages it follows), notes, and the two AWS CLI commands that create the
role; --json prints one document: {"trust_policy", "permissions_policy",
"explanation", "notes"}. See docs/iam.md.

--account-id adds an aws:SourceAccount condition to the trust policy, as
IAM recommends against the confused deputy problem (see the note it
prints). --kms-key-arn (repeatable) grants kms:Decrypt and
kms:GenerateDataKey on keys that encrypt the objects; the operation's own
key (SSEAwsKmsKeyId, or KMSKeyArn of S3UpdateObjectEncryption) is added.

Exit codes: 0 printed; 1 the plan could not be read; 2 bad flags or
operation; 3 no plan.json in DIR.

Examples (plan/ as the examples of 's3batchkit plan' make it; nothing is called):
   # the role for copying the copy route's objects to another bucket, as Standard-IA
   s3batchkit iam-policy --plan plan/ --routes copy \
       --manifest-bucket s3://my-manifests/batch \
       --operation '{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::my-destination", "StorageClass": "STANDARD_IA"}}' \
       --report-bucket arn:aws:s3:::my-reports --report-prefix batch/reports --account-id 123456789012

   # tagging every object of the plan, as JSON for scripts
   s3batchkit iam-policy --plan plan/ --manifest-bucket s3://my-manifests/batch \
       --operation '{"S3PutObjectTagging": {"TagSet": [{"Key": "project", "Value": "atlas"}]}}' \
       --report-bucket arn:aws:s3:::my-reports --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Category: catInput, Name: "plan", Aliases: []string{"p"}, Usage: "plan `DIR` (local or s3://) holding plan.json", Required: true},
			&cli.StringFlag{Category: catInput, Name: "manifest-bucket", EnvVars: []string{configEnv("manifest_bucket")}, Usage: "where submit uploads the shards of a local plan, `s3://BUCKET[/PREFIX]` (as given to submit)"},
			&cli.StringSliceFlag{Category: catInput, Name: "routes", Usage: "only the shards of these `ROUTES` (as given to submit; default: all)"},
			&cli.StringFlag{Category: catControl, Name: "operation", Usage: "the operation as `JSON` (AWS CLI shape), or @FILE", Required: true},
			&cli.StringFlag{Category: catControl, Name: "report-bucket", EnvVars: []string{configEnv("report_bucket")}, Usage: "completion report bucket `ARN` (arn:aws:s3:::bucket)", Required: true},
			&cli.StringFlag{Category: catControl, Name: "report-prefix", EnvVars: []string{configEnv("report_prefix")}, Usage: "completion report key `PREFIX` (as given to submit)"},
			&cli.StringFlag{Category: catRole, Name: "account-id", EnvVars: []string{configEnv("account_id")}, Usage: "12-digit account `ID` of the jobs: adds an aws:SourceAccount condition to the trust policy"},
			&cli.StringSliceFlag{Category: catRole, Name: "kms-key-arn", Usage: "KMS key `ARN` the objects are encrypted with (repeatable; key ARNs, not aliases)"},
			&cli.StringFlag{Category: catRole, Name: "role-name", Value: iampolicy.DefaultRoleName, Usage: "role `NAME` in the printed AWS CLI commands"},
			&cli.StringFlag{Category: catRole, Name: "policy-name", Usage: "inline policy `NAME` in the printed commands", DefaultText: "s3batchkit-<operation>"},
			&cli.BoolFlag{Category: catRole, Name: "json", Usage: "print one JSON document: trust_policy, permissions_policy, explanation, notes"},
		},
		Before: func(c *cli.Context) error {
			_, _, _, err := iamOptionsFromFlags(c)
			return err
		},
		Action: func(c *cli.Context) error {
			o, role, policy, err := iamOptionsFromFlags(c)
			if err != nil {
				return err
			}
			plan, id, err := iampolicy.LoadPlan(c.Context, storage(c), o.PlanDir)
			if err != nil {
				if errors.Is(err, manifest.ErrNoPlan) {
					return &exitError{err, exitBadInput}
				}
				return err
			}
			o.Plan, o.PlanID = plan, id
			r, err := iampolicy.Build(o)
			if err != nil {
				return iamError(err)
			}
			if c.Bool("json") {
				_, err = c.App.Writer.Write(r.JSON())
				return err
			}
			return r.WriteText(c.App.Writer, role, policy)
		},
	}
}

// iamOptionsFromFlags reads and checks the flags and the operation
// (reading an @FILE operation, nothing else) and returns the options with
// the role and policy names for the printed commands.
func iamOptionsFromFlags(c *cli.Context) (iampolicy.Options, string, string, error) {
	o := iampolicy.Options{
		OptionName:     flagNames(iamFlag),
		PlanDir:        c.String("plan"),
		Routes:         commaList(c.StringSlice("routes")),
		ManifestPrefix: c.String("manifest-bucket"),
		ReportBucket:   c.String("report-bucket"),
		ReportPrefix:   c.String("report-prefix"),
		AccountID:      c.String("account-id"),
		KMSKeyARNs:     commaList(c.StringSlice("kms-key-arn")),
	}
	op, err := readOperation(c.String("operation"))
	if err != nil {
		return o, "", "", err
	}
	o.Operation = op
	if err := o.Validate(); err != nil {
		return o, "", "", iamError(err)
	}
	role, policy := c.String("role-name"), c.String("policy-name")
	if policy == "" {
		policy = iampolicy.DefaultPolicyName(jobs.OperationName(op))
	}
	if err := iampolicy.CheckNames(role, policy); err != nil {
		return o, "", "", iamError(err)
	}
	return o, role, policy, nil
}

// iamFlag names the flag behind an iampolicy option.
var iamFlag = map[string]string{
	"PlanDir": "--plan", "ManifestPrefix": "--manifest-bucket", "ReportBucket": "--report-bucket",
	"ReportPrefix": "--report-prefix", "AccountID": "--account-id", "KMSKeyARNs": "--kms-key-arn",
	"Routes": "--routes", "RoleName": "--role-name", "PolicyName": "--policy-name", "Plan": "--plan",
}

// iamError turns the package's errors into usage errors that name the
// flag (or the operation field).
func iamError(err error) error {
	var oe *iampolicy.OptionError
	switch {
	case errors.As(err, &oe):
		name := iamFlag[oe.Option]
		if name == "" {
			name = "--operation: " + oe.Option
		}
		if oe.Value != "" {
			return usagef("%s %q: %s", name, oe.Value, oe.Expected)
		}
		return usagef("%s: %s", name, oe.Expected)
	case errors.Is(err, jobs.ErrOperation):
		return usagef("--operation: %v", err)
	}
	return fmt.Errorf("iam-policy: %w", err)
}
