package local

import (
	"errors"
	"fmt"
	"net/http"
)

// The errors of the job API, one per S3 Control error code
// (formats.md §6.9). Calls return an *APIError wrapping one of them.
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
	}
	return http.StatusBadRequest
}

func apiErr(sentinel error, format string, a ...any) *APIError {
	return &APIError{Err: sentinel, Message: fmt.Sprintf(format, a...)}
}
