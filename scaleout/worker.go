package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Environment variables that give an array job's index: Kubernetes
// Indexed Jobs, then AWS Batch array jobs.
var IndexEnv = []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"}

// IndexFromEnv returns the index the engine gave the process (the first of
// IndexEnv that is set) and the variable's name; ok is false when none is
// set. A value that is not a non-negative integer is an error.
func IndexFromEnv() (i int, name string, ok bool, err error) {
	for _, name := range IndexEnv {
		v, set := os.LookupEnv(name)
		if !set {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 {
			return 0, name, true, fmt.Errorf("%s=%q is not an index", name, v)
		}
		return i, name, true, nil
	}
	return 0, "", false, nil
}

// RangeOptions returns o set to plan range i of r (whose ranges.json has
// the SHA-256 sum), writing its part to out (default: the part folder
// beside ranges.json, manifest.PartDir). It refuses (manifest.ErrRanges)
// inventories or options other than the split's, and an index out of
// bounds. The scatter slices' markers are read through o.IO.
func RangeOptions(ctx context.Context, o partition.Options, r *manifest.Ranges, sum, rangesLoc string, i int, out string) (partition.Options, error) {
	if i < 0 || i >= r.N() {
		return o, fmt.Errorf("%w: range %d of %d (0 to %d)", manifest.ErrRanges, i, r.N(), r.N()-1)
	}
	if r.Kind != "plan" {
		return o, fmt.Errorf("%w: %s was split for %s, not plan", manifest.ErrRanges, rangesLoc, r.Kind)
	}
	if len(o.Inventories) != len(r.Inputs) {
		return o, fmt.Errorf("%w: %d inventories given, %s was split for %d", manifest.ErrRanges, len(o.Inventories), rangesLoc, len(r.Inputs))
	}
	if !o.Sort {
		return o, fmt.Errorf("%w: a distributed plan is sorted (not --sort=false)", manifest.ErrRanges)
	}
	hash, opts, err := partition.OptionsHash(o)
	if err != nil {
		return o, err
	}
	if hash != r.OptionsHash {
		return o, fmt.Errorf("%w: the filters, bounds or routing differ from those %s was split with (%s)", manifest.ErrRanges, rangesLoc, optionsDiff(r.Options, opts))
	}
	reads, part, err := rangeReads(ctx, o.IO, r, sum, rangesLoc, i, o.Reader.SkipChecksums)
	if err != nil {
		return o, err
	}
	rg := &partition.Range{Reads: reads, Part: part}
	rg.Lo, rg.Hi = rangeBounds(r, i)
	o.Range = rg
	o.DryRun = false
	if out == "" {
		out = manifest.PartDir(manifest.RootOf(rangesLoc), i)
	}
	o.Out = out
	return o, nil
}

// rangeBounds returns the split keys that bound range i of r: Lo
// included, Hi not; nil is no bound.
func rangeBounds(r *manifest.Ranges, i int) (lo, hi *manifest.SplitKey) {
	if i > 0 {
		lo = &r.Splits[i-1]
	}
	if i < len(r.Splits) {
		hi = &r.Splits[i]
	}
	return lo, hi
}

// rangeReads returns what range i of r (whose ranges.json, at rangesLoc,
// has the SHA-256 sum) reads of each input: its files, row groups and
// stripes of direct inputs, the scatter's files of shuffled ones (read
// through oc, each slice checked to come from this ranges.json), and the
// part it commits, listing the files whose MD5 it checks.
func rangeReads(ctx context.Context, oc *objio.Client, r *manifest.Ranges, sum, rangesLoc string, i int, noVerify bool) (partition.Reads, *manifest.Part, error) {
	rd := partition.Reads{Files: make([][]partition.RangeFile, len(r.Inputs)), Replace: make([][]inventory.DataFile, len(r.Inputs))}
	root := manifest.RootOf(rangesLoc)
	scatters, err := readScatters(ctx, oc, r, sum, root)
	if err != nil {
		return rd, nil, err
	}
	for k, in := range r.Inputs {
		rd.InputMD5s = append(rd.InputMD5s, in.MD5)
		rd.Files[k] = []partition.RangeFile{}
		if in.Mode != manifest.ModeShuffle {
			continue
		}
		rd.Replace[k] = []inventory.DataFile{}
		for j, s := range scatters {
			for _, f := range s.Outputs[i].Files {
				if f.Input == k {
					dir := manifest.ScatterDir(root, j)
					rd.Replace[k] = append(rd.Replace[k], inventory.DataFile{Key: objio.Join(dir, f.Path), Size: f.Bytes, MD5checksum: f.MD5, Location: objio.Join(dir, f.Path)})
				}
			}
		}
	}
	part := &manifest.Part{Ranges: sum, Range: i, Verified: []manifest.FileRef{}, NoVerify: noVerify}
	for _, fr := range r.Ranges[i].Reads {
		rd.Files[fr.Input] = append(rd.Files[fr.Input], partition.RangeFile{File: fr.File, Units: fr.Units, Verify: fr.Verify})
		if fr.Verify && !noVerify {
			part.Verified = append(part.Verified, manifest.FileRef{Input: fr.Input, File: fr.File})
		}
	}
	return rd, part, nil
}

// optionsDiff names the options that differ between a and b.
func optionsDiff(a, b map[string]any) string {
	var diff []string
	seen := map[string]bool{}
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if seen[k] {
				continue
			}
			seen[k] = true
			if fmt.Sprint(normalizeJSON(a[k])) != fmt.Sprint(normalizeJSON(b[k])) {
				diff = append(diff, k)
			}
		}
	}
	if len(diff) == 0 {
		return "the same options, hashed differently: another version of s3batchkit?"
	}
	sort.Strings(diff)
	return "differing: " + strings.Join(diff, ", ")
}

