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
// in; an objio.Client (the default, SubmitOptions.IO) implements it.
type Store interface {
	Stat(ctx context.Context, loc string) (objio.ObjectInfo, error)
	Upload(ctx context.Context, loc string, r io.ReaderAt, size int64, o objio.UploadOptions) (objio.ObjectInfo, error)
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
	// Routes selects the plan's routes to submit; each must be one the
	// operation serves (ServesRoute), else Submit refuses (ErrInvalid).
	// Empty: every route of the plan the operation serves; the others are
	// listed in SubmitResult.Skipped.
	Routes []string
	// ManifestPrefix (s3://bucket[/prefix]) receives the shards, at
	// <prefix>/<plan id>/<shard path>: required for a local plan. Empty
	// for a plan in S3: its shards are used where they are.
	ManifestPrefix string
	// ControlEndpoint is recorded in jobs.json (manifest.Run
	// ControlEndpoint) for status, jobs and report: the fixed endpoint
	// URL Client calls, manifest.EndpointRun, or "" for AWS's.
	ControlEndpoint string
	// Wait makes Submit wait for the noncurrent-version jobs of a route
	// to end, then create its current-version jobs (see Submit). Without
	// it those shards are returned in SubmitResult.Held.
	Wait bool
	// PollInterval is the time between DescribeJob rounds while Wait
	// waits. Zero: 30 s.
	PollInterval time.Duration
	// Recreate calls CreateJob for the shards jobs.json records too: the
	// same token returns the same job, and an engine whose state is newer
	// than jobs.json (run) gets it again.
	Recreate bool
	// Concurrency bounds shards in flight (upload + CreateJob). Zero:
	// DefaultConcurrency.
	Concurrency int
	// DryRun reads the plan and jobs.json and returns what would be
	// created, calling nothing and writing nothing.
	DryRun bool
	// Client is the S3 Control client; required unless DryRun (Validate
	// does not check it).
	Client Control
	// Store holds the manifests; nil: IO.
	Store Store
	// IO reads the plan and jobs.json, writes jobs.json and reads the
	// shards it uploads (nil: see objio).
	IO *objio.Client
	// OnShard, when set, is called once per selected shard as it is
	// settled (job created, found in jobs.json, or planned in a dry run),
	// never concurrently.
	OnShard func(ShardJob)
}

// ShardJob is the outcome for one shard.
type ShardJob struct {
	manifest.RunJob
	// State is "created", "existing" (in jobs.json already), "dry-run",
	// or "held" (current versions waiting for the noncurrent jobs of
	// their route: Detail says which).
	State    string
	Uploaded bool // the shard was uploaded by this run
	Detail   string
}

// RouteSkip is a route of the plan left out because the operation cannot
// serve it.
type RouteSkip struct {
	Route   string
	Shards  int
	Objects int64
	Reason  string
}

// SubmitResult sums up a submit.
type SubmitResult struct {
	PlanID   string
	Shards   []ShardJob // the selected shards, in plan order; those not settled after an error are missing
	Created  int
	Existing int
	Uploaded int
	// Skipped lists the routes left out (no SubmitOptions.Routes) because
	// the operation cannot serve them.
	Skipped []RouteSkip
	// Held lists the current-version shards not submitted because the
	// noncurrent jobs of their route have not all completed (also in
	// Shards, with State "held").
	Held []ShardJob
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
	shard    manifest.Shard
	manifest string // s3:// location of the shard as a job reads it
	token    string
	recorded *manifest.RunJob // its entry in jobs.json, if any
}

// resolver is implemented by stores whose s3:// locations are read and
// written elsewhere (the local engine's in-process client): jobs.json
// records where the manifests and reports really are.
type resolver interface{ Resolve(loc string) string }

