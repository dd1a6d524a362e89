package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// jobRecord is a job as jobs.log keeps it: the request, where its
// manifest and report are, and its status. Task counts are not in it: they
// come from the job's results.jsonl.
type jobRecord struct {
	ID                   string             `json:"id"`
	Account              string             `json:"account"`
	Token                string             `json:"token"`
	RequestHash          string             `json:"request_hash"`
	Description          string             `json:"description,omitempty"`
	Priority             int32              `json:"priority"`
	ConfirmationRequired bool               `json:"confirmation_required"`
	RoleArn              string             `json:"role_arn"`
	Operation            types.JobOperation `json:"operation"`
	Manifest             types.JobManifest  `json:"manifest"`
	Report               types.JobReport    `json:"report"`
	Tags                 []types.S3Tag      `json:"tags,omitempty"`

	// ManifestLoc is the objio location of the manifest object.
	ManifestLoc string `json:"manifest_loc"`
	// ReportLoc is the objio location of the report prefix (the bucket
	// root when the prefix is empty); "" when reports are disabled.
	ReportLoc string `json:"report_loc,omitempty"`
	// ReportBucket and ReportKeyPrefix ("" or "prefix/") make the Bucket
	// and Key fields of the report's manifest.json.
	ReportBucket    string `json:"report_bucket,omitempty"`
	ReportKeyPrefix string `json:"report_key_prefix,omitempty"`

	Status             types.JobStatus    `json:"status"`
	StatusUpdateReason string             `json:"status_update_reason,omitempty"`
	Total              int64              `json:"total"` // set by Preparing
	FailureReasons     []types.JobFailure `json:"failure_reasons,omitempty"`
	Created            time.Time          `json:"created"`
	Terminated         *time.Time         `json:"terminated,omitempty"`
	SuspendedAt        *time.Time         `json:"suspended,omitempty"`
	SuspendedCause     string             `json:"suspended_cause,omitempty"`
	// ActiveSeconds is the time spent Active before the current run.
	ActiveSeconds int64 `json:"active_seconds"`
}

// logLine is one line of jobs.log.
type logLine struct {
	Job *jobRecord `json:"job"`
}

// stateLog is the append-only jobs.log. Every append is fsync'd.
type stateLog struct {
	path string
	f    *os.File
}

const logName = "jobs.log"

// openStateLog reads dir/jobs.log (the last record of each job wins; a
// torn last line is dropped), rewrites it compacted, and opens it for
// appending. It returns the records in creation order.
func openStateLog(dir string) (*stateLog, []*jobRecord, error) {
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o755); err != nil {
		return nil, nil, err
	}
	p := filepath.Join(dir, logName)
	raw, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	byID := map[string]*jobRecord{}
	var order []string
	for n, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(line, &l); err != nil || l.Job == nil || l.Job.ID == "" {
			if n == bytes.Count(raw, []byte("\n")) {
				break // the torn last line of a killed process
			}
			return nil, nil, fmt.Errorf("%s:%d: not a job record: %v", p, n+1, err)
		}
		if _, ok := byID[l.Job.ID]; !ok {
			order = append(order, l.Job.ID)
		}
		byID[l.Job.ID] = l.Job
	}
	recs := make([]*jobRecord, 0, len(order))
	var buf bytes.Buffer
	for _, id := range order {
		recs = append(recs, byID[id])
		b, err := json.Marshal(logLine{Job: byID[id]})
		if err != nil {
			return nil, nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := writeFileSync(p, buf.Bytes()); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return &stateLog{path: p, f: f}, recs, nil
}

func (l *stateLog) append(r *jobRecord) error {
	b, err := json.Marshal(logLine{Job: r})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

func (l *stateLog) close() error { return l.f.Close() }

// writeFileSync writes p through a temporary file, fsync and rename.
func writeFileSync(p string, data []byte) error {
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// taskResult is one finished task, a line of results.jsonl.
type taskResult struct {
	Index     int64  `json:"i"`
	Bucket    string `json:"b"`           // the manifest's fields, as written
	Key       string `json:"k"`           // (URL-encoded)
	VersionID string `json:"v,omitempty"` //
	OK        bool   `json:"ok"`
	HTTP      int    `json:"h"`
	Code      string `json:"c,omitempty"`
	Message   string `json:"m"`
}

// resultLog is a job's results.jsonl: results are appended as tasks end
// and made durable by sync, called in groups.
type resultLog struct {
	path string
	f    *os.File
	w    *bufio.Writer
	done []uint64 // bitmap of the task indexes recorded when it was opened
}

func (r *resultLog) isDone(i int64) bool {
	w := i >> 6
	return w < int64(len(r.done)) && r.done[w]&(1<<(i&63)) != 0
}

func (r *resultLog) mark(i int64) {
	w := int(i >> 6)
	for w >= len(r.done) {
		r.done = append(r.done, 0)
	}
	r.done[w] |= 1 << (i & 63)
}

// openResultLog opens (creating) path, reads the results recorded so far,
// cuts a torn last line, and returns the counts of succeeded and failed
// tasks. A task recorded twice counts once.
func openResultLog(path string) (*resultLog, int64, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, 0, err
	}
	r := &resultLog{path: path, f: f}
	var ok, failed, good int64
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			break // a line without its newline was torn: cut below
		}
		if err != nil {
			f.Close()
			return nil, 0, 0, err
		}
		var t taskResult
		if jerr := json.Unmarshal(line, &t); jerr != nil {
			break // torn: cut here
		}
		good += int64(len(line))
		if r.isDone(t.Index) {
			continue
		}
		r.mark(t.Index)
		if t.OK {
			ok++
		} else {
			failed++
		}
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, 0, 0, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, 0, err
	}
	r.w = bufio.NewWriterSize(f, 256<<10)
	return r, ok, failed, nil
}

func (r *resultLog) append(t *taskResult) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = r.w.Write(b) // done keeps the tasks found at open: dispatch reads it concurrently
	return err
}

func (r *resultLog) sync() error {
	if err := r.w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	return nil
}

func (r *resultLog) close() error {
	err := r.sync()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readResults calls fn for every distinct result of path, in the order
// they were recorded.
func readResults(path string, fn func(*taskResult) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var seen resultLog
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var t taskResult
		if err := json.Unmarshal(line, &t); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if seen.isDone(t.Index) {
			continue
		}
		seen.mark(t.Index)
		if err := fn(&t); err != nil {
			return err
		}
	}
}
