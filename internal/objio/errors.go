package objio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

var (
	// ErrNotFound is returned (wrapped) when an object does not exist.
	ErrNotFound = errors.New("object not found")

	// ErrUnsupported is returned for locations or operations that have no
	// backend yet (callers use it too, for s3:// outputs they cannot write).
	ErrUnsupported = errors.New("unsupported location")

	// ErrAccessDenied is wrapped by an *AccessError: S3 authenticated the
	// request and refused it (403 AccessDenied). The credentials are
	// valid; they lack a permission — or, for a read of a key that does
	// not exist by a role without s3:ListBucket, S3 answers 403 instead of
	// 404, so a refused read can also be a missing object.
	ErrAccessDenied = errors.New("access denied")

	// ErrCredentials is wrapped by a *CredentialsError: there are no
	// credentials, they could not be retrieved (an expired SSO session, a
	// missing profile), or the endpoint rejected them (unknown access key,
	// wrong secret, expired session token). It is never retried and never
	// a task's result: the command must stop and say so.
	ErrCredentials = errors.New("AWS credentials missing or rejected")

	// ErrUnreachable is wrapped when no connection could be made to the
	// endpoint after every attempt (connection refused, unknown host).
	ErrUnreachable = errors.New("S3 endpoint unreachable")
)

// AccessError is a request S3 refused (403 AccessDenied and the like)
// with credentials it accepted. Its message names the location, the
// operation, the credentials used (never the secret) and the permission
// the operation needs.
type AccessError struct {
	Op       string   // the S3 operation: HeadObject, GetObject, ListObjectsV2, PutObject …
	Loc      string   // the location asked for
	Status   int      // HTTP status (403)
	Code     string   // S3's error code (AccessDenied, AllAccessDisabled …)
	Identity Identity // the credentials used
	Err      error    // the SDK's error
}

func (e *AccessError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s refused (%d %s) for %s", e.Loc, e.Op, e.Status, e.Code, e.Identity)
	switch e.Op {
	case "ListObjectsV2":
		bucket, _, _ := ParseS3(e.Loc)
		fmt.Fprintf(&b, ": listing needs s3:ListBucket on bucket %s", bucket)
	case "HeadObject", "GetObject":
		b.WriteString(": the credentials lack s3:GetObject on it, or the object does not exist and they lack s3:ListBucket (S3 then answers 403, not 404)")
	case "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
		b.WriteString(": writing needs s3:PutObject on it")
	case "DeleteObject":
		b.WriteString(": removing needs s3:DeleteObject on it")
	}
	return b.String()
}

func (e *AccessError) Unwrap() []error { return []error{ErrAccessDenied, e.Err} }

// CredentialsError says that the credentials are missing, could not be
// retrieved or were rejected, what was tried, and what to do.
type CredentialsError struct {
	Op       string   // the S3 operation, or "" when retrieval failed before any request
	Loc      string   // the location asked for, if any
	Status   int      // HTTP status of a rejection; 0 when retrieval failed
	Code     string   // InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken …; "" when retrieval failed
	Identity Identity // the credentials used or the chain tried
	Err      error    // the cause
}

func (e *CredentialsError) Error() string {
	var b strings.Builder
	if e.Loc != "" {
		b.WriteString(e.Loc)
		b.WriteString(": ")
	}
	id := e.Identity
	if e.Code == "" {
		// Retrieval failed: nothing was sent.
		fmt.Fprintf(&b, "no usable AWS credentials from %s: %s", id.chain(), firstLine(e.Err))
		b.WriteString("; ")
		b.WriteString(id.hint(e.Err))
		return b.String()
	}
	fmt.Fprintf(&b, "%s refused the credentials (%s %d %s): ", id.endpoint(), e.Op, e.Status, e.Code)
	switch e.Code {
	case "SignatureDoesNotMatch":
		fmt.Fprintf(&b, "the secret key does not match %s; check the secret of that key (AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key)", id)
	case "InvalidAccessKeyId", "XAdminUserNotFound":
		fmt.Fprintf(&b, "%s is unknown to this endpoint; check the profile (%s, AWS_PROFILE) and the endpoint (%s)", id, id.name("Profile"), id.name("EndpointURL"))
	case "ExpiredToken", "TokenRefreshRequired", "ExpiredTokenException":
		fmt.Fprintf(&b, "the session token of %s has expired; refresh it (aws sso login%s, or new temporary credentials)", id, id.profileArg())
	default:
		fmt.Fprintf(&b, "%s: not accepted; check the profile (%s, AWS_PROFILE) and the endpoint (%s)", id, id.name("Profile"), id.name("EndpointURL"))
	}
	return b.String()
}