// Submit creates one job per selected shard of the plan that jobs.json
// does not already record, uploading shards of a local plan first. Each
// job is added to DIR/jobs.json (rewritten atomically) as soon as it
// exists; after an error or a cancellation the jobs created so far are
// recorded, and a rerun with the same options creates only the others.
// Every check (options, operation, plan, jobs.json, routes) runs before
// the first call.
//
// Routes: without o.Routes, the routes of the plan the operation serves
// (ServesRoute) are submitted and the others are listed in
// SubmitResult.Skipped; an o.Routes the operation cannot serve is refused.
//
// Versions: Batch Operations runs a job's tasks in no particular order,
// so the plan puts noncurrent and current versions in shards of their own
// (manifest.Shard.Versions), and for an operation that copies
// (OrdersVersions) Submit creates the current-version jobs of a route
// only once every noncurrent-version job of that route is Complete, as DescribeJob says (recorded in jobs.json). Until then they
// are held back (SubmitResult.Held); o.Wait waits for them. Should a
// noncurrent job end Failed or Cancelled, the current versions are not
// submitted and Submit returns ErrNoncurrentIncomplete.
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
		o.Store = o.IO
	}
	if o.ReportScope == "" {
		o.ReportScope = types.JobReportScopeAllTasks
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	resolve := func(loc string) string { return loc }
	if r, ok := o.Store.(resolver); ok {
		resolve = r.Resolve
	}
	plan, err := manifest.ReadPlan(ctx, o.IO, o.Plan)
	if err != nil {
		return nil, err
	}
	raw, err := o.IO.ReadAll(ctx, objio.Join(o.Plan, manifest.PlanFile))
	if err != nil {
		return nil, err
	}
	planID := PlanID(raw)
	if !objio.IsS3(o.Plan) && o.ManifestPrefix == "" {
		return nil, invalid("the plan %s is local: its shards must be uploaded; give the manifest bucket (s3://bucket[/prefix])", o.Plan)
	}
	var res SubmitResult
	res.PlanID = planID
	shards, skipped, err := SelectShards(plan, o.Operation, o.Routes)
	if err != nil {
		return nil, err
	}
	res.Skipped = skipped
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
	reportLoc = resolve(reportLoc)

	prev, err := manifest.ReadRunIfAny(ctx, o.IO, o.Plan)
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
			return nil, fmt.Errorf("%w: %s records jobs of account %s, not %s (a plan directory records one run: copy it without jobs.json to run it elsewhere)",
				ErrConflict, objio.Join(o.Plan, manifest.JobsFile), prev.AccountID, o.AccountID)
		}
		run = prev
	}
	endpointChanged := o.ControlEndpoint != "" && run.ControlEndpoint != o.ControlEndpoint && len(run.Jobs) > 0
	if o.ControlEndpoint != "" {
		run.ControlEndpoint = o.ControlEndpoint
	}
	existing := map[string]*manifest.RunJob{}
	for i := range run.Jobs {
		existing[run.Jobs[i].Shard] = &run.Jobs[i]
	}
	var targets []target
	for _, sh := range shards {
		if sh.MD5 == "" || sh.ManifestBytes <= 0 {
			return nil, fmt.Errorf("%s: shard %s has no md5 or size in plan.json", o.Plan, sh.Path)
		}
		if sh.ManifestBytes > 5<<30 {
			return nil, fmt.Errorf("%s: shard %s is %d bytes: %w", o.Plan, sh.Path, sh.ManifestBytes, ErrShardTooLarge)
		}
		t := target{shard: sh}
		if o.ManifestPrefix != "" {
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
			t.recorded = e
		}
		targets = append(targets, t)
	}
	s := &submitter{o: o, ctx: ctx, res: &res, plan: plan, planID: planID, partition: partition, reportBucket: reportBucket,
		reportLoc: reportLoc, resolve: resolve, dirty: endpointChanged}
	return s.submit(run, targets)
}

// submitter carries one Submit.
type submitter struct {
	o                       SubmitOptions
	ctx                     context.Context
	res                     *SubmitResult
	plan                    *manifest.Plan
	planID                  string
	partition, reportBucket string
	reportLoc               string
	resolve                 func(string) string
	rec                     *recorder
	dirty                   bool       // jobs.json must be written even if no job is added
	mu                      sync.Mutex // guards res and OnShard
}

func (s *submitter) report(sj ShardJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch sj.State {
	case "created":
		s.res.Created++
		if sj.Uploaded {
			s.res.Uploaded++
		}
	case "existing":
		s.res.Existing++
	case "held":
		s.res.Held = append(s.res.Held, sj)
	}
	s.res.Shards = append(s.res.Shards, sj)
	if s.o.OnShard != nil {
		s.o.OnShard(sj)
	}
}

func (s *submitter) entryFor(t target) manifest.RunJob {
	return manifest.RunJob{Shard: t.shard.Path, Route: t.shard.Route, Token: t.token, ReportPrefix: s.reportLoc,
		Manifest: s.resolve(t.manifest), ETag: t.shard.MD5, Operation: OperationName(s.o.Operation), Objects: t.shard.Objects,
		Versions: t.shard.Versions}
}

