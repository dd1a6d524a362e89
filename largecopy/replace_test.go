package largecopy

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// TestCopyWithArguments: the arguments that change the copy — new
// metadata and tags, storage class, checksum — reach the destination.
func TestCopyWithArguments(t *testing.T) {
	ep := endpoint(t)
	cl := newClient(t, ep, nil, 3)
	srcB, dstB := newBucket(t, cl, "src"), newBucket(t, cl, "dst")
	const key = "media/clip.mp4"
	put(t, cl, srcB, key, source{body: payload(2*testPart+5, 3), metadata: map[string]string{"old": "1"}, contentType: "video/mp4", tagging: "old=1"})
	for _, tc := range []struct {
		name  string
		args  map[string]string
		check func(t *testing.T, h *s3.HeadObjectOutput, tags map[string]string, create http.Header)
	}{
		{"replace metadata and tags", map[string]string{
			"MetadataDirective": "REPLACE",
			"NewObjectMetadata": `{"ContentType": "video/x-new", "CacheControl": "no-cache", "ContentLanguage": "fr", "HttpExpiresDate": "2032-03-04T05:06:07Z", "UserMetadata": {"new": "2"}}`,
			"NewObjectTagging":  `[{"Key": "stage", "Value": "copied twice"}]`,
			"RedirectLocation":  "/elsewhere",
		}, func(t *testing.T, h *s3.HeadObjectOutput, tags map[string]string, _ http.Header) {
			if aws.ToString(h.ContentType) != "video/x-new" || aws.ToString(h.CacheControl) != "no-cache" || aws.ToString(h.ContentLanguage) != "fr" ||
				!reflect.DeepEqual(h.Metadata, map[string]string{"new": "2"}) {
				t.Errorf("HEAD: type %q cache %q language %q metadata %v", aws.ToString(h.ContentType), aws.ToString(h.CacheControl), aws.ToString(h.ContentLanguage), h.Metadata)
			}
			if e := headExpires(h); e == nil || !e.Equal(time.Date(2032, 3, 4, 5, 6, 7, 0, time.UTC)) {
				t.Errorf("Expires %v", e)
			}
			if !reflect.DeepEqual(tags, map[string]string{"stage": "copied twice"}) {
				t.Errorf("tags %v", tags)
			}
		}},
		{"replace metadata with none", map[string]string{"MetadataDirective": "REPLACE"},
			func(t *testing.T, h *s3.HeadObjectOutput, tags map[string]string, _ http.Header) {
				if len(h.Metadata) != 0 || !reflect.DeepEqual(tags, map[string]string{"old": "1"}) {
					t.Errorf("metadata %v (want none), tags %v (want the source's)", h.Metadata, tags)
				}
			}},
		{"checksum", map[string]string{"ChecksumAlgorithm": "CRC32C"},
			func(t *testing.T, h *s3.HeadObjectOutput, tags map[string]string, _ http.Header) {
				if aws.ToString(h.ChecksumCRC32C) == "" {
					t.Errorf("no CRC32C checksum on the copy: %+v", h)
				}
			}},
		// versitygw's posix backend keeps every object STANDARD: the
		// request is what can be checked.
		{"storage class", map[string]string{"StorageClass": "STANDARD_IA"},
			func(t *testing.T, h *s3.HeadObjectOutput, tags map[string]string, create http.Header) {
				if got := create.Get("X-Amz-Storage-Class"); got != "STANDARD_IA" {
					t.Errorf("CreateMultipartUpload sent storage class %q", got)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := map[string]string{"TargetResource": "arn:aws:s3:::" + dstB, "TargetKeyPrefix": tc.name}
			for k, v := range tc.args {
				args[k] = v
			}
			var create http.Header
			var once sync.Once
			proxy := newHookProxy(t, ep, func(r *http.Request) (int, string) {
				if isCreate(r) {
					once.Do(func() { create = r.Header.Clone() })
				}
				return 0, ""
			})
			h := mustHandler(t, Options{Client: newClient(t, proxy.URL, nil, 3), PartSize: testPart})
			r := invoke(t, context.Background(), h, event2(args, srcB, enc(key)))
			wantResult(t, r, 0, Succeeded, "in 3 parts")
			dk := tc.name + "/" + key
			head, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &dstB, Key: &dk, ChecksumMode: s3types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, head, tags(t, cl, dstB, dk), create)
			if string(getAll(t, cl, dstB, dk)) != string(getAll(t, cl, srcB, key)) {
				t.Error("the copy's bytes differ from the source's")
			}
		})
	}
}

