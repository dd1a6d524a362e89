package largecopy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Resuming. A multipart upload in progress shows its key, id and start
// time, nothing else: the metadata and tags given when it started are
// not readable until it completes. So the upload of a task is marked by a
// second upload, its companion, that is never given a part nor completed
// — invisible to listings of objects, free of storage — under
//
//	<TargetKeyPrefix>/.s3batchkit-large-copy/<task>/<state>/<upload id>
//
// where <task> hashes what the copy is (source bucket, key and version,
// destination bucket and key, part size, arguments) and <state> hashes
// the source as the copy found it (ETag and size). A retry of the task
// lists <task>/: an upload of the same state is resumed — its parts were
// all copied on the condition that the source had that ETag, so they are
// ranges of the object it has now —; an upload of another state means the
// source changed since the earlier attempt began: it is aborted and the
// task fails. Both uploads are aborted when the task fails for good, the
// companion dropped when the copy completes; a lifecycle rule
// AbortIncompleteMultipartUpload on the destination removes any left by
// attempts that died (docs/large-objects.md).

// StateFolder is the folder, under the destination's key prefix, that
// holds the companion uploads.
const StateFolder = ".s3batchkit-large-copy/"

// maxKey is S3's longest key, in bytes.
const maxKey = 1024

// hashes returns the task's and the state's hash, 32 hex digits each.
func (c *copier) hashes() (task, state string) {
	h := sha256.New()
	fmt.Fprintf(h, "s3batchkit-large-copy/1\n%q\n%q\n%q\n%q\n%q\n%d\n%s", c.src.bucket, c.src.key, c.src.version,
		c.dst.bucket, c.dst.key, c.partSize, c.args.canonical)
	task = hex.EncodeToString(h.Sum(nil)[:16])
	h.Reset()
	fmt.Fprintf(h, "%s\n%q\n%d", task, c.etag, c.size)
	state = hex.EncodeToString(h.Sum(nil)[:16])
	return task, state
}

// companionUpload is a companion found by a listing.
type companionUpload struct {
	key, id  string // the companion's key and upload id
	state    string
	uploadID string // the destination upload it marks
}

// resumeOrStart finds the upload of an earlier attempt of the task and
// what parts it holds, or starts one. ok is false when the task ends
// here, with code and msg.
func (c *copier) resumeOrStart(ctx, work context.Context) (code, msg string, ok bool) {
	task, state := c.hashes()
	folder := c.args.Prefix + StateFolder + task + "/"
	listStep := step{"looking for an earlier attempt's upload (ListMultipartUploads, ListParts)", "s3:ListBucketMultipartUploads on the destination bucket and s3:ListMultipartUploadParts on its objects"}
	found, err := c.listCompanions(work, folder)
	if err != nil {
		code, msg = c.failed(ctx, work, listStep, err)
		return code, msg, false
	}
	var stale []companionUpload
	for _, u := range found {
		parts, err := c.listParts(work, u.uploadID)
		if err != nil {
			if classify(err).code == "NoSuchUpload" { // completed or aborted: the mark is left over
				c.abortQuiet(ctx, u.key, u.id)
				continue
			}
			code, msg = c.failed(ctx, work, listStep, err)
			return code, msg, false
		}
		switch {
		case u.state != state:
			stale = append(stale, u)
		case c.uploadID == "":
			c.uploadID, c.companion, c.compID = u.uploadID, u.key, u.id
			c.adopt(parts)
		}
	}
	for _, u := range stale {
		c.abortQuiet(ctx, c.dst.key, u.uploadID)
		c.abortQuiet(ctx, u.key, u.id)
	}
	if c.uploadID != "" {
		return "", "", true
	}
	if len(stale) > 0 {
		return PermanentFailure, c.prefix() + fmt.Sprintf("the source changed since an earlier attempt of this task began copying it (it is now %d bytes, ETag %s); that attempt's upload was aborted, nothing was written — run the task again to copy the object as it is now", c.size, c.etag), false
	}
	createStep := step{"starting the upload (CreateMultipartUpload)", "s3:PutObject on the destination" + c.tagNeeds() + c.kmsNeeds()}
	out, err := c.h.o.Client.CreateMultipartUpload(work, c.createInput())
	if err != nil {
		code, msg = c.failed(ctx, work, createStep, err)
		return code, msg, false
	}
	c.uploadID = aws.ToString(out.UploadId)
	if key := folder + state + "/" + c.uploadID; len(key) <= maxKey {
		out, err := c.h.o.Client.CreateMultipartUpload(work, &s3.CreateMultipartUploadInput{Bucket: &c.dst.bucket, Key: &key, RequestPayer: c.payer()})
		if err != nil {
			// Without its mark the upload cannot be resumed: drop it.
			code, msg = c.failed(ctx, work, step{"marking the upload as this task's (CreateMultipartUpload of " + key + ")", "s3:PutObject on the destination's " + c.args.Prefix + StateFolder}, err)
			if code == TemporaryFailure {
				c.abortQuiet(ctx, c.dst.key, c.uploadID)
			}
			return code, msg, false
		}
		c.companion, c.compID = key, aws.ToString(out.UploadId)
	}
	return "", "", true
}

