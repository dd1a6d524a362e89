package report

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// ReportFormat is the only completion report format there is.
const ReportFormat = "Report_CSV_20180820"

// ReportManifest is a job's completion report manifest.json
// (docs/formats.md#report-manifest).
type ReportManifest struct {
	Format             string        `json:"Format"`
	ReportCreationDate string        `json:"ReportCreationDate"`
	Results            []ResultEntry `json:"Results"`
	// ReportSchema names the columns, but not in the order the rows
	// hold them (docs/formats.md#rows); it is kept for reference only.
	ReportSchema string `json:"ReportSchema"`
}

// ResultEntry is one result file of a report.
type ResultEntry struct {
	TaskExecutionStatus string `json:"TaskExecutionStatus"` // succeeded or failed
	Bucket              string `json:"Bucket"`              // the report bucket's name
	MD5Checksum         string `json:"MD5Checksum"`         // hex MD5 of the file
	Key                 string `json:"Key"`                 // key in the report bucket
}

// ParseReportManifest parses a report manifest.json; name is used in
// errors. Errors are *DataError wrapping ErrReportManifest.
func ParseReportManifest(raw []byte, name string) (*ReportManifest, error) {
	bad := func(field, value, expected string) error {
		return &DataError{File: name, Field: field, Value: value, Expected: expected, Err: ErrReportManifest}
	}
	var m ReportManifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, &DataError{File: name, Value: shorten([]byte(err.Error())), Expected: "a JSON object", Err: ErrReportManifest}
	}
	if m.Format != ReportFormat {
		return nil, bad("Format", m.Format, ReportFormat)
	}
	if m.Results == nil {
		return nil, bad("Results", "", "a list of result files")
	}
	for i := range m.Results {
		r := &m.Results[i]
		f := func(s string) string { return fmt.Sprintf("Results[%d].%s", i, s) }
		switch r.TaskExecutionStatus {
		case "succeeded", "failed":
		default:
			return nil, bad(f("TaskExecutionStatus"), r.TaskExecutionStatus, "succeeded or failed")
		}
		if r.Key == "" {
			return nil, bad(f("Key"), "", "the result file's key")
		}
		for _, seg := range strings.Split(r.Key, "/") {
			if seg == ".." {
				return nil, bad(f("Key"), r.Key, "a key without '..' segments")
			}
		}
		if len(r.MD5Checksum) != 32 {
			return nil, bad(f("MD5Checksum"), r.MD5Checksum, "32 hex digits")
		}
		if _, err := hex.DecodeString(r.MD5Checksum); err != nil {
			return nil, bad(f("MD5Checksum"), r.MD5Checksum, "32 hex digits")
		}
		r.MD5Checksum = strings.ToLower(r.MD5Checksum)
	}
	return &m, nil
}

// Job is one job's completion report, located and parsed.
type Job struct {
	ID       string // the job id (from jobs.json or the job-<id> folder)
	Route    string // the shard's route from jobs.json; "" when unknown
	Shard    string // the shard's path from jobs.json; "" when unknown
	Manifest string // location of job-<id>/manifest.json
	Report   *ReportManifest
	// ManifestMD5 is the hex MD5 of the manifest.json bytes.
	ManifestMD5 string
	Files       []ResultFile
	// Order ranks jobs from oldest to newest: the position in jobs.json,
	// else by ReportCreationDate, then id. The latest outcome of an
	// object is its outcome in the job of highest Order.
	Order int

	// entry is the job's index among the plan's jobs.json entries
	// (report --plan), or -1 for a job the plan does not list.
	entry int
	// incomplete: a result file of the job could not be read whole
	// (Options.KeepGoing), so a task absent from its report may have run.
	incomplete bool
}

// ResultFile is one result CSV of a job.
type ResultFile struct {
	Job      *Job
	Location string // resolved location of the file
	Failed   bool   // TaskExecutionStatus is failed
	MD5      string // expected hex MD5

	index int // position in Job.Files
}

// openJob reads and parses a job's manifest and resolves its files.
func openJob(ctx context.Context, oc *objio.Client, manifestLoc, id string) (*Job, error) {
	raw, err := oc.ReadAll(ctx, manifestLoc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return nil, &DataError{Job: id, File: manifestLoc, Expected: "a completion report manifest (the job may have invoked no task)", Err: ErrNoReports}
		}
		return nil, fmt.Errorf("reading report manifest %s: %w", manifestLoc, err)
	}
	m, err := ParseReportManifest(raw, manifestLoc)
	if err != nil {
		var de *DataError
		if errors.As(err, &de) {
			de.Job = id
		}
		return nil, err
	}
	j := &Job{ID: id, Manifest: manifestLoc, Report: m, ManifestMD5: md5Hex(raw), entry: -1}
	for i, r := range m.Results {
		loc, err := resolveResultFile(ctx, oc, manifestLoc, r)
		if err != nil {
			var de *DataError
			if errors.As(err, &de) {
				de.Job = id
				de.Field = fmt.Sprintf("Results[%d].Key", i)
			}
			return nil, err
		}
		j.Files = append(j.Files, ResultFile{Job: j, Location: loc, Failed: r.TaskExecutionStatus == "failed", MD5: r.MD5Checksum, index: i})
	}
	return j, nil
}

