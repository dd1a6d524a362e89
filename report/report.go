package report

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/optname"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// SummaryFile is the name of the summary written in the output folder.
const SummaryFile = "summary.json"

// Options configure Run. Plan or Prefixes (or both) name the reports.
type Options struct {
	// Plan is a plan directory whose jobs.json lists the submitted jobs,
	// in submission order, with their report prefixes. With a plan, every
	// planned object gets one outcome (Summary.Plan) and rerun/not-run
	// holds the objects that never ran.
	Plan string
	// Prefixes are report prefixes (the JobReport Prefix: a folder holding
	// job-<id>/manifest.json), job-<id> folders, or manifest.json
	// locations. Jobs found this way are ordered by ReportCreationDate,
	// then id, after the jobs of Plan.
	Prefixes []string
	// Out is the output folder (required): summary.json and rerun/.
	Out string
	// Merge configures the counting; see MergeOptions for defaults.
	Merge MergeOptions
	// Workers bounds the result files read at once; zero means GOMAXPROCS.
	Workers int
	// BatchRows is the rows per batch; zero means DefaultBatchRows.
	BatchRows int
	// KeepGoing turns a bad or missing result file or report manifest into
	// a warning in the summary instead of an error. Rows read from a file
	// before its error was found stay counted; the warning says how many.
	KeepGoing bool
	// PlusAsSpace decodes '+' in keys as a space; see ReaderOptions. It
	// changes how keys are shown (prefixes), never the re-run lines,
	// which are the bytes the manifests wrote.
	PlusAsSpace bool
	// Statuses gives the final status of jobs by id (Complete, Failed,
	// Cancelled, or a status of a job not ended), overriding the status
	// jobs.json recorded; report --plan only. The caller refreshes it
	// (DescribeJob); the library takes statuses as given.
	Statuses map[string]string
	// Notes are warnings the caller adds to the summary, such as why job
	// statuses could not be refreshed.
	Notes []string
	// MaxShardObjects bounds the objects of a re-run shard; zero means
	// DefaultMaxShardObjects.
	MaxShardObjects int64
	// NoRerun skips writing rerun/.
	NoRerun bool
	// Progress, when not nil, is updated as rows are merged.
	Progress *Progress
	// OptionName names the options in the summary's notes (such as
	// "Plan") the way the caller's users set them; nil: the field names.
	// See internal/optname.
	OptionName func(option string) string
	// IO reads the plan and the reports and writes Out (nil: see objio).
	IO *objio.Client
}

// Progress counts work done; safe to read from another goroutine.
type Progress struct {
	Rows  atomic.Int64
	Files atomic.Int64
}

// Run reads every completion report named by o, merges them, writes
// o.Out/summary.json and o.Out/rerun/<class>/ and returns the summary.
// It returns a *DataError for bad input unless o.KeepGoing is set.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Out == "" {
		return nil, errors.New("report: Options.Out is required")
	}
	if o.Plan == "" && len(o.Prefixes) == 0 {
		return nil, errors.New("report: give a plan directory or report prefixes")
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxShardObjects <= 0 {
		o.MaxShardObjects = DefaultMaxShardObjects
	}
	if !objio.IsS3(o.Out) {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return nil, err
		}
	}
	warnings := append([]string(nil), o.Notes...)
	warn := func(format string, a ...any) { warnings = append(warnings, fmt.Sprintf(format, a...)) }
	skip := func(err error) error {
		if o.KeepGoing && ctx.Err() == nil {
			warnings = append(warnings, "skipped: "+err.Error())
			return nil
		}
		return err
	}
	mo := o.Merge
	if mo.SpillDir == "" && !objio.IsS3(o.Out) {
		mo.SpillDir = o.Out // else the system's temporary folder
		// A run that was killed left its spill files (the sorts' folders,
		// the tracker's file) and a half-written summary.json behind; the
		// output folder has one writer at a time.
		extsort.RemoveStaleSpills(o.Out)
		for _, pattern := range []string{spillPattern, "." + SummaryFile + ".tmp-*"} {
			stale, _ := filepath.Glob(filepath.Join(o.Out, pattern))
			for _, f := range stale {
				os.Remove(f)
			}
		}
	}
	var acct *planAccount
	var jobs []*Job
	var err error
	if o.Plan != "" {
		acct, err = openPlanAccount(ctx, o, mo.SpillDir, warn)
		if errors.Is(err, manifest.ErrNoPlan) {
			// jobs.json without its plan: the reports it names are read,
			// but the planned objects are unknown.
			warn("%v: the reports %s names are read, but without the plan the objects that never ran cannot be listed", err, manifest.JobsFile)
			acct, err = nil, nil
			jobs, err = FindJobs(ctx, o.IO, o.Plan, o.Prefixes, skip)
		} else if err == nil {
			defer acct.join.Close()
			jobs, err = acct.findJobs(ctx, o.Prefixes, skip)
		}
	} else {
		jobs, err = FindJobs(ctx, o.IO, "", o.Prefixes, skip)
	}
	if err != nil {
		return nil, err
	}
	m, err := NewMerger(jobs, mo)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	m.acct = acct
	// Failed files first, so that every success meets the failures it may
	// supersede already tracked (see tracker).
	var failedFiles, okFiles []*ResultFile
	for _, j := range jobs {
		for i := range j.Files {
			if j.Files[i].Failed {
				failedFiles = append(failedFiles, &j.Files[i])
			} else {
				okFiles = append(okFiles, &j.Files[i])
			}
		}
	}
	if err := mergeFiles(ctx, failedFiles, m, o); err != nil {
		return nil, err
	}
	if acct == nil {
		if err := m.track.startSuccesses(); err != nil {
			return nil, err
		}
	}
	if err := mergeFiles(ctx, okFiles, m, o); err != nil {
		return nil, err
	}
	if acct != nil {
		if err := acct.readShards(ctx, skip); err != nil {
			return nil, err
		}
	}
	for _, w := range warnings {
		m.Warn("%s", w)
	}
	warnings = nil
	s := m.summary()
	if s.Objects.Distinct, err = m.distinct.count(ctx); err != nil {
		return nil, err
	}
	// summary.json is the commit marker of the output folder: drop the old
	// one before the re-run plans are replaced, so that a run killed half
	// way never leaves an old summary beside new, partial plans.
	summaryLoc := objio.Join(o.Out, SummaryFile)
	if err := o.IO.Remove(ctx, summaryLoc); err != nil && !errors.Is(err, objio.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the old %s: %w", SummaryFile, err)
	}
	if acct != nil {
		err = acct.finish(ctx, m, s, jobs)
	} else {
		endedEarly(s, o.OptionName)
		err = finishRerun(ctx, m, s, jobs, o)
	}
	if err != nil {
		return nil, err
	}
	s.Warnings = append(s.Warnings, warnings...)
	data, err := MarshalSummary(s)
	if err != nil {
		return nil, err
	}
	if err := o.IO.WriteFileAtomic(ctx, summaryLoc, data); err != nil {
		return nil, fmt.Errorf("writing %s: %w", SummaryFile, err)
	}
	return s, nil
}

