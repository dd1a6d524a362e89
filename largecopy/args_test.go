package largecopy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestParseArguments(t *testing.T) {
	const dst = "arn:aws:s3:::amzn-s3-demo-destination"
	tests := []struct {
		name       string
		args       map[string]string
		wantKey    string // the key a failure names ("-" for none); "" for success
		wantBucket string
		wantPrefix string
		check      func(t *testing.T, a *Args)
	}{
		{name: "minimal", args: map[string]string{"TargetResource": dst}, wantBucket: "amzn-s3-demo-destination"},
		{name: "prefix gets its slash", args: map[string]string{"TargetResource": dst, "TargetKeyPrefix": "copies"}, wantBucket: "amzn-s3-demo-destination", wantPrefix: "copies/"},
		{name: "prefix keeps its slash", args: map[string]string{"TargetResource": dst, "TargetKeyPrefix": "a/b/"}, wantBucket: "amzn-s3-demo-destination", wantPrefix: "a/b/"},
		{name: "directory bucket", args: map[string]string{"TargetResource": "arn:aws:s3express:us-east-1:123456789012:bucket/dst--use1-az4--x-s3"}, wantBucket: "dst--use1-az4--x-s3"},
		{name: "everything", args: map[string]string{
			"TargetResource": dst, "StorageClass": "STANDARD_IA", "MetadataDirective": "REPLACE",
			"NewObjectMetadata": `{"ContentType": "video/mp4", "HttpExpiresDate": "2030-01-02T03:04:05Z", "UserMetadata": {"a": "b"}}`,
			"NewObjectTagging":  `[{"Key": "k", "Value": "v w"}, {"Key": "k+2", "Value": ""}]`,
			"SSEAwsKmsKeyId":    "arn:aws:kms:us-east-1:123456789012:key/1234", "BucketKeyEnabled": "true", "RequesterPays": "false",
			"ChecksumAlgorithm": "CRC32C",
		}, wantBucket: "amzn-s3-demo-destination", check: func(t *testing.T, a *Args) {
			op := a.Op
			if op.StorageClass != "STANDARD_IA" || aws.ToString(op.NewObjectMetadata.ContentType) != "video/mp4" || op.NewObjectMetadata.HttpExpiresDate.Year() != 2030 ||
				op.NewObjectMetadata.UserMetadata["a"] != "b" || len(op.NewObjectTagging) != 2 || !op.BucketKeyEnabled || op.RequesterPays || op.ChecksumAlgorithm != "CRC32C" {
				t.Errorf("parsed %+v", op)
			}
			if got, want := taggingHeader(op.NewObjectTagging), "k=v%20w&k%2B2="; got != want {
				t.Errorf("tagging header %q, want %q", got, want)
			}
		}},
		{name: "object lock", args: map[string]string{"TargetResource": dst, "ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": "2030-01-01T00:00:00Z", "ObjectLockLegalHoldStatus": "ON"},
			wantBucket: "amzn-s3-demo-destination"},
		{name: "grants", args: map[string]string{"TargetResource": dst, "AccessControlGrants": `[{"Grantee": {"Identifier": "abc", "TypeIdentifier": "id"}, "Permission": "READ"}, {"Grantee": {"Identifier": "http://acs.amazonaws.com/groups/global/AllUsers", "TypeIdentifier": "uri"}, "Permission": "READ"}]`},
			wantBucket: "amzn-s3-demo-destination", check: func(t *testing.T, a *Args) {
				g, err := grantHeaders(a.Op.AccessControlGrants)
				if want := `id="abc", uri="http://acs.amazonaws.com/groups/global/AllUsers"`; err != nil || aws.ToString(g.read) != want || g.fullControl != nil {
					t.Errorf("grant headers %+v, %v; want read %s", g, err, want)
				}
			}},

		{name: "no target", args: map[string]string{"TargetKeyPrefix": "x"}, wantKey: "TargetResource"},
		{name: "nil", args: nil, wantKey: "TargetResource"},
		{name: "target not an ARN", args: map[string]string{"TargetResource": "amzn-s3-demo-destination"}, wantKey: "TargetResource"},
		{name: "unknown key", args: map[string]string{"TargetResource": dst, "TargetKeyPrefx": "x"}, wantKey: "TargetKeyPrefx"},
		{name: "storage class", args: map[string]string{"TargetResource": dst, "StorageClass": "COLD"}, wantKey: "StorageClass"},
		{name: "bool", args: map[string]string{"TargetResource": dst, "BucketKeyEnabled": "yes"}, wantKey: "BucketKeyEnabled"},
		{name: "time", args: map[string]string{"TargetResource": dst, "ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": "tomorrow"}, wantKey: "ObjectLockRetainUntilDate"},
		{name: "lock mode without date", args: map[string]string{"TargetResource": dst, "ObjectLockMode": "GOVERNANCE"}, wantKey: "ObjectLockMode"},
		{name: "tagging not JSON", args: map[string]string{"TargetResource": dst, "NewObjectTagging": "k=v"}, wantKey: "NewObjectTagging"},
		{name: "tagging of the wrong shape", args: map[string]string{"TargetResource": dst, "NewObjectTagging": `{"k": "v"}`}, wantKey: "NewObjectTagging"},
		{name: "tag without key", args: map[string]string{"TargetResource": dst, "NewObjectTagging": `[{"Value": "v"}]`}, wantKey: "NewObjectTagging"},
		{name: "eleven tags", args: map[string]string{"TargetResource": dst, "NewObjectTagging": `[{"Key":"1"},{"Key":"2"},{"Key":"3"},{"Key":"4"},{"Key":"5"},{"Key":"6"},{"Key":"7"},{"Key":"8"},{"Key":"9"},{"Key":"10"},{"Key":"11"}]`}, wantKey: "NewObjectTagging"},
		{name: "metadata without REPLACE", args: map[string]string{"TargetResource": dst, "NewObjectMetadata": `{"ContentType": "a/b"}`}, wantKey: "NewObjectMetadata"},
		{name: "metadata expiry", args: map[string]string{"TargetResource": dst, "MetadataDirective": "REPLACE", "NewObjectMetadata": `{"HttpExpiresDate": "soon"}`}, wantKey: "NewObjectMetadata"},
		{name: "KMS key", args: map[string]string{"TargetResource": dst, "SSEAwsKmsKeyId": "my-key"}, wantKey: "SSEAwsKmsKeyId"},
		{name: "WRITE grant", args: map[string]string{"TargetResource": dst, "AccessControlGrants": `[{"Grantee": {"Identifier": "abc", "TypeIdentifier": "id"}, "Permission": "WRITE"}]`}, wantKey: "AccessControlGrants"},
		{name: "grants and canned ACL", args: map[string]string{"TargetResource": dst, "CannedAccessControlList": "private", "AccessControlGrants": `[{"Grantee": {"Identifier": "abc", "TypeIdentifier": "id"}, "Permission": "READ"}]`}, wantKey: "AccessControlGrants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseArguments(tt.args)
			if tt.wantKey != "" {
				var ae *ArgumentError
				if !errors.As(err, &ae) || !errors.Is(err, ErrArguments) {
					t.Fatalf("ParseArguments = %+v, %v; want an *ArgumentError", a, err)
				}
				if ae.Key != tt.wantKey {
					t.Errorf("error %q names key %q, want %q", err, ae.Key, tt.wantKey)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArguments: %v", err)
			}
			if a.Bucket != tt.wantBucket || a.Prefix != tt.wantPrefix {
				t.Errorf("bucket %q prefix %q, want %q %q", a.Bucket, a.Prefix, tt.wantBucket, tt.wantPrefix)
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
}

// TestArgumentsFromEnv: schema 1.0 arguments come from the variables of
// the same names, and only those.
func TestArgumentsFromEnv(t *testing.T) {
	env := map[string]string{"TargetResource": "arn:aws:s3:::dst", "StorageClass": "GLACIER_IR", "HOME": "/root", "AWS_REGION": "us-east-1"}
	got := ArgumentsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if len(got) != 2 || got["TargetResource"] != "arn:aws:s3:::dst" || got["StorageClass"] != "GLACIER_IR" {
		t.Errorf("ArgumentsFromEnv = %v", got)
	}
	if len(ArgumentKeys) != 18 {
		t.Errorf("ArgumentKeys = %v: S3CopyObjectOperation changed? (18 expected)", ArgumentKeys)
	}
}

// FuzzParseArguments: no set of arguments makes ParseArguments, or the
// upload request built from what it accepts, panic; what it accepts names
// a destination bucket and a prefix that is empty or a folder.
func FuzzParseArguments(f *testing.F) {
	files, _ := filepath.Glob("testdata/contract/*.event.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		var ev struct {
			Job struct {
				UserArguments map[string]string `json:"userArguments"`
			} `json:"job"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.Job.UserArguments != nil {
			b, _ := json.Marshal(ev.Job.UserArguments)
			f.Add(b)
		}
	}
	f.Add([]byte(`{"TargetResource":"arn:aws:s3:::dst","ObjectLockMode":"GOVERNANCE","ObjectLockRetainUntilDate":"2030-01-01T00:00:00Z","AccessControlGrants":"[{\"Grantee\":{\"Identifier\":\"a\",\"TypeIdentifier\":\"id\"},\"Permission\":\"READ\"}]","BucketKeyEnabled":"1","ChecksumAlgorithm":"CRC64NVME"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]string
		if json.Unmarshal(data, &m) != nil {
			return
		}
		a, err := ParseArguments(m)
		if err != nil {
			var ae *ArgumentError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *ArgumentError", err)
			}
			return
		}
		if a.Bucket == "" || (a.Prefix != "" && !strings.HasSuffix(a.Prefix, "/")) {
			t.Fatalf("accepted %v as bucket %q, prefix %q", m, a.Bucket, a.Prefix)
		}
		c := &copier{args: a, head: &s3.HeadObjectOutput{}, dst: object{bucket: a.Bucket, key: a.Prefix + "k"}}
		c.createInput()
	})
}
