package jobs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
)

// marshalOperation renders op in the AWS CLI shape ParseOperation reads:
// the SDK structs marshalled by encoding/json, with the null members of
// unset pointers dropped.
func marshalOperation(t *testing.T, op types.JobOperation) []byte {
	t.Helper()
	raw, err := json.Marshal(op)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(dropNulls(v))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}

// FuzzParseOperation checks that ParseOperation never panics, that its
// errors wrap ErrOperation, and that an accepted operation marshals to
// JSON it accepts again as the same operation (same name, same JSON).
func FuzzParseOperation(f *testing.F) {
	for _, s := range []string{
		copyOpJSON,
		`{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "TargetKeyPrefix": "p/", "MetadataDirective": "REPLACE", "NewObjectMetadata": {"ContentType": "text/plain", "UserMetadata": {"a": "b"}}, "NewObjectTagging": [{"Key": "k", "Value": "v"}]}}`,
		`{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": "2030-01-01T00:00:00+02:00"}}`,
		`{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "InvocationSchemaVersion": "2.0", "UserArguments": {"k": "v"}}}`,
		`{"S3PutObjectTagging": {"TagSet": [{"Key": "a", "Value": "1"}]}}`,
		`{"S3DeleteObjectTagging": {}}`,
		`{"S3ReplicateObject": {}}`,
		`{"S3ReplicateObject": null}`,
		`{"S3PutObjectAcl": {"AccessControlPolicy": {"CannedAccessControlList": "private"}}}`,
		`{"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}}`,
		`{"S3PutObjectLegalHold": {"LegalHold": {"Status": "ON"}}}`,
		`{"S3PutObjectRetention": {"Retention": {"Mode": "COMPLIANCE", "RetainUntilDate": "2030-01-01T00:00:00Z"}}}`,
		`{"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"}}`,
		`{"S3ReplicateObject": {}, "S3DeleteObjectTagging": {}}`,
		`[]`, `{}`, `{"Nope": {}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		op, name, err := jobs.ParseOperation(data)
		if err != nil {
			if !errors.Is(err, jobs.ErrOperation) {
				t.Fatalf("error without ErrOperation: %v", err)
			}
			return
		}
		if jobs.OperationName(op) != name {
			t.Fatalf("name %q, OperationName %q", name, jobs.OperationName(op))
		}
		out := marshalOperation(t, op)
		op2, name2, err := jobs.ParseOperation(out)
		if err != nil {
			t.Fatalf("re-marshalled operation %s is refused: %v", out, err)
		}
		if name2 != name {
			t.Fatalf("round trip changed the operation from %s to %s", name, name2)
		}
		if out2 := marshalOperation(t, op2); !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
	})
}
