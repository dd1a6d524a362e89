package report

// report --plan: every planned object gets exactly one outcome —
// succeeded, failed (retryable, permanent, unknown) or not run — from the
// plan's shards, its jobs.json and each job's completion report.
//
// A planned line and the report rows of its shard's jobs are joined on the
// raw manifest fields (bucket, key and version id exactly as the shard
// wrote them, which is how reports echo them), through one external sort
// by (shard, object): planned lines and report rows are records of the
// same sort, so that millions of lines and rows in any task order meet in
// bounded memory. The object's outcome is its latest definite one over
// the jobs of its shard, newest first: a row (a success beats a failure in
// the same job), or what a job's report leaves out meaning success (a
// Complete job reports every failure: FailedTasksOnly lists nothing else,
// AllTasks lists its successes too); a Failed or Cancelled job, a job not
// finished or of unknown status, or no job at all leaves the object not
// run. Re-run plans copy the planned lines' bytes.

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// Job statuses, as S3 Control and jobs.json spell them (docs/formats.md#job-statuses).
const (
	StatusComplete  = "Complete"
	StatusFailed    = "Failed"
	StatusCancelled = "Cancelled"
)

// TerminalStatus tells whether a job status is final.
func TerminalStatus(s string) bool {
	return s == StatusComplete || s == StatusFailed || s == StatusCancelled
}

// Why a planned object did not run (PlanSummary.NotRunByReason).
const (
	NotRunJobFailed        = "job_failed"        // its job Failed (the failure threshold, or a job failure) before running it
	NotRunJobCancelled     = "job_cancelled"     // its job was Cancelled before running it
	NotRunJobNotFinished   = "job_not_finished"  // its job has not ended (Active, Suspended, ...)
	NotRunStatusUnknown    = "status_unknown"    // its job's final status is unknown
	NotRunNoJob            = "no_job"            // jobs.json lists no job for its shard: never started
	NotRunNoReport         = "no_report"         // its job is Complete but wrote no report
	NotRunReportIncomplete = "report_incomplete" // its job's report could not be read whole (--keep-going)
	NotRunShardUnreadable  = "shard_unreadable"  // its shard could not be read (--keep-going)
)

// DefaultJoinMemory is the memory budget of report --plan's join (an
// external sort that spills sorted runs past it), when
// MergeOptions.SortMemory is not set: the join holds every planned line
// once, so it gets more room than the merger's other sorts.
const DefaultJoinMemory = 32 << 20

// NotRunClass names the re-run plan of the objects that never ran:
// DIR2/rerun/not-run/.
const NotRunClass = "not-run"

// DropBadLine: a shard line that does not parse (--keep-going) is counted
// as a permanent failure and written to no re-run plan.
const DropBadLine = "bad_manifest_line"

// Outcome bytes of join records and of decide: a failure class (Unknown,
// Retryable, Permanent), outSucceeded, or outNotRun.
const (
	outSucceeded = byte(Success)
	outNotRun    = byte(0xFF)
)

// PlanSummary accounts for every object of the plan: Planned = Succeeded
// + Failed + NotRun, in total and for each shard (ByJob).
type PlanSummary struct {
	Dir            string           `json:"dir"`
	Shards         int              `json:"shards"`
	Jobs           int              `json:"jobs"`
	Planned        int64            `json:"planned"`
	Succeeded      int64            `json:"succeeded"`
	Failed         int64            `json:"failed"`
	NotRun         int64            `json:"not_run"`
	FailedByClass  map[string]int64 `json:"failed_by_class"`
	NotRunByReason map[string]int64 `json:"not_run_by_reason"`
	// ByJob has one row per shard, with the job that ran it last.
	ByJob    []PlanJobSummary `json:"by_job"`
	Problems PlanProblems     `json:"problems"`
}