func (s *submitter) submit(run *manifest.Run, targets []target) (*SubmitResult, error) {
	o := s.o
	held := heldRoutes(o.Operation, targets)
	isHeld := map[string]bool{}
	for _, ts := range held {
		for _, t := range ts {
			isHeld[t.shard.Path] = true
		}
	}
	var todo []target
	for _, t := range targets {
		switch {
		case isHeld[t.shard.Path]:
		case t.recorded != nil && !o.Recreate:
			s.report(ShardJob{RunJob: *t.recorded, State: "existing"})
		default:
			todo = append(todo, t)
		}
	}
	if o.DryRun {
		for _, t := range todo {
			if t.recorded != nil {
				s.report(ShardJob{RunJob: *t.recorded, State: "existing"})
				continue
			}
			s.report(ShardJob{RunJob: s.entryFor(t), State: "dry-run"})
		}
		for _, route := range sortedKeys(held) {
			for _, t := range held[route] {
				s.report(ShardJob{RunJob: s.entryFor(t), State: "dry-run",
					Detail: "current versions: created once the noncurrent-version jobs of route " + route + " are Complete"})
			}
		}
		sortShardJobs(s.res.Shards, s.plan)
		return s.res, nil
	}
	if run.Region == "" {
		switch c := o.Client.(type) {
		case interface{ Options() s3control.Options }:
			run.Region = c.Options().Region
		case interface{ Region() string }:
			run.Region = c.Region()
		}
	}
	s.rec = newRecorder(s.ctx, o.IO, o.Plan, run, s.plan)
	if s.dirty {
		s.rec.touch()
	}
	err := s.create(todo)
	if err == nil {
		err = s.release(held)
	}
	// Record what exists, also after an error or Ctrl-C.
	if serr := s.rec.close(); serr != nil {
		err = errors.Join(err, serr)
	}
	sortShardJobs(s.res.Shards, s.plan)
	return s.res, err
}

// create settles targets: uploads their manifests and creates their jobs,
// at most Concurrency at once.
func (s *submitter) create(todo []target) error {
	o := s.o
	conc := o.Concurrency
	if conc == 0 {
		conc = DefaultConcurrency
	}
	g, gctx := errgroup.WithContext(s.ctx)
	g.SetLimit(conc)
	for _, t := range todo {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				// Interrupted, or another shard failed: start nothing
				// more (a store or client may not look at the context).
				return err
			}
			etag, uploaded, err := ensureManifest(gctx, o, t)
			if err != nil {
				return err
			}
			in := createInput(o, s.planID, s.partition, t, etag)
			out, err := o.Client.CreateJob(gctx, in)
			if err != nil {
				return fmt.Errorf("creating the job of shard %s: %w", t.shard.Path, err)
			}
			id := aws.ToString(out.JobId)
			if id == "" {
				return fmt.Errorf("creating the job of shard %s: CreateJob returned no job id", t.shard.Path)
			}
			if t.recorded != nil && t.recorded.JobID == id {
				s.report(ShardJob{RunJob: *t.recorded, State: "existing"})
				return nil
			}
			e := s.entryFor(t)
			e.ETag, e.JobID, e.Status, e.CreatedAt = etag, id, string(types.JobStatusNew), time.Now().UTC().Truncate(time.Second)
			s.rec.add(e)
			s.report(ShardJob{RunJob: e, State: "created", Uploaded: uploaded})
			return nil
		})
	}
	return g.Wait()
}

// SelectShards returns the shards of plan to submit with op: those of
// routes, each of which op must serve, or, without routes, those of every
// route op serves, with the others in skipped. Errors wrap ErrInvalid.
func SelectShards(plan *manifest.Plan, op types.JobOperation, routes []string) (shards []manifest.Shard, skipped []RouteSkip, err error) {
	if len(routes) > 0 {
		shards, err = plan.ShardsOf(routes...)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, r := range routes {
			if err := ServesRoute(op, r); err != nil {
				return nil, nil, err
			}
		}
		return shards, nil, nil
	}
	var want, why []string
	for _, r := range plan.Routes {
		if err := ServesRoute(op, r.Route); err != nil {
			var re *RouteError
			errors.As(err, &re)
			skipped = append(skipped, RouteSkip{Route: r.Route, Shards: r.Shards, Objects: r.Objects, Reason: re.Reason})
			why = append(why, r.Route+": "+re.Reason)
			continue
		}
		want = append(want, r.Route)
	}
	if len(want) == 0 {
		return nil, skipped, invalid("%s serves no route of the plan (%s)", OperationName(op), strings.Join(why, "; "))
	}
	shards, err = plan.ShardsOf(want...)
	return shards, skipped, err
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
func ensureManifest(ctx context.Context, o SubmitOptions, t target) (etag string, uploaded bool, err error) {
	want := strings.ToLower(t.shard.MD5)
	local := o.ManifestPrefix != "" // the shard is copied from the plan
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
	f, err := o.IO.Open(ctx, src)
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

func createInput(o SubmitOptions, planID, partition string, t target, etag string) *s3control.CreateJobInput {
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
