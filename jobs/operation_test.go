package jobs_test

import (
	"errors"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs"
)

func TestParseOperation(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		wantName string
		wantErr  bool
	}{
		{"copy", copyOpJSON, "S3PutObjectCopy", false},
		{"copy with metadata and tags", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "TargetKeyPrefix": "p/", "MetadataDirective": "REPLACE", "NewObjectMetadata": {"ContentType": "text/plain", "UserMetadata": {"a": "b"}}, "NewObjectTagging": [{"Key": "k", "Value": "v"}]}}`, "S3PutObjectCopy", false},
		{"copy without target", `{"S3PutObjectCopy": {"StorageClass": "STANDARD"}}`, "", true},
		{"copy bad storage class", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "StorageClass": "COLD"}}`, "", true},
		{"copy target not an ARN", `{"S3PutObjectCopy": {"TargetResource": "dst-bucket"}}`, "", true},
		{"copy lock mode without date", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "ObjectLockMode": "GOVERNANCE"}}`, "", true},
		{"copy unknown field", `{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst-bucket", "TargetBucket": "x"}}`, "", true},
		{"lambda", `{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:live"}}`, "LambdaInvoke", false},
		{"lambda 2.0 with arguments", `{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "InvocationSchemaVersion": "2.0", "UserArguments": {"k": "v"}}}`, "LambdaInvoke", false},
		{"lambda arguments need 2.0", `{"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "UserArguments": {"k": "v"}}}`, "", true},
		{"lambda without function", `{"LambdaInvoke": {}}`, "", true},
		{"tagging", `{"S3PutObjectTagging": {"TagSet": [{"Key": "a", "Value": "1"}]}}`, "S3PutObjectTagging", false},
		{"tagging without tag set", `{"S3PutObjectTagging": {}}`, "", true},
		{"tagging empty key", `{"S3PutObjectTagging": {"TagSet": [{"Key": "", "Value": "1"}]}}`, "", true},
		{"delete tagging", `{"S3DeleteObjectTagging": {}}`, "S3DeleteObjectTagging", false},
		{"replicate", `{"S3ReplicateObject": {}}`, "S3ReplicateObject", false},
		{"null operation", `{"S3ReplicateObject": null}`, "", true},
		{"acl canned", `{"S3PutObjectAcl": {"AccessControlPolicy": {"CannedAccessControlList": "private"}}}`, "S3PutObjectAcl", false},
		{"acl empty", `{"S3PutObjectAcl": {"AccessControlPolicy": {}}}`, "", true},
		{"restore", `{"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}}`, "S3InitiateRestoreObject", false},
		{"restore tiering (no days)", `{"S3InitiateRestoreObject": {"GlacierJobTier": "STANDARD"}}`, "S3InitiateRestoreObject", false},
		{"restore expedited", `{"S3InitiateRestoreObject": {"ExpirationInDays": 1, "GlacierJobTier": "EXPEDITED"}}`, "", true},
		{"restore zero days", `{"S3InitiateRestoreObject": {"ExpirationInDays": 0}}`, "", true},
		{"legal hold", `{"S3PutObjectLegalHold": {"LegalHold": {"Status": "ON"}}}`, "S3PutObjectLegalHold", false},
		{"legal hold without status", `{"S3PutObjectLegalHold": {"LegalHold": {}}}`, "", true},
		{"retention", `{"S3PutObjectRetention": {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": "2030-01-01T00:00:00Z"}}}`, "S3PutObjectRetention", false},
		{"retention removal", `{"S3PutObjectRetention": {"Retention": {}}}`, "S3PutObjectRetention", false},
		{"retention mode only", `{"S3PutObjectRetention": {"Retention": {"Mode": "COMPLIANCE"}}}`, "", true},
		{"retention bad date", `{"S3PutObjectRetention": {"Retention": {"Mode": "COMPLIANCE", "RetainUntilDate": "tomorrow"}}}`, "", true},
		{"checksum", `{"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"}}`, "S3ComputeObjectChecksum", false},
		{"checksum unknown algorithm", `{"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "CRC16"}}`, "", true},
		{"encryption", `{"S3UpdateObjectEncryption": {"ObjectEncryption": {"SSEKMS": {"KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"}}}}`, "S3UpdateObjectEncryption", false},
		{"encryption without key", `{"S3UpdateObjectEncryption": {"ObjectEncryption": {}}}`, "", true},
		{"two operations", `{"S3ReplicateObject": {}, "S3DeleteObjectTagging": {}}`, "", true},
		{"none", `{}`, "", true},
		{"unknown", `{"S3DeleteObject": {}}`, "", true},
		{"not JSON", `S3ReplicateObject`, "", true},
		{"array", `[{"S3ReplicateObject": {}}]`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, name, err := jobs.ParseOperation([]byte(tc.json))
			if tc.wantErr {
				if !errors.Is(err, jobs.ErrOperation) {
					t.Errorf("err = %v, want ErrOperation", err)
				}
				return
			}
			if err != nil || name != tc.wantName {
				t.Errorf("= %q, %v; want %q", name, err, tc.wantName)
			}
		})
	}
}
