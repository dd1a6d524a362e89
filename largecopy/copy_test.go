package largecopy

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/manifest"
)

const testPart = MinPartSize // versitygw, as S3, takes no smaller part but the last

// enc is a key as a manifest writes it.
func enc(key string) string { return string(manifest.AppendEncoded(nil, []byte(key))) }

// sameObject checks that dst holds src's bytes, metadata, content headers
// and tags.
func sameObject(t *testing.T, cl *s3.Client, srcBucket, srcKey, dstBucket, dstKey string) {
	t.Helper()
	ctx := context.Background()
	if a, b := getAll(t, cl, srcBucket, srcKey), getAll(t, cl, dstBucket, dstKey); !bytes.Equal(a, b) {
		t.Fatalf("s3://%s/%s: %d bytes differ from the source's %d", dstBucket, dstKey, len(b), len(a))
	}
	hs, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srcBucket, Key: &srcKey})
	if err != nil {
		t.Fatal(err)
	}
	hd, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &dstBucket, Key: &dstKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		a, b *string
	}{
		{"Content-Type", hs.ContentType, hd.ContentType},
		{"Cache-Control", hs.CacheControl, hd.CacheControl},
		{"Content-Disposition", hs.ContentDisposition, hd.ContentDisposition},
		{"Content-Encoding", hs.ContentEncoding, hd.ContentEncoding},
		{"Content-Language", hs.ContentLanguage, hd.ContentLanguage},
		{"Expires", hs.ExpiresString, hd.ExpiresString},
	} {
		if aws.ToString(f.a) != aws.ToString(f.b) {
			t.Errorf("%s: copy has %q, source %q", f.name, aws.ToString(f.b), aws.ToString(f.a))
		}
	}
	if !reflect.DeepEqual(hs.Metadata, hd.Metadata) {
		t.Errorf("metadata: copy has %v, source %v", hd.Metadata, hs.Metadata)
	}
	if ts, td := tags(t, cl, srcBucket, srcKey), tags(t, cl, dstBucket, dstKey); !reflect.DeepEqual(ts, td) {
		t.Errorf("tags: copy has %v, source %v", td, ts)
	}
}

func tags(t *testing.T, cl *s3.Client, bucket, key string) map[string]string {
	t.Helper()
	out, err := cl.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("tags of s3://%s/%s: %v", bucket, key, err)
	}
	m := map[string]string{}
	for _, x := range out.TagSet {
		m[aws.ToString(x.Key)] = aws.ToString(x.Value)
	}
	return m
}

func wantResult(t *testing.T, r Response, i int, code string, substrings ...string) {
	t.Helper()
	if len(r.Results) <= i {
		t.Fatalf("response has %d results, want task %d: %+v", len(r.Results), i, r)
	}
	got := r.Results[i]
	if got.ResultCode != code {
		t.Fatalf("task %s: %s %q, want %s", got.TaskID, got.ResultCode, got.ResultString, code)
	}
	for _, s := range substrings {
		if !strings.Contains(got.ResultString, s) {
			t.Errorf("task %s: resultString %q does not say %q", got.TaskID, got.ResultString, s)
		}
	}
}

// TestCopy copies objects of one and of several parts, with metadata,
// content headers and tags, under keys that need encoding.
func TestCopy(t *testing.T) {
	ep := endpoint(t)
	cl := newClient(t, ep, nil, 3)
	srcB, dstB := newBucket(t, cl, "src"), newBucket(t, cl, "dst")
	exp := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct {
		name, key  string
		size       int
		parts      int
		prefix     string
		wantPrefix string
	}{
		{"one part", "photos/a b+c €.jpg", 3 << 20, 1, "", ""},
		{"exactly one part", "exact", testPart, 1, "copied/", "copied/"},
		{"many parts", "videos/x,y%z.bin", 3*testPart + 12345, 4, "copied", "copied/"},
		{"empty", "empty", 0, 1, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			put(t, cl, srcB, tc.key, source{body: payload(tc.size, uint64(tc.size)), metadata: map[string]string{"owner": "team-a", "x-y": "z w"},
				contentType: "video/x-test", cache: "max-age=60", disposition: `attachment; filename="a.bin"`, encoding: "identity",
				language: "de-CH", expires: &exp, tagging: "k1=v1&k%202=v%2B2"})
			h := mustHandler(t, Options{Client: cl, PartSize: testPart, Concurrency: 3})
			args := map[string]string{"TargetResource": "arn:aws:s3:::" + dstB}
			if tc.prefix != "" {
				args["TargetKeyPrefix"] = tc.prefix
			}
			r := invoke(t, context.Background(), h, event2(args, srcB, enc(tc.key)))
			wantResult(t, r, 0, Succeeded, fmt.Sprintf("in %d part", tc.parts), "(0 resumed)")
			sameObject(t, cl, srcB, tc.key, dstB, tc.wantPrefix+tc.key)
		})
	}
	noUploads(t, cl, dstB) // the companions went with the copies
}
