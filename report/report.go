package report

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// SummaryFile is the name of the summary written in the output folder.
const SummaryFile = "summary.json"

// Options configure Run. Plan or Prefixes (or both) name the reports.
type Options struct {
	// Plan is a plan directory whose jobs.json lists the submitted jobs,
	// in submission order, with their report prefixes.
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
	// PlusAsSpace decodes '+' in keys as a space; see ReaderOptions.
	PlusAsSpace bool
	// MaxShardObjects bounds the objects of a re-run shard; zero means
	// DefaultMaxShardObjects.
	MaxShardObjects int64
	// NoRerun skips writing rerun/.
	NoRerun bool
	// Progress, when not nil, is updated as rows are merged.
	Progress *Progress
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
	var warnings []string
	jobs, err := FindJobs(ctx, o.Plan, o.Prefixes, func(err error) error {
		if o.KeepGoing && ctx.Err() == nil {
			warnings = append(warnings, "skipped: "+err.Error())
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	mo := o.Merge
	if mo.SpillDir == "" && !objio.IsS3(o.Out) {
		mo.SpillDir = o.Out // else the system's temporary folder
		// A run that was killed left its spill file and a half-written
		// summary.json behind; the output folder has one writer at a time.
		for _, pattern := range []string{".s3batchkit-report-spill-*", "." + SummaryFile + ".tmp-*"} {
			stale, _ := filepath.Glob(filepath.Join(o.Out, pattern))
			for _, f := range stale {
				os.Remove(f)
			}
		}
	}
	m, err := NewMerger(jobs, mo)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	for _, w := range warnings {
		m.Warn("%s", w)
	}
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
	for _, files := range [][]*ResultFile{failedFiles, okFiles} {
		if err := mergeFiles(ctx, files, m, o); err != nil {
			return nil, err
		}
	}
	s := m.summary()
	// summary.json is the commit marker of the output folder: drop the old
	// one before the re-run plans are replaced, so that a run killed half
	// way never leaves an old summary beside new, partial plans.
	summaryLoc := objio.Join(o.Out, SummaryFile)
	if err := objio.Remove(ctx, summaryLoc); err != nil && !errors.Is(err, objio.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the old %s: %w", SummaryFile, err)
	}
	if err := finishRerun(ctx, m, s, jobs, o); err != nil {
		return nil, err
	}
	data, err := MarshalSummary(s)
	if err != nil {
		return nil, err
	}
	if err := objio.WriteFileAtomic(ctx, summaryLoc, data); err != nil {
		return nil, fmt.Errorf("writing %s: %w", SummaryFile, err)
	}
	return s, nil
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
func FindJobs(ctx context.Context, planDir string, prefixes []string, skip func(error) error) ([]*Job, error) {
	var jobs []*Job
	seen := map[string]bool{}
	add := func(loc, id, route, shard string) error {
		if seen[loc] {
			return nil
		}
		seen[loc] = true
		j, err := openJob(ctx, loc, id)
		if err != nil {
			return skip(err)
		}
		j.Route, j.Shard = route, shard
		jobs = append(jobs, j)
		return nil
	}
	if planDir != "" {
		ji, err := ReadJobs(ctx, planDir)
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
		locs, ids, err := findManifests(ctx, p)
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

// item is what the file readers send to the merging goroutine: a batch of
// rows, or the end of a file (done), possibly with the error that ended it.
type item struct {
	batch *Batch
	file  *ResultFile
	done  bool
	order ColumnOrder
	rows  int64
	err   error
}

// mergeFiles reads files in parallel and merges their rows here.
//
// Channels: items carries batches and end-of-file notes from the readers
// to this goroutine; the feeder goroutine closes it once every reader has
// returned. free hands emptied batches back to the readers; nobody closes
// it. Every send watches ctx.Done().
func mergeFiles(ctx context.Context, files []*ResultFile, m *Merger, o Options) error {
	if len(files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan item, 2*o.Workers)
	free := make(chan *Batch, 4*o.Workers)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(items)
		rg, rctx := errgroup.WithContext(gctx)
		rg.SetLimit(o.Workers)
		for _, f := range files {
			if rctx.Err() != nil {
				break
			}
			rg.Go(func() error { return readFile(rctx, f, o, items, free) })
		}
		return rg.Wait()
	})
	var merr error
	for it := range items {
		if merr != nil {
			continue // drain
		}
		switch {
		case it.done && it.err != nil:
			if !o.KeepGoing {
				merr = it.err
				cancel()
				continue
			}
			m.Warn("%v (%d rows read from the file before the error are counted)", it.err, it.rows)
			m.FileDone(it.file, it.order, it.rows)
		case it.done:
			m.FileDone(it.file, it.order, it.rows)
			if o.Progress != nil {
				o.Progress.Files.Add(1)
			}
		default:
			if err := m.Add(it.batch); err != nil {
				merr = err
				cancel()
				continue
			}
			if o.Progress != nil {
				o.Progress.Rows.Add(int64(len(it.batch.Rows)))
			}
			select {
			case free <- it.batch:
			default:
			}
		}
	}
	gerr := g.Wait()
	if merr != nil {
		return merr
	}
	if gerr != nil {
		return gerr
	}
	return ctx.Err()
}

func readFile(ctx context.Context, f *ResultFile, o Options, items chan<- item, free chan *Batch) error {
	send := func(it item) error {
		select {
		case items <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	obj, err := objio.Open(ctx, f.Location)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			err = &DataError{Job: f.Job.ID, File: f.Location, Expected: "the result file named in " + f.Job.Manifest, Err: ErrMissingFile}
		}
		return send(item{file: f, done: true, err: err})
	}
	defer obj.Close()
	rr := NewResultReader(obj, f.Location, ReaderOptions{BatchRows: o.BatchRows, WantMD5: f.MD5, PlusAsSpace: o.PlusAsSpace, Job: f.Job.ID})
	var rows int64
	for {
		var b *Batch
		select {
		case b = <-free:
		default:
			b = &Batch{}
		}
		err := rr.ReadBatch(b)
		if len(b.Rows) > 0 {
			b.Source = f
			rows += int64(len(b.Rows))
			if serr := send(item{batch: b, file: f}); serr != nil {
				return serr
			}
		}
		if err == io.EOF {
			return send(item{file: f, done: true, order: rr.Order(), rows: rows})
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return send(item{file: f, done: true, order: rr.Order(), rows: rows, err: err})
		}
	}
}

// finishRerun reads the spilled failures back, fills s.Objects and writes
// the rerun plan directories.
func finishRerun(ctx context.Context, m *Merger, s *Summary, jobs []*Job, o Options) error {
	var sets [numClasses]rerunSet
	var counts [numClasses]rerunCounts
	err := m.track.finish(&s.Objects, &counts, func(r *spilled) error {
		if !o.NoRerun {
			sets[r.class].add(r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.Objects.Untracked > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d failed tasks past --max-tracked (%d objects) were not de-duplicated nor checked for a later success; they are all in the rerun manifests", s.Objects.Untracked, m.opt.MaxTrackedFailures))
	}
	if o.NoRerun {
		return nil
	}
	var inputs []manifest.Input
	for _, j := range jobs {
		inputs = append(inputs, manifest.Input{Manifest: j.Manifest, MD5: j.ManifestMD5, ChecksumVerified: true, Format: ReportFormat, CreationTimestamp: j.Report.ReportCreationDate, Files: len(j.Files), Columns: "Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage"})
	}
	for _, cl := range FailureClasses {
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
		p, err := writeRerun(ctx, dir, &sets[cl], m.routes, o.MaxShardObjects, plan)
		if err != nil {
			return err
		}
		s.Rerun = append(s.Rerun, RerunSummary{Class: cl.String(), Dir: dir, Objects: c.kept, Shards: len(p.Shards)})
	}
	return nil
}

func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}
