package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// The LambdaInvoke contract (formats.md §7.6): one task per invocation;
// schema 2.0 events carry the bucket name (s3Bucket) and the job's
// userArguments, 1.0 events the bucket ARN (s3BucketArn). s3Key is the key
// as the manifest writes it (URL-encoded), s3VersionId null without a
// version.

// LambdaEvent is the event POSTed to the Lambda URL.
type LambdaEvent struct {
	InvocationSchemaVersion string       `json:"invocationSchemaVersion"`
	InvocationID            string       `json:"invocationId"`
	Job                     LambdaJob    `json:"job"`
	Tasks                   []LambdaTask `json:"tasks"`
}

// LambdaJob is the job of an event.
type LambdaJob struct {
	ID            string            `json:"id"`
	UserArguments map[string]string `json:"userArguments,omitempty"`
}

// LambdaTask is the task of an event.
type LambdaTask struct {
	TaskID      string  `json:"taskId"`
	S3Key       string  `json:"s3Key"`
	S3VersionID *string `json:"s3VersionId"`
	S3Bucket    string  `json:"s3Bucket,omitempty"`    // 2.0
	S3BucketArn string  `json:"s3BucketArn,omitempty"` // 1.0
}

// LambdaResponse is what the function returns.
type LambdaResponse struct {
	InvocationSchemaVersion string         `json:"invocationSchemaVersion"`
	TreatMissingKeysAs      string         `json:"treatMissingKeysAs,omitempty"`
	InvocationID            string         `json:"invocationId"`
	Results                 []LambdaResult `json:"results"`
}

// LambdaResult is one task's result: ResultCode is Succeeded,
// TemporaryFailure or PermanentFailure.
type LambdaResult struct {
	TaskID       string `json:"taskId"`
	ResultCode   string `json:"resultCode"`
	ResultString string `json:"resultString"`
}

func randomID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// invokeLambda sends one task's event and maps the answer: Succeeded is a
// success with resultString as the message; TemporaryFailure is retried
// (the last one is reported failed, HTTP 200, code TemporaryFailure);
// PermanentFailure, a function error or an unparsable answer fail at once
// (HTTP 200, PermanentFailure). 429, 5xx and connection errors of the
// endpoint itself are retried.
func (e *Engine) invokeLambda(ctx context.Context, rec *jobRecord, l *types.LambdaInvokeOperation, t *taskResult) (string, error) {
	ver := aws.ToString(l.InvocationSchemaVersion)
	if ver == "" {
		ver = "1.0"
	}
	task := LambdaTask{TaskID: base64.StdEncoding.EncodeToString([]byte(rec.ID + ":" + strconv.FormatInt(t.Index, 10))), S3Key: t.Key}
	if t.VersionID != "" {
		v := t.VersionID
		task.S3VersionID = &v
	}
	ev := LambdaEvent{InvocationSchemaVersion: ver, InvocationID: randomID(), Job: LambdaJob{ID: rec.ID}, Tasks: []LambdaTask{task}}
	if ver == "2.0" {
		ev.Tasks[0].S3Bucket = t.Bucket
		ev.Job.UserArguments = l.UserArguments
	} else {
		ev.Tasks[0].S3BucketArn = "arn:aws:s3:::" + t.Bucket
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.o.LambdaURL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Function-Arn", aws.ToString(l.FunctionArn))
	resp, err := e.o.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// No answer: HTTP status 0, as for S3 requests (TransportErrorCode),
		// but with the Lambda code Batch Operations reports.
		return "", &TaskError{HTTPStatus: 0, Code: "TemporaryFailure", Message: "Lambda invocation failed: " + err.Error(), Retryable: true}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", &TaskError{HTTPStatus: 0, Code: "TemporaryFailure", Message: "Lambda invocation failed: the answer was cut short: " + err.Error(), Retryable: true}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", &TaskError{HTTPStatus: resp.StatusCode, Code: "TemporaryFailure", Message: fmt.Sprintf("Lambda invocation failed: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw)), Retryable: true}
	case resp.StatusCode != http.StatusOK:
		return "", &TaskError{HTTPStatus: resp.StatusCode, Code: "PermanentFailure", Message: fmt.Sprintf("Lambda invocation failed: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))}
	}
	funcErr := func() error {
		return &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: "Lambda returned function error: " + string(bytes.TrimSpace(raw))}
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		return "", funcErr()
	}
	var out LambdaResponse
	if err := json.Unmarshal(raw, &out); err != nil || (out.Results == nil && out.TreatMissingKeysAs == "") {
		return "", funcErr()
	}
	res := LambdaResult{TaskID: task.TaskID, ResultCode: out.TreatMissingKeysAs}
	for _, r := range out.Results {
		if r.TaskID == task.TaskID {
			res = r
		}
	}
	switch res.ResultCode {
	case "Succeeded":
		return res.ResultString, nil
	case "TemporaryFailure":
		return "", &TaskError{HTTPStatus: 200, Code: "TemporaryFailure", Message: res.ResultString, Retryable: true}
	case "PermanentFailure":
		return "", &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: res.ResultString}
	case "":
		return "", &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: "Lambda returned no result for the task"}
	}
	return "", &TaskError{HTTPStatus: 200, Code: "PermanentFailure", Message: "Lambda returned an unknown resultCode " + strconv.Quote(res.ResultCode)}
}
