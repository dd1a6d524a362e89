package gen

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/report"
)

// CompletionOptions configure GenerateCompletionReports.
type CompletionOptions struct {
	// Jobs is the number of jobs (report folders); must be > 0.
	Jobs int
	// TasksPerJob is the tasks of each job; must be > 0.
	TasksPerJob int
	// FailRate is the share of failed tasks, in [0, 1].
	FailRate float64
	// Seed makes the reports reproducible.
	Seed uint64
	// FileRows bounds the rows of one result file; zero means 250,000.
	FileRows int
}

// GenerateCompletionReports writes a synthetic Batch Operations report
// prefix under dir: a job-<id>/manifest.json and result CSVs per job, with
// FailRate of the tasks failed (spread over SlowDown, AccessDenied,
// NoSuchKey and Lambda failures with quoted, varying messages, some over
// two lines). Keys are realistic paths, some with spaces and '+'. It
// returns the number of result files and their total bytes.
func GenerateCompletionReports(dir string, o CompletionOptions) (files int, size int64, err error) {
	if o.Jobs <= 0 || o.TasksPerJob <= 0 || o.FailRate < 0 || o.FailRate > 1 {
		return 0, 0, errors.New("gen: completion reports need jobs and tasks > 0 and a fail rate in [0, 1]")
	}
	if o.FileRows <= 0 {
		o.FileRows = 250_000
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	folders := []string{"photos", "videos", "docs", "logs", "backups", "tmp dir"}
	msgs := []struct {
		http int
		code string
		msg  string
	}{
		{503, "SlowDown", `"Please reduce your request rate. (Service: Amazon S3; Status Code: 503; Error Code: SlowDown; Request ID: %016X)"`},
		{403, "AccessDenied", `"Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: %016X; Proxy: null)"`},
		{404, "NoSuchKey", `"The specified key does not exist.
(Request ID: %016X)"`},
		{200, "PermanentFailure", `"Lambda returned function error: {""errorMessage"":""bad input, id %d"",""errorType"":""ValueError""}"`},
	}
	for j := 0; j < o.Jobs; j++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", j, o.Seed)
		jdir := filepath.Join(dir, "job-"+id)
		if err := os.MkdirAll(filepath.Join(jdir, "results"), 0o755); err != nil {
			return 0, 0, err
		}
		var failed, ok []byte
		var results []report.ResultEntry
		flush := func(buf *[]byte, status string) error {
			if len(*buf) == 0 {
				return nil
			}
			sum := md5.Sum(*buf)
			name := fmt.Sprintf("job-%s/results/%040x.csv", id, len(results))
			if err := os.WriteFile(filepath.Join(dir, name), *buf, 0o644); err != nil {
				return err
			}
			files++
			size += int64(len(*buf))
			results = append(results, report.ResultEntry{TaskExecutionStatus: status, Bucket: "reports", MD5Checksum: hex.EncodeToString(sum[:]), Key: name})
			*buf = (*buf)[:0]
			return nil
		}
		nf, no := 0, 0
		for i := 0; i < o.TasksPerJob; i++ {
			key := fmt.Sprintf("%s/%04d/%02d/object %d+v.dat", folders[rng.IntN(len(folders))], 2000+rng.IntN(25), rng.IntN(12)+1, rng.Uint64()%1e9)
			if rng.Float64() < o.FailRate {
				m := msgs[rng.IntN(len(msgs))]
				failed = append(failed, "source-bucket,"...)
				failed = manifest.AppendEncoded(failed, []byte(key))
				failed = append(failed, fmt.Sprintf(",,failed,%d,%s,", m.http, m.code)...)
				if strings.Contains(m.msg, "%016X") {
					failed = fmt.Appendf(failed, m.msg, rng.Uint64())
				} else {
					failed = fmt.Appendf(failed, m.msg, rng.IntN(1000))
				}
				failed = append(failed, '\n')
				if nf++; nf%o.FileRows == 0 {
					if err := flush(&failed, "failed"); err != nil {
						return 0, 0, err
					}
				}
				continue
			}
			ok = append(ok, "source-bucket,"...)
			ok = manifest.AppendEncoded(ok, []byte(key))
			ok = append(ok, ",,succeeded,200,,Successful\n"...)
			if no++; no%o.FileRows == 0 {
				if err := flush(&ok, "succeeded"); err != nil {
					return 0, 0, err
				}
			}
		}
		if err := flush(&failed, "failed"); err != nil {
			return 0, 0, err
		}
		if err := flush(&ok, "succeeded"); err != nil {
			return 0, 0, err
		}
		m := report.ReportManifest{Format: report.ReportFormat, ReportCreationDate: fmt.Sprintf("2024-05-01T00:%02d:00.000Z", j%60), Results: results,
			ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}
		raw, err := json.Marshal(&m)
		if err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(jdir, "manifest.json"), raw, 0o644); err != nil {
			return 0, 0, err
		}
	}
	return files, size, nil
}
