package iampolicy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/jobs"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// FuzzBuild feeds operations (seeded from testdata/ops), plan prefix
// filters and report prefixes to Build. It must never panic; it either
// refuses with ErrInvalid or jobs.ErrOperation, or returns policies that
// pass Check and whose grants on the plan's bucket cover every key the
// prefix filter keeps.
func FuzzBuild(f *testing.F) {
	ops, _ := filepath.Glob(filepath.Join("testdata", "ops", "*.json"))
	for i, p := range ops {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []string{"logs/", "a*b", "x${y}", "é/", "日本"}[i%5], []string{"reports", "/r/", "", "a?b"}[i%4])
	}
	f.Fuzz(func(t *testing.T, op []byte, prefix, reportPrefix string) {
		parsed, _, err := jobs.ParseOperation(op)
		if err != nil {
			return
		}
		plan := &manifest.Plan{Version: 1, Options: map[string]any{}, Shards: []manifest.Shard{
			{Path: "shards/all/00000.csv", Route: "all", Bucket: "data-bucket", Objects: 2, FirstKey: prefix + "a", LastKey: prefix + "z"},
		}}
		if prefix != "" {
			plan.Options["prefixes"] = []any{prefix}
		}
		r, err := Build(Options{Plan: plan, PlanDir: "plan", PlanID: "0123456789abcdef", Operation: parsed,
			ManifestPrefix: "s3://manifest-bucket/m", ReportBucket: reportARN, ReportPrefix: reportPrefix})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, jobs.ErrOperation) {
				t.Fatalf("error wraps neither ErrInvalid nor ErrOperation: %v", err)
			}
			return
		}
		if err := Check(r.PermissionsPolicy, Permissions); err != nil {
			t.Fatal(err)
		}
		if err := Check(r.TrustPolicy, Trust); err != nil {
			t.Fatal(err)
		}
		// Each object ARN on data-bucket is a literal prefix of the filter
		// prefix (so it covers every key the filter keeps).
		const base = "arn:aws:s3:::data-bucket/"
		for _, s := range r.PermissionsPolicy.Statement {
			for _, res := range s.Resource {
				if !strings.HasPrefix(res, base) {
					continue
				}
				p := strings.TrimSuffix(strings.TrimPrefix(res, base), "*")
				if !strings.HasPrefix(prefix, p) {
					t.Fatalf("%s: %s does not cover keys starting with %q", s.Sid, res, prefix)
				}
			}
		}
	})
}
