package scaleout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
	"github.com/s3batchkit/s3batchkit/scaleout"
)

// diffSpec describes a pair of synthetic reports: a source, and a target
// that holds some of its objects as they are, some changed, some under
// mapped prefixes, and some of its own.
type diffSpec struct {
	format    string
	objects   int
	versions  bool
	clustered bool
	seed      uint64
	srcBucket string
	dstBucket string
	// maps rewrite the target's copies of source keys (source prefix →
	// target prefix).
	maps []diff.Mapping
}

// diffReportOptions are the report options of a side of a diff pair.
func diffReportOptions(format, bucket string, versions bool) gen.ReportOptions {
	return gen.ReportOptions{Format: format, Versions: versions, Bucket: bucket, FileRows: 97,
		Layout: gen.Layout{Parquet: &gen.ParquetLayout{RowGroupRows: 31}}}
}

// makeDiffReports writes the source and the target report of s.
func makeDiffReports(t *testing.T, s diffSpec) (string, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 5))
	prefixes := []string{"a/", "b/deep/er/", "c d/", "é/", "z+%/"}
	var src, dst []gen.Row
	toTarget := func(k string) string {
		for _, m := range s.maps {
			if strings.HasPrefix(k, m.Source) {
				return m.Target + k[len(m.Source):]
			}
		}
		return k
	}
	for i := range s.objects {
		key := fmt.Sprintf("%s%05d", prefixes[rng.IntN(len(prefixes))], rng.IntN(100_000))
		if i%41 == 0 {
			key += ",\"q\""
		}
		r := gen.Row{Bucket: s.srcBucket, Key: key, Size: rng.Int64N(1 << 20), LastModified: 1_700_000_000_000 + rng.Int64N(1e10),
			ETag: fmt.Sprintf("%032x", rng.Uint64()), StorageClass: "STANDARD", Encryption: "SSE-S3", BucketKey: "DISABLED", LegalHold: "OFF"}
		switch rng.IntN(15) {
		case 0:
			r.StorageClass = "GLACIER"
		case 1:
			r.Size = 6 << 30
		case 2:
			r.StorageClass, r.TieringTier = "INTELLIGENT_TIERING", "ARCHIVE"
		}
		if s.versions {
			r.IsLatest = true
			r.VersionID = fmt.Sprintf("v%016x", rng.Uint64())
		}
		src = append(src, r)
		if s.versions && rng.IntN(4) == 0 {
			o := r
			o.IsLatest, o.VersionID, o.LastModified = false, fmt.Sprintf("o%015x", rng.Uint64()), r.LastModified-86_400_000
			src = append(src, o)
			if rng.IntN(2) == 0 {
				o.Bucket = s.dstBucket
				dst = append(dst, o)
			}
		}
		t := r
		t.Bucket = s.dstBucket
		t.Key = toTarget(r.Key)
		switch rng.IntN(8) {
		case 0: // missing at the target
			continue
		case 1:
			t.Size++
		case 2:
			t.ETag = fmt.Sprintf("%032x", rng.Uint64())
			t.LastModified++
		case 3: // listed twice
			dst = append(dst, t)
		}
		dst = append(dst, t)
	}
	for range s.objects / 5 { // only at the target, mapped or not
		key := fmt.Sprintf("%s%05d-x", prefixes[rng.IntN(len(prefixes))], rng.IntN(100_000))
		if rng.IntN(2) == 0 {
			key = toTarget(key)
		}
		r := gen.Row{Bucket: s.dstBucket, Key: key, Size: rng.Int64N(1 << 20), LastModified: 1_700_000_000_000,
			ETag: fmt.Sprintf("%032x", rng.Uint64()), StorageClass: "STANDARD", Encryption: "SSE-S3", BucketKey: "DISABLED", LegalHold: "OFF"}
		if s.versions {
			r.IsLatest, r.VersionID = true, fmt.Sprintf("x%015x", rng.Uint64())
		}
		dst = append(dst, r)
	}
	return writeReport(t, diffReportOptions(s.format, s.srcBucket, s.versions), src, s.clustered, rng),
		writeReport(t, diffReportOptions(s.format, s.dstBucket, s.versions), dst, s.clustered, rng)
}

// distributedDiff runs the steps of a distributed diff into root: split
// (in mode), scatter slices when a report is shuffled, the ranges, merge.
func distributedDiff(t *testing.T, o diff.Options, n int, root, mode string) *scaleout.SplitResult {
	t.Helper()
	ctx := context.Background()
	loc := filepath.Join(root, manifest.RangesName)
	res, err := scaleout.SplitDiff(ctx, scaleout.DiffSplitOptions{Diff: o, N: n, Mode: mode, Out: loc, SampleRows: 200, Slices: 2})
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	for j := range res.Ranges.Slices {
		if _, err := scaleout.Scatter(ctx, scaleout.ScatterOptions{Ranges: loc, Slice: j, Reader: o.Reader, IO: o.IO}); err != nil {
			t.Fatalf("scatter %d: %v", j, err)
		}
	}
	for i := range n {
		runDiffWorker(t, o, loc, i)
	}
	if _, _, err := scaleout.MergeDiff(ctx, nil, loc, ""); err != nil {
		t.Fatalf("merge: %v", err)
	}
	return res
}

