package local

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// The completion report (docs/formats.md#report-manifest): <prefix>/job-<id>/manifest.json
// listing result files <prefix>/job-<id>/results/<40 hex>.csv, one or more
// per task status (failed ones first), each with its MD5. Rows have no
// header, RFC 4180 quoting, and the observed physical column order
// Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode,
// ResultMessage (not the order of ReportSchema); keys as the manifest
// wrote them (URL-encoded).

// ReportSchema is the schema string every report manifest carries.
const ReportSchema = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"

// MaxReportRows bounds the rows of one result file; more go to another.
const MaxReportRows = 1_000_000

type reportManifest struct {
	Format             string        `json:"Format"`
	ReportCreationDate string        `json:"ReportCreationDate"`
	Results            []reportEntry `json:"Results"`
	ReportSchema       string        `json:"ReportSchema"`
}

type reportEntry struct {
	TaskExecutionStatus string `json:"TaskExecutionStatus"`
	Bucket              string `json:"Bucket"`
	MD5Checksum         string `json:"MD5Checksum"`
	Key                 string `json:"Key"`
}

// resultFile is one result CSV being written to a temporary file.
type resultFile struct {
	status string
	part   int
	path   string
	f      *os.File
	bw     *bufio.Writer
	cw     *csv.Writer
	md5    hash.Hash
	rows   int
}

// writeReport writes the report of rec from its results. Files are
// written before manifest.json, so a reader never sees a manifest whose
// files are missing; rewriting (after a restart) gives the same names.
func writeReport(ctx context.Context, oc *objio.Client, rec *jobRecord, resultsPath string) error {
	failedOnly := rec.Report.ReportScope == types.JobReportScopeFailedTasksOnly
	tmpDir, err := os.MkdirTemp(filepath.Dir(resultsPath), "report-"+rec.ID+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	var files []*resultFile
	cur := map[string]*resultFile{}
	open := func(status string) (*resultFile, error) {
		rf := cur[status]
		if rf != nil && rf.rows < MaxReportRows {
			return rf, nil
		}
		part := 0
		if rf != nil {
			part = rf.part + 1
		}
		rf = &resultFile{status: status, part: part, path: filepath.Join(tmpDir, fmt.Sprintf("%s-%d.csv", status, part)), md5: md5.New()}
		if rf.f, err = os.Create(rf.path); err != nil {
			return nil, err
		}
		rf.bw = bufio.NewWriterSize(io.MultiWriter(rf.f, rf.md5), 256<<10)
		rf.cw = csv.NewWriter(rf.bw)
		cur[status] = rf
		files = append(files, rf)
		return rf, nil
	}
	err = readResults(resultsPath, func(t *taskResult) error {
		status := "succeeded"
		if !t.OK {
			status = "failed"
		} else if failedOnly {
			return nil
		}
		rf, err := open(status)
		if err != nil {
			return err
		}
		rf.rows++
		return rf.cw.Write([]string{t.Bucket, t.Key, t.VersionID, status, strconv.Itoa(t.HTTP), t.Code, t.Message})
	})
	for _, rf := range files {
		rf.cw.Flush()
		if ferr := rf.cw.Error(); err == nil {
			err = ferr
		}
		if ferr := rf.bw.Flush(); err == nil {
			err = ferr
		}
		if cerr := rf.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	// Failed files first, as AWS lists them.
	var ordered []*resultFile
	for _, want := range []string{"failed", "succeeded"} {
		for _, rf := range files {
			if rf.status == want {
				ordered = append(ordered, rf)
			}
		}
	}
	jobDir := "job-" + rec.ID
	base := objio.Join(rec.ReportLoc, jobDir)
	if !objio.IsS3(base) {
		if err := os.MkdirAll(filepath.Join(base, "results"), 0o755); err != nil {
			return err
		}
	}
	m := reportManifest{Format: "Report_CSV_20180820", ReportCreationDate: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Results: []reportEntry{}, ReportSchema: ReportSchema}
	for _, rf := range ordered {
		name := sha1.Sum([]byte(rec.ID + "/" + rf.status + "/" + strconv.Itoa(rf.part)))
		rel := "results/" + hex.EncodeToString(name[:]) + ".csv"
		sum := hex.EncodeToString(rf.md5.Sum(nil))
		f, err := os.Open(rf.path)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil {
			_, err = oc.Upload(ctx, objio.Join(base, rel), f, st.Size(), objio.UploadOptions{MD5: sum, ContentType: "text/csv"})
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("writing the report of job %s: %w", rec.ID, err)
		}
		m.Results = append(m.Results, reportEntry{TaskExecutionStatus: rf.status, Bucket: rec.ReportBucket, MD5Checksum: sum,
			Key: rec.ReportKeyPrefix + jobDir + "/" + rel})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return err
	}
	if err := oc.WriteFileAtomic(ctx, objio.Join(base, "manifest.json"), buf.Bytes()); err != nil {
		return fmt.Errorf("writing the report of job %s: %w", rec.ID, err)
	}
	return nil
}
