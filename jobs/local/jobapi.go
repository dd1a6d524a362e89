package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// This file is the engine's job API: CreateJob, DescribeJob, ListJobs,
// UpdateJobStatus, UpdateJobPriority and Wait, as the HTTP handler
// (api.go) and in-process clients (Client, control.go) use them.

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	roleRE    = regexp.MustCompile(`^arn:[^:]+:iam::\d{12}:role/.+$`)
	objectRE  = regexp.MustCompile(`^arn:[^:]+:s3:::([^/]+)/(.+)$`)
	bucketRE  = regexp.MustCompile(`^arn:[^:]+:s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])$`)
)

// requestHash identifies a CreateJob request for idempotency: everything
// but the account and the token.
func requestHash(in *s3control.CreateJobInput) string {
	c := *in
	c.AccountId, c.ClientRequestToken = nil, nil
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	return uuid(b[:])
}

// uuid formats 16 bytes as a version-4 UUID, as AWS job ids look.
func uuid(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// jobSpec is a job to create: the request, and where its manifest and
// report are.
type jobSpec struct {
	// Input is the CreateJob request.
	Input *s3control.CreateJobInput
	// ManifestLoc is the manifest's location (path or s3://).
	ManifestLoc string
	// ReportLoc is the report prefix's location (folder or s3://); empty:
	// no report.
	ReportLoc string
}

// CreateJob creates a job from a CreateJob request of account acct and
// returns its id. The same ClientRequestToken with the same request
// returns the same id; with another request, an IdempotencyException.
// Bucket ARNs (manifest, report) are found through Options.Storage.
func (e *Engine) CreateJob(ctx context.Context, acct string, in *s3control.CreateJobInput) (string, error) {
	return e.createJob(acct, in, nil)
}

// createJob is CreateJob with mounts: buckets whose manifests and reports
// are at other locations than the Storage's (Client.Mount).
func (e *Engine) createJob(acct string, in *s3control.CreateJobInput, mounts map[string]string) (string, error) {
	if err := e.validate(acct, in); err != nil {
		return "", err
	}
	loc := objectRE.FindStringSubmatch(aws.ToString(in.Manifest.Location.ObjectArn))
	mloc, err := e.locate(mounts, loc[1], loc[2])
	if err != nil {
		return "", apiErr(ErrBadRequest, "Manifest.Location.ObjectArn: %v", err)
	}
	spec := jobSpec{Input: in, ManifestLoc: mloc}
	var bucket, prefix string
	if in.Report != nil && in.Report.Enabled {
		bucket = bucketRE.FindStringSubmatch(aws.ToString(in.Report.Bucket))[1]
		prefix = strings.Trim(aws.ToString(in.Report.Prefix), "/")
		root, err := e.locate(mounts, bucket, "")
		if err != nil {
			return "", apiErr(ErrBadRequest, "Report.Bucket: %v", err)
		}
		spec.ReportLoc = root
		if prefix != "" {
			spec.ReportLoc = objio.Join(strings.TrimSuffix(root, "/"), prefix)
		}
	}
	return e.create(acct, spec, bucket, prefix)
}

// locate finds an object (or, with key "", a bucket's root) of a bucket
// ARN: under its mount when mounts has the bucket, else in the Storage.
func (e *Engine) locate(mounts map[string]string, bucket, key string) (string, error) {
	root, ok := mounts[bucket]
	if !ok {
		return e.o.Storage.Locate(bucket, key)
	}
	if key == "" {
		return root, nil
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("key %q has an empty, '.' or '..' segment", key)
		}
	}
	return objio.Join(root, key), nil
}

func (e *Engine) create(acct string, spec jobSpec, reportBucket, reportPrefix string) (string, error) {
	in := spec.Input
	hash := requestHash(in)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return "", apiErr(ErrInternal, "the engine is shutting down")
	}
	tk := acct + "/" + aws.ToString(in.ClientRequestToken)
	if id, ok := e.tokens[tk]; ok {
		if e.jobs[id].rec.RequestHash != hash {
			return "", apiErr(ErrIdempotency, "ClientRequestToken %s was used for another request (job %s)", aws.ToString(in.ClientRequestToken), id)
		}
		return id, nil
	}
	// The id is derived from the account and the token, so that an
	// engine with a new state gives a resubmitted job its old id.
	sum := sha256.Sum256([]byte(tk))
	id := uuid(sum[:16])
	if _, taken := e.jobs[id]; taken {
		id = newJobID()
	}
	j := &job{done: make(chan struct{}), rec: jobRecord{
		ID: id, Account: acct, Token: aws.ToString(in.ClientRequestToken), RequestHash: hash,
		Description: aws.ToString(in.Description), Priority: aws.ToInt32(in.Priority),
		ConfirmationRequired: aws.ToBool(in.ConfirmationRequired), RoleArn: aws.ToString(in.RoleArn),
		Operation: *in.Operation, Manifest: *in.Manifest, Tags: in.Tags,
		ManifestLoc: spec.ManifestLoc, ReportLoc: spec.ReportLoc, ReportBucket: reportBucket,
		Status: types.JobStatusNew, Created: time.Now().UTC(),
	}}
	if in.Report != nil {
		j.rec.Report = *in.Report
	}
	if reportPrefix != "" {
		j.rec.ReportKeyPrefix = reportPrefix + "/"
	}
	if err := e.persist(j); err != nil {
		return "", err
	}
	e.jobs[id] = j
	e.order = append(e.order, id)
	e.tokens[tk] = id
	e.o.Logf("job %s: created (%s, manifest %s)", id, jobs.OperationName(j.rec.Operation), j.rec.ManifestLoc)
	e.wake()
	return id, nil
}

