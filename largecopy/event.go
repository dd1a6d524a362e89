package largecopy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// The Lambda contract (docs/formats.md#lambda-contract). Events of schema 1.0 name a
// task's bucket by ARN (s3BucketArn) and carry no arguments; events of
// schema 2.0 name it (s3Bucket) and carry the job's userArguments. s3Key
// is the key as the manifest wrote it (URL-encoded), s3VersionId null
// without a version. The response echoes the schema version and the
// invocation id and lists one result per task.

// Result codes of a task (resultCode).
const (
	Succeeded        = "Succeeded"
	TemporaryFailure = "TemporaryFailure"
	PermanentFailure = "PermanentFailure"
)

// Event is a LambdaInvoke event of either schema version, field for field
// as on the wire (encoding/json gives it back in the same shape).
type Event struct {
	InvocationSchemaVersion string `json:"invocationSchemaVersion"`
	InvocationID            string `json:"invocationId"`
	Job                     Job    `json:"job"`
	Tasks                   []Task `json:"tasks"`
}

// Job is an event's job: its id and, with schema 2.0, the UserArguments
// of the job's LambdaInvoke operation.
type Job struct {
	ID            string            `json:"id"`
	UserArguments map[string]string `json:"userArguments,omitempty"`
}

// Task is one object to copy. Schema 2.0 tasks carry S3Bucket, 1.0 tasks
// S3BucketARN; Bucket accepts either in both.
type Task struct {
	TaskID      string  `json:"taskId"`
	S3Key       string  `json:"s3Key"`                 // URL-encoded, as in the manifest
	S3VersionID *string `json:"s3VersionId"`           // nil (JSON null) without a version
	S3Bucket    string  `json:"s3Bucket,omitempty"`    // 2.0
	S3BucketARN string  `json:"s3BucketArn,omitempty"` // 1.0
}

var s3BucketARN = regexp.MustCompile(`^arn:[^:]+:s3:::([^/]+)$`)

// Bucket returns the task's bucket name: S3Bucket, or the name in
// S3BucketARN.
func (t Task) Bucket() (string, error) {
	if t.S3Bucket != "" {
		return t.S3Bucket, nil
	}
	if t.S3BucketARN == "" {
		return "", fmt.Errorf("the task names no bucket (neither s3Bucket nor s3BucketArn)")
	}
	m := s3BucketARN.FindStringSubmatch(t.S3BucketARN)
	if m == nil {
		return "", fmt.Errorf("s3BucketArn %q is not a bucket ARN (arn:aws:s3:::NAME)", t.S3BucketARN)
	}
	return m[1], nil
}

// Key returns the task's key decoded as the manifest codec decodes keys
// (percent-decoding; '+' stays '+': manifests write it %2B).
func (t Task) Key() (string, error) {
	if t.S3Key == "" {
		return "", fmt.Errorf("the task has an empty s3Key")
	}
	k, err := manifest.DecodeKey(t.S3Key)
	if err != nil {
		return "", fmt.Errorf("s3Key %q does not decode: %v", t.S3Key, err)
	}
	return k, nil
}

// VersionID returns the task's version id, "" without one.
func (t Task) VersionID() string {
	if t.S3VersionID == nil {
		return ""
	}
	return *t.S3VersionID
}

// ParseEvent decodes and checks an event: a JSON object with
// invocationSchemaVersion 1.0 or 2.0, an invocationId, at least one task,
// and a taskId on every task (without them no answer can be given).
// Unknown fields are ignored, as AWS may add some. What a task needs
// beyond its id (bucket, key) is checked per task by the handler, which
// answers PermanentFailure for that task alone. Errors are *EventError.
func ParseEvent(data []byte) (Event, error) {
	var ev Event
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return ev, &EventError{Msg: "expected a JSON object"}
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, &EventError{Msg: "not a LambdaInvoke event: " + err.Error()}
	}
	switch ev.InvocationSchemaVersion {
	case "1.0", "2.0":
	case "":
		return Event{}, &EventError{Field: "invocationSchemaVersion", Msg: "missing"}
	default:
		return Event{}, &EventError{Field: "invocationSchemaVersion", Msg: strconv.Quote(ev.InvocationSchemaVersion) + " is not 1.0 or 2.0"}
	}
	if ev.InvocationID == "" {
		return Event{}, &EventError{Field: "invocationId", Msg: "missing"}
	}
	if len(ev.Tasks) == 0 {
		return Event{}, &EventError{Field: "tasks", Msg: "no tasks"}
	}
	for i, t := range ev.Tasks {
		if t.TaskID == "" {
			return Event{}, &EventError{Field: fmt.Sprintf("tasks[%d].taskId", i), Msg: "missing"}
		}
	}
	if len(ev.Job.UserArguments) == 0 {
		ev.Job.UserArguments = nil // {} and absent say the same
	}
	return ev, nil
}