// NotRunNote is the summary's note when report reads reports without
// their plan, naming the option as Options spells it (Run names it with
// Options.OptionName).
var NotRunNote = notRunNote(nil)

func notRunNote(name func(string) string) string {
	plan := optname.Name(name, "Plan")
	return "without " + plan + ", report sees only the tasks that ran: the objects of a job that failed or was cancelled before running them, or of a job that never started, are in no report and cannot be listed; with " +
		plan + " DIR, report accounts for every planned object (rerun/not-run)"
}

// endedEarly notes in the summary, for reports read without their plan,
// which jobs certainly ended before running every task: once 1,000 tasks
// have run, a job fails as soon as more than half of them failed
// (docs/formats.md#failure-threshold), so a report with at least 1,000 tasks and more
// failures than successes is the report of a job that failed there.
func endedEarly(s *Summary, name func(string) string) {
	s.NotRun = notRunNote(name)
	for _, j := range s.ByJob {
		failed := j.Failed + j.TreatedAsSuccess
		if j.Tasks >= 1000 && 2*failed > j.Tasks {
			s.EndedEarly = append(s.EndedEarly, j.JobID)
			s.Warnings = append(s.Warnings, fmt.Sprintf("job %s failed at the failure threshold (%d of its %d tasks failed, over half of at least 1,000): the tasks it had not run are in no report and in no re-run plan; with %s DIR, report lists them", j.JobID, failed, j.Tasks, optname.Name(name, "Plan")))
		}
	}
}

// MarshalSummary renders s as indented JSON with a final newline.
func MarshalSummary(s *Summary) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FindJobs locates and parses the report of every job: those listed in
// planDir/jobs.json (when planDir is not empty), in that order, then
// those found under prefixes, oldest report first. A job reached twice is
// kept once. skip is called with each job-level error (a missing or bad
// report manifest, a missing result file); it returns the error to stop,
// or nil to go on without that job.
func FindJobs(ctx context.Context, oc *objio.Client, planDir string, prefixes []string, skip func(error) error) ([]*Job, error) {
	var jobs []*Job
	seen := map[string]bool{}
	add := func(loc, id, route, shard string) error {
		if seen[loc] {
			return nil
		}
		seen[loc] = true
		j, err := openJob(ctx, oc, loc, id)
		if err != nil {
			return skip(err)
		}
		j.Route, j.Shard = route, shard
		jobs = append(jobs, j)
		return nil
	}
	if planDir != "" {
		ji, err := manifest.ReadRun(ctx, oc, planDir)
		if err != nil {
			return nil, err
		}
		for _, e := range ji.Jobs {
			loc := objio.Join(objio.Join(e.ReportPrefix, "job-"+e.JobID), "manifest.json")
			if err := add(loc, e.JobID, e.Route, e.Shard); err != nil {
				return nil, err
			}
		}
	}
	n := len(jobs)
	for _, p := range prefixes {
		locs, ids, err := findManifests(ctx, oc, p)
		if err != nil {
			if err = skip(err); err != nil {
				return nil, err
			}
			continue
		}
		for i := range locs {
			if err := add(locs[i], ids[i], "", ""); err != nil {
				return nil, err
			}
		}
	}
	sortJobs(jobs[n:])
	for i, j := range jobs {
		j.Order = i
	}
	return jobs, nil
}

