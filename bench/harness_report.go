package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/s3batchkit/s3batchkit/gen"
)

// ensureCompletionReports returns the cached completion reports of rows
// tasks (one job per million tasks, 1% failed), generating them first if
// needed.
func ensureCompletionReports(o Options, rows int64) (dir string, files int, err error) {
	dir = filepath.Join(o.Dir, fmt.Sprintf("completion-%drows-seed%d", rows, o.Seed))
	marker := filepath.Join(dir, cacheMarker)
	if raw, err := os.ReadFile(marker); err == nil {
		var c cachedReport
		if json.Unmarshal(raw, &c) == nil && c.Files > 0 {
			return filepath.Join(dir, "reports"), c.Files, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", 0, err
	}
	jobs := int(max(1, (rows+999_999)/1_000_000))
	per := int((rows + int64(jobs) - 1) / int64(jobs))
	files, size, err := gen.GenerateCompletionReports(filepath.Join(dir, "reports"), gen.CompletionOptions{Jobs: jobs, TasksPerJob: per, FailRate: 0.01, Seed: o.Seed})
	if err != nil {
		os.RemoveAll(dir)
		return "", 0, err
	}
	raw, _ := json.Marshal(cachedReport{Manifest: filepath.Join(dir, "reports"), Files: files, Bytes: size})
	if err := os.WriteFile(marker, raw, 0o644); err != nil {
		return "", 0, err
	}
	return filepath.Join(dir, "reports"), files, nil
}
