package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// DefaultConcurrency is the number of shards uploaded and CreateJob calls
// in flight when SubmitOptions.Concurrency is zero.
const DefaultConcurrency = 16

// Tag keys set on every job.
const (
	TagPlan  = "s3batchkit:plan"
	TagShard = "s3batchkit:shard"
	TagRoute = "s3batchkit:route"
)

// Store is the object storage submit uploads shards to and checks them
// in; objio (the default) implements it.
type Store interface {
	Stat(ctx context.Context, loc string) (objio.ObjectInfo, error)
	Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o objio.UploadOptions) (objio.ObjectInfo, error)
}

type objioStore struct{}

func (objioStore) Stat(ctx context.Context, loc string) (objio.ObjectInfo, error) {
	return objio.Stat(ctx, loc)
}

func (objioStore) Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o objio.UploadOptions) (objio.ObjectInfo, error) {
	return objio.Upload(ctx, loc, r, size, o)
}

// SubmitOptions say what to submit and how. Validate checks them; Submit
// calls it first.
type SubmitOptions struct {
	// Plan is the plan directory (local or s3://); it must hold plan.json.
	Plan string
	// AccountID is the 12-digit account the jobs are created in.
	AccountID string
	// RoleArn is the IAM role Batch Operations assumes
	// (arn:aws:iam::123456789012:role/name).
	RoleArn string
	// Operation is the job operation, usually from ParseOperation.
	Operation types.JobOperation
	// ReportBucket is the completion reports' bucket ARN
	// (arn:aws:s3:::bucket); reports are always enabled.
	ReportBucket string
	// ReportPrefix is the key prefix of the reports; empty: none.
	ReportPrefix string
	// ReportScope is AllTasks (zero value) or FailedTasksOnly.
	ReportScope types.JobReportScope
	// Priority of the jobs, 0 to 2^31-1; higher runs sooner.
	Priority int32
	// Confirm creates the jobs with ConfirmationRequired: they wait,
	// Suspended, until confirmed (UpdateJobStatus Ready). False is sent
	// explicitly.
	Confirm bool
	// Routes selects the plan's routes to submit; empty: all.
	Routes []string
	// ManifestPrefix (s3://bucket[/prefix]) receives the shards of a
	// local plan, at <prefix>/<plan id>/<shard path>. It must be empty for
	// a plan in S3, whose shards are used where they are.
	ManifestPrefix string
	// Concurrency bounds shards in flight (upload + CreateJob). Zero:
	// DefaultConcurrency.
	Concurrency int
	// DryRun reads the plan and jobs.json and returns what would be
	// created, calling nothing and writing nothing.
	DryRun bool
	// Client is the S3 Control client; required unless DryRun (Validate
	// does not check it).
	Client Control
	// Store holds the manifests; nil: objio.
	Store Store
	// OnShard, when set, is called once per selected shard as it is
	// settled (job created, found in jobs.json, or planned in a dry run),
	// never concurrently.
	OnShard func(ShardJob)
}

// ShardJob is the outcome for one shard.
type ShardJob struct {
	manifest.RunJob
	State    string // "created", "existing" (in jobs.json already), "dry-run"
	Uploaded bool   // the shard was uploaded by this run
}

// SubmitResult sums up a submit.
type SubmitResult struct {
	PlanID   string
	Shards   []ShardJob // the selected shards, in plan order; those not settled after an error are missing
	Created  int
	Existing int
	Uploaded int
}

