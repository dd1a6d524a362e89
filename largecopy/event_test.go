package largecopy

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string // "" with wantErr for the whole event
		wantErr   bool
		check     func(t *testing.T, ev Event)
	}{
		{name: "1.0", in: `{"invocationSchemaVersion":"1.0","invocationId":"i","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"a%20b","s3VersionId":null,"s3BucketArn":"arn:aws:s3:::src"}]}`,
			check: func(t *testing.T, ev Event) {
				b, err1 := ev.Tasks[0].Bucket()
				k, err2 := ev.Tasks[0].Key()
				if b != "src" || k != "a b" || ev.Tasks[0].VersionID() != "" || err1 != nil || err2 != nil {
					t.Errorf("bucket %q %v, key %q %v, version %q", b, err1, k, err2, ev.Tasks[0].VersionID())
				}
			}},
		{name: "2.0", in: `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j","userArguments":{"TargetResource":"arn:aws:s3:::dst"}},"tasks":[{"taskId":"t","s3Key":"a%2Bb","s3VersionId":"v1","s3Bucket":"src"}],"extra":1}`,
			check: func(t *testing.T, ev Event) {
				k, _ := ev.Tasks[0].Key()
				if k != "a+b" || ev.Tasks[0].VersionID() != "v1" || ev.Job.UserArguments["TargetResource"] != "arn:aws:s3:::dst" {
					t.Errorf("parsed %+v", ev)
				}
			}},
		{name: "empty arguments are none", in: `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j","userArguments":{}},"tasks":[{"taskId":"t"}]}`,
			check: func(t *testing.T, ev Event) {
				if ev.Job.UserArguments != nil {
					t.Errorf("userArguments %v, want nil", ev.Job.UserArguments)
				}
			}},
		{name: "not JSON", in: `tasks`, wantErr: true},
		{name: "array", in: `[]`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "wrong type", in: `{"invocationSchemaVersion":2}`, wantErr: true},
		{name: "no version", in: `{"invocationId":"i","tasks":[{"taskId":"t"}]}`, wantField: "invocationSchemaVersion", wantErr: true},
		{name: "version 3", in: `{"invocationSchemaVersion":"3.0","invocationId":"i","tasks":[{"taskId":"t"}]}`, wantField: "invocationSchemaVersion", wantErr: true},
		{name: "no invocation id", in: `{"invocationSchemaVersion":"1.0","tasks":[{"taskId":"t"}]}`, wantField: "invocationId", wantErr: true},
		{name: "no tasks", in: `{"invocationSchemaVersion":"1.0","invocationId":"i","tasks":[]}`, wantField: "tasks", wantErr: true},
		{name: "no task id", in: `{"invocationSchemaVersion":"1.0","invocationId":"i","tasks":[{"taskId":"a"},{"s3Key":"k"}]}`, wantField: "tasks[1].taskId", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.in))
			if tt.wantErr {
				var ee *EventError
				if !errors.As(err, &ee) || !errors.Is(err, ErrEvent) {
					t.Fatalf("ParseEvent = %+v, %v; want an *EventError", ev, err)
				}
				if ee.Field != tt.wantField {
					t.Errorf("error %q names field %q, want %q", err, ee.Field, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func TestTaskBucketAndKey(t *testing.T) {
	tests := []struct {
		task      Task
		bucket    string
		key       string
		bucketErr bool
		keyErr    bool
	}{
		{Task{S3Bucket: "b", S3Key: "k"}, "b", "k", false, false},
		{Task{S3BucketARN: "arn:aws-cn:s3:::b", S3Key: "a%2Fb%20c+d"}, "b", "a/b c+d", false, false},
		{Task{S3Bucket: "b", S3BucketARN: "arn:aws:s3:::other", S3Key: "k"}, "b", "k", false, false}, // s3Bucket wins
		{Task{S3BucketARN: "b", S3Key: "k"}, "", "k", true, false},
		{Task{S3BucketARN: "arn:aws:s3:::b/k", S3Key: "k"}, "", "k", true, false},
		{Task{S3Key: "k"}, "", "k", true, false},
		{Task{S3Bucket: "b", S3Key: "%zz"}, "b", "", false, true},
		{Task{S3Bucket: "b", S3Key: "%C3"}, "b", "", false, true}, // not UTF-8
		{Task{S3Bucket: "b"}, "b", "", false, true},
	}
	for _, tt := range tests {
		b, err := tt.task.Bucket()
		if b != tt.bucket || (err != nil) != tt.bucketErr {
			t.Errorf("%+v: Bucket() = %q, %v", tt.task, b, err)
		}
		k, err := tt.task.Key()
		if k != tt.key || (err != nil) != tt.keyErr {
			t.Errorf("%+v: Key() = %q, %v", tt.task, k, err)
		}
	}
}

// TestEventShapes: the events this package writes decode as
// aws-lambda-go's event types of the same schema.
func TestEventShapes(t *testing.T) {
	v := "v1"
	ev1 := Event{InvocationSchemaVersion: "1.0", InvocationID: "i", Job: Job{ID: "j"}, Tasks: []Task{{TaskID: "t", S3Key: "k", S3VersionID: &v, S3BucketARN: "arn:aws:s3:::b"}}}
	b, _ := json.Marshal(ev1)
	var e1 events.S3BatchJobEvent
	if err := json.Unmarshal(b, &e1); err != nil || e1.Tasks[0].S3BucketARN != "arn:aws:s3:::b" || e1.Tasks[0].S3VersionID != "v1" || e1.InvocationID != "i" {
		t.Errorf("1.0 event %s read as %+v, %v", b, e1, err)
	}
	ev2 := Event{InvocationSchemaVersion: "2.0", InvocationID: "i", Job: Job{ID: "j", UserArguments: map[string]string{"a": "b"}}, Tasks: []Task{{TaskID: "t", S3Key: "k", S3Bucket: "b"}}}
	b, _ = json.Marshal(ev2)
	var e2 events.S3BatchJobEventV2
	if err := json.Unmarshal(b, &e2); err != nil || e2.Tasks[0].S3Bucket != "b" || e2.Job.UserArguments["a"] != "b" {
		t.Errorf("2.0 event %s read as %+v, %v", b, e2, err)
	}
}

func TestOutcome(t *testing.T) {
	resp := func(r Response) []byte { b, _ := json.Marshal(r); return b }
	ok := Response{InvocationSchemaVersion: "2.0", TreatMissingKeysAs: PermanentFailure, InvocationID: "i",
		Results: []Result{{TaskID: "a", ResultCode: Succeeded, ResultString: "Copied"}, {TaskID: "b", ResultCode: TemporaryFailure, ResultString: "SlowDown"},
			{TaskID: "c", ResultCode: PermanentFailure, ResultString: "gone"}, {TaskID: "d", ResultCode: "Maybe"}}}
	tests := []struct {
		name   string
		resp   []byte
		err    error
		task   string
		want   ReportRow
		fields []string
	}{
		{"succeeded", resp(ok), nil, "a", ReportRow{"succeeded", 200, "", "Copied", false}, []string{"b", "k%20", "", "succeeded", "200", "", "Copied"}},
		{"temporary", resp(ok), nil, "b", ReportRow{"failed", 200, TemporaryFailure, "SlowDown", true}, nil},
		{"permanent", resp(ok), nil, "c", ReportRow{"failed", 200, PermanentFailure, "gone", false}, []string{"b", "k%20", "", "failed", "200", "PermanentFailure", "gone"}},
		{"unknown code", resp(ok), nil, "d", ReportRow{"failed", 200, PermanentFailure, `Lambda returned an unknown resultCode "Maybe"`, false}, nil},
		{"missing task", resp(ok), nil, "z", ReportRow{"failed", 200, PermanentFailure, "Lambda returned no result for the task", false}, nil},
		{"missing, treated as success", resp(Response{TreatMissingKeysAs: Succeeded, Results: []Result{}}), nil, "z", ReportRow{"succeeded", 200, "", "", false}, nil},
		{"missing, no treatment", resp(Response{Results: []Result{}}), nil, "z", ReportRow{"failed", 200, PermanentFailure, "Lambda returned no result for the task", false}, nil},
		{"function error", nil, &EventError{Field: "invocationId", Msg: "missing"}, "a", ReportRow{"failed", 200, PermanentFailure,
			`Lambda returned function error: {"errorMessage":"malformed Batch Operations event: invocationId: missing","errorType":"EventError"}`, false}, nil},
		{"not a response", []byte(`"hello"`), nil, "a", ReportRow{"failed", 200, PermanentFailure, `Lambda returned function error: the answer is not a Batch Operations response: "hello"`, false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Outcome(tt.resp, tt.err, tt.task)
			if got != tt.want {
				t.Errorf("Outcome = %+v, want %+v", got, tt.want)
			}
			if tt.fields != nil {
				if f := got.Fields("b", "k%20", ""); !reflect.DeepEqual(f, tt.fields) {
					t.Errorf("Fields = %q, want %q", f, tt.fields)
				}
			}
		})
	}
}

func TestIsFunction(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy":       true,
		"arn:aws:lambda:eu-west-1:123456789012:function:s3batchkit-large-copy:live":  true,
		"arn:aws-cn:lambda:cn-north-1:123456789012:function:s3batchkit-large-copy:7": true,
		"arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy-2":     false,
		"arn:aws:lambda:us-east-1:123456789012:function:other":                       false,
		"arn:aws:lambda:us-east-1:123456789012:layer:s3batchkit-large-copy":          false,
		"s3batchkit-large-copy": false,
		"arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy:live:x": false,
	} {
		if got := IsFunction(arn); got != want {
			t.Errorf("IsFunction(%q) = %v, want %v", arn, got, want)
		}
	}
}