// supported lists the operations the engine runs.
var supported = map[string]bool{"S3PutObjectCopy": true, "S3PutObjectTagging": true, "S3DeleteObjectTagging": true,
	"S3InitiateRestoreObject": true, "S3ComputeObjectChecksum": true, "LambdaInvoke": true}

func (e *Engine) validate(acct string, in *s3control.CreateJobInput) error {
	bad := func(format string, a ...any) error { return apiErr(ErrBadRequest, format, a...) }
	switch {
	case !accountRE.MatchString(acct):
		return bad("AccountId must be 12 digits, got %q", acct)
	case in == nil:
		return bad("no request")
	case in.ClientRequestToken == nil || len(*in.ClientRequestToken) < 1 || len(*in.ClientRequestToken) > 64:
		return bad("ClientRequestToken must be 1-64 characters")
	case in.ManifestGenerator != nil:
		return bad("ManifestGenerator is not supported by the local engine: give a Manifest")
	case in.Manifest == nil || in.Manifest.Location == nil || in.Manifest.Spec == nil:
		return bad("Manifest with Spec and Location is required")
	case in.Manifest.Spec.Format != types.JobManifestFormatS3BatchOperationsCsv20180820:
		return bad("Manifest.Spec.Format %q is not supported by the local engine: only S3BatchOperations_CSV_20180820", in.Manifest.Spec.Format)
	case !objectRE.MatchString(aws.ToString(in.Manifest.Location.ObjectArn)):
		return bad("Manifest.Location.ObjectArn must be an object ARN such as arn:aws:s3:::bucket/key, got %q", aws.ToString(in.Manifest.Location.ObjectArn))
	case aws.ToString(in.Manifest.Location.ETag) == "":
		return bad("Manifest.Location.ETag is required")
	case in.Priority == nil || *in.Priority < 0:
		return bad("Priority is required, 0 to 2147483647")
	case !roleRE.MatchString(aws.ToString(in.RoleArn)):
		return bad("RoleArn must be an IAM role ARN, got %q", aws.ToString(in.RoleArn))
	case in.Report == nil:
		return bad("Report is required")
	case in.Operation == nil:
		return bad("Operation is required")
	case in.Description != nil && len(*in.Description) > 256:
		return bad("Description must be at most 256 characters")
	}
	if in.Report.Enabled {
		if !bucketRE.MatchString(aws.ToString(in.Report.Bucket)) {
			return bad("Report.Bucket must be a bucket ARN such as arn:aws:s3:::reports, got %q", aws.ToString(in.Report.Bucket))
		}
		if in.Report.Format != types.JobReportFormatReportCsv20180820 {
			return bad("Report.Format must be Report_CSV_20180820")
		}
		if s := in.Report.ReportScope; s != "" && s != types.JobReportScopeAllTasks && s != types.JobReportScopeFailedTasksOnly {
			return bad("Report.ReportScope must be AllTasks or FailedTasksOnly")
		}
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	if err := jobs.ValidateOperation(*in.Operation); err != nil {
		return bad("Operation: %v", err)
	}
	name := jobs.OperationName(*in.Operation)
	if !supported[name] {
		return bad("Operation %s is not supported by the local engine", name)
	}
	if l := in.Operation.LambdaInvoke; l != nil {
		switch {
		case largecopy.IsFunction(aws.ToString(l.FunctionArn)):
			// Run in process; a directory of buckets cannot (refused here,
			// as every other operation a store cannot carry out).
			if _, err := e.largeCopyClient(); err != nil {
				return bad("Operation LambdaInvoke: %v", err)
			}
		case e.o.LambdaURL == "":
			return bad("LambdaInvoke of %s needs the engine's Lambda URL (serve --lambda-url); the engine runs only %s itself", aws.ToString(l.FunctionArn), largecopy.FunctionName)
		}
	}
	// What the engine would otherwise accept and not do.
	if in.Manifest.Location.ObjectVersionId != nil {
		return bad("Manifest.Location.ObjectVersionId is not supported by the local engine: it reads the manifest object's current version")
	}
	if in.Manifest.Spec != nil {
		names := make([]string, len(in.Manifest.Spec.Fields))
		for i, f := range in.Manifest.Spec.Fields {
			names[i] = string(f)
		}
		if _, err := manifest.ParseFields(names); err != nil {
			return bad("Manifest.Spec.Fields %v: %v", names, err)
		}
	}
	if in.Report.Enabled && in.Report.ExpectedBucketOwner != nil {
		return bad("Report.ExpectedBucketOwner cannot be checked by the local engine, which has no bucket owners: leave it out")
	}
	if err := checkOperation(*in.Operation); err != nil {
		return bad("Operation %s: %v", name, err)
	}
	if err := e.o.Storage.CheckOperation(*in.Operation); err != nil {
		return bad("Operation %s: %v", name, err)
	}
	return nil
}

// checkOperation refuses the parts of an operation the engine would
// otherwise ignore on every store.
func checkOperation(op types.JobOperation) error {
	if c := op.S3PutObjectCopy; c != nil {
		if m := c.NewObjectMetadata; m != nil {
			switch {
			case c.MetadataDirective != types.S3MetadataDirectiveReplace:
				return fmt.Errorf("NewObjectMetadata is applied only with MetadataDirective REPLACE (with COPY the source's metadata is kept)")
			case m.ContentLength != nil || m.ContentMD5 != nil || m.RequesterCharged:
				return fmt.Errorf("NewObjectMetadata.ContentLength, ContentMD5 and RequesterCharged cannot be set on a copy")
			}
		}
		if len(c.AccessControlGrants) > 0 && c.CannedAccessControlList != "" {
			return fmt.Errorf("CannedAccessControlList and AccessControlGrants exclude each other")
		}
		for i, g := range c.AccessControlGrants {
			switch {
			case g.Grantee == nil || g.Grantee.TypeIdentifier == "" || aws.ToString(g.Grantee.Identifier) == "":
				return fmt.Errorf("AccessControlGrants[%d]: a Grantee with TypeIdentifier and Identifier is required", i)
			case g.Permission == types.S3PermissionWrite || g.Permission == "":
				return fmt.Errorf("AccessControlGrants[%d]: Permission %q cannot be granted on an object (FULL_CONTROL, READ, READ_ACP or WRITE_ACP)", i, g.Permission)
			}
		}
	}
	if c := op.S3ComputeObjectChecksum; c != nil && c.ChecksumType == types.ComputeObjectChecksumTypeComposite {
		return fmt.Errorf("ChecksumType COMPOSITE is not computed by the local engine, which does not know the part layout of multipart uploads: use FULL_OBJECT")
	}
	return nil
}

func (e *Engine) lookup(acct, id string) (*job, error) {
	j := e.jobs[id]
	if j == nil || j.rec.Account != acct {
		return nil, apiErr(ErrNotFound, "The specified job was not found: %s", id)
	}
	return j, nil
}

func (e *Engine) progress(j *job) *types.JobProgressSummary {
	active := j.rec.ActiveSeconds
	if !j.activeSince.IsZero() {
		active += int64(time.Since(j.activeSince).Seconds())
	}
	return &types.JobProgressSummary{
		TotalNumberOfTasks:     aws.Int64(j.rec.Total),
		NumberOfTasksSucceeded: aws.Int64(j.succeeded),
		NumberOfTasksFailed:    aws.Int64(j.failed),
		Timers:                 &types.JobTimers{ElapsedTimeInActiveSeconds: aws.Int64(active)},
	}
}

// DescribeJob describes a job of account acct.
func (e *Engine) DescribeJob(acct, id string) (*types.JobDescriptor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return nil, err
	}
	r := &j.rec
	op, man, rep := r.Operation, r.Manifest, r.Report
	created := r.Created
	d := &types.JobDescriptor{
		JobId: aws.String(r.ID), JobArn: aws.String("arn:aws:s3:" + e.o.Region + ":" + r.Account + ":job/" + r.ID),
		Status: r.Status, ConfirmationRequired: aws.Bool(r.ConfirmationRequired), Priority: r.Priority,
		RoleArn: aws.String(r.RoleArn), Operation: &op, Manifest: &man, Report: &rep,
		CreationTime: &created, TerminationDate: r.Terminated, ProgressSummary: e.progress(j),
		FailureReasons: append([]types.JobFailure(nil), r.FailureReasons...),
	}
	if r.Description != "" {
		d.Description = aws.String(r.Description)
	}
	if r.StatusUpdateReason != "" {
		d.StatusUpdateReason = aws.String(r.StatusUpdateReason)
	}
	if r.SuspendedAt != nil {
		d.SuspendedDate = r.SuspendedAt
		d.SuspendedCause = aws.String(r.SuspendedCause)
	}
	return d, nil
}

