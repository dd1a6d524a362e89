package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/s3batchkit/s3batchkit/bench"
	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// The bench diff stage is registered here, not in package bench, whose
// import of package diff would be a cycle (diff's tests import bench). An
// init function registers it in every process of this program, the
// `bench --child` processes included.
func init() { bench.RegisterDiffStage(benchDiff) }

// benchDiff is the bench diff stage (bench.DiffStage): `s3batchkit diff
// --cross-bucket` with the bench filter, its plan written under
// spec.TmpDir and removed.
func benchDiff(ctx context.Context, spec bench.RunSpec) (bench.Output, bench.DiffCounts, error) {
	dir, err := os.MkdirTemp(spec.TmpDir, "s3batchkit-bench-diff-")
	if err != nil {
		return bench.Output{}, bench.DiffCounts{}, err
	}
	defer os.RemoveAll(dir)
	res, err := diff.Run(ctx, diff.Options{
		Source:      spec.Manifest,
		Target:      spec.Target,
		Out:         filepath.Join(dir, "plan"),
		Reader:      inventory.ReaderOptions{Workers: spec.Workers, SkipChecksums: spec.NoVerify},
		Filter:      bench.BenchFilter(),
		CrossBucket: true,
		TmpDir:      spec.TmpDir,
	})
	if err != nil {
		return bench.Output{}, bench.DiffCounts{}, err
	}
	s := res.Summary
	out := bench.Output{RowsRead: res.Plan.Counters.RowsRead, RowsKept: res.Plan.Counters.RowsKept, InputBytes: res.Stats.InputBytes}
	return out, bench.DiffCounts{Missing: s.OnlyInSource.Objects, Changed: s.Changed.Objects, Extra: s.OnlyInTarget.Objects}, nil
}
