package report

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// genReport writes a synthetic report prefix under dir: jobs jobs of
// rowsPerJob tasks each, split into files of at most 250,000 rows, with
// failRate of the tasks failed (spread over SlowDown, AccessDenied,
// NoSuchKey and Lambda failures with quoted, varying messages). Keys are
// realistic paths, some with spaces and '+'. It returns the total bytes
// of the result files.
func genReport(dir string, jobs, rowsPerJob int, failRate float64, seed uint64) (int64, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var total int64
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
	for j := 0; j < jobs; j++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", j, seed)
		jdir := filepath.Join(dir, "job-"+id)
		if err := os.MkdirAll(filepath.Join(jdir, "results"), 0o755); err != nil {
			return 0, err
		}
		var failed, ok []byte
		var results []ResultEntry
		flush := func(buf *[]byte, status string) error {
			if len(*buf) == 0 {
				return nil
			}
			sum := md5.Sum(*buf)
			name := fmt.Sprintf("job-%s/results/%040x.csv", id, len(results))
			if err := os.WriteFile(filepath.Join(dir, name), *buf, 0o644); err != nil {
				return err
			}
			total += int64(len(*buf))
			results = append(results, ResultEntry{TaskExecutionStatus: status, Bucket: "reports", MD5Checksum: hex.EncodeToString(sum[:]), Key: name})
			*buf = (*buf)[:0]
			return nil
		}
		nf, no := 0, 0
		for i := 0; i < rowsPerJob; i++ {
			key := fmt.Sprintf("%s/%04d/%02d/object %d+v.dat", folders[rng.IntN(len(folders))], 2000+rng.IntN(25), rng.IntN(12)+1, rng.Uint64()%1e9)
			if rng.Float64() < failRate {
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
				if nf++; nf%250_000 == 0 {
					if err := flush(&failed, "failed"); err != nil {
						return 0, err
					}
				}
				continue
			}
			ok = append(ok, "source-bucket,"...)
			ok = manifest.AppendEncoded(ok, []byte(key))
			ok = append(ok, ",,succeeded,200,,Successful\n"...)
			if no++; no%250_000 == 0 {
				if err := flush(&ok, "succeeded"); err != nil {
					return 0, err
				}
			}
		}
		if err := flush(&failed, "failed"); err != nil {
			return 0, err
		}
		if err := flush(&ok, "succeeded"); err != nil {
			return 0, err
		}
		m := ReportManifest{Format: ReportFormat, ReportCreationDate: fmt.Sprintf("2024-05-01T00:%02d:00.000Z", j%60), Results: results,
			ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}
		raw, err := json.Marshal(&m)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(jdir, "manifest.json"), raw, 0o644); err != nil {
			return 0, err
		}
	}
	return total, nil
}
