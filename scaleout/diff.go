package scaleout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// A distributed diff has the same three steps as a distributed plan,
// split by source keys:
//
//	SplitDiff   ROOT/ranges.json (kind "diff"): split keys picked from the
//	            source report as Split picks them; the source and target
//	            reports with their MD5s; the hash of the diff's options
//	DiffRangeOptions + diff.Run
//	            ROOT/parts/<iiii>/: range i's shards and part.json, whose
//	            extra is the range's diff summary (diff.PartSummary)
//	MergeDiff   ROOT/diff.json, then ROOT/plan.json last
//
// In this first version every range reads both reports whole (keeping the
// rows of its range): the ranges divide the sorting, spilling and merging,
// not the reading. ranges.json therefore lists no data files, and each
// range checks every data file's MD5 (unless checks are off).

// KindDiff is ranges.json's kind for a distributed diff.
const KindDiff = "diff"

// DiffSplitOptions configure SplitDiff.
type DiffSplitOptions struct {
	// Diff holds the reports, reader options, filters, comparison, key
	// mappings, bounds and routing: everything a range will be given.
	// Out is ignored. Diff.IO reads the reports and writes ranges.json.
	Diff diff.Options
	// N is the number of ranges.
	N int
	// Out is where ranges.json is written.
	Out string
	// SampleRows is the number of keys to sample (zero:
	// DefaultSampleRows).
	SampleRows int
}

// SplitDiff picks N−1 split keys in the source report's key space (as
// Split does for a plan of the source report alone), and writes
// ranges.json (kind "diff") to o.Out: the source report, then the target
// report, with their MD5s, and the hash of the diff's options.
func SplitDiff(ctx context.Context, o DiffSplitOptions) (*SplitResult, error) {
	if o.N < 1 || o.N > MaxRanges {
		return nil, fmt.Errorf("%w: %d ranges; give 1 to %d", manifest.ErrRanges, o.N, MaxRanges)
	}
	hash, opts, err := diff.OptionsHash(o.Diff)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "s3batchkit-diffsplit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ro := o.Diff.Reader
	ro.DataRoot = o.Diff.SourceDataRoot
	// The source's split keys, by Split on a plan of the source alone
	// (its ranges.json is a scratch file). The filters only balance the
	// ranges there; the diff applies them itself.
	src, err := Split(ctx, SplitOptions{
		Plan: partition.Options{Inventories: []string{o.Diff.Source}, Reader: ro, Sort: true, IO: o.Diff.IO},
		N:    o.N, Mode: ModeDirect, Out: filepath.Join(tmp, manifest.RangesName), SampleRows: o.SampleRows,
	})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	tm, err := inventory.OpenManifest(ctx, o.Diff.Target, inventory.ManifestOptions{DataRoot: o.Diff.TargetDataRoot, SkipChecksums: o.Diff.Reader.SkipChecksums, IO: o.Diff.IO})
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	sin := src.Ranges.Inputs[0]
	sin.Mode, sin.Files, sin.ReadAmplification = manifest.ModeDirect, []manifest.RangesFile{}, float64(o.N)
	r := &manifest.Ranges{Version: manifest.RangesVersion, Kind: KindDiff, OptionsHash: hash, Options: opts,
		Splits: make([]manifest.SplitKey, len(src.Ranges.Splits)),
		Inputs: []manifest.RangesInput{sin, {Manifest: tm.Location, MD5: tm.MD5, DataRoot: o.Diff.TargetDataRoot, Format: string(tm.Format),
			Mode: manifest.ModeDirect, Unit: inventory.UnitFile, Rows: -1, ReadAmplification: float64(o.N), Files: []manifest.RangesFile{}}},
	}
	for i, k := range src.Ranges.Splits {
		// Source keys only: the target's bucket is another.
		r.Splits[i] = manifest.SplitKey{Key: k.Key}
	}
	for _, rg := range src.Ranges.Ranges {
		r.Ranges = append(r.Ranges, manifest.RangeDetail{Index: rg.Index, Rows: rg.Rows, Reads: []manifest.FileRead{}})
	}
	if !objio.IsS3(o.Out) {
		if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
			return nil, err
		}
	}
	sum, err := manifest.WriteRanges(ctx, o.Diff.IO, o.Out, r)
	if err != nil {
		return nil, err
	}
	return &SplitResult{Ranges: r, SHA256: sum, Sampled: src.Sampled}, nil
}

