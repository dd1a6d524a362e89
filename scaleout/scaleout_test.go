package scaleout_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
	"github.com/s3batchkit/s3batchkit/scaleout"
)

// reportSpec describes a synthetic report for the tests.
type reportSpec struct {
	format    string // csv, parquet, orc
	objects   int
	versions  bool
	clustered bool // data files (and row groups) in key order
	fileRows  int
	unitRows  int // rows per row group or stripe
	seed      uint64
	bucket    string
}

// makeReport writes a report of spec's rows: keys under a few prefixes,
// some with characters that need escaping, sizes of every route (some
// over 5 GiB), archived storage classes, and, when versioned, up to three
// versions of a key (and null versions). Clustered reports hold their
// rows in key order; the others in a random order.
func makeReport(t *testing.T, s reportSpec) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 11))
	prefixes := []string{"a/", "b/deep/er/", "c d/", "é/", "z+%/"}
	var rows []gen.Row
	for i := range s.objects {
		key := fmt.Sprintf("%s%06d", prefixes[rng.IntN(len(prefixes))], rng.IntN(1_000_000))
		if i%37 == 0 {
			key += ",\"q\"" // a comma and quotes
		}
		r := gen.Row{Bucket: s.bucket, Key: key, Size: rng.Int64N(1 << 20), LastModified: 1_700_000_000_000 + rng.Int64N(1e10),
			ETag: fmt.Sprintf("%032x", rng.Uint64()), StorageClass: "STANDARD", Encryption: "SSE-S3", BucketKey: "DISABLED", LegalHold: "OFF"}
		switch rng.IntN(20) {
		case 0:
			r.StorageClass = "GLACIER"
		case 1:
			r.Size = 6 << 30 // large route
		case 2:
			r.StorageClass, r.TieringTier = "INTELLIGENT_TIERING", "ARCHIVE"
		case 3, 4:
			r.Encryption, r.BucketKey = "SSE-KMS", "ENABLED"
		}
		if !s.versions {
			rows = append(rows, r)
			continue
		}
		r.IsLatest = true
		r.VersionID = fmt.Sprintf("v%016x", rng.Uint64())
		if rng.IntN(10) == 0 {
			r.VersionID = ""
		}
		rows = append(rows, r)
		for v := range rng.IntN(3) {
			o := r
			o.IsLatest = false
			o.VersionID = fmt.Sprintf("o%d%015x", v, rng.Uint64())
			o.LastModified -= int64(v+1) * 86_400_000
			rows = append(rows, o)
		}
	}
	layout := gen.Layout{Parquet: &gen.ParquetLayout{RowGroupRows: s.unitRows}, ORC: &orc.WriterOptions{StripeRows: s.unitRows, StringStats: true}}
	return writeReport(t, gen.ReportOptions{Format: s.format, Versions: s.versions, Bucket: s.bucket, FileRows: s.fileRows, Layout: layout}, rows, s.clustered, rng)
}