// JobTags returns the tags a job of account acct was created with.
func (e *Engine) JobTags(acct, id string) ([]types.S3Tag, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return nil, err
	}
	return append([]types.S3Tag(nil), j.rec.Tags...), nil
}

// ListJobs lists the jobs of account acct in creation order, those of the
// given statuses when any, from the position nextToken names, at most max
// (1-1000; 0 means 1000). The returned token is empty after the last page.
func (e *Engine) ListJobs(acct string, statuses []types.JobStatus, nextToken string, max int) ([]types.JobListDescriptor, string, error) {
	if !accountRE.MatchString(acct) {
		return nil, "", apiErr(ErrBadRequest, "AccountId must be 12 digits")
	}
	if max <= 0 || max > 1000 {
		max = 1000
	}
	want := map[types.JobStatus]bool{}
	for _, s := range statuses {
		want[s] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []types.JobListDescriptor
	started := nextToken == ""
	for _, id := range e.order {
		if !started {
			started = id == nextToken
			if !started {
				continue
			}
		}
		j := e.jobs[id]
		if j.rec.Account != acct || (len(want) > 0 && !want[j.rec.Status]) {
			continue
		}
		if len(out) == max {
			return out, id, nil
		}
		created := j.rec.Created
		d := types.JobListDescriptor{JobId: aws.String(id), Status: j.rec.Status, Priority: j.rec.Priority,
			Operation: types.OperationName(jobs.OperationName(j.rec.Operation)), CreationTime: &created,
			TerminationDate: j.rec.Terminated, ProgressSummary: e.progress(j)}
		if j.rec.Description != "" {
			d.Description = aws.String(j.rec.Description)
		}
		out = append(out, d)
	}
	if !started {
		return nil, "", apiErr(ErrBadRequest, "InvalidNextTokenException: the next token is not valid")
	}
	return out, "", nil
}

// UpdateJobStatus confirms a Suspended job (Ready) or cancels a job that
// has not ended (Cancelled); any other request is a JobStatusException.
// It returns the status after the change: a running job goes through
// Cancelling.
func (e *Engine) UpdateJobStatus(acct, id string, want types.JobStatus, reason string) (types.JobStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return "", err
	}
	if len(reason) > 256 {
		return "", apiErr(ErrBadRequest, "StatusUpdateReason must be at most 256 characters")
	}
	cur := j.rec.Status
	switch want {
	case types.JobStatusReady:
		if cur != types.JobStatusSuspended {
			return "", apiErr(ErrJobStatus, "Job %s is %s: only a Suspended job can be confirmed (Ready)", id, cur)
		}
		e.setStatus(j, types.JobStatusReady, reason)
	case types.JobStatusCancelled:
		switch cur {
		case types.JobStatusNew, types.JobStatusPreparing, types.JobStatusSuspended, types.JobStatusReady:
			e.setStatus(j, types.JobStatusCancelled, reason)
		case types.JobStatusActive, types.JobStatusPausing, types.JobStatusPaused:
			e.setStatus(j, types.JobStatusCancelling, reason)
			if j.stopTasks != nil {
				j.stopTasks()
			}
		default:
			return "", apiErr(ErrJobStatus, "Job %s is %s and cannot be cancelled", id, cur)
		}
	default:
		return "", apiErr(ErrBadRequest, "RequestedJobStatus must be Ready or Cancelled, got %q", want)
	}
	e.wake()
	return j.rec.Status, nil
}

// UpdateJobPriority sets a job's priority (0-2147483647).
func (e *Engine) UpdateJobPriority(acct, id string, p int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.lookup(acct, id)
	if err != nil {
		return err
	}
	if p < 0 {
		return apiErr(ErrBadRequest, "Priority must be 0 to 2147483647")
	}
	j.rec.Priority = p
	if err := e.persist(j); err != nil {
		return err
	}
	e.wake()
	return nil
}

// Wait blocks until the job is Complete, Failed or Cancelled, or ctx ends,
// and returns its description.
func (e *Engine) Wait(ctx context.Context, acct, id string) (*types.JobDescriptor, error) {
	e.mu.Lock()
	j, err := e.lookup(acct, id)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.DescribeJob(acct, id)
}