var (
	accountRE      = regexp.MustCompile(`^\d{12}$`)
	roleARNRE      = regexp.MustCompile(`^arn:[^:]+:iam::\d{12}:role/.+$`)
	reportBucketRE = regexp.MustCompile(`^arn:([^:]+):s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])$`)
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Validate checks the options without any I/O; errors wrap ErrInvalid
// or ErrOperation and name the option.
func (o *SubmitOptions) Validate() error {
	switch {
	case o.Plan == "":
		return invalid("the plan directory is required")
	case !accountRE.MatchString(o.AccountID):
		return invalid("account id %q: expected 12 digits", o.AccountID)
	case len(o.RoleArn) > 2048 || !roleARNRE.MatchString(o.RoleArn):
		return invalid("role ARN %q: expected arn:aws:iam::123456789012:role/NAME", o.RoleArn)
	case !reportBucketRE.MatchString(o.ReportBucket):
		return invalid("report bucket %q: expected a bucket ARN such as arn:aws:s3:::my-reports", o.ReportBucket)
	case len(o.ReportPrefix) > 512:
		return invalid("report prefix: at most 512 characters, got %d", len(o.ReportPrefix))
	case o.ReportScope != "" && o.ReportScope != types.JobReportScopeAllTasks && o.ReportScope != types.JobReportScopeFailedTasksOnly:
		return invalid("report scope %q: expected AllTasks or FailedTasksOnly", o.ReportScope)
	case o.Priority < 0:
		return invalid("priority %d: expected 0 to %d", o.Priority, math.MaxInt32)
	case o.Concurrency < 0 || o.Concurrency > 1000:
		return invalid("concurrency %d: expected 1 to 1000", o.Concurrency)
	}
	if o.ManifestPrefix != "" {
		if _, _, err := objio.ParseS3(o.ManifestPrefix); err != nil {
			return invalid("manifest bucket %q: expected s3://bucket[/prefix]", o.ManifestPrefix)
		}
	}
	return ValidateOperation(o.Operation)
}

// PlanID is the id of a plan: the first 16 hex digits of the SHA-256 of
// its plan.json.
func PlanID(planJSON []byte) string {
	s := sha256.Sum256(planJSON)
	return hex.EncodeToString(s[:8])
}

// target is one shard to settle.
type target struct {
	index    int // in plan.Shards
	shard    manifest.Shard
	manifest string // s3:// location of the shard as a job reads it
	token    string
}

// Submit creates one job per selected shard of the plan that jobs.json
// does not already record, uploading shards of a local plan first. Each
// job is added to DIR/jobs.json (rewritten atomically) as soon as it
// exists; after an error or a cancellation the jobs created so far are
// recorded, and a rerun with the same options creates only the others.
// Every check (options, operation, plan, jobs.json, routes) runs before
// the first call.
//
// Idempotency: the ClientRequestToken of a shard's job is derived from
// the plan id, the account, the shard (path and MD5), its manifest
// location, the operation, the role and the report settings, so a job
// created but not yet recorded when the run stopped is returned again by
// CreateJob instead of being duplicated. Changing any of these for a shard
// that already has a job is refused (ErrConflict). Priority and Confirm
// are not part of it: they can be changed on a job later.
func Submit(ctx context.Context, o SubmitOptions) (*SubmitResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Client == nil && !o.DryRun {
		return nil, invalid("no S3 Control client")
	}
	if o.Store == nil {
		o.Store = objioStore{}
	}
	conc := o.Concurrency
	if conc == 0 {
		conc = DefaultConcurrency
	}
	if o.ReportScope == "" {
		o.ReportScope = types.JobReportScopeAllTasks
	}
	plan, err := manifest.ReadPlan(ctx, o.Plan)
	if err != nil {
		return nil, err
	}
	raw, err := objio.ReadAll(ctx, objio.Join(o.Plan, manifest.PlanFile))
	if err != nil {
		return nil, err
	}
	planID := PlanID(raw)
	local := !objio.IsS3(o.Plan)
	switch {
	case local && o.ManifestPrefix == "":
		return nil, invalid("the plan %s is local: its shards must be uploaded; give the manifest bucket (s3://bucket[/prefix])", o.Plan)
	case !local && o.ManifestPrefix != "":
		return nil, invalid("the plan %s is in S3: its shards are used where they are; leave out the manifest bucket", o.Plan)
	}
	shards, err := selectRoutes(plan, o.Routes)
	if err != nil {
		return nil, err
	}
	opJSON, err := json.Marshal(o.Operation)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOperation, err)
	}
	m := reportBucketRE.FindStringSubmatch(o.ReportBucket)
	partition, reportBucket := m[1], m[2]
	reportLoc := "s3://" + reportBucket
	if p := strings.Trim(o.ReportPrefix, "/"); p != "" {
		reportLoc += "/" + p
	}

	prev, err := manifest.ReadRunIfAny(ctx, o.Plan)
	if err != nil {
		return nil, err
	}
	run := &manifest.Run{Version: manifest.JobsVersion, PlanID: planID, AccountID: o.AccountID}
	if prev != nil {
		switch {
		case prev.PlanID != planID:
			return nil, fmt.Errorf("%w: %s belongs to plan %s, but plan.json is now plan %s (it was rewritten after the submit); submit the new plan from another directory, or remove jobs.json to start over",
				ErrConflict, objio.Join(o.Plan, manifest.JobsFile), prev.PlanID, planID)
		case prev.AccountID != o.AccountID:
			return nil, fmt.Errorf("%w: %s records jobs of account %s, not %s", ErrConflict, objio.Join(o.Plan, manifest.JobsFile), prev.AccountID, o.AccountID)
		}
		run = prev
	}
	existing := map[string]manifest.RunJob{}
	for _, e := range run.Jobs {
		existing[e.Shard] = e
	}
	var todo []target
	var res SubmitResult
	res.PlanID = planID
	var settled []ShardJob
	for _, i := range shards {
		sh := plan.Shards[i]
		if sh.MD5 == "" || sh.ManifestBytes <= 0 {
			return nil, fmt.Errorf("%s: shard %s has no md5 or size in plan.json", o.Plan, sh.Path)
		}
		if sh.ManifestBytes > 5<<30 {
			return nil, fmt.Errorf("%s: shard %s is %d bytes, over the 5 GiB a single PUT can upload; re-plan with --max-manifest-bytes", o.Plan, sh.Path, sh.ManifestBytes)
		}
		t := target{index: i, shard: sh}
		if local {
			t.manifest = objio.Join(objio.Join(o.ManifestPrefix, planID), sh.Path)
		} else {
			t.manifest = objio.Join(o.Plan, sh.Path)
		}
		t.token = requestToken(planID, o, sh, t.manifest, opJSON, reportLoc)
		if e, ok := existing[sh.Path]; ok {
			if e.Token != t.token {
				return nil, fmt.Errorf("%w: jobs.json records job %s for shard %s, created with other settings (operation, role, report, account or manifest location); to run the plan again with these, copy the plan directory without jobs.json",
					ErrConflict, e.JobID, sh.Path)
			}
			settled = append(settled, ShardJob{RunJob: e, State: "existing"})
			continue
		}
		todo = append(todo, t)
	}
	report := func(sj ShardJob) {
		if o.OnShard != nil {
			o.OnShard(sj)
		}
	}
	for _, sj := range settled {
		res.Existing++
		res.Shards = append(res.Shards, sj)
		report(sj)
	}
	entryFor := func(t target) manifest.RunJob {
		return manifest.RunJob{Shard: t.shard.Path, Route: t.shard.Route, Token: t.token, ReportPrefix: reportLoc,
			Manifest: t.manifest, ETag: t.shard.MD5, Operation: OperationName(o.Operation), Objects: t.shard.Objects}
	}
	if o.DryRun {
		for _, t := range todo {
			sj := ShardJob{RunJob: entryFor(t), State: "dry-run"}
			res.Shards = append(res.Shards, sj)
			report(sj)
		}
		sortShardJobs(res.Shards, plan)
		return &res, nil
	}
	if len(todo) == 0 {
		sortShardJobs(res.Shards, plan)
		return &res, nil
	}

	if reg, ok := o.Client.(interface{ Options() s3control.Options }); ok && run.Region == "" {
		run.Region = reg.Options().Region
	}
	rec := newRecorder(ctx, o.Plan, run, plan)
	var mu sync.Mutex // guards res and OnShard
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for _, t := range todo {
		g.Go(func() error {
			etag, uploaded, err := ensureManifest(gctx, o, local, t)
			if err != nil {
				return err
			}
			in := createInput(o, planID, partition, reportBucket, t, etag)
			out, err := o.Client.CreateJob(gctx, in)
			if err != nil {
				return fmt.Errorf("creating the job of shard %s: %w", t.shard.Path, err)
			}
			e := entryFor(t)
			e.ETag, e.JobID, e.Status, e.CreatedAt = etag, aws.ToString(out.JobId), string(types.JobStatusNew), time.Now().UTC().Truncate(time.Second)
			if e.JobID == "" {
				return fmt.Errorf("creating the job of shard %s: CreateJob returned no job id", t.shard.Path)
			}
			rec.add(e)
			mu.Lock()
			defer mu.Unlock()
			sj := ShardJob{RunJob: e, State: "created", Uploaded: uploaded}
			res.Created++
			if uploaded {
				res.Uploaded++
			}
			res.Shards = append(res.Shards, sj)
			report(sj)
			return nil
		})
	}
	err = g.Wait()
	// Record what exists, also after an error or Ctrl-C.
	if serr := rec.close(); serr != nil {
		err = errors.Join(err, serr)
	}
	sortShardJobs(res.Shards, plan)
	return &res, err
}

