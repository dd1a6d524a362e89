package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

func row(bucket, key string, size int64, etag string) gen.Row {
	return gen.Row{Bucket: bucket, Key: key, Size: size, ETag: etag, LastModified: 1_700_000_000_000, StorageClass: "STANDARD", IsLatest: true}
}

// routeKeys lists "route bucket/key" for every shard row, sorted.
func routeKeys(t *testing.T, dir string) []string {
	_, rows := readShards(t, dir)
	var out []string
	for _, r := range rows {
		out = append(out, r.Route+" "+r.Bucket+"/"+r.Key)
	}
	sort.Strings(out)
	return out
}

func TestDiffWithKeyMap(t *testing.T) {
	dir := t.TempDir()
	src := writeCSVReport(t, filepath.Join(dir, "src"), "old-bucket", []gen.Row{
		row("old-bucket", "legacy/a.txt", 1, md5a),     // same at archive/2019/a.txt
		row("old-bucket", "legacy/b.txt", 2, md5a),     // changed
		row("old-bucket", "legacy/c d+e.txt", 3, md5a), // missing
		row("old-bucket", "photos/p.jpg", 4, md5a),     // same at media/p.jpg
		row("old-bucket", "tmp/x", 5, md5a),            // unmapped
		row("old-bucket", "legacy0", 6, md5a),          // unmapped: not under legacy/
	}, false)
	tgt := writeCSVReport(t, filepath.Join(dir, "tgt"), "new-bucket", []gen.Row{
		row("new-bucket", "archive/2019/a.txt", 1, md5a),
		row("new-bucket", "archive/2019/b.txt", 2, md5b),
		row("new-bucket", "archive/2019/zz.txt", 7, md5a), // extra
		row("new-bucket", "media/p.jpg", 4, md5a),
		row("new-bucket", "aaa/unrelated", 8, md5a), // unmapped
		// Sorted in source keys, media/ (photos/) comes after archive/
		// (legacy/) as in target keys, but a/ → z/ reverses the order:
		row("new-bucket", "z/first", 9, md5a), // extra, from a/first
	}, false)
	out := filepath.Join(dir, "out")
	res, err := Run(context.Background(), Options{Source: src, Target: tgt, Out: out,
		Maps: []Mapping{{"legacy/", "archive/2019/"}, {"photos/", "media/"}, {"a/", "z/"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.OnlyInSource.Objects != 1 || s.Changed.Objects != 1 || s.OnlyInTarget.Objects != 2 || s.Unchanged.Objects != 2 {
		t.Errorf("classes %d %d %d %d", s.OnlyInSource.Objects, s.Changed.Objects, s.OnlyInTarget.Objects, s.Unchanged.Objects)
	}
	if s.Source.Dropped[DropUnmapped] != 2 || s.Target.Dropped[DropUnmapped] != 1 {
		t.Errorf("unmapped: source %v, target %v", s.Source.Dropped, s.Target.Dropped)
	}
	want := []string{
		"copy old-bucket/legacy/b.txt",
		"copy old-bucket/legacy/c d+e.txt",
		"delete new-bucket/archive/2019/zz.txt",
		"delete new-bucket/z/first",
	}
	if got := routeKeys(t, out); !slices.Equal(got, want) {
		t.Errorf("shards:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ex := s.OnlyInSource.Examples; len(ex) != 1 || ex[0].Key != "legacy/c d+e.txt" || ex[0].TargetKey != "archive/2019/c d+e.txt" {
		t.Errorf("example %+v", ex)
	}
	// Key filters see source keys on both sides.
	res, err = Run(context.Background(), Options{Source: src, Target: tgt, Out: out,
		Maps: []Mapping{{"legacy/", "archive/2019/"}, {"photos/", "media/"}}, Filter: inventory.FilterOptions{Prefixes: []string{"photos/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary; s.Unchanged.Objects != 1 || s.OnlyInSource.Objects+s.OnlyInTarget.Objects+s.Changed.Objects != 0 {
		t.Errorf("--prefix photos/ with a map: %+v", s)
	}
}

func TestDiffRefusals(t *testing.T) {
	dir := t.TempDir()
	rows := []gen.Row{row("a", "k", 1, md5a)}
	a := writeCSVReport(t, filepath.Join(dir, "a"), "a", rows, false)
	rows[0].Bucket = "b"
	b := writeCSVReport(t, filepath.Join(dir, "b"), "b", rows, true)
	av := writeCSVReport(t, filepath.Join(dir, "av"), "a", []gen.Row{row("a", "k", 1, md5a)}, true)
	out := filepath.Join(dir, "out")
	tests := []struct {
		name    string
		o       Options
		wantErr error
	}{
		{"different buckets", Options{Source: a, Target: b}, ErrCrossBucket},
		{"different buckets, said so", Options{Source: a, Target: b, CrossBucket: true}, nil},
		{"different buckets, mapped", Options{Source: a, Target: b, Maps: []Mapping{{"", ""}}}, nil},
		{"all versions across buckets", Options{Source: av, Target: b, AllVersions: true, CrossBucket: true}, ErrVersionsAcrossBuckets},
		{"all versions with a map", Options{Source: av, Target: av, AllVersions: true, Maps: []Mapping{{"", ""}}}, ErrVersionsAcrossBuckets},
		{"all versions without version ids", Options{Source: a, Target: av, AllVersions: true}, ErrNoVersions},
		{"all versions, one bucket", Options{Source: av, Target: av, AllVersions: true}, nil},
		{"compare needs a column", Options{Source: a, Target: a, Compare: Compare{Checksum: true}}, nil},
		{"latest-only is implied", Options{Source: a, Target: a, Filter: inventory.FilterOptions{LatestOnly: true}}, ErrOptions},
		{"ambiguous map", Options{Source: a, Target: b, Maps: []Mapping{{"x", "y"}, {"xx", "z"}}}, ErrMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Out = out
			_, err := Run(context.Background(), tt.o)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
	// A report of two buckets is refused.
	mixed := writeCSVReport(t, filepath.Join(dir, "mixed"), "a", []gen.Row{row("a", "k", 1, md5a), row("other", "l", 1, md5a)}, false)
	_, err := Run(context.Background(), Options{Source: a, Target: mixed, Out: out})
	var se *SideError
	if !errors.Is(err, ErrMixedBuckets) || !errors.As(err, &se) || se.Side != "target" || se.Manifest != mixed {
		t.Errorf("two buckets in the target: %v", err)
	}
	// A report without ChecksumAlgorithm cannot be compared by checksum.
	noAlgo := filepath.Join(dir, "noalgo")
	os.MkdirAll(noAlgo, 0o755)
	writeReportWithSchema(t, noAlgo, "a", "Bucket, Key, Size, ETag", `"a","k","1","`+md5a+`"`)
	_, err = Run(context.Background(), Options{Source: a, Target: filepath.Join(noAlgo, "manifest.json"), Out: out, Compare: Compare{Checksum: true}})
	if !errors.Is(err, ErrCompare) || !errors.As(err, &se) || se.Side != "target" {
		t.Errorf("checksum without the column: %v", err)
	}
}

// writeReportWithSchema writes a one-file CSV report with the given
// fileSchema and (unencoded, already quoted) lines.
func writeReportWithSchema(t *testing.T, dir, bucket, schema string, lines ...string) string {
	t.Helper()
	path := writeCSVReport(t, dir, bucket, nil, false)
	raw := strings.Join(lines, "\n") + "\n"
	return rewriteReport(t, path, schema, []byte(raw))
}

func TestDeterministicAcrossWorkersAndMemory(t *testing.T) {
	dir := t.TempDir()
	srcLoc := genReport(t, filepath.Join(dir, "src"), "csv", 40000, true, 21)
	d := deriveTarget(readRows(t, srcLoc), "target-bucket")
	tgtLoc := writeCSVReport(t, filepath.Join(dir, "tgt"), "target-bucket", d.rows, true)
	var first map[string][]byte
	for i, run := range []struct {
		workers int
		memory  int64
	}{{0, 0}, {1, 1 << 20}, {3, 3 << 20}} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		res, err := Run(context.Background(), Options{Source: srcLoc, Target: tgtLoc, Out: out, CrossBucket: true,
			Reader: inventory.ReaderOptions{Workers: run.workers, BatchRows: 1000 + 777*i}, SortMemory: run.memory,
			Bounds: partition.Bounds{MaxObjects: 500}})
		if err != nil {
			t.Fatal(err)
		}
		if run.memory > 0 && res.Stats.SourceSort.Runs < 2 {
			t.Errorf("memory %d: the sort did not spill (%+v)", run.memory, res.Stats.SourceSort)
		}
		files := readTree(t, out)
		if first == nil {
			first = files
			if len(files) < 5 {
				t.Fatalf("only %d files", len(files))
			}
			continue
		}
		if len(files) != len(first) {
			t.Fatalf("run %d wrote %d files, first run %d", i, len(files), len(first))
		}
		for name, data := range first {
			if !bytes.Equal(files[name], data) {
				t.Errorf("run %d (workers %d, memory %d): %s differs", i, run.workers, run.memory, name)
			}
		}
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			raw, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			files[rel] = raw
		}
		return nil
	})
	return files
}

// batchesOf builds sorted-stream batches from rows.
func batchesOf(rows ...[]gen.Row) nextFunc {
	fields := inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size, inventory.ETag)
	var recs []arrow.RecordBatch
	for _, rs := range rows {
		b := inventory.NewBatchBuilder(fields, len(rs))
		for _, r := range rs {
			b.AppendString(inventory.Bucket, []byte(r.Bucket))
			b.AppendString(inventory.Key, []byte(r.Key))
			b.AppendInt(inventory.Size, r.Size)
			b.AppendString(inventory.ETag, []byte(r.ETag))
			b.EndRow()
		}
		recs = append(recs, b.Build())
	}
	return func(ctx context.Context) (arrow.RecordBatch, error) {
		if len(recs) == 0 {
			return nil, io.EOF
		}
		r := recs[0]
		recs = recs[1:]
		return r, nil
	}
}

type recorder struct{ got []string }

func (r *recorder) onlySource(s *Object) error { r.got = append(r.got, "-"+string(s.Key)); return nil }
func (r *recorder) onlyTarget(t *Object) error { r.got = append(r.got, "+"+string(t.Key)); return nil }
func (r *recorder) both(s, t *Object, v Verdict) error {
	mark := "="
	if v.Changed() {
		mark = "~"
	}
	r.got = append(r.got, mark+string(s.Key))
	return nil
}

func TestMergeOrderAndErrors(t *testing.T) {
	fields := inventory.Fields(inventory.Bucket, inventory.Key, inventory.Size, inventory.ETag)
	cur := func(side string, next nextFunc) *cursor {
		return &cursor{side: side, manifest: side + "/manifest.json", next: next, fields: fields}
	}
	r := func(b, k string, size int64) gen.Row { return row(b, k, size, md5a) }
	// Groups span batches; keys compare as bytes.
	rec := &recorder{}
	m := &merger{out: rec, cmp: DefaultCompare,
		src: cur("source", batchesOf([]gen.Row{r("s", "a", 1), r("s", "b", 1)}, []gen.Row{r("s", "b", 9), r("s", "d", 1)}, []gen.Row{r("s", "é", 1)})),
		tgt: cur("target", batchesOf([]gen.Row{r("t", "b", 1)}, []gen.Row{r("t", "c", 1), r("t", "d", 2), r("t", "z", 1)}))}
	if err := m.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"-a", "=b", "+c", "~d", "+z", "-é"}; !slices.Equal(rec.got, want) {
		t.Errorf("merge %v, want %v", rec.got, want)
	}
	if m.src.dropped != 1 {
		t.Errorf("extra rows of a key dropped: %d, want 1", m.src.dropped)
	}

	tests := []struct {
		name     string
		src, tgt nextFunc
		wantErr  error
		wantSide string
	}{
		{"unsorted source", batchesOf([]gen.Row{r("s", "b", 1)}, []gen.Row{r("s", "a", 1)}), batchesOf(), ErrUnsorted, "source"},
		{"unsorted target", batchesOf(), batchesOf([]gen.Row{r("t", "a", 1), r("t", "c", 1), r("t", "b", 1)}), ErrUnsorted, "target"},
		{"two buckets", batchesOf([]gen.Row{r("s", "a", 1), r("x", "b", 1)}), batchesOf(), ErrMixedBuckets, "source"},
		{"two buckets in one key", batchesOf([]gen.Row{r("s", "a", 1), r("x", "a", 1)}), batchesOf(), ErrMixedBuckets, "source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &merger{out: &recorder{}, cmp: DefaultCompare, src: cur("source", tt.src), tgt: cur("target", tt.tgt)}
			err := m.run(context.Background())
			var se *SideError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &se) || se.Side != tt.wantSide || se.Manifest != tt.wantSide+"/manifest.json" {
				t.Errorf("got %v, want %v in the %s", err, tt.wantErr, tt.wantSide)
			}
		})
	}
}

func TestCorruptSideLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	src := genReport(t, filepath.Join(dir, "src"), "csv", 3000, false, 4)
	tgt := writeCSVReport(t, filepath.Join(dir, "tgt"), "example-source-bucket", []gen.Row{row("example-source-bucket", "k", 1, md5a)}, false)
	// A bad size on line 2 of the target's data file.
	tgt = rewriteReport(t, tgt, "", []byte(`"example-source-bucket","k","1","2024-01-01T00:00:00.000Z","`+md5a+`","STANDARD","false","",""`+"\n"+
		`"example-source-bucket","l","1.5kB","2024-01-01T00:00:00.000Z","`+md5a+`","STANDARD","false","",""`+"\n"))
	out := filepath.Join(dir, "out")
	// An earlier plan in out stays whole.
	if _, err := Run(context.Background(), Options{Source: src, Target: src, Out: out}); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, out)
	_, err := Run(context.Background(), Options{Source: src, Target: tgt, Out: out})
	var de *inventory.DataError
	var se *SideError
	if !errors.As(err, &de) || !errors.As(err, &se) || se.Side != "target" || !strings.HasSuffix(de.File, "part-0.csv.gz") || de.Line != 2 {
		t.Fatalf("got %v, want a DataError at the target's data file, line 2", err)
	}
	after := readTree(t, out)
	if len(after) != len(before) {
		t.Errorf("files before %d, after %d", len(before), len(after))
	}
	for name, data := range before {
		if !bytes.Equal(after[name], data) {
			t.Errorf("%s changed", name)
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".staging") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestAllVersionsSameBucket(t *testing.T) {
	dir := t.TempDir()
	src := genReport(t, filepath.Join(dir, "src"), "parquet", 3000, true, 8)
	rows := readRows(t, src)
	// The next delivery: one noncurrent version expired, one new version
	// written, the rest as they were.
	var next []gen.Row
	var gone, added string
	for _, r := range rows {
		if gone == "" && !r.IsLatest && !r.IsDeleteMarker && r.VersionID != "" {
			gone = r.Key + "@" + r.VersionID
			continue
		}
		next = append(next, r)
	}
	nr := row(rows[0].Bucket, rows[0].Key, 5, md5b)
	nr.VersionID, nr.IsLatest, nr.LastModified = "newversion", false, 1
	added = nr.Key + "@" + nr.VersionID
	next = append(next, nr)
	tgt := writeCSVReport(t, filepath.Join(dir, "tgt"), rows[0].Bucket, next, true)
	out := filepath.Join(dir, "out")
	res, err := Run(context.Background(), Options{Source: src, Target: tgt, Out: out, AllVersions: true})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.OnlyInSource.Objects != 1 || s.OnlyInTarget.Objects != 1 || s.Changed.Objects != 0 {
		t.Fatalf("classes %+v %+v %+v", s.OnlyInSource, s.OnlyInTarget, s.Changed)
	}
	_, srows := readShards(t, out)
	var got []string
	for _, r := range srows {
		if !r.HasVersion {
			t.Errorf("%s: no version id", r.Key)
		}
		got = append(got, r.Key+"@"+r.VersionID)
	}
	sort.Strings(got)
	want := []string{gone, added}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("shards %v, want %v", got, want)
	}
	// Both versions are noncurrent: their shards say so, so that submit
	// runs them before any current version's job.
	for _, sh := range res.Plan.Shards {
		if sh.Versions != manifest.VersionsNoncurrent {
			t.Errorf("%s: versions %q, want %q", sh.Path, sh.Versions, manifest.VersionsNoncurrent)
		}
	}
}

func TestDuplicateKeysCompareTheNewestRow(t *testing.T) {
	dir := t.TempDir()
	old, cur := row("b", "k", 1, md5a), row("b", "k", 2, md5b)
	cur.LastModified = old.LastModified + 1000
	// Listed twice (two data files of one delivery), the older row first.
	src := writeCSVReport(t, filepath.Join(dir, "src"), "b", []gen.Row{old, row("b", "j", 1, md5a), cur}, false)
	tgt := writeCSVReport(t, filepath.Join(dir, "tgt"), "b", []gen.Row{cur, row("b", "j", 1, md5a)}, false)
	res, err := Run(context.Background(), Options{Source: src, Target: tgt, Out: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Unchanged.Objects != 2 || s.Changed.Objects != 0 || s.Source.Dropped[partition.DropDuplicate] != 1 || s.Source.RowsCompared != 2 {
		t.Errorf("unchanged %d changed %d, source %+v", s.Unchanged.Objects, s.Changed.Objects, s.Source)
	}
	if c := res.Plan.Counters; c.RowsRead != 5 || c.RowsKept != 4 || c.Dropped[partition.DropDuplicate] != 1 {
		t.Errorf("plan counters %+v", c)
	}
}