// Response is the function's answer (the aws-lambda-go type, whose JSON
// is the contract's).
type Response = events.S3BatchJobResponse

// Result is one task's result in a Response.
type Result = events.S3BatchJobResult

// newResponse starts the answer to ev: missing results count as
// PermanentFailure, as in AWS's own examples (the default is undocumented).
func newResponse(ev Event) Response {
	return Response{InvocationSchemaVersion: ev.InvocationSchemaVersion, TreatMissingKeysAs: PermanentFailure,
		InvocationID: ev.InvocationID, Results: make([]Result, 0, len(ev.Tasks))}
}

// ReportRow is how a completion report shows one task of a LambdaInvoke
// job (docs/formats.md#lambda-contract): HTTP status 200 whatever the result, the
// result code as ErrorCode of a failure, resultString as ResultMessage.
type ReportRow struct {
	TaskStatus     string // "succeeded" or "failed"
	HTTPStatusCode int    // always 200: the invocation itself answered
	ErrorCode      string // "" (succeeded), "PermanentFailure" or "TemporaryFailure"
	ResultMessage  string
	// Redrive is set for a TemporaryFailure: Batch Operations invokes the
	// task again, and reports the row only when the last attempt fails.
	Redrive bool
}

// Fields returns the row's seven columns in the order AWS writes them:
// Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode,
// ResultMessage. bucket, key and versionID are the manifest's fields as
// written (the key URL-encoded).
func (r ReportRow) Fields(bucket, key, versionID string) []string {
	return []string{bucket, key, versionID, r.TaskStatus, strconv.Itoa(r.HTTPStatusCode), r.ErrorCode, r.ResultMessage}
}

// Outcome turns what one invocation returned — the response JSON, or the
// error Invoke returned (a function error) — into the report row of the
// task taskID, as Batch Operations does: a function error or an answer
// that is not a response fails the task with "Lambda returned function
// error: …"; a task missing from the results takes treatMissingKeysAs.
func Outcome(resp []byte, funcErr error, taskID string) ReportRow {
	fail := func(code, msg string) ReportRow {
		return ReportRow{TaskStatus: "failed", HTTPStatusCode: 200, ErrorCode: code, ResultMessage: msg, Redrive: code == TemporaryFailure}
	}
	if funcErr != nil {
		return fail(PermanentFailure, "Lambda returned function error: "+FunctionErrorPayload(funcErr))
	}
	var r Response
	if err := json.Unmarshal(resp, &r); err != nil || (r.Results == nil && r.TreatMissingKeysAs == "") {
		return fail(PermanentFailure, "Lambda returned function error: the answer is not a Batch Operations response: "+string(bytes.TrimSpace(resp)))
	}
	res := Result{TaskID: taskID, ResultCode: r.TreatMissingKeysAs}
	found := false
	for _, x := range r.Results {
		if x.TaskID == taskID {
			res, found = x, true
		}
	}
	switch res.ResultCode {
	case Succeeded:
		return ReportRow{TaskStatus: "succeeded", HTTPStatusCode: 200, ResultMessage: res.ResultString}
	case TemporaryFailure, PermanentFailure:
		if !found && res.ResultString == "" {
			res.ResultString = "Lambda returned no result for the task"
		}
		return fail(res.ResultCode, res.ResultString)
	case "":
		return fail(PermanentFailure, "Lambda returned no result for the task")
	}
	return fail(PermanentFailure, "Lambda returned an unknown resultCode "+strconv.Quote(res.ResultCode))
}

// FunctionErrorPayload is the JSON the Lambda runtime (aws-lambda-go)
// reports for a handler's error, as the report's message quotes it:
// {"errorMessage":"…","errorType":"…"}.
func FunctionErrorPayload(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{err.Error(), t.Name()})
	return string(b)
}