// PlanJobSummary accounts for the objects of one shard. JobID and Status
// are those of the newest job jobs.json lists for the shard ("" and
// "none" when it lists none); Jobs counts them.
type PlanJobSummary struct {
	Shard          string           `json:"shard"`
	Route          string           `json:"route"`
	JobID          string           `json:"job_id"`
	Jobs           int              `json:"jobs"`
	Status         string           `json:"status"`
	Report         bool             `json:"report"`
	Planned        int64            `json:"planned"`
	Succeeded      int64            `json:"succeeded"`
	Failed         int64            `json:"failed"`
	NotRun         int64            `json:"not_run"`
	FailedByClass  map[string]int64 `json:"failed_by_class"`
	NotRunByReason map[string]int64 `json:"not_run_by_reason,omitempty"`
}

// PlanProblems counts what did not fit: each comes with a warning that
// names the job and the shard.
type PlanProblems struct {
	// JobsWithoutReport: jobs.json entries whose report was not found.
	JobsWithoutReport int `json:"jobs_without_report"`
	// JobsNotInPlan: jobs.json entries naming a shard plan.json does not
	// list, and reports found with --prefix of jobs jobs.json does not
	// list; their rows give no planned object an outcome.
	JobsNotInPlan int `json:"jobs_not_in_plan"`
	// RowsNotInPlan: report rows matching no line of their job's shard.
	RowsNotInPlan int64 `json:"rows_not_in_plan"`
	// RowsOutsidePlan: report rows of jobs not in the plan.
	RowsOutsidePlan int64 `json:"rows_outside_plan"`
	// JobsNotEnded: jobs.json entries whose status is not final
	// (Complete, Failed, Cancelled) after any refresh: not ended, or
	// unknown.
	JobsNotEnded int `json:"jobs_not_ended"`
	// ShardsChanged: shards whose MD5 or line count differs from
	// plan.json; ShardsUnreadable: shards that could not be read.
	ShardsChanged    int `json:"shards_changed"`
	ShardsUnreadable int `json:"shards_unreadable"`
	// BadLines: shard lines that do not parse.
	BadLines int64 `json:"bad_lines"`
	// AbsentVersionIDs: planned lines whose version id decodes to "\N".
	AbsentVersionIDs int64 `json:"absent_version_ids"`
}

// planAccount is report --plan's state.
type planAccount struct {
	dir     string
	opt     Options
	plan    *manifest.Plan
	shards  []acctShard
	byPath  map[string]int
	entries []acctEntry
	join    *extsort.Sorter
	rec     []byte
	probs   PlanProblems
	warn    func(format string, a ...any)
	// routeRank orders the routes by name for the re-run plans.
	routes    []string
	routeRank map[string]uint16
}

type acctShard struct {
	info       manifest.Shard
	entries    []int // indexes into planAccount.entries, jobs.json order
	unreadable bool
	lines      int64 // lines read (bad ones included)
	badLines   int64
	sum        PlanJobSummary
	failed     [numClasses]int64
}

type acctEntry struct {
	rj         manifest.RunJob
	shard      int    // -1: not in the plan
	status     string // the final status: refreshed by the caller, else jobs.json's
	job        *Job   // nil: no report
	unreadable bool   // its report manifest could not be read (--keep-going)
	dup        bool   // the job id appears earlier in jobs.json
}