// resolveResultFile finds a result file. Its Key is relative to the report
// bucket: on S3 it is s3://Bucket/Key; for a local copy of the reports it
// is searched under each ancestor folder of the manifest, nearest first.
func resolveResultFile(ctx context.Context, oc *objio.Client, manifestLoc string, r ResultEntry) (string, error) {
	if objio.IsS3(manifestLoc) && r.Bucket != "" {
		return "s3://" + r.Bucket + "/" + r.Key, nil
	}
	var tried []string
	dir := objio.Dir(manifestLoc)
	for {
		l := objio.Join(dir, r.Key)
		ok, err := oc.Exists(ctx, l)
		if err != nil && !errors.Is(err, objio.ErrNotFound) {
			return "", err
		}
		if ok {
			return l, nil
		}
		tried = append(tried, l)
		parent := objio.Dir(dir)
		if parent == dir || parent == "s3:" || parent == "s3:/" || len(tried) > 64 {
			break
		}
		dir = parent
	}
	return "", &DataError{File: manifestLoc, Value: r.Key, Expected: "the file under one of " + strings.Join(tried, ", "), Err: ErrMissingFile}
}

// findManifests lists the report manifests under prefix: prefix itself
// when it names a manifest.json, a job-<id> folder's manifest, or every
// job-<id>/manifest.json one level below prefix. It returns the manifest
// locations with their job ids.
func findManifests(ctx context.Context, oc *objio.Client, prefix string) ([]string, []string, error) {
	if strings.HasSuffix(prefix, "manifest.json") {
		return []string{prefix}, []string{jobIDFromDir(objio.Dir(prefix))}, nil
	}
	if ok, err := oc.Exists(ctx, objio.Join(prefix, "manifest.json")); err != nil {
		return nil, nil, err
	} else if ok {
		return []string{objio.Join(prefix, "manifest.json")}, []string{jobIDFromDir(prefix)}, nil
	}
	if objio.IsS3(prefix) {
		return findS3Manifests(ctx, oc, prefix)
	}
	ents, err := os.ReadDir(prefix)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: %w", prefix, ErrNoReports)
		}
		return nil, nil, err
	}
	var locs, ids []string
	for _, e := range ents { // ReadDir sorts by name
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "job-") {
			continue
		}
		l := objio.Join(objio.Join(prefix, e.Name()), "manifest.json")
		if ok, err := oc.Exists(ctx, l); err != nil {
			return nil, nil, err
		} else if ok {
			locs = append(locs, l)
			ids = append(ids, strings.TrimPrefix(e.Name(), "job-"))
		}
	}
	if len(locs) == 0 {
		return nil, nil, fmt.Errorf("%s: %w (expected job-<id>/manifest.json below it)", prefix, ErrNoReports)
	}
	return locs, ids, nil
}

// findS3Manifests lists prefix and keeps the objects that are exactly
// <prefix>/job-<id>/manifest.json, in key order.
func findS3Manifests(ctx context.Context, oc *objio.Client, prefix string) ([]string, []string, error) {
	base := strings.TrimSuffix(prefix, "/") + "/"
	infos, err := oc.List(ctx, base)
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	var locs, ids []string
	for _, o := range infos {
		// A report prefix given with a final '/' puts "//" in the keys
		// S3 writes (docs/formats.md#rows).
		rel := strings.TrimLeft(strings.TrimPrefix(o.Name, base), "/")
		dir, file, ok := strings.Cut(rel, "/")
		if !ok || file != "manifest.json" || !strings.HasPrefix(dir, "job-") {
			continue
		}
		locs = append(locs, o.Name)
		ids = append(ids, strings.TrimPrefix(dir, "job-"))
	}
	if len(locs) == 0 {
		return nil, nil, fmt.Errorf("%s: %w (expected job-<id>/manifest.json below it)", prefix, ErrNoReports)
	}
	return locs, ids, nil
}

func jobIDFromDir(dir string) string {
	base := filepath.Base(dir)
	if objio.IsS3(dir) {
		base = dir[strings.LastIndexByte(dir, '/')+1:]
	}
	return strings.TrimPrefix(base, "job-")
}

// sortJobs orders jobs found by prefix from oldest to newest report.
func sortJobs(jobs []*Job) {
	sort.SliceStable(jobs, func(a, b int) bool {
		ja, jb := jobs[a], jobs[b]
		da, db := ja.Report.ReportCreationDate, jb.Report.ReportCreationDate
		if da != db {
			// S3 writes milliseconds or nanoseconds; compare the times
			// when both parse, else the strings.
			ta, ea := time.Parse(time.RFC3339Nano, da)
			tb, eb := time.Parse(time.RFC3339Nano, db)
			if ea == nil && eb == nil && !ta.Equal(tb) {
				return ta.Before(tb)
			}
			if ea != nil || eb != nil {
				return da < db
			}
		}
		return ja.ID < jb.ID
	})
}