// selectRoutes returns the indexes of the plan's shards in routes (all
// when empty); an unknown route is an error naming the plan's routes.
func selectRoutes(plan *manifest.Plan, routes []string) ([]int, error) {
	have := map[string]bool{}
	var names []string
	for _, r := range plan.Routes {
		have[r.Route] = true
		names = append(names, r.Route)
	}
	want := map[string]bool{}
	for _, r := range routes {
		if !have[r] {
			return nil, invalid("route %q is not in the plan, whose routes are: %s", r, strings.Join(names, ", "))
		}
		want[r] = true
	}
	var out []int
	for i, sh := range plan.Shards {
		if len(routes) == 0 || want[sh.Route] {
			out = append(out, i)
		}
	}
	return out, nil
}

func sortShardJobs(s []ShardJob, plan *manifest.Plan) {
	idx := make(map[string]int, len(plan.Shards))
	for i, sh := range plan.Shards {
		idx[sh.Path] = i
	}
	sort.SliceStable(s, func(a, b int) bool { return idx[s[a].Shard] < idx[s[b].Shard] })
}

// requestToken derives a shard's ClientRequestToken (≤ 64 characters):
// "s3bk-" and 48 hex digits of a SHA-256 over everything that defines the
// job, so that the same shard submitted with the same settings always
// gets the same token, and anything else another.
func requestToken(planID string, o SubmitOptions, sh manifest.Shard, manifestLoc string, opJSON []byte, reportLoc string) string {
	h := sha256.New()
	for _, s := range []string{"s3batchkit-token-v1", planID, o.AccountID, sh.Path, strings.ToLower(sh.MD5), manifestLoc,
		string(opJSON), o.RoleArn, o.ReportBucket, reportLoc, string(o.ReportScope)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "s3bk-" + hex.EncodeToString(h.Sum(nil))[:48]
}

// ensureManifest makes sure the shard's object exists with the plan's MD5
// as its ETag, uploading it from a local plan when missing or different.
func ensureManifest(ctx context.Context, o SubmitOptions, local bool, t target) (etag string, uploaded bool, err error) {
	want := strings.ToLower(t.shard.MD5)
	info, err := o.Store.Stat(ctx, t.manifest)
	switch {
	case err == nil && strings.EqualFold(info.ETag, want):
		return want, false, nil
	case err != nil && !errors.Is(err, objio.ErrNotFound):
		return "", false, fmt.Errorf("checking the manifest of shard %s: %w", t.shard.Path, err)
	case !local && err != nil:
		return "", false, fmt.Errorf("shard %s: %s: %w", t.shard.Path, t.manifest, err)
	case !local:
		return "", false, fmt.Errorf("shard %s: %w: %s has ETag %s, plan.json says MD5 %s (the object was changed after planning, or is encrypted with SSE-KMS, which Batch Operations cannot read for CSV manifests)",
			t.shard.Path, ErrETagMismatch, t.manifest, info.ETag, want)
	}
	src := objio.Join(o.Plan, t.shard.Path)
	f, err := objio.Open(ctx, src)
	if err != nil {
		return "", false, fmt.Errorf("shard %s: %w", t.shard.Path, err)
	}
	defer f.Close()
	if f.Size() != t.shard.ManifestBytes {
		return "", false, fmt.Errorf("shard %s: %w: %s is %d bytes, plan.json says %d (changed after planning?)", t.shard.Path, ErrETagMismatch, src, f.Size(), t.shard.ManifestBytes)
	}
	up, err := o.Store.Upload(ctx, t.manifest, f, f.Size(), objio.UploadOptions{MD5: want, SinglePart: true, ContentType: "text/csv"})
	if err != nil {
		return "", false, fmt.Errorf("uploading shard %s to %s (a BadDigest error means the file no longer has the MD5 of plan.json): %w", t.shard.Path, t.manifest, err)
	}
	if !strings.EqualFold(up.ETag, want) {
		return "", false, fmt.Errorf("shard %s: %w: uploaded %s has ETag %s, plan.json says MD5 %s (is the bucket's default encryption SSE-KMS? Batch Operations cannot read SSE-KMS CSV manifests)",
			t.shard.Path, ErrETagMismatch, t.manifest, up.ETag, want)
	}
	return want, true, nil
}

func createInput(o SubmitOptions, planID, partition, reportBucket string, t target, etag string) *s3control.CreateJobInput {
	bucket, key, _ := objio.ParseS3(t.manifest)
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}
	if t.shard.VersionIDs {
		fields = append(fields, types.JobManifestFieldNameVersionId)
	}
	op := o.Operation
	report := &types.JobReport{
		Enabled:     true,
		Bucket:      aws.String(o.ReportBucket),
		Format:      types.JobReportFormatReportCsv20180820,
		ReportScope: o.ReportScope,
	}
	if p := strings.Trim(o.ReportPrefix, "/"); p != "" {
		report.Prefix = aws.String(p)
	}
	desc := "s3batchkit " + planID + " " + t.shard.Path
	if len(desc) > 256 {
		desc = desc[:256]
	}
	return &s3control.CreateJobInput{
		AccountId:            aws.String(o.AccountID),
		ClientRequestToken:   aws.String(t.token),
		ConfirmationRequired: aws.Bool(o.Confirm),
		Description:          aws.String(desc),
		Priority:             aws.Int32(o.Priority),
		RoleArn:              aws.String(o.RoleArn),
		Operation:            &op,
		Report:               report,
		Manifest: &types.JobManifest{
			Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: fields},
			Location: &types.JobManifestLocation{
				ObjectArn: aws.String("arn:" + partition + ":s3:::" + bucket + "/" + key),
				ETag:      aws.String(etag),
			},
		},
		Tags: []types.S3Tag{
			{Key: aws.String(TagPlan), Value: aws.String(planID)},
			{Key: aws.String(TagShard), Value: aws.String(t.shard.Path)},
			{Key: aws.String(TagRoute), Value: aws.String(t.shard.Route)},
		},
	}
}

