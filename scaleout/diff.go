package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// A distributed diff has the same three steps as a distributed plan,
// split by source keys:
//
//	SplitDiff   ROOT/ranges.json (kind "diff"): split keys picked from the
//	            source report as Split picks them, without their bucket;
//	            the source (input 0) and the target (input 1), each read
//	            directly or shuffled as Split decides for a plan's inputs;
//	            the hash of the diff's options
//	Scatter     as for a plan, for shuffled inputs: a target row goes to
//	            the range of its key mapped to a source key
//	DiffRangeOptions + diff.Run
//	            ROOT/parts/<iiii>/: range i's shards and part.json, whose
//	            extra is the range's diff summary (diff.PartSummary)
//	MergeDiff   ROOT/diff.json, then ROOT/plan.json last
//
// A target row belongs to the range of KeyMap.ToSource of its key, and a
// target key under no target prefix to the range of the key itself (where
// it is dropped as unmapped): diff.Range.

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
	// Mode is ModeAuto (""), ModeDirect or ModeShuffle, for both reports.
	Mode string
	// Out is where ranges.json is written.
	Out string
	// SampleRows is the number of keys to sample (zero:
	// DefaultSampleRows).
	SampleRows int
	// Slices is the number of scatter slices for shuffled reports (zero:
	// N).
	Slices int
}

