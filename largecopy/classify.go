package largecopy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// s3err is an S3 call's failure as the task's result sees it
// (docs/formats.md#failure-classes): throttling, 5xx, timeouts, lost connections and
// a vanished upload are temporary — Batch Operations invokes the task
// again —, everything else is permanent.
type s3err struct {
	temporary bool
	timeout   bool // the context ended (time ran out)
	status    int  // HTTP status; 0 without an answer
	code      string
	text      string
}

func (e s3err) String() string {
	switch {
	case e.timeout:
		return "time ran out"
	case e.status == 0:
		return "no answer: " + e.text
	}
	if e.text == "" || e.text == e.code {
		return fmt.Sprintf("%s (HTTP %d)", e.code, e.status)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.code, e.status, e.text)
}

// temporaryCodes are error codes worth another attempt whatever their
// status.
var temporaryCodes = map[string]bool{
	"SlowDown": true, "RequestTimeout": true, "Throttling": true, "ThrottlingException": true,
	"RequestThrottled": true, "InternalError": true, "ServiceUnavailable": true, "OperationAborted": true,
	// The upload went away under the attempt (aborted by a concurrent
	// attempt or a lifecycle rule): the next attempt starts a new one.
	"NoSuchUpload": true,
}

func classify(err error) s3err {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return s3err{temporary: true, timeout: true}
	}
	var e s3err
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.status = re.HTTPStatusCode()
	}
	e.text = err.Error()
	var ae smithy.APIError
	isAPI := errors.As(err, &ae)
	if isAPI {
		e.code, e.text = ae.ErrorCode(), ae.ErrorMessage()
	}
	if e.status == 0 || (e.status < 300 && !isAPI) {
		// No answer (refused, reset, timed out), or a success whose
		// answer was cut short: the request may have acted or not.
		e.temporary, e.status = true, 0
		return e
	}
	if e.code == "" || (e.status == http.StatusNotFound && e.code == "NotFound") {
		e.code = http.StatusText(e.status)
		if e.status == http.StatusNotFound {
			e.code = "NoSuchKey" // a HEAD's 404 carries no code
		}
	}
	e.temporary = e.status >= 500 || e.status == http.StatusTooManyRequests || temporaryCodes[e.code]
	return e
}

// sourceChanged reports whether a conditional copy failed because the
// source is no longer the object it was (CopySourceIfMatch).
func (e s3err) sourceChanged() bool {
	return e.status == http.StatusPreconditionFailed || e.code == "PreconditionFailed"
}

// redirectRegion returns the region of a bucket that S3 answered with a
// redirect to (HTTP 301 with x-amz-bucket-region), "" otherwise.
func redirectRegion(err error) string {
	var re *awshttp.ResponseError
	if err == nil || !errors.As(err, &re) || re.Response == nil {
		return ""
	}
	switch re.HTTPStatusCode() {
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusBadRequest:
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}
