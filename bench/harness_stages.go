package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/gen"
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

// benchKeeps tells whether BenchFilter keeps a generated row (of a report
// without versions), for the counts of a diff target (gen.Options.DiffKeep).
func benchKeeps(r *gen.Row) bool {
	if r.SizeNull || r.Size < BenchMinSize {
		return false
	}
	for _, c := range BenchStorageClasses {
		if strings.EqualFold(r.StorageClass, c) {
			return true
		}
	}
	return false
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
	NoVerify bool   `json:"no_verify,omitempty"` // skip the MD5 checks
	// Target is the diff stage's second report (Manifest is the source):
	// a diff target (gen.Options.DiffTarget) of Manifest's report, whose
	// differences under BenchFilter are WantDiff.
	Target   string          `json:"target,omitempty"`
	WantDiff *gen.DiffCounts `json:"want_diff,omitempty"`
}

// ErrDiffMismatch is returned (wrapped) by RunStage when the diff stage
// found other differences than the target report holds: a measurement
// of a wrong result is no measurement.
var ErrDiffMismatch = errors.New("bench: the diff found other differences than the target report holds")

// RunStage runs one stage once in this process and returns what it did.
// Sort, plan and diff stages set the Go memory limit as `s3batchkit plan`
// and `s3batchkit diff` do (sort budget + 256 MiB), for their duration,
// unless GOMEMLIMIT is set.
func RunStage(ctx context.Context, spec RunSpec) (Output, error) {
	ro := inventory.ReaderOptions{Workers: spec.Workers, SkipChecksums: spec.NoVerify}
	switch spec.Stage {
	case StageRead, StageFilter:
		return scanStage(ctx, spec, ro)
	case StageWrite:
		// What the read stage decodes, each row then encoded as a manifest
		// line, hashed (its shard's MD5 is its ETag) and written: the
		// reader-to-writer throughput, as plan --sort=false --routing none.
		dir, err := os.MkdirTemp(spec.TmpDir, "s3batchkit-bench-write-")
		if err != nil {
			return Output{}, err
		}
		defer os.RemoveAll(dir)
		plan, stats, err := partition.Plan(ctx, partition.Options{
			Inventories: []string{spec.Manifest},
			Reader:      ro,
			NoRoutes:    true,
			Out:         filepath.Join(dir, "plan"),
		})
		if err != nil {
			return Output{}, err
		}
		return Output{RowsRead: plan.Counters.RowsRead, RowsKept: plan.Counters.RowsKept, InputBytes: stats.InputBytes}, nil
	case StageSort, StagePlan, StageUnsorted:
		if os.Getenv("GOMEMLIMIT") == "" {
			prev := debug.SetMemoryLimit(partition.MemoryLimit(partition.DefaultSortMemory))
			defer debug.SetMemoryLimit(prev)
		}
		o := partition.Options{
			Inventories: []string{spec.Manifest},
			Reader:      ro,
			Filter:      BenchFilter(),
			Sort:        spec.Stage != StageUnsorted,
			TmpDir:      spec.TmpDir,
			DryRun:      spec.Stage == StageSort,
		}
		if spec.Stage != StageSort {
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
		return runDiffStage(ctx, spec)
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

// runDiffStage runs the diff stage: `s3batchkit diff --cross-bucket` of
// spec.Manifest (source) against spec.Target with BenchFilter on both
// sides, spec.Workers data files decoded at once, its plan and sort
// spills under spec.TmpDir and removed. A diff that finds other
// differences than the target holds is an error (checkDiff).
func runDiffStage(ctx context.Context, spec RunSpec) (Output, error) {
	if spec.Target == "" || spec.WantDiff == nil {
		return Output{}, fmt.Errorf("%w: the diff stage needs a target report and the differences it holds", ErrOptions)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		prev := debug.SetMemoryLimit(partition.MemoryLimit(partition.DefaultSortMemory))
		defer debug.SetMemoryLimit(prev)
	}
	dir, err := os.MkdirTemp(spec.TmpDir, "s3batchkit-bench-diff-")
	if err != nil {
		return Output{}, err
	}
	defer os.RemoveAll(dir)
	res, err := diff.Run(ctx, diff.Options{
		Source:      spec.Manifest,
		Target:      spec.Target,
		Out:         filepath.Join(dir, "plan"),
		Reader:      inventory.ReaderOptions{Workers: spec.Workers, SkipChecksums: spec.NoVerify},
		Filter:      BenchFilter(),
		CrossBucket: true,
		TmpDir:      spec.TmpDir,
	})
	if err != nil {
		return Output{}, err
	}
	s := res.Summary
	got := gen.DiffCounts{Missing: s.OnlyInSource.Objects, Changed: s.Changed.Objects, Extra: s.OnlyInTarget.Objects}
	if err := checkDiff(spec, got); err != nil {
		return Output{}, err
	}
	return Output{RowsRead: res.Plan.Counters.RowsRead, RowsKept: res.Plan.Counters.RowsKept, InputBytes: res.Stats.InputBytes}, nil
}

// checkDiff refuses a diff stage result that is not the differences the
// target report holds: a measurement of a wrong result is no measurement.
func checkDiff(spec RunSpec, got gen.DiffCounts) error {
	if want := *spec.WantDiff; got != want {
		return fmt.Errorf("%w: found %d missing, %d changed and %d extra objects, want %d, %d and %d (%s against %s)",
			ErrDiffMismatch, got.Missing, got.Changed, got.Extra, want.Missing, want.Changed, want.Extra, spec.Manifest, spec.Target)
	}
	return nil
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