func runDiffWorker(t *testing.T, o diff.Options, loc string, i int) {
	t.Helper()
	r, sum, err := manifest.ReadRanges(context.Background(), nil, loc)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := scaleout.DiffRangeOptions(context.Background(), o, r, sum, loc, i, "")
	if err != nil {
		t.Fatalf("range %d: %v", i, err)
	}
	if _, err := diff.Run(context.Background(), ro); err != nil {
		t.Fatalf("range %d: %v", i, err)
	}
}

func readSummary(t *testing.T, dir string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, diff.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	// Warnings name shards under the minimum by path, which differ.
	delete(m, "warnings")
	return m
}

// TestDistributedDiffIdentity diffs random report pairs on one machine and
// in N = 1..5 source-key ranges, each report read directly, shuffled, or
// as the split decides: the merged plan's shards, concatenated per route
// (copy routes and delete), are byte-identical to the one-machine diff's;
// plan.json's counters, inputs and options and diff.json (counts, bytes,
// examples) are the same. Clustered Parquet read directly is read about
// once in all, mapped target keys included.
func TestDistributedDiffIdentity(t *testing.T) {
	cases := []struct {
		name string
		spec diffSpec
		opts func(*diff.Options)
	}{
		{"csv-cross-bucket", diffSpec{format: "csv", objects: 700, seed: 1, srcBucket: "src", dstBucket: "dst"},
			func(o *diff.Options) { o.CrossBucket = true }},
		{"parquet-clustered-versions", diffSpec{format: "parquet", objects: 600, versions: true, clustered: true, seed: 2, srcBucket: "src", dstBucket: "dst"},
			func(o *diff.Options) { o.CrossBucket = true; o.Compare = diff.Compare{Size: true, ETag: true} }},
		{"csv-maps", diffSpec{format: "csv", objects: 600, seed: 3, srcBucket: "src", dstBucket: "dst",
			maps: []diff.Mapping{{Source: "a/", Target: "new/a/"}, {Source: "b/deep/er/", Target: "b/"}, {Source: "é/", Target: "zz/"}}},
			nil},
		{"orc-all-versions-filter", diffSpec{format: "orc", objects: 500, versions: true, seed: 4, srcBucket: "same", dstBucket: "same"},
			func(o *diff.Options) { o.AllVersions = true; o.Filter.Prefixes = []string{"a/", "c d/", "z+%/"} }},
		{"parquet-clustered-maps", diffSpec{format: "parquet", objects: 900, clustered: true, seed: 5, srcBucket: "src", dstBucket: "dst",
			maps: []diff.Mapping{{Source: "a/", Target: "z+%/a/"}, {Source: "c d/", Target: "0/"}, {Source: "z+%/", Target: "zz/"}}},
			nil},
		{"parquet-unclustered-maps", diffSpec{format: "parquet", objects: 700, seed: 6, srcBucket: "src", dstBucket: "dst",
			maps: []diff.Mapping{{Source: "", Target: "new/"}}},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := makeDiffReports(t, tc.spec)
			base := diff.Options{Source: src, Target: dst, Maps: tc.spec.maps, Bounds: partition.Bounds{MaxObjects: 40}, Examples: 4}
			if tc.opts != nil {
				tc.opts(&base)
			}
			one := base
			one.Out = filepath.Join(t.TempDir(), "one")
			if _, err := diff.Run(context.Background(), one); err != nil {
				t.Fatal(err)
			}
			want := readPlan(t, one.Out)
			wantStreams := streams(t, one.Out, want)
			wantSum := readSummary(t, one.Out)
			if len(wantStreams) < 2 || want.Counters.RowsKept == 0 {
				t.Fatalf("a weak case: routes %v, counters %+v", keys(wantStreams), want.Counters)
			}
			for n := 1; n <= 5; n++ {
				mode := []string{scaleout.ModeAuto, scaleout.ModeDirect, scaleout.ModeShuffle}[n%3]
				root := filepath.Join(t.TempDir(), fmt.Sprintf("n%d", n))
				res := distributedDiff(t, base, n, root, mode)
				if len(res.Ranges.Splits) != n-1 {
					t.Fatalf("N=%d: %d split keys", n, len(res.Ranges.Splits))
				}
				for k, in := range res.Ranges.Inputs {
					switch {
					case mode != scaleout.ModeAuto && in.Mode != mode:
						t.Errorf("N=%d: input %d read %s, asked for %s", n, k, in.Mode, mode)
					case tc.spec.clustered && tc.spec.format == "parquet" && in.Mode == manifest.ModeDirect && in.ReadAmplification > 1.5:
						t.Errorf("N=%d: input %d: clustered Parquet read %.2f times", n, k, in.ReadAmplification)
					case mode == scaleout.ModeAuto && tc.spec.clustered && tc.spec.format == "parquet" && in.Mode != manifest.ModeDirect:
						t.Errorf("N=%d: input %d: clustered Parquet shuffled", n, k)
					case mode == scaleout.ModeAuto && n > 1 && !tc.spec.clustered && in.Mode != manifest.ModeShuffle:
						t.Errorf("N=%d: input %d: unclustered %s read directly (amplification %.2f)", n, k, tc.spec.format, in.ReadAmplification)
					}
				}
				got := readPlan(t, root)
				gotStreams := streams(t, root, got)
				if !slices.Equal(keys(gotStreams), keys(wantStreams)) {
					t.Fatalf("N=%d: routes %v, want %v", n, keys(gotStreams), keys(wantStreams))
				}
				for k, w := range wantStreams {
					if string(gotStreams[k]) != string(w) {
						t.Errorf("N=%d: route %s: the merged shards differ from the one-machine diff's (%d bytes, want %d)", n, k, len(gotStreams[k]), len(w))
					}
				}
				if !jsonEqual(got.Counters, want.Counters) || !jsonEqual(got.Inputs, want.Inputs) || !jsonEqual(got.Options, want.Options) {
					t.Errorf("N=%d: counters %+v, want %+v (or inputs/options differ)", n, got.Counters, want.Counters)
				}
				if gotSum := readSummary(t, root); !jsonEqual(gotSum, wantSum) {
					a, _ := json.Marshal(gotSum)
					b, _ := json.Marshal(wantSum)
					t.Errorf("N=%d: diff.json\n got %s\nwant %s", n, a, b)
				}
			}
		})
	}
}

