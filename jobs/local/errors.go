package local

import (
	"errors"
	"fmt"
	"net/http"
)

// The errors of the job API, one per S3 Control error code
// (docs/formats.md#errors-and-throttling). Calls return an *APIError wrapping one of them.
var (
	// ErrNotFound is returned when no job has the id in the account.
	ErrNotFound = errors.New("NotFoundException")
	// ErrBadRequest is returned when a request is malformed or asks for
	// something the engine does not do (a manifest generator, an
	// operation it does not run).
	ErrBadRequest = errors.New("BadRequestException")
	// ErrJobStatus is returned when UpdateJobStatus asks for a transition
	// the job's status does not allow.
	ErrJobStatus = errors.New("JobStatusException")
	// ErrIdempotency is returned when a ClientRequestToken is reused with
	// a different request.
	ErrIdempotency = errors.New("IdempotencyException")
	// ErrInternal is returned when the engine cannot persist a change.
	ErrInternal = errors.New("InternalServiceException")
	// ErrTooManyTags is returned when a job would have more than
	// MaxJobTags tags.
	ErrTooManyTags = errors.New("TooManyTagsException")
)

// The refusals of the HTTP front (api.go, sigv4.go), with S3's codes: the
// request was not acted on.
var (
	// ErrAccessDenied: no signature, a presigned URL, a header that
	// should be signed and is not, or a Host this endpoint does not
	// answer for.
	ErrAccessDenied = errors.New("AccessDenied")
	// ErrSignatureDoesNotMatch: the signature is not the one the secret
	// of the access key gives for the request.
	ErrSignatureDoesNotMatch = errors.New("SignatureDoesNotMatch")
	// ErrInvalidAccessKeyID: the access key is not one the endpoint
	// accepts.
	ErrInvalidAccessKeyID = errors.New("InvalidAccessKeyId")
	// ErrRequestTimeTooSkewed: the request's date is more than
	// MaxClockSkew away from the endpoint's clock.
	ErrRequestTimeTooSkewed = errors.New("RequestTimeTooSkewed")
	// ErrAuthorizationHeaderMalformed: the Authorization header cannot be
	// parsed, or names another algorithm, service or date.
	ErrAuthorizationHeaderMalformed = errors.New("AuthorizationHeaderMalformed")
	// ErrInvalidToken: the session token does not belong to the access
	// key.
	ErrInvalidToken = errors.New("InvalidToken")
	// ErrContentSHA256Mismatch: x-amz-content-sha256 is not the SHA-256
	// of the body, or the body is not signed.
	ErrContentSHA256Mismatch = errors.New("XAmzContentSHA256Mismatch")
	// ErrMaxMessageLengthExceeded: the request body is over the limit.
	ErrMaxMessageLengthExceeded = errors.New("MaxMessageLengthExceeded")
)

// APIError is an error of the job API: its Code is the S3 Control error
// code, Status the HTTP status it is sent with.
type APIError struct {
	Err     error // one of the Err* sentinels
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%v: %s", e.Err, e.Message) }
func (e *APIError) Unwrap() error { return e.Err }

// Code is the error code of the S3 Control error envelope.
func (e *APIError) Code() string { return e.Err.Error() }

// Status is the HTTP status of the error (botocore-s3control).
func (e *APIError) Status() int {
	switch e.Err {
	case ErrNotFound:
		return http.StatusNotFound
	case ErrJobStatus, ErrIdempotency:
		return http.StatusConflict
	case ErrInternal:
		return http.StatusInternalServerError
	case ErrAccessDenied, ErrSignatureDoesNotMatch, ErrInvalidAccessKeyID, ErrRequestTimeTooSkewed:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func apiErr(sentinel error, format string, a ...any) *APIError {
	return &APIError{Err: sentinel, Message: fmt.Sprintf(format, a...)}
}

// CredentialsFileError is a credentials file that cannot be used. It names
// the file and line, never a secret.
type CredentialsFileError struct {
	File   string
	Line   int // 0: the file as a whole
	Reason string
}

func (e *CredentialsFileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("credentials file %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("credentials file %s:%d: %s", e.File, e.Line, e.Reason)
}