// SplitDiff picks N−1 split keys in the source report's key space (as
// Split does for a plan of the source report alone), lays out the source
// and the target report as Split lays out a plan's inputs (the target's
// key statistics mapped to source keys), and writes ranges.json (kind
// "diff") to o.Out with the hash of the diff's options.
func SplitDiff(ctx context.Context, o DiffSplitOptions) (*SplitResult, error) {
	mode, err := checkSplit(o.N, o.Mode)
	if err != nil {
		return nil, err
	}
	hash, opts, err := diff.OptionsHash(o.Diff)
	if err != nil {
		return nil, err
	}
	fields, err := diff.ReadFields(o.Diff)
	if err != nil {
		return nil, err
	}
	km, err := diff.NewKeyMap(o.Diff.Maps)
	if err != nil {
		return nil, err
	}
	workers := o.Diff.Reader.Workers
	if workers <= 0 {
		workers = 4
	}
	skip := o.Diff.Reader.SkipChecksums
	src, err := openInput(ctx, o.Diff.IO, o.Diff.Source, o.Diff.SourceDataRoot, skip, workers, nil)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	tgt, err := openInput(ctx, o.Diff.IO, o.Diff.Target, o.Diff.TargetDataRoot, skip, workers, nil)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	res := &SplitResult{}
	ro := o.Diff.Reader
	ro.DataRoot, ro.IO = o.Diff.SourceDataRoot, o.Diff.IO
	// The filters only balance a plan's ranges; the diff's balance on the
	// source's rows alone.
	splits, rows, err := chooseSplits(ctx, []*splitInput{src}, o.N, ro, o.SampleRows, workers, res)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	for i := range splits {
		// Source keys only: the source holds one bucket, and the
		// target's bucket is another.
		splits[i].Bucket = ""
	}
	r := &manifest.Ranges{Version: manifest.RangesVersion, Kind: KindDiff, OptionsHash: hash, Options: opts, Splits: splits}
	for _, f := range fields.List() {
		r.Columns = append(r.Columns, f.String())
	}
	layout(r, rows, []*splitInput{src, tgt}, []spanFunc{keySpan, mappedSpan(km)}, mode, o.Slices, res)
	if err := writeRanges(ctx, o.Diff.IO, o.Out, r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// keySpan is the span of a diff's source unit: by key alone. A unit
// that names two buckets may hold any key (and the diff refuses it).
func keySpan(u *inventory.UnitStats, r *manifest.Ranges) (int, int) {
	if !u.Known || !bytes.Equal(u.MinBucket, u.MaxBucket) {
		return 0, r.N() - 1
	}
	return r.RangeOf(nil, u.MinKey), r.RangeOf(nil, u.MaxKey)
}

// mappedSpan returns the span of a diff's target unit: the ranges of the
// source keys its keys map to (hulled), and of its own keys when some may
// lie under no target prefix.
func mappedSpan(km *diff.KeyMap) spanFunc {
	if km == nil {
		return keySpan
	}
	return func(u *inventory.UnitStats, r *manifest.Ranges) (int, int) {
		if !u.Known || !bytes.Equal(u.MinBucket, u.MaxBucket) {
			return 0, r.N() - 1
		}
		lo, hi := r.N()-1, 0
		add := func(a, b int) { lo, hi = min(lo, a), max(hi, b) }
		covered := false // every key of the unit is under one target prefix
		for _, m := range km.Rules() {
			t := []byte(m.Target)
			minIn, maxIn := bytes.HasPrefix(u.MinKey, t), bytes.HasPrefix(u.MaxKey, t)
			// The keys under t are an interval starting at t: the unit
			// holds none when it ends before t or starts after them all.
			if bytes.Compare(u.MaxKey, t) < 0 || !minIn && bytes.Compare(u.MinKey, t) > 0 {
				continue
			}
			a := r.RangeOf(nil, []byte(m.Source))
			if minIn {
				a = r.RangeOf(nil, append([]byte(m.Source), u.MinKey[len(t):]...))
			}
			b := r.RangeOf(nil, prefixEnd(m.Source))
			if maxIn {
				b = r.RangeOf(nil, append([]byte(m.Source), u.MaxKey[len(t):]...))
			}
			add(a, b)
			covered = covered || minIn && maxIn
		}
		if !covered {
			add(r.RangeOf(nil, u.MinKey), r.RangeOf(nil, u.MaxKey))
		}
		return lo, hi
	}
}

// prefixEnd returns a key above every key under prefix p (the largest
// key when there is none: every range up to the last may hold them).
func prefixEnd(p string) []byte {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return bytes.Repeat([]byte{0xff}, 1025) // past any S3 key (at most 1,024 bytes)
}

// rangeKeys returns, for input k of r, the function that gives a row the
// (bucket, key) its range is chosen by (its result is valid until the
// next call): a plan's row as it is; a diff's source row by its key alone
// (a diff's split keys have no bucket); a diff's target row by its key
// mapped to a source key, or its own key when no mapping covers it. A
// diff's mappings are read from r's options, which the split hashed.
func rangeKeys(r *manifest.Ranges, k int) (func(bucket, key []byte) ([]byte, []byte), error) {
	switch {
	case r.Kind != KindDiff:
		return func(bucket, key []byte) ([]byte, []byte) { return bucket, key }, nil
	case k == 0:
		return func(_, key []byte) ([]byte, []byte) { return nil, key }, nil
	}
	var o struct {
		Diff struct {
			Maps []diff.Mapping `json:"maps"`
		} `json:"diff"`
	}
	raw, err := json.Marshal(r.Options)
	if err == nil {
		err = json.Unmarshal(raw, &o)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the diff's key mappings in ranges.json: %v", manifest.ErrRanges, err)
	}
	km, err := diff.NewKeyMap(o.Diff.Maps)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", manifest.ErrRanges, err)
	}
	var buf []byte
	return func(_, key []byte) ([]byte, []byte) {
		b, ok := km.ToSource(buf[:0], key)
		if !ok {
			return nil, key
		}
		buf = b
		return nil, b
	}, nil
}

// DiffRangeOptions returns o set to compare range i of r (whose
// ranges.json, at rangesLoc, has the SHA-256 sum), writing its part to
// out (default: the part folder beside ranges.json). It refuses
// (manifest.ErrRanges) a ranges.json that is not a diff's, options other
// than the split's, and an index out of bounds; diff.Run refuses reports
// whose MD5s differ from the split's. The scatter's markers are read
// through o.IO.
func DiffRangeOptions(ctx context.Context, o diff.Options, r *manifest.Ranges, sum, rangesLoc string, i int, out string) (diff.Options, error) {
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
	reads, part, err := rangeReads(ctx, o.IO, r, sum, rangesLoc, i, o.Reader.SkipChecksums)
	if err != nil {
		return o, err
	}
	rg := &diff.Range{Reads: reads, Part: part}
	rg.Lo, rg.Hi = rangeBounds(r, i)
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
	scatters, err := readScatters(ctx, oc, r, sum, root)
	if err != nil {
		return nil, nil, err
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
	plan, err := manifest.MergeParts(r, sum, parts, scatters)
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
