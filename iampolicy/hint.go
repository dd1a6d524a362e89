package iampolicy

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// AccessDeniedHint recognises an error of CreateJob (or of S3) that is a
// permission problem: an API error coded AccessDenied or
// AccessDeniedException, or the message Batch Operations gives when the
// role cannot read the manifest ("Reading the manifest is forbidden"). It
// returns a one-line hint pointing at iam-policy, for callers such as
// submit to append to their error.
func AccessDeniedHint(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var ae smithy.APIError
	denied := errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "AccessDeniedException")
	if !denied && !strings.Contains(err.Error(), "Reading the manifest is forbidden") {
		return "", false
	}
	return "a permission is missing: the caller needs s3:CreateJob, iam:PassRole and s3:PutJobTagging, the job's role what `s3batchkit iam-policy` prints for the same flags (see docs/iam.md)", true
}