// TestCreateInput: the arguments versitygw cannot show (encryption,
// object lock, ACLs, requester pays) become the CreateMultipartUpload
// fields S3 reads them from.
func TestCreateInput(t *testing.T) {
	a, err := ParseArguments(map[string]string{
		"TargetResource": "arn:aws:s3:::dst", "SSEAwsKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "BucketKeyEnabled": "true",
		"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": "2040-01-01T00:00:00Z", "ObjectLockLegalHoldStatus": "ON",
		"AccessControlGrants": `[{"Grantee": {"Identifier": "a@example.com", "TypeIdentifier": "emailAddress"}, "Permission": "FULL_CONTROL"}]`,
		"RequesterPays":       "true", "ChecksumAlgorithm": "CRC64NVME",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &copier{args: a, head: &s3.HeadObjectOutput{ContentType: aws.String("a/b"), Metadata: map[string]string{"m": "1"}, WebsiteRedirectLocation: aws.String("/r")},
		dst: object{bucket: "dst", key: "k"}, tagging: "t=1"}
	in := c.createInput()
	if in.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(in.SSEKMSKeyId) != "arn:aws:kms:us-east-1:123456789012:key/k" || !aws.ToBool(in.BucketKeyEnabled) {
		t.Errorf("encryption: %q %q %v", in.ServerSideEncryption, aws.ToString(in.SSEKMSKeyId), in.BucketKeyEnabled)
	}
	if in.ObjectLockMode != s3types.ObjectLockModeCompliance || in.ObjectLockRetainUntilDate.Year() != 2040 || in.ObjectLockLegalHoldStatus != s3types.ObjectLockLegalHoldStatusOn {
		t.Errorf("object lock: %q %v %q", in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus)
	}
	if aws.ToString(in.GrantFullControl) != `emailAddress="a@example.com"` || in.GrantRead != nil || in.ACL != "" {
		t.Errorf("grants: %q %v %q", aws.ToString(in.GrantFullControl), in.GrantRead, in.ACL)
	}
	if in.RequestPayer != s3types.RequestPayerRequester || in.ChecksumAlgorithm != s3types.ChecksumAlgorithmCrc64nvme || in.ChecksumType != s3types.ChecksumTypeFullObject {
		t.Errorf("payer %q checksum %q %q", in.RequestPayer, in.ChecksumAlgorithm, in.ChecksumType)
	}
	if aws.ToString(in.ContentType) != "a/b" || in.Metadata["m"] != "1" || aws.ToString(in.WebsiteRedirectLocation) != "/r" || aws.ToString(in.Tagging) != "t=1" {
		t.Errorf("copied headers: %q %v %q %q", aws.ToString(in.ContentType), in.Metadata, aws.ToString(in.WebsiteRedirectLocation), aws.ToString(in.Tagging))
	}
	if in.StorageClass != "" {
		t.Errorf("storage class %q: unset, S3 makes the copy STANDARD as CopyObject does", in.StorageClass)
	}
	a.Op.CannedAccessControlList, a.Op.AccessControlGrants = types.S3CannedAccessControlListBucketOwnerFullControl, nil
	if in := c.createInput(); in.ACL != s3types.ObjectCannedACLBucketOwnerFullControl {
		t.Errorf("canned ACL %q", in.ACL)
	}
}