// finishRerun merges the tracked failures with the successes, fills
// s.Objects and writes the rerun plan directories.
func finishRerun(ctx context.Context, m *Merger, s *Summary, jobs []*Job, o Options) error {
	var counts [numClasses]rerunCounts
	var classPos [numClasses]int
	for i, cl := range FailureClasses {
		classPos[cl] = i
	}
	var rs *rerunSorter
	if !o.NoRerun {
		rs = newRerunSorter(m.opt.SpillDir, m.opt.SortMemory, m.routes)
		defer rs.s.Close()
	}
	var drops [numClasses]map[string]int64
	var scratch []byte
	err := m.track.finish(ctx, &s.Objects, &counts, func(f *failure) error {
		var reason string
		if scratch, reason = appendLine(scratch[:0], f.bucket, f.key, f.version); reason != "" {
			if drops[f.class] == nil {
				drops[f.class] = map[string]int64{}
			}
			drops[f.class][reason]++
			return nil
		}
		if rs == nil {
			return nil
		}
		return rs.add(classPos[f.class], f)
	})
	if err != nil {
		return err
	}
	for _, cl := range FailureClasses {
		for reason, n := range drops[cl] {
			counts[cl].kept -= n
			s.Warnings = append(s.Warnings, dropWarning(cl, reason, n))
		}
	}
	if o.NoRerun {
		return nil
	}
	it, err := finishSort(ctx, rs.s)
	if err != nil {
		return err
	}
	defer it.Close()
	pending, consumed := it.Next(), false
	var inputs []manifest.Input
	for _, j := range jobs {
		inputs = append(inputs, manifest.Input{Manifest: j.Manifest, MD5: j.ManifestMD5, ChecksumVerified: true, Format: ReportFormat, CreationTimestamp: j.Report.ReportCreationDate, Files: len(j.Files), Columns: "Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage"})
	}
	for pos, cl := range FailureClasses {
		c := counts[cl]
		dir := objio.Join(objio.Join(o.Out, RerunDir), cl.String())
		plan := &manifest.Plan{
			Inputs:  inputs,
			Options: map[string]any{"source": "report", "class": cl.String(), "max_objects": o.MaxShardObjects},
			Counters: manifest.Counters{RowsRead: c.rows, RowsKept: c.kept, Dropped: map[string]int64{
				"later_succeeded": c.laterSucceeded,
				"superseded":      c.superseded,
			}},
		}
		for reason, n := range drops[cl] {
			plan.Counters.Dropped[reason] = n
		}
		next := func() (rerunRow, bool, error) {
			if consumed {
				// The previous row was valid until now.
				pending, consumed = it.Next(), false
			}
			if !pending {
				return rerunRow{}, false, it.Err()
			}
			r := rs.decode(it.Key())
			if r.classPos != pos {
				return rerunRow{}, false, nil
			}
			consumed = true
			return r, true, nil
		}
		p, err := writeRerun(ctx, o.IO, dir, next, m.routes, o.MaxShardObjects, plan)
		if err != nil {
			return err
		}
		s.Rerun = append(s.Rerun, RerunSummary{Class: cl.String(), Dir: dir, Objects: c.kept, Shards: len(p.Shards), Dropped: drops[cl]})
	}
	// Without the plan, the objects that never ran are unknown: their plan
	// is empty and says so (an old one is replaced).
	dir := objio.Join(objio.Join(o.Out, RerunDir), NotRunClass)
	plan := &manifest.Plan{Inputs: inputs, Options: map[string]any{"source": "report", "class": NotRunClass}, Counters: manifest.Counters{Dropped: map[string]int64{}},
		Warnings: []string{notRunNote(o.OptionName)}}
	none := func() (rerunRow, bool, error) { return rerunRow{}, false, nil }
	if _, err := writeRerun(ctx, o.IO, dir, none, m.routes, o.MaxShardObjects, plan); err != nil {
		return err
	}
	s.Rerun = append(s.Rerun, RerunSummary{Class: NotRunClass, Dir: dir})
	return nil
}

// dropWarning says why n failed objects of class cl are in no re-run plan.
func dropWarning(cl Class, reason string, n int64) string {
	switch reason {
	case DropAbsentVersion:
		return fmt.Sprintf("%d %s objects have the version id \\N written into their manifest (%%5CN): \\N is how S3 reports write a missing version id, never an id, so no task can find that version; they are classed permanent and left out of rerun/%s (fix the manifest they came from)", n, cl, cl)
	case DropNotWritable:
		return fmt.Sprintf("%d %s objects have a line end or a NUL byte in their bucket, key or version id as the report gives them: no manifest line can carry them, so they are left out of rerun/%s", n, cl, cl)
	}
	return fmt.Sprintf("%d %s objects left out of rerun/%s: %s", n, cl, cl, reason)
}

func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}