// Merge checks the parts of the distributed plan split into rangesLoc and
// writes their merged plan.json into the run root (the folder of
// ranges.json), last. out, when not empty, must be that folder: the
// merged plan names its shards relative to it. Everything is read and
// written through oc (nil: see objio).
func Merge(ctx context.Context, oc *objio.Client, rangesLoc, out string) (*manifest.Plan, error) {
	r, sum, err := manifest.ReadRanges(ctx, oc, rangesLoc)
	if err != nil {
		return nil, err
	}
	if r.Kind == KindDiff {
		return nil, fmt.Errorf("%w: %s was split for diff (merge it with 'diff merge', which writes diff.json too)", manifest.ErrRanges, rangesLoc)
	}
	root := manifest.RootOf(rangesLoc)
	if out != "" && cleanLoc(out) != cleanLoc(root) {
		return nil, fmt.Errorf("%w: the merged plan goes into the folder of ranges.json (%s), where its parts are, not %s", manifest.ErrRanges, root, out)
	}
	scatters, err := readScatters(ctx, oc, r, sum, root)
	if err != nil {
		return nil, err
	}
	parts := make([]*manifest.Part, r.N())
	for i := range parts {
		if parts[i], err = manifest.ReadPart(ctx, oc, manifest.PartDir(root, i)); err != nil {
			return nil, fmt.Errorf("range %d: %w", i, err)
		}
	}
	plan, err := manifest.MergeParts(r, sum, parts, scatters)
	if err != nil {
		return nil, err
	}
	if err := manifest.WriteMergedPlan(ctx, oc, root, plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// cleanLoc makes two spellings of one folder compare equal.
func cleanLoc(loc string) string {
	if objio.IsS3(loc) {
		return strings.TrimSuffix(loc, "/")
	}
	if abs, err := filepath.Abs(loc); err == nil {
		return abs
	}
	return filepath.Clean(loc)
}

// normalizeJSON makes a value read from JSON and one about to be written
// print alike (numbers as float64, lists as []any).
func normalizeJSON(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return v
	}
	return out
}

// readScatters reads the scatter.json of every scatter slice of r and
// checks that each was made from this ranges.json, as that slice.
func readScatters(ctx context.Context, oc *objio.Client, r *manifest.Ranges, sum, root string) ([]*manifest.ScatterSlice, error) {
	out := make([]*manifest.ScatterSlice, r.Slices)
	for j := range out {
		s, err := manifest.ReadScatter(ctx, oc, manifest.ScatterDir(root, j))
		if err != nil {
			return nil, fmt.Errorf("scatter slice %d: %w", j, err)
		}
		switch {
		case s.Ranges != sum:
			return nil, fmt.Errorf("%w: scatter slice %d was made from another ranges.json (SHA-256 %s, this one is %s)", manifest.ErrPartMismatch, j, s.Ranges, sum)
		case s.Slice != j || s.Slices != r.Slices || len(s.Outputs) != r.N():
			return nil, fmt.Errorf("%w: scatter slice %d says it is slice %d of %d, for %d ranges", manifest.ErrPartMismatch, j, s.Slice, s.Slices, len(s.Outputs))
		}
		out[j] = s
	}
	return out, nil
}
