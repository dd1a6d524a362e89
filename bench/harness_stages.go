package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/partition"
	"github.com/s3batchkit/s3batchkit/report"
)

// The filter every filtering stage applies, and the DuckDB peer with it:
// objects of at least 1 KiB in a storage class that a copy can read
// directly. On generated reports it keeps about 85% of the rows, so the
// sort has real work.
const (
	BenchMinSize    = 1024
	BenchFilterText = "size >= 1024 and storage class in (STANDARD, STANDARD_IA, INTELLIGENT_TIERING)"
)

// BenchStorageClasses are the storage classes the bench filter keeps.
var BenchStorageClasses = []string{"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING"}

// BenchFilter returns the filter of the filter, sort and plan stages.
func BenchFilter() inventory.FilterOptions {
	return inventory.FilterOptions{MinSize: BenchMinSize, StorageClasses: BenchStorageClasses}
}

// scanFields is the projection of the read and filter stages: the columns
// a sorted plan reads (partition.Plan's cutter and sort fields), so that
// read ⊂ filter ⊂ sort ⊂ plan measure growing shares of the same work.
var scanFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.Size,
	inventory.StorageClass, inventory.IntelligentTieringAccessTier, inventory.LastModifiedDate, inventory.IsLatest)

// RunSpec is one measured run: what a child process is told to do.
type RunSpec struct {
	Stage    string `json:"stage"`
	Format   string `json:"format"`
	Manifest string `json:"manifest"` // manifest.json; the report folder for the report stage
	Workers  int    `json:"workers,omitempty"`
	TmpDir   string `json:"tmp_dir,omitempty"`
}

// diffStage runs the diff stage; nil while package diff is not part of
// the build. The file that adds it (harness_diff.go) also has to generate
// the second report, 1% different from the first.
var diffStage func(ctx context.Context, spec RunSpec) (Output, error)

// RunStage runs one stage once in this process and returns what it did.
// Sort and plan stages set the Go memory limit as `s3batchkit plan` does
// (sort budget + 256 MiB) for their duration, unless GOMEMLIMIT is set.
func RunStage(ctx context.Context, spec RunSpec) (Output, error) {
	ro := inventory.ReaderOptions{Workers: spec.Workers}
	switch spec.Stage {
	case StageRead, StageFilter:
		return scanStage(ctx, spec, ro)
	case StageSort, StagePlan:
		if os.Getenv("GOMEMLIMIT") == "" {
			prev := debug.SetMemoryLimit(partition.DefaultSortMemory + 256<<20)
			defer debug.SetMemoryLimit(prev)
		}
		o := partition.Options{
			Inventories: []string{spec.Manifest},
			Reader:      ro,
			Filter:      BenchFilter(),
			Sort:        true,
			TmpDir:      spec.TmpDir,
			DryRun:      spec.Stage == StageSort,
		}
		if spec.Stage == StagePlan {
			dir, err := os.MkdirTemp(spec.TmpDir, "s3batchkit-bench-plan-")
			if err != nil {
				return Output{}, err
			}
			defer os.RemoveAll(dir)
			o.Out = filepath.Join(dir, "plan")
		}
		plan, stats, err := partition.Plan(ctx, o)
		if err != nil {
			return Output{}, err
		}
		return Output{RowsRead: plan.Counters.RowsRead, RowsKept: plan.Counters.RowsKept, InputBytes: stats.InputBytes}, nil
	case StageDiff:
		if diffStage == nil {
			return Output{}, fmt.Errorf("%w: the diff stage needs package diff", ErrOptions)
		}
		return diffStage(ctx, spec)
	case StageReport:
		dir, err := os.MkdirTemp(spec.TmpDir, "s3batchkit-bench-report-")
		if err != nil {
			return Output{}, err
		}
		defer os.RemoveAll(dir)
		s, err := report.Run(ctx, report.Options{Prefixes: []string{spec.Manifest}, Out: dir, Workers: spec.Workers})
		if err != nil {
			return Output{}, err
		}
		size, err := dirBytes(spec.Manifest)
		if err != nil {
			return Output{}, err
		}
		return Output{RowsRead: s.Tasks.Total, RowsKept: s.Tasks.Total, InputBytes: size}, nil
	}
	return Output{}, fmt.Errorf("%w: unknown stage %q", ErrOptions, spec.Stage)
}

func scanStage(ctx context.Context, spec RunSpec, ro inventory.ReaderOptions) (Output, error) {
	var filter *inventory.Filter
	ro.Fields = scanFields
	if spec.Stage == StageFilter {
		var err error
		if filter, err = inventory.NewFilter(BenchFilter()); err != nil {
			return Output{}, err
		}
	}
	ro.Progress = &inventory.Progress{}
	r, err := inventory.Open(ctx, spec.Manifest, ro)
	if err != nil {
		return Output{}, err
	}
	var out Output
	fields := r.Fields()
	drops := inventory.Drops{}
	var sel []int32
	err = r.Scan(ctx, func(rec arrow.RecordBatch) error {
		out.RowsRead += rec.NumRows()
		if filter == nil {
			out.RowsKept += rec.NumRows()
			return nil
		}
		sel = filter.Select(rec, fields, sel, drops)
		out.RowsKept += int64(len(sel))
		return nil
	})
	out.InputBytes = ro.Progress.InputBytes.Load()
	return out, err
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}
