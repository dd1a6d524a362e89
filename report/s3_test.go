package report

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
)

// TestRunFromS3 uploads the run1 fixture to the S3 test server, as Batch
// Operations would leave it in a report bucket, and checks that a report
// read by prefix (listing job-<id>/manifest.json) equals the local one.
func TestRunFromS3(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	root := filepath.Join("testdata", "run1")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "manifest.json" {
			raw = []byte(strings.ReplaceAll(string(raw), `"my-job-reports"`, `"`+bucket+`"`))
		}
		rel, _ := filepath.Rel(root, p)
		return oc.WriteFileAtomic(ctx, "s3://"+bucket+"/"+filepath.ToSlash(rel), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	local, err := Run(ctx, Options{IO: oc, Prefixes: []string{root}, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out := "s3://" + bucket + "/audit"
	remote, err := Run(ctx, Options{IO: oc, Prefixes: []string{"s3://" + bucket}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	// Output to S3: summary.json and re-run plans with their plan.json.
	for _, name := range []string{"summary.json", "rerun/retryable/plan.json", "rerun/permanent/plan.json"} {
		if ok, err := oc.Exists(ctx, out+"/"+name); err != nil || !ok {
			t.Errorf("%s/%s not written (%v)", out, name, err)
		}
	}
	if remote.Tasks != local.Tasks || !reflect.DeepEqual(remote.ByErrorCode, local.ByErrorCode) {
		t.Errorf("from S3: tasks %+v codes %+v; locally: tasks %+v codes %+v", remote.Tasks, remote.ByErrorCode, local.Tasks, local.ByErrorCode)
	}
	if len(remote.ByJob) != 2 {
		t.Errorf("found %d jobs under s3://%s, want 2", len(remote.ByJob), bucket)
	}
}