// TestDistributedDiffRefuses: the merge refuses a missing part and a part
// of another split; a range refuses other options, an index out of bounds
// and a plan's ranges.json.
func TestDistributedDiffRefuses(t *testing.T) {
	ctx := context.Background()
	src, dst := makeDiffReports(t, diffSpec{format: "csv", objects: 300, seed: 9, srcBucket: "src", dstBucket: "dst"})
	o := diff.Options{Source: src, Target: dst, CrossBucket: true}
	root := t.TempDir()
	distributedDiff(t, o, 3, root, scaleout.ModeShuffle)
	loc := filepath.Join(root, manifest.RangesName)
	r, sum, err := manifest.ReadRanges(ctx, nil, loc)
	if err != nil {
		t.Fatal(err)
	}

	other := o
	other.Compare = diff.Compare{Size: true}
	if _, err := scaleout.DiffRangeOptions(ctx, other, r, sum, loc, 0, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("other options: %v, want ErrRanges", err)
	}
	if _, err := scaleout.DiffRangeOptions(ctx, o, r, sum, loc, 3, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("range 3 of 3: %v, want ErrRanges", err)
	}
	planRanges := filepath.Join(t.TempDir(), manifest.RangesName)
	if _, err := scaleout.Split(ctx, scaleout.SplitOptions{Plan: partition.Options{Inventories: []string{src}, Sort: true}, N: 2, Out: planRanges}); err != nil {
		t.Fatal(err)
	}
	pr, psum, err := manifest.ReadRanges(ctx, nil, planRanges)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.DiffRangeOptions(ctx, o, pr, psum, planRanges, 0, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("a plan's ranges.json: %v, want ErrRanges", err)
	}
	if _, _, err := scaleout.MergeDiff(ctx, nil, planRanges, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("merging a plan's ranges.json as a diff: %v, want ErrRanges", err)
	}

	if _, err := scaleout.Merge(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("a diff's ranges.json merged as a plan's: %v, want ErrRanges", err)
	}

	// A part of another split (other split keys, same inventories).
	root2 := t.TempDir()
	distributedDiff(t, o, 2, root2, scaleout.ModeShuffle)
	part1 := manifest.PartDir(root, 1)
	saved, err := os.ReadFile(filepath.Join(part1, manifest.PartName))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(manifest.PartDir(root2, 1), manifest.PartName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(part1, manifest.PartName), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scaleout.MergeDiff(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrPartMismatch) {
		t.Errorf("a part of another split: %v, want ErrPartMismatch", err)
	}
	// A missing part.
	if err := os.Remove(filepath.Join(part1, manifest.PartName)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scaleout.MergeDiff(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrPartMissing) {
		t.Errorf("a missing part: %v, want ErrPartMissing", err)
	}
	// Back in place, the merge writes the same plan again.
	if err := os.WriteFile(filepath.Join(part1, manifest.PartName), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scaleout.MergeDiff(ctx, nil, loc, ""); err != nil {
		t.Errorf("merge after restoring the part: %v", err)
	}
	// A changed target report is refused by its range.
	if err := os.WriteFile(dst, append(must(os.ReadFile(dst)), ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := scaleout.DiffRangeOptions(ctx, o, r, sum, loc, 0, filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	ro.Reader.SkipChecksums = true
	if _, err := diff.Run(ctx, ro); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("a changed target manifest: %v, want ErrRanges", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