// writeReport writes rows as a report with o's options, in key order when
// clustered, else shuffled by rng.
func writeReport(t *testing.T, o gen.ReportOptions, rows []gen.Row, clustered bool, rng *rand.Rand) string {
	t.Helper()
	if clustered {
		slices.SortStableFunc(rows, func(a, b gen.Row) int { return strings.Compare(a.Key, b.Key) })
	} else {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	w, err := gen.NewReport(filepath.Join(t.TempDir(), "inv"), o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// distributed runs the three steps: split into root/ranges.json, every
// range's worker, merge.
func distributed(t *testing.T, o partition.Options, n int, root string, mode string) *scaleout.SplitResult {
	t.Helper()
	ctx := context.Background()
	loc := filepath.Join(root, manifest.RangesName)
	res, err := scaleout.Split(ctx, scaleout.SplitOptions{Plan: o, N: n, Out: loc, Mode: mode, Slices: 3})
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	for j := range res.Ranges.Slices {
		if _, err := scaleout.Scatter(ctx, scaleout.ScatterOptions{Ranges: loc, Slice: j, Reader: o.Reader, IO: o.IO}); err != nil {
			t.Fatalf("scatter %d: %v", j, err)
		}
	}
	for i := range n {
		runWorker(t, o, loc, i, "")
	}
	if _, err := scaleout.Merge(ctx, nil, loc, ""); err != nil {
		t.Fatalf("merge: %v", err)
	}
	return res
}

func runWorker(t *testing.T, o partition.Options, loc string, i int, out string) *manifest.Plan {
	t.Helper()
	r, sum, err := manifest.ReadRanges(context.Background(), nil, loc)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := scaleout.RangeOptions(context.Background(), o, r, sum, loc, i, out)
	if err != nil {
		t.Fatalf("range %d: %v", i, err)
	}
	plan, _, err := partition.Plan(context.Background(), ro)
	if err != nil {
		t.Fatalf("range %d: %v", i, err)
	}
	return plan
}

func readPlan(t *testing.T, dir string) *manifest.Plan {
	t.Helper()
	p, err := manifest.ReadPlan(context.Background(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// streams concatenates a plan's shards per (route, version ids,
// versions), in plan order.
func streams(t *testing.T, dir string, p *manifest.Plan) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sh.Path)))
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s/%v/%s", sh.Route, sh.VersionIDs, sh.Versions)
		out[k] = append(out[k], raw...)
	}
	return out
}

// TestDistributedIdentity plans reports of every format, clustered or
// not, versioned or not, under several filters and bounds, on one
// machine and in N ranges: the merged plan's shards, concatenated per
// route (and versions), are byte-identical to the one-machine plan's,
// its counters, inputs and options are the same, and every shard lies
// within its range (so every version of a key is in one range).
func TestDistributedIdentity(t *testing.T) {
	cases := []struct {
		name   string
		spec   reportSpec
		filter inventory.FilterOptions
		bounds partition.Bounds
		n      int
		// direct: the footers place the keys well enough to read every
		// row once (clustered Parquet and ORC).
		direct bool
		mode   string // of the split; "" is auto
	}{
		{"parquet-clustered", reportSpec{format: "parquet", objects: 3000, clustered: true, fileRows: 700, unitRows: 100}, inventory.FilterOptions{}, partition.Bounds{MaxObjects: 250}, 4, true, ""},
		{"parquet-unclustered-versions", reportSpec{format: "parquet", objects: 1500, versions: true, fileRows: 800, unitRows: 200}, inventory.FilterOptions{EncryptionStatuses: []string{"SSE-KMS"}, Where: `storage_class != "GLACIER"`}, partition.Bounds{MaxObjects: 300}, 3, false, ""},
		{"orc-clustered-versions-latest", reportSpec{format: "orc", objects: 1500, versions: true, clustered: true, fileRows: 900, unitRows: 150}, inventory.FilterOptions{LatestOnly: true}, partition.Bounds{}, 5, true, ""},
		{"orc-unclustered", reportSpec{format: "orc", objects: 2000, fileRows: 600, unitRows: 250}, inventory.FilterOptions{Prefixes: []string{"a/", "c d/"}}, partition.Bounds{MaxObjects: 100}, 2, false, ""},
		{"csv-unclustered-versions", reportSpec{format: "csv", objects: 1500, versions: true, fileRows: 500}, inventory.FilterOptions{MinSize: 1000}, partition.Bounds{MaxObjects: 400}, 4, false, ""},
		{"csv-clustered", reportSpec{format: "csv", objects: 2000, clustered: true, fileRows: 300}, inventory.FilterOptions{}, partition.Bounds{}, 7, false, ""},
		{"parquet-one-range", reportSpec{format: "parquet", objects: 800, fileRows: 400, unitRows: 100}, inventory.FilterOptions{}, partition.Bounds{MaxObjects: 100}, 1, true, ""},
		{"parquet-more-ranges-than-files", reportSpec{format: "parquet", objects: 400, clustered: true, fileRows: 400, unitRows: 400}, inventory.FilterOptions{}, partition.Bounds{}, 6, true, ""},
		{"parquet-unclustered-read-all", reportSpec{format: "parquet", objects: 1500, versions: true, fileRows: 500, unitRows: 200}, inventory.FilterOptions{LatestOnly: true}, partition.Bounds{MaxObjects: 200}, 3, false, scaleout.ModeDirect},
		{"csv-read-all", reportSpec{format: "csv", objects: 1000, fileRows: 300}, inventory.FilterOptions{}, partition.Bounds{}, 2, false, scaleout.ModeDirect},
		{"orc-clustered-shuffled", reportSpec{format: "orc", objects: 1500, versions: true, clustered: true, fileRows: 400, unitRows: 100}, inventory.FilterOptions{}, partition.Bounds{MaxObjects: 150}, 4, true, scaleout.ModeShuffle},
	}
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.spec.seed = uint64(100 + k)
			tc.spec.bucket = "src-bucket"
			inv := makeReport(t, tc.spec)
			tmp := t.TempDir()
			o := partition.Options{Inventories: []string{inv}, Out: filepath.Join(tmp, "single"), Sort: true, Filter: tc.filter, Bounds: tc.bounds,
				Reader: inventory.ReaderOptions{Workers: 2}}
			if _, _, err := partition.Plan(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(tmp, "run")
			res := distributed(t, o, tc.n, root, tc.mode)
			single, merged := readPlan(t, o.Out), readPlan(t, root)

			if !jsonEqual(single.Counters, merged.Counters) || !jsonEqual(single.Inputs, merged.Inputs) || !jsonEqual(single.Options, merged.Options) {
				t.Errorf("counters, inputs or options differ:\nsingle %+v\nmerged %+v", single.Counters, merged.Counters)
			}
			a, b := streams(t, o.Out, single), streams(t, root, merged)
			if len(a) != len(b) {
				t.Errorf("streams %v, merged %v", keys(a), keys(b))
			}
			for k := range a {
				if !bytes.Equal(a[k], b[k]) {
					t.Errorf("stream %s: merged shards (%d bytes, MD5 %x) differ from the single plan's (%d bytes, MD5 %x)", k, len(b[k]), md5.Sum(b[k]), len(a[k]), md5.Sum(a[k]))
				}
			}
			if single.Counters.RowsKept == 0 {
				t.Fatal("the filters kept nothing: the case tests nothing")
			}
			// Every shard within its range.
			r := res.Ranges
			for _, sh := range merged.Shards {
				var i int
				if _, err := fmt.Sscanf(sh.Path, "parts/%04d/", &i); err != nil {
					t.Fatalf("shard path %q", sh.Path)
				}
				if got := r.RangeOf([]byte(sh.Bucket), []byte(sh.FirstKey)); got != i {
					t.Errorf("%s: first key %q is in range %d", sh.Path, sh.FirstKey, got)
				}
				if got := r.RangeOf([]byte(sh.Bucket), []byte(sh.LastKey)); got != i {
					t.Errorf("%s: last key %q is in range %d", sh.Path, sh.LastKey, got)
				}
			}
			in := r.Inputs[0]
			// Clustered units are read once, but for those that versions
			// of one key make straddle a split key.
			if tc.direct && (in.ReadAmplification > 1.25 || res.Sampled != 0) {
				t.Errorf("read amplification %v, %d keys sampled: the footers should have placed every unit in one range", in.ReadAmplification, res.Sampled)
			}
			if !tc.direct && tc.n > 1 && in.ReadAmplification <= 1 {
				t.Errorf("read amplification %v for files whose keys overlap", in.ReadAmplification)
			}
			if tc.direct && in.Mode == manifest.ModeDirect {
				// Pruning: the ranges read about every unit once.
				units, read := 0, 0
				for _, f := range in.Files {
					units += f.Units
				}
				for _, rg := range r.Ranges {
					for _, fr := range rg.Reads {
						if fr.Units == nil {
							read += in.Files[fr.File].Units
						} else {
							read += len(fr.Units)
						}
					}
				}
				if float64(read) > 1.25*float64(units)+float64(tc.n) {
					t.Errorf("the ranges read %d row groups or stripes of %d", read, units)
				}
			}
			wantMode := manifest.ModeDirect
			if tc.mode == scaleout.ModeShuffle || tc.mode == "" && !tc.direct && tc.n > 1 {
				wantMode = manifest.ModeShuffle
			}
			if in.Mode != wantMode || (wantMode == manifest.ModeShuffle) != (r.Slices > 0) {
				t.Errorf("mode %s with %d scatter slices, want %s", in.Mode, r.Slices, wantMode)
			}
			if tc.n > 1 && tc.spec.objects >= 1500 {
				// The split balances the ranges: none holds more than
				// twice its share of the rows read.
				for i := range tc.n {
					p, err := manifest.ReadPart(context.Background(), nil, manifest.PartDir(root, i))
					if err != nil {
						t.Fatal(err)
					}
					if share := float64(single.Counters.RowsRead) / float64(tc.n); float64(p.Plan.Counters.RowsRead) > 2*share {
						t.Errorf("range %d read %d rows, its share is %.0f", i, p.Plan.Counters.RowsRead, share)
					}
				}
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWorkerRerunWritesSameBytes re-runs a range's worker over what a
// killed run leaves (a staging folder, a stale shard, no part.json) and
// over a finished part: the part folder holds the same bytes each time.
func TestWorkerRerunWritesSameBytes(t *testing.T) {
	inv := makeReport(t, reportSpec{format: "parquet", objects: 2000, versions: true, fileRows: 700, unitRows: 200, seed: 5, bucket: "b"})
	tmp := t.TempDir()
	o := partition.Options{Inventories: []string{inv}, Sort: true, Bounds: partition.Bounds{MaxObjects: 200}}
	loc := filepath.Join(tmp, "run", manifest.RangesName)
	if _, err := scaleout.Split(context.Background(), scaleout.SplitOptions{Plan: o, N: 3, Out: loc, Mode: scaleout.ModeShuffle, Slices: 2}); err != nil {
		t.Fatal(err)
	}
	// The scatter slices, the second twice: the same bytes.
	root := manifest.RootOf(loc)
	for j := range 2 {
		if _, err := scaleout.Scatter(context.Background(), scaleout.ScatterOptions{Ranges: loc, Slice: j}); err != nil {
			t.Fatal(err)
		}
	}
	slice1 := readTree(t, manifest.ScatterDir(root, 1))
	if _, err := scaleout.Scatter(context.Background(), scaleout.ScatterOptions{Ranges: loc, Slice: 1}); err != nil {
		t.Fatal(err)
	}
	if again := readTree(t, manifest.ScatterDir(root, 1)); !jsonEqual(slice1, again) || len(again) < 2 {
		t.Errorf("scatter slice 1 re-run: other bytes (%d files, then %d)", len(slice1), len(again))
	}
	part := manifest.PartDir(root, 1)
	runWorker(t, o, loc, 1, "")
	first := readTree(t, part)
	if first[manifest.PartName] == "" || len(first) < 3 {
		t.Fatalf("the part holds %d files", len(first))
	}

	// What a kill leaves: no part.json, a staging folder with a partial
	// shard, and a shard of another cut.
	if err := os.Remove(filepath.Join(part, manifest.PartName)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(part, ".staging-123", "shards", "copy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(part, ".staging-123", "shards", "copy", "00000.csv"), []byte("b,half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(part, "shards", "copy", "00099.csv"), []byte("b,stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.ReadPart(context.Background(), nil, part); !errors.Is(err, manifest.ErrPartMissing) {
		t.Fatalf("a part without part.json: %v, want ErrPartMissing", err)
	}
	for run := range 2 {
		runWorker(t, o, loc, 1, "")
		again := readTree(t, part)
		if !jsonEqual(first, again) {
			for k := range again {
				if first[k] != again[k] {
					t.Errorf("re-run %d: %s differs", run, k)
				}
			}
			for k := range first {
				if _, ok := again[k]; !ok {
					t.Errorf("re-run %d: %s missing", run, k)
				}
			}
		}
	}
}

// TestMergeRefuses: a part missing, a part made from another ranges.json,
// a file verified by two ranges, and a worker given other filters than
// the split are refused.
func TestMergeRefuses(t *testing.T) {
	ctx := context.Background()
	inv := makeReport(t, reportSpec{format: "orc", objects: 1200, fileRows: 300, unitRows: 100, seed: 9, bucket: "b"})
	tmp := t.TempDir()
	o := partition.Options{Inventories: []string{inv}, Sort: true}
	root := filepath.Join(tmp, "run")
	distributed(t, o, 3, root, scaleout.ModeDirect)
	loc := filepath.Join(root, manifest.RangesName)

	// Another split (other bounds) of the same inventory, its range 1.
	o2 := o
	o2.Bounds.MaxObjects = 123
	other := filepath.Join(tmp, "other", manifest.RangesName)
	if _, err := scaleout.Split(ctx, scaleout.SplitOptions{Plan: o2, N: 3, Out: other, Mode: scaleout.ModeDirect}); err != nil {
		t.Fatal(err)
	}
	runWorker(t, o2, other, 1, "")

	// A worker given the other bounds with the first ranges.json.
	r, sum, err := manifest.ReadRanges(ctx, nil, loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.RangeOptions(context.Background(), o2, r, sum, loc, 0, ""); !errors.Is(err, manifest.ErrRanges) || !strings.Contains(err.Error(), "max_objects") {
		t.Errorf("a worker with other bounds: %v, want ErrRanges naming max_objects", err)
	}
	if _, err := scaleout.RangeOptions(context.Background(), o, r, sum, loc, 3, ""); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("range 3 of 3: %v, want ErrRanges", err)
	}

	part1 := manifest.PartDir(root, 1)
	good := filepath.Join(tmp, "good-part1")
	if err := os.Rename(part1, good); err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.Merge(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrPartMissing) {
		t.Errorf("part 1 missing: %v, want ErrPartMissing", err)
	}
	if err := os.Rename(manifest.PartDir(manifest.RootOf(other), 1), part1); err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.Merge(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrPartMismatch) || !strings.Contains(err.Error(), "another ranges.json") {
		t.Errorf("part 1 of another split: %v, want ErrPartMismatch", err)
	}
	os.RemoveAll(part1)
	if err := os.Rename(good, part1); err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.Merge(ctx, nil, loc, ""); err != nil {
		t.Fatalf("the parts restored: %v", err)
	}

	// Part 0 claims a file that range 1 verifies.
	p0 := filepath.Join(manifest.PartDir(root, 0), manifest.PartName)
	raw, err := os.ReadFile(p0)
	if err != nil {
		t.Fatal(err)
	}
	var part map[string]any
	if err := json.Unmarshal(raw, &part); err != nil {
		t.Fatal(err)
	}
	var claim *manifest.FileRef
	for f, file := range r.Inputs[0].Files {
		if file.VerifiedBy != 0 {
			claim = &manifest.FileRef{Input: 0, File: f}
			break
		}
	}
	if claim == nil {
		t.Fatal("range 0 verifies every file")
	}
	part["verified"] = append(part["verified"].([]any), map[string]any{"input": claim.Input, "file": claim.File})
	edited, _ := json.Marshal(part)
	if err := os.WriteFile(p0, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scaleout.Merge(ctx, nil, loc, ""); !errors.Is(err, manifest.ErrPartMismatch) {
		t.Errorf("a file verified by two ranges: %v, want ErrPartMismatch", err)
	}
	if _, err := scaleout.Merge(ctx, nil, loc, filepath.Join(tmp, "elsewhere")); !errors.Is(err, manifest.ErrRanges) {
		t.Errorf("merge --out elsewhere: %v, want ErrRanges", err)
	}
}

// TestIndexFromEnv: JOB_COMPLETION_INDEX first, then
// AWS_BATCH_JOB_ARRAY_INDEX; none set, or a bad value, says so.
func TestIndexFromEnv(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", "")
	os.Unsetenv("JOB_COMPLETION_INDEX")
	os.Unsetenv("AWS_BATCH_JOB_ARRAY_INDEX")
	if _, _, ok, err := scaleout.IndexFromEnv(); ok || err != nil {
		t.Errorf("none set: ok %v, err %v", ok, err)
	}
	t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", "7")
	if i, name, ok, err := scaleout.IndexFromEnv(); !ok || err != nil || i != 7 || name != "AWS_BATCH_JOB_ARRAY_INDEX" {
		t.Errorf("AWS Batch: %d %s %v %v", i, name, ok, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	if i, name, ok, err := scaleout.IndexFromEnv(); !ok || err != nil || i != 3 || name != "JOB_COMPLETION_INDEX" {
		t.Errorf("Kubernetes first: %d %s %v %v", i, name, ok, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "x")
	if _, _, ok, err := scaleout.IndexFromEnv(); !ok || err == nil {
		t.Errorf("a bad index: ok %v, err %v", ok, err)
	}
}

// TestSplitSampleBounded: with a sample budget of 320 keys, a report of
// 60 row groups in no key order is sampled from at most 20 of them (16
// keys each), and every range still gets a share of the rows.
func TestSplitSampleBounded(t *testing.T) {
	inv := makeReport(t, reportSpec{format: "parquet", objects: 3000, fileRows: 1000, unitRows: 50, seed: 3, bucket: "b"})
	o := partition.Options{Inventories: []string{inv}, Sort: true}
	res, err := scaleout.Split(context.Background(), scaleout.SplitOptions{Plan: o, N: 3, Out: filepath.Join(t.TempDir(), manifest.RangesName), SampleRows: 320})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sampled == 0 || res.Sampled > 20*16 {
		t.Errorf("sampled %d keys, want 1 to 320", res.Sampled)
	}
	for _, rg := range res.Ranges.Ranges {
		if rg.Rows < 3000/3/2 || rg.Rows > 3000/3*2 {
			t.Errorf("range %d: %d rows estimated of 3000", rg.Index, rg.Rows)
		}
	}
}

// TestScatterSmallBuffer: a scatter slice that writes its ranges' rows out
// every 70 rows (as one with many ranges does, to bound its memory) gives
// the plan of one machine all the same.
func TestScatterSmallBuffer(t *testing.T) {
	defer scaleout.SetScatterBuffer(70)()
	inv := makeReport(t, reportSpec{format: "csv", objects: 1200, versions: true, fileRows: 400, seed: 21, bucket: "b"})
	tmp := t.TempDir()
	o := partition.Options{Inventories: []string{inv}, Out: filepath.Join(tmp, "single"), Sort: true, Bounds: partition.Bounds{MaxObjects: 100}}
	if _, _, err := partition.Plan(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "run")
	res := distributed(t, o, 3, root, scaleout.ModeShuffle)
	if res.Ranges.Slices == 0 {
		t.Fatal("not shuffled")
	}
	a, b := streams(t, o.Out, readPlan(t, o.Out)), streams(t, root, readPlan(t, root))
	if !jsonEqual(keys(a), keys(b)) {
		t.Fatalf("streams %v, merged %v", keys(a), keys(b))
	}
	for k := range a {
		if !bytes.Equal(a[k], b[k]) {
			t.Errorf("stream %s differs", k)
		}
	}
}