// openPlanAccount reads DIR/plan.json and DIR/jobs.json (a missing
// jobs.json means no job ran).
func openPlanAccount(ctx context.Context, o Options, spillDir string, warn func(string, ...any)) (*planAccount, error) {
	plan, err := manifest.ReadPlan(ctx, o.IO, o.Plan)
	if err != nil {
		return nil, err
	}
	a := &planAccount{dir: o.Plan, opt: o, plan: plan, byPath: map[string]int{}, warn: warn, routeRank: map[string]uint16{}}
	for i, sh := range plan.Shards {
		a.byPath[sh.Path] = i
		a.shards = append(a.shards, acctShard{info: sh, sum: PlanJobSummary{Shard: sh.Path, Route: sh.Route, Status: "none"}})
		if _, ok := a.routeRank[sh.Route]; !ok {
			a.routeRank[sh.Route] = 0
			a.routes = append(a.routes, sh.Route)
		}
	}
	sort.Strings(a.routes)
	for i, r := range a.routes {
		a.routeRank[r] = uint16(i)
	}
	run, err := manifest.ReadRun(ctx, o.IO, o.Plan)
	switch {
	case errors.Is(err, objio.ErrNotFound):
		warn("%s has no %s: no job of the plan is recorded, so none of its objects ran (submit or run the plan first)", o.Plan, manifest.JobsFile)
		run = &manifest.Run{}
	case err != nil:
		return nil, err
	}
	seen := map[string]bool{}
	for i, rj := range run.Jobs {
		e := acctEntry{rj: rj, shard: -1, status: rj.Status}
		if st, ok := o.Statuses[rj.JobID]; ok {
			e.status = st
		}
		if s, ok := a.byPath[rj.Shard]; ok {
			e.shard = s
		} else {
			a.probs.JobsNotInPlan++
			warn("%s: jobs[%d] names job %s of shard %s, which plan.json does not list: its report gives no planned object an outcome", manifest.JobsFile, i, rj.JobID, rj.Shard)
		}
		if seen[rj.JobID] {
			e.dup = true
			warn("%s: job %s (shard %s) is listed more than once; its later entries are ignored", manifest.JobsFile, rj.JobID, rj.Shard)
		}
		seen[rj.JobID] = true
		if !e.dup && !TerminalStatus(e.status) {
			a.probs.JobsNotEnded++
		}
		a.entries = append(a.entries, e)
		if e.shard >= 0 && !e.dup {
			a.shards[e.shard].entries = append(a.shards[e.shard].entries, i)
		}
	}
	mem := o.Merge.SortMemory
	if mem <= 0 {
		mem = DefaultJoinMemory
	}
	a.join = newSort(spillDir, mem, false) // equal keys: equal records
	return a, nil
}

// knownStatus tells whether s is a status S3 Control gives a job that has
// not ended.
func knownStatus(s string) bool {
	switch s {
	case "New", "Preparing", "Suspended", "Ready", "Active", "Pausing", "Paused", "Completing", "Cancelling", "Failing":
		return true
	}
	return false
}

// findJobs opens the report of every jobs.json entry, then of the jobs
// found under prefixes that jobs.json does not list. A missing report is
// no error (a job that ran no task writes none): its objects count as not
// run. skip decides on other errors (see FindJobs).
func (a *planAccount) findJobs(ctx context.Context, prefixes []string, skip func(error) error) ([]*Job, error) {
	var jobs []*Job
	listed := map[string]bool{}
	for i := range a.entries {
		e := &a.entries[i]
		listed[e.rj.JobID] = true
		if e.dup {
			continue
		}
		j, err := openJob(ctx, a.opt.IO, reportManifestLoc(e.rj.ReportPrefix, e.rj.JobID), e.rj.JobID)
		if errors.Is(err, ErrNoReports) && objio.IsS3(e.rj.ReportPrefix) && strings.HasSuffix(e.rj.ReportPrefix, "/") {
			// S3 writes <prefix>//job-<id>/ for a prefix ending in '/'.
			j, err = openJob(ctx, a.opt.IO, strings.TrimSuffix(e.rj.ReportPrefix, "/")+"//job-"+e.rj.JobID+"/manifest.json", e.rj.JobID)
		}
		switch {
		case errors.Is(err, ErrNoReports):
			a.probs.JobsWithoutReport++
			a.warn("job %s (shard %s, status %s) has no report under %s: %s", e.rj.JobID, e.rj.Shard, statusText(e.status), e.rj.ReportPrefix, noReportMeaning(e.status))
			continue
		case err != nil:
			if err := skip(err); err != nil {
				return nil, err
			}
			e.unreadable = true
			continue
		}
		j.Route, j.Shard, j.entry = e.rj.Route, e.rj.Shard, i
		e.job = j
		jobs = append(jobs, j)
	}
	n := len(jobs)
	for _, p := range prefixes {
		locs, ids, err := findManifests(ctx, a.opt.IO, p)
		if err != nil {
			if err = skip(err); err != nil {
				return nil, err
			}
			continue
		}
		for k := range locs {
			if listed[ids[k]] {
				continue
			}
			listed[ids[k]] = true
			j, err := openJob(ctx, a.opt.IO, locs[k], ids[k])
			if err != nil {
				if err = skip(err); err != nil {
					return nil, err
				}
				continue
			}
			a.probs.JobsNotInPlan++
			a.warn("the report of job %s (%s) is not in the plan's %s: its tasks are counted, but give no planned object an outcome", j.ID, j.Manifest, manifest.JobsFile)
			jobs = append(jobs, j)
		}
	}
	sortJobs(jobs[n:])
	for i, j := range jobs {
		j.Order = i
	}
	return jobs, nil
}