func (e *CredentialsError) Unwrap() []error { return []error{ErrCredentials, e.Err} }

// RetryableError makes the SDK's retryer stop at once: retrying cannot
// make credentials appear (and each retry of an IMDS lookup takes
// seconds).
func (e *CredentialsError) RetryableError() bool { return false }

// credentialCodes are the S3 (and S3-compatible) error codes that reject
// the credentials rather than the request.
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId":          true,
	"SignatureDoesNotMatch":       true,
	"ExpiredToken":                true,
	"ExpiredTokenException":       true,
	"TokenRefreshRequired":        true,
	"InvalidToken":                true,
	"InvalidClientTokenId":        true,
	"UnrecognizedClientException": true,
	"XAdminUserNotFound":          true, // versitygw: unknown access key, answered 404
}

// accessCodes are the codes of a request refused with valid credentials.
var accessCodes = map[string]bool{
	"AccessDenied":          true,
	"AllAccessDisabled":     true,
	"AccountProblem":        true,
	"AccessDeniedException": true,
}

// apiCode returns the error code and HTTP status of an SDK error.
func apiCode(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// isDialError reports whether err is a failure to connect at all
// (refused, unknown host, no route), as opposed to a connection lost
// after it was made.
func isDialError(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// classify maps an SDK error of operation op on loc to the package's
// errors: a missing object or bucket wraps ErrNotFound, a refused request
// is an *AccessError, rejected or missing credentials a
// *CredentialsError, a failure to connect wraps ErrUnreachable. verb
// names the step in other errors ("reading", "listing").
func (c *Client) classify(verb, op, loc string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", verb, loc, err)
	}
	var ce *CredentialsError
	if errors.As(err, &ce) {
		// Retrieval failed inside the SDK: add where it happened.
		cp := *ce
		cp.Op, cp.Loc = op, loc
		return &cp
	}
	code, status := apiCode(err)
	switch {
	case credentialCodes[code]:
		return &CredentialsError{Op: op, Loc: loc, Status: status, Code: code, Identity: c.identity(), Err: err}
	case accessCodes[code] || (status == http.StatusForbidden && (code == "" || code == "Forbidden")):
		if code == "" {
			code = "Forbidden"
		}
		return &AccessError{Op: op, Loc: loc, Status: status, Code: code, Identity: c.identity(), Err: err}
	}
	switch code {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return fmt.Errorf("%s: %w", loc, ErrNotFound)
	case "NoSuchBucket":
		return fmt.Errorf("%s: %w: the bucket does not exist", loc, ErrNotFound)
	case "PreconditionFailed":
		return fmt.Errorf("%s %s: the object changed while it was read: %w", verb, loc, err)
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("%s: %w", loc, ErrNotFound)
	}
	if isDialError(err) {
		id := c.identity()
		return fmt.Errorf("%s %s: %w at %s (check %s, the region and the network): %w", verb, loc, ErrUnreachable, id.endpoint(), id.name("EndpointURL"), err)
	}
	return fmt.Errorf("%s %s: %w", verb, loc, err)
}

// CredentialsProblem returns the *CredentialsError that err is or holds
// — credentials that could not be retrieved, or that the endpoint
// rejected (an SDK error with InvalidAccessKeyId, SignatureDoesNotMatch,
// ExpiredToken …) — and nil for any other error. Code that records
// per-request outcomes (the local engine's tasks) calls it to stop
// instead of recording a credentials failure as a result.
func (c *Client) CredentialsProblem(err error) *CredentialsError {
	c = c.orZero()
	if err == nil {
		return nil
	}
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return ce
	}
	code, status := apiCode(err)
	if credentialCodes[code] {
		op := ""
		var oe *smithy.OperationError
		if errors.As(err, &oe) {
			op = oe.Operation()
		}
		return &CredentialsError{Op: op, Status: status, Code: code, Identity: c.identity(), Err: err}
	}
	return nil
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