// DiffRangeOptions returns o set to compare range i of r (whose
// ranges.json, at rangesLoc, has the SHA-256 sum), writing its part to
// out (default: the part folder beside ranges.json). It refuses
// (manifest.ErrRanges) a ranges.json that is not a diff's, options other
// than the split's, and an index out of bounds; diff.Run refuses reports
// whose MD5s differ from the split's.
func DiffRangeOptions(o diff.Options, r *manifest.Ranges, sum, rangesLoc string, i int, out string) (diff.Options, error) {
	if r.Kind != KindDiff {
		return o, fmt.Errorf("%w: %s was split for %s, not diff", manifest.ErrRanges, rangesLoc, r.Kind)
	}
	if i < 0 || i >= r.N() {
		return o, fmt.Errorf("%w: range %d of %d (0 to %d)", manifest.ErrRanges, i, r.N(), r.N()-1)
	}
	if len(r.Inputs) != 2 {
		return o, fmt.Errorf("%w: %s lists %d reports, a diff has 2", manifest.ErrRanges, rangesLoc, len(r.Inputs))
	}
	hash, opts, err := diff.OptionsHash(o)
	if err != nil {
		return o, err
	}
	if hash != r.OptionsHash {
		return o, fmt.Errorf("%w: the filters, comparison, mappings, bounds or routing differ from those %s was split with (%s)", manifest.ErrRanges, rangesLoc, optionsDiff(r.Options, opts))
	}
	rg := &diff.Range{InputMD5s: []string{r.Inputs[0].MD5, r.Inputs[1].MD5},
		Part: &manifest.Part{Ranges: sum, Range: i, Verified: []manifest.FileRef{}, NoVerify: o.Reader.SkipChecksums}}
	if i > 0 {
		rg.Lo = &r.Splits[i-1]
	}
	if i < len(r.Splits) {
		rg.Hi = &r.Splits[i]
	}
	o.Range = rg
	if out == "" {
		out = manifest.PartDir(manifest.RootOf(rangesLoc), i)
	}
	o.Out = out
	return o, nil
}

// MergeDiff checks the parts of the distributed diff split into rangesLoc
// (as Merge does a plan's) and writes, into the run root, diff.json (the
// parts' summaries merged: diff.MergeSummaries) and then plan.json, last.
// out, when not empty, must be the run root.
func MergeDiff(ctx context.Context, oc *objio.Client, rangesLoc, out string) (*manifest.Plan, *diff.Summary, error) {
	r, sum, err := manifest.ReadRanges(ctx, oc, rangesLoc)
	if err != nil {
		return nil, nil, err
	}
	if r.Kind != KindDiff {
		return nil, nil, fmt.Errorf("%w: %s was split for %s, not diff (merge it with 'plan merge')", manifest.ErrRanges, rangesLoc, r.Kind)
	}
	root := manifest.RootOf(rangesLoc)
	if out != "" && cleanLoc(out) != cleanLoc(root) {
		return nil, nil, fmt.Errorf("%w: the merged plan goes into the folder of ranges.json (%s), where its parts are, not %s", manifest.ErrRanges, root, out)
	}
	parts := make([]*manifest.Part, r.N())
	sums := make([]*diff.PartSummary, r.N())
	for i := range parts {
		if parts[i], err = manifest.ReadPart(ctx, oc, manifest.PartDir(root, i)); err != nil {
			return nil, nil, fmt.Errorf("range %d: %w", i, err)
		}
		sums[i] = &diff.PartSummary{}
		if err := json.Unmarshal(parts[i].Extra, sums[i]); err != nil || len(parts[i].Extra) == 0 {
			return nil, nil, fmt.Errorf("%w: range %d: part.json holds no diff summary (a plan's part?)", manifest.ErrPartMismatch, i)
		}
	}
	plan, err := manifest.MergeParts(r, sum, parts, nil)
	if err != nil {
		return nil, nil, err
	}
	ds, err := diff.MergeSummaries(sums, plan)
	if err != nil {
		return nil, nil, err
	}
	if err := manifest.CheckNotSubmitted(ctx, oc, root); err != nil {
		return nil, nil, err
	}
	data, err := ds.Marshal()
	if err != nil {
		return nil, nil, err
	}
	// diff.json never stands beside an older plan.json: that goes first.
	if err := oc.Remove(ctx, objio.Join(root, manifest.PlanFile)); err != nil && !errors.Is(err, objio.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("removing the old plan.json: %w", err)
	}
	if err := oc.WriteFileAtomic(ctx, objio.Join(root, diff.SummaryFile), data); err != nil {
		return nil, nil, err
	}
	if err := manifest.WriteMergedPlan(ctx, oc, root, plan); err != nil {
		return nil, nil, err
	}
	return plan, ds, nil
}