func (c *copier) tagNeeds() string {
	if c.tagging != "" {
		return " and s3:PutObjectTagging"
	}
	return ""
}

// listCompanions lists the companion uploads under folder.
func (c *copier) listCompanions(ctx context.Context, folder string) ([]companionUpload, error) {
	var found []companionUpload
	in := &s3.ListMultipartUploadsInput{Bucket: &c.dst.bucket, Prefix: &folder, RequestPayer: c.payer()}
	for {
		out, err := c.h.o.Client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, u := range out.Uploads {
			key := aws.ToString(u.Key)
			rest, ok := strings.CutPrefix(key, folder)
			if !ok {
				continue
			}
			st, upload, ok := strings.Cut(rest, "/")
			if !ok || len(st) != 32 || upload == "" {
				continue
			}
			found = append(found, companionUpload{key: key, id: aws.ToString(u.UploadId), state: st, uploadID: upload})
		}
		if !aws.ToBool(out.IsTruncated) {
			return found, nil
		}
		if aws.ToString(out.NextKeyMarker) == "" && aws.ToString(out.NextUploadIdMarker) == "" {
			return found, nil // a truncated answer without markers: take what came
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// listParts lists the parts of the destination upload id.
func (c *copier) listParts(ctx context.Context, id string) ([]s3types.Part, error) {
	var parts []s3types.Part
	in := &s3.ListPartsInput{Bucket: &c.dst.bucket, Key: &c.dst.key, UploadId: &id, RequestPayer: c.payer()}
	for {
		out, err := c.h.o.Client.ListParts(ctx, in)
		if err != nil {
			return nil, err
		}
		parts = append(parts, out.Parts...)
		next := aws.ToString(out.NextPartNumberMarker)
		if !aws.ToBool(out.IsTruncated) || next == "" || next == aws.ToString(in.PartNumberMarker) {
			return parts, nil
		}
		in.PartNumberMarker = &next
	}
}

// adopt takes the listed parts that fit the layout as done; a part of
// another size is copied again.
func (c *copier) adopt(parts []s3types.Part) {
	for _, p := range parts {
		n := int(aws.ToInt32(p.PartNumber))
		if n < 1 || n > c.nParts || c.have[n-1] || aws.ToString(p.ETag) == "" {
			continue
		}
		if _, l := c.partRange(n); aws.ToInt64(p.Size) != l && c.size > 0 {
			continue
		}
		c.parts[n-1] = completedFromPart(p)
		c.have[n-1] = true
		c.resumed++
	}
}

// dropCompanion aborts the companion of the task's upload, if any.
func (c *copier) dropCompanion(ctx context.Context) {
	if c.companion != "" {
		c.abortQuiet(ctx, c.companion, c.compID)
		c.companion = ""
	}
}

// abortQuiet aborts an upload, ignoring failures (a lifecycle rule
// removes what is left).
func (c *copier) abortQuiet(ctx context.Context, key, id string) {
	_, err := c.h.o.Client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &c.dst.bucket, Key: &key, UploadId: &id, RequestPayer: c.payer()})
	if err != nil && classify(err).code != "NoSuchUpload" {
		c.h.o.Logf("aborting upload %s of s3://%s/%s: %s", id, c.dst.bucket, key, strconv.Quote(classify(err).String()))
	}
}