func reportManifestLoc(prefix, id string) string {
	return objio.Join(objio.Join(prefix, "job-"+id), "manifest.json")
}

func statusText(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func noReportMeaning(status string) string {
	switch status {
	case StatusFailed, StatusCancelled:
		return "it ran no task (or its report was lost); its objects count as not run"
	case StatusComplete:
		return "the outcome of its tasks is unknown (was the report disabled, or deleted?); its objects count as not run"
	}
	return "it has not ended, or its status is unknown; its objects count as not run"
}

// result adds a report row to the join; out is its outcome byte. Rows of
// jobs outside the plan are only counted. A success of a Complete job is
// left out: what such a report does not list succeeded anyway.
func (a *planAccount) result(j *Job, o *rowOff, buf []byte, out byte) error {
	if j.entry < 0 || a.entries[j.entry].shard < 0 {
		a.probs.RowsOutsidePlan++
		return nil
	}
	e := &a.entries[j.entry]
	if out == outSucceeded && e.status == StatusComplete {
		return nil
	}
	b := appendJoinHead(a.rec[:0], e.shard, o.hash, buf[o.off[0]:o.ends[0]], buf[o.off[1]:o.ends[1]], buf[o.off[2]:o.ends[2]])
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(j.entry))
	b = append(b, out)
	a.rec = b
	return a.join.Add(b, nil)
}

// Join records: shard (4 bytes, big-endian), object hash (8), identity
// length L (4), identity (bucket, key and version id, each after its
// 4-byte length), kind (0 planned line, 1 report row), then for a planned
// line its number (8), flags (1: absentVersionFlag), the decoded key's
// length (4) and bytes, and the line; for a report row the jobs.json
// entry (4) and the outcome byte. The sort's key is the record up to the
// line number, or the whole report row (joinSortKeyLen): records sort by
// shard, object (hash, identity length, identity), kind (planned lines
// first), then line number or entry. Two records with equal keys are
// equal (a shard's line numbers differ), so the sort need not be stable.
const joinHead = 4 + 8 + 4

const absentVersionFlag = 1

func appendJoinHead(b []byte, shard int, h uint64, bucket, key, version []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(shard))
	b = binary.BigEndian.AppendUint64(b, h)
	b = binary.BigEndian.AppendUint32(b, uint32(12+len(bucket)+len(key)+len(version)))
	for _, f := range [][]byte{bucket, key, version} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// joinKeyLen is the length of a join record's head and identity.
func joinKeyLen(rec []byte) int { return joinHead + int(binary.BigEndian.Uint32(rec[12:])) }

// joinSortKeyLen is the length of a join record's sort key.
func joinSortKeyLen(rec []byte) int { return min(len(rec), joinKeyLen(rec)+1+8) }

// readShards reads every shard of the plan into the join, checking each
// against plan.json (MD5, line count) and every line with manifest.Reader.
func (a *planAccount) readShards(ctx context.Context, skip func(error) error) error {
	for i := range a.shards {
		if err := a.readShard(ctx, i, skip); err != nil {
			return err
		}
	}
	return nil
}