// recorder rewrites jobs.json as jobs are added. Writes are coalesced: one
// goroutine writes the whole file whenever something was added since its
// last write, so a burst of jobs costs a few writes, not one each. A
// failed write is retried by the next one; close writes last and reports
// that write's error.
// Channels: wake (buffer 1) is signaled by add and closed by close; the
// writer goroutine closes done when it has drained.
type recorder struct {
	ctx   context.Context
	dir   string
	plan  *manifest.Plan
	mu    sync.Mutex
	run   *manifest.Run
	added int
	wake  chan struct{}
	done  chan struct{}
}

func newRecorder(ctx context.Context, dir string, run *manifest.Run, plan *manifest.Plan) *recorder {
	r := &recorder{ctx: context.WithoutCancel(ctx), dir: dir, run: run, plan: plan, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for range r.wake {
			_ = r.write() // retried by the next write, and by close
		}
	}()
	return r
}

func (r *recorder) add(e manifest.RunJob) {
	r.mu.Lock()
	r.run.Jobs = append(r.run.Jobs, e)
	r.added++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *recorder) write() error {
	r.mu.Lock()
	idx := make(map[string]int, len(r.plan.Shards))
	for i, sh := range r.plan.Shards {
		idx[sh.Path] = i
	}
	sort.SliceStable(r.run.Jobs, func(a, b int) bool { return idx[r.run.Jobs[a].Shard] < idx[r.run.Jobs[b].Shard] })
	data, err := r.run.Marshal()
	r.mu.Unlock()
	if err == nil {
		err = objio.WriteFileAtomic(r.ctx, objio.Join(r.dir, manifest.JobsFile), data)
	}
	if err != nil {
		return fmt.Errorf("recording jobs in %s: %w", objio.Join(r.dir, manifest.JobsFile), err)
	}
	return nil
}

// close waits for pending writes and writes the final state, if any job
// was added.
func (r *recorder) close() error {
	close(r.wake)
	<-r.done
	r.mu.Lock()
	added := r.added
	r.mu.Unlock()
	if added == 0 {
		return nil
	}
	return r.write()
}
