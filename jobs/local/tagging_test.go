package local

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"
)

func tagList(kv ...string) []types.S3Tag {
	var out []types.S3Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.S3Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func tagMap(tags []types.S3Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// TestJobTaggingWithSDK: tags given at CreateJob, read, replaced, emptied
// and deleted through the Go SDK's GetJobTagging, PutJobTagging and
// DeleteJobTagging; the limits refused with the SDK's typed errors; the
// tags kept across a restart of the engine on the same state.
func TestJobTaggingWithSDK(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	env.put("src-bucket", "a", "a")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"a"})
	state := t.TempDir()
	e := newTestEngine(t, Options{Storage: env.st, StateDir: state})
	cl := sdkClient(t, e)
	ctx := context.Background()
	acct := aws.String(testAccount)

	in := createInput("tok-tags", mkey, etag, copyOp("dst-bucket", ""))
	in.Tags = tagList("team", "data", "cost center", "42/a:b=c+d@e.f_g-h", "empty", "", "ünï", "cödé")
	out, err := cl.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := out.JobId
	get := func() map[string]string {
		t.Helper()
		g, err := cl.GetJobTagging(ctx, &s3control.GetJobTaggingInput{AccountId: acct, JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		return tagMap(g.Tags)
	}
	if got, want := get(), tagMap(in.Tags); !reflect.DeepEqual(got, want) {
		t.Fatalf("tags from CreateJob: %v, want %v", got, want)
	}
	if _, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: tagList("owner", "ops")}); err != nil {
		t.Fatal(err)
	}
	if got := get(); !reflect.DeepEqual(got, map[string]string{"owner": "ops"}) {
		t.Fatalf("after PutJobTagging: %v, want the new set only", got)
	}

	many := make([]string, 0, 2*(MaxJobTags+1))
	for i := 0; i <= MaxJobTags; i++ {
		many = append(many, fmt.Sprintf("k%02d", i), "v")
	}
	var tooMany *types.TooManyTagsException
	if _, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: tagList(many...)}); !errors.As(err, &tooMany) {
		t.Fatalf("%d tags: got %v, want TooManyTagsException", MaxJobTags+1, err)
	}
	if _, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: tagList(many[:2*MaxJobTags]...)}); err != nil {
		t.Fatalf("%d tags: %v", MaxJobTags, err)
	}
	if got := get(); len(got) != MaxJobTags {
		t.Fatalf("%d tags kept, want %d", len(got), MaxJobTags)
	}
	for name, tags := range map[string][]types.S3Tag{
		"duplicate key":  tagList("a", "1", "a", "2"),
		"empty key":      tagList("", "v"),
		"long key":       tagList(strings.Repeat("k", MaxJobTagKeyLen+1), "v"),
		"long value":     tagList("k", strings.Repeat("ü", MaxJobTagValueLen+1)),
		"reserved aws:":  tagList("AWS:created", "v"),
		"bad character":  tagList("k", "a;b"),
		"control in key": tagList("k\x01", "v"),
	} {
		_, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: tags})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
			t.Errorf("%s: got %v, want BadRequestException", name, err)
		}
		bad := createInput("tok-bad-"+name, mkey, etag, copyOp("dst-bucket", ""))
		bad.Tags = tags
		var be *types.BadRequestException
		if _, err := cl.CreateJob(ctx, bad); !errors.As(err, &be) {
			t.Errorf("CreateJob with %s: got %v, want BadRequestException", name, err)
		}
	}
	if got := get(); len(got) != MaxJobTags {
		t.Fatalf("refused requests changed the tags: %d", len(got))
	}

	// An empty set removes the tags, as DeleteJobTagging does.
	if _, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: []types.S3Tag{}}); err != nil {
		t.Fatal(err)
	}
	if got := get(); len(got) != 0 {
		t.Fatalf("after an empty PutJobTagging: %v", got)
	}
	if _, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: tagList("keep", "me")}); err != nil {
		t.Fatal(err)
	}

	var nf *types.NotFoundException
	if _, err := cl.GetJobTagging(ctx, &s3control.GetJobTaggingInput{AccountId: acct, JobId: aws.String("no-such-job")}); !errors.As(err, &nf) {
		t.Fatalf("unknown job: got %v, want NotFoundException", err)
	}
	for _, call := range []func() error{
		func() error {
			_, err := cl.GetJobTagging(ctx, &s3control.GetJobTaggingInput{AccountId: aws.String("210987654321"), JobId: id})
			return err
		},
		func() error {
			_, err := cl.PutJobTagging(ctx, &s3control.PutJobTaggingInput{AccountId: aws.String("210987654321"), JobId: id, Tags: tagList("x", "y")})
			return err
		},
		func() error {
			_, err := cl.DeleteJobTagging(ctx, &s3control.DeleteJobTaggingInput{AccountId: aws.String("210987654321"), JobId: id})
			return err
		},
	} {
		if err := call(); !errors.As(err, &nf) {
			t.Fatalf("another account's job: got %v, want NotFoundException", err)
		}
	}

	// Kept in jobs.log: a new engine on the same state has them.
	d := waitStatus(t, e, *id)
	e.Close()
	e2 := newTestEngine(t, Options{Storage: env.st, StateDir: state})
	tags, err := e2.GetJobTagging(testAccount, *id)
	if err != nil || !reflect.DeepEqual(tagMap(tags), map[string]string{"keep": "me"}) {
		t.Fatalf("after a restart: %v %v", tags, err)
	}
	if err := e2.DeleteJobTagging(testAccount, *id); err != nil {
		t.Fatal(err)
	}
	if tags, _ := e2.GetJobTagging(testAccount, *id); len(tags) != 0 {
		t.Fatalf("after DeleteJobTagging: %v", tags)
	}
	if d2, _ := e2.DescribeJob(testAccount, *id); d2.Status != d.Status {
		t.Fatalf("tagging changed the job: %s, was %s", d2.Status, d.Status)
	}
	// The same token and request still name the job (tags changed since).
	if again, err := e2.CreateJob(ctx, testAccount, in); err != nil || again != *id {
		t.Fatalf("CreateJob again: %s %v, want %s", again, err, *id)
	}
}