func (a *planAccount) readShard(ctx context.Context, i int, skip func(error) error) error {
	sh := &a.shards[i]
	loc := objio.Join(a.dir, sh.info.Path)
	jobs := a.shardJobs(i)
	f, err := a.opt.IO.Open(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			err = &DataError{Job: jobs, File: loc, Expected: "the shard plan.json lists", Err: ErrShardMissing}
		}
		if err = skip(err); err != nil {
			return err
		}
		sh.unreadable = true
		a.probs.ShardsUnreadable++
		return nil
	}
	defer f.Close()
	h := md5.New()
	r := manifest.NewReader(io.TeeReader(f, h), loc, manifest.DefaultFields(sh.info.VersionIDs))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *manifest.RowError
		if errors.As(err, &re) {
			sh.lines++
			sh.badLines++
			a.probs.BadLines++
			if err := skip(&DataError{Job: jobs, File: loc, Line: re.Line, Field: re.Field, Value: re.Value, Expected: "a manifest line (" + re.Error() + ")", Err: ErrShardLine}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("reading shard %s: %w", loc, err)
		}
		sh.lines++
		b := appendJoinHead(a.rec[:0], i, objectHash(l.Bucket, l.Key, l.VersionID), l.Bucket, l.Key, l.VersionID)
		var flags byte
		if manifest.IsAbsentVersion(l.DecodedVersionID) {
			flags |= absentVersionFlag
		}
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, uint64(l.Number))
		b = append(b, flags)
		b = binary.BigEndian.AppendUint32(b, uint32(len(l.DecodedKey)))
		b = append(b, l.DecodedKey...)
		b = append(b, l.Raw...)
		a.rec = b
		k := joinSortKeyLen(b)
		if err := a.join.Add(b[:k], b[k:]); err != nil {
			return err
		}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != strings.ToLower(sh.info.MD5) || sh.lines != sh.info.Objects {
		err := &DataError{Job: jobs, File: loc, Value: fmt.Sprintf("MD5 %s, %d lines", sum, sh.lines),
			Expected: fmt.Sprintf("MD5 %s and %d lines as plan.json says (the shard changed since it was planned; its job ran the shard it was given)", sh.info.MD5, sh.info.Objects), Err: ErrShardChanged}
		if err := skip(err); err != nil {
			return err
		}
		a.probs.ShardsChanged++
	}
	return nil
}

// shardJobs names the jobs of shard i, for errors.
func (a *planAccount) shardJobs(i int) string {
	var ids []string
	for _, e := range a.shards[i].entries {
		ids = append(ids, a.entries[e].rj.JobID)
	}
	if len(ids) == 0 {
		return "(none)"
	}
	return strings.Join(ids, ",")
}

// absent is the outcome, in the job of entry ei, of a planned object its
// report does not list, with the reason when it is not run.
func (a *planAccount) absent(ei int) (byte, string) {
	e := &a.entries[ei]
	switch {
	case e.unreadable || e.job != nil && e.job.incomplete:
		return outNotRun, NotRunReportIncomplete
	case e.job == nil && e.status == StatusComplete:
		return outNotRun, NotRunNoReport
	}
	switch {
	case e.status == StatusComplete:
		return outSucceeded, ""
	case e.status == StatusFailed:
		return outNotRun, NotRunJobFailed
	case e.status == StatusCancelled:
		return outNotRun, NotRunJobCancelled
	case knownStatus(e.status):
		return outNotRun, NotRunJobNotFinished
	}
	return outNotRun, NotRunStatusUnknown
}

// joinResult is a report row of an object, in the walk.
type joinResult struct {
	entry int
	out   byte
}

// decide returns the outcome of an object of shard s given its report
// rows: its latest definite outcome over the shard's jobs, newest first,
// or not run with the newest job's reason (NotRunNoJob without one).
func (a *planAccount) decide(s int, rows []joinResult) (byte, string) {
	ents := a.shards[s].entries
	reason := ""
	for i := len(ents) - 1; i >= 0; i-- {
		ei := ents[i]
		has, failed := false, outNotRun
		for _, r := range rows {
			if r.entry != ei {
				continue
			}
			if r.out == outSucceeded {
				return outSucceeded, ""
			}
			if !has {
				has, failed = true, r.out
			}
		}
		if has {
			return failed, ""
		}
		out, why := a.absent(ei)
		if out == outSucceeded {
			return outSucceeded, ""
		}
		if reason == "" {
			reason = why
		}
	}
	if reason == "" {
		reason = NotRunNoJob
	}
	return outNotRun, reason
}
