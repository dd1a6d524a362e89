package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Client is the engine as an S3 Control client, in process: it implements
// jobs.Control (CreateJob, DescribeJob, UpdateJobStatus,
// UpdateJobPriority, and ListJobs), answering with the SDK's outputs and
// typed exceptions (*types.NotFoundException, *types.JobStatusException
// …) as the HTTP endpoint does, so that jobs.Submit, Status and Update run
// against the engine unchanged. It also implements jobs.Store, putting
// manifests where the engine reads them.
//
// Mounts give bucket names whose manifests and reports live elsewhere
// than in the engine's Storage: `run` mounts a bucket for the shards it
// copies into the engine's state and one for a local report folder. Mounts
// are only seen by this client's CreateJob, not by the HTTP endpoint.
// Tasks always act on the Storage.
type Client struct {
	e      *Engine
	mu     sync.Mutex
	mounts map[string]string
}

// NewClient returns an in-process client of the engine.
func (e *Engine) NewClient() *Client {
	return &Client{e: e, mounts: map[string]string{}}
}

// Mount makes bucket (a plain bucket name) resolve to loc, a local folder
// or an s3:// prefix, for the manifests and reports of the jobs this
// client creates and the objects it stores. A local folder is created.
func (c *Client) Mount(bucket, loc string) error {
	if !objio.IsS3(loc) {
		if err := os.MkdirAll(loc, 0o755); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mounts[bucket] = strings.TrimSuffix(loc, "/")
	return nil
}

func (c *Client) mountsCopy() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]string, len(c.mounts))
	for k, v := range c.mounts {
		m[k] = v
	}
	return m
}

// Region is the engine's region (Options.Region), which jobs.json
// records as it records the region of an S3 Control client.
func (c *Client) Region() string { return c.e.o.Region }

// Resolve returns where an s3://bucket/key location of the job API is
// read and written: under its mount, in the Storage, or loc itself when
// it cannot be resolved.
func (c *Client) Resolve(loc string) string {
	b, k, err := objio.ParseS3(loc)
	if err != nil {
		return loc
	}
	r, err := c.e.locate(c.mountsCopy(), b, strings.TrimSuffix(k, "/"))
	if err != nil {
		return loc
	}
	return r
}

// Stat implements jobs.Store for s3:// locations the engine resolves. A
// local file's ETag is the MD5 of its bytes, as S3 gives after one PUT.
func (c *Client) Stat(ctx context.Context, loc string) (objio.ObjectInfo, error) {
	r := c.Resolve(loc)
	info, err := c.e.o.IO.Stat(ctx, r)
	if err != nil || objio.IsS3(r) {
		return info, err
	}
	f, err := c.e.o.IO.Open(ctx, r)
	if err != nil {
		return info, err
	}
	defer f.Close()
	sum, err := md5Of(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		return info, fmt.Errorf("%s: %w", r, err)
	}
	info.ETag = sum
	return info, nil
}

// Upload implements jobs.Store: the object is written where the engine
// will read it (a local file is created with its folders).
func (c *Client) Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o objio.UploadOptions) (objio.ObjectInfo, error) {
	dst := c.Resolve(loc)
	if !objio.IsS3(dst) {
		if err := os.MkdirAll(objio.Dir(dst), 0o755); err != nil {
			return objio.ObjectInfo{}, err
		}
	}
	return c.e.o.IO.Upload(ctx, dst, r, size, o)
}

// CreateJob implements jobs.Control.
func (c *Client) CreateJob(ctx context.Context, in *s3control.CreateJobInput, _ ...func(*s3control.Options)) (*s3control.CreateJobOutput, error) {
	if in == nil {
		return nil, sdkError(apiErr(ErrBadRequest, "no request"))
	}
	id, err := c.e.createJob(aws.ToString(in.AccountId), in, c.mountsCopy())
	if err != nil {
		return nil, sdkError(err)
	}
	return &s3control.CreateJobOutput{JobId: aws.String(id)}, nil
}

// DescribeJob implements jobs.Control.
func (c *Client) DescribeJob(ctx context.Context, in *s3control.DescribeJobInput, _ ...func(*s3control.Options)) (*s3control.DescribeJobOutput, error) {
	d, err := c.e.DescribeJob(aws.ToString(in.AccountId), aws.ToString(in.JobId))
	if err != nil {
		return nil, sdkError(err)
	}
	return &s3control.DescribeJobOutput{Job: d}, nil
}

// UpdateJobStatus implements jobs.Control.
func (c *Client) UpdateJobStatus(ctx context.Context, in *s3control.UpdateJobStatusInput, _ ...func(*s3control.Options)) (*s3control.UpdateJobStatusOutput, error) {
	st, err := c.e.UpdateJobStatus(aws.ToString(in.AccountId), aws.ToString(in.JobId), types.JobStatus(in.RequestedJobStatus), aws.ToString(in.StatusUpdateReason))
	if err != nil {
		return nil, sdkError(err)
	}
	return &s3control.UpdateJobStatusOutput{JobId: in.JobId, Status: st, StatusUpdateReason: in.StatusUpdateReason}, nil
}

// UpdateJobPriority implements jobs.Control.
func (c *Client) UpdateJobPriority(ctx context.Context, in *s3control.UpdateJobPriorityInput, _ ...func(*s3control.Options)) (*s3control.UpdateJobPriorityOutput, error) {
	if err := c.e.UpdateJobPriority(aws.ToString(in.AccountId), aws.ToString(in.JobId), in.Priority); err != nil {
		return nil, sdkError(err)
	}
	return &s3control.UpdateJobPriorityOutput{JobId: in.JobId, Priority: in.Priority}, nil
}

// ListJobs lists the jobs of an account as S3 Control does.
func (c *Client) ListJobs(ctx context.Context, in *s3control.ListJobsInput, _ ...func(*s3control.Options)) (*s3control.ListJobsOutput, error) {
	list, next, err := c.e.ListJobs(aws.ToString(in.AccountId), in.JobStatuses, aws.ToString(in.NextToken), int(aws.ToInt32(in.MaxResults)))
	if err != nil {
		return nil, sdkError(err)
	}
	out := &s3control.ListJobsOutput{Jobs: list}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

// sdkError turns an *APIError into the SDK exception of its code, as the
// SDK would decode it from the HTTP endpoint's error envelope.
func sdkError(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	msg := aws.String(ae.Message)
	switch ae.Err {
	case ErrNotFound:
		return &types.NotFoundException{Message: msg}
	case ErrJobStatus:
		return &types.JobStatusException{Message: msg}
	case ErrIdempotency:
		return &types.IdempotencyException{Message: msg}
	case ErrInternal:
		return &types.InternalServiceException{Message: msg}
	}
	return &types.BadRequestException{Message: msg}
}

func md5Of(r io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
