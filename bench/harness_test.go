package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// TestMain lets the test binary stand in for the child processes the
// harness starts: BENCH_TEST_HELPER=alloc touches BENCH_TEST_MIB MiB and
// exits; =measure acts as `s3batchkit bench --measure --`; =plan as
// `s3batchkit plan` with the arguments the peer passes.
func TestMain(m *testing.M) {
	switch os.Getenv("BENCH_TEST_HELPER") {
	case "":
		os.Exit(m.Run())
	case "alloc":
		mib, _ := strconv.Atoi(os.Getenv("BENCH_TEST_MIB"))
		b := make([]byte, mib<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		os.Exit(int(b[len(b)/2]) - 1)
	case "measure":
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		if err := MeasureMain(context.Background(), args, os.NewFile(3, "report")); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "plan":
		args := map[string]string{}
		a := os.Args[1:]
		for i := 0; i+1 < len(a); i++ {
			if strings.HasPrefix(a[i], "--") {
				args[a[i]] = a[i+1]
			}
		}
		_, _, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{args["--inventory"]}, Out: args["--out"],
			Filter: BenchFilter(), Sort: !slices.Contains(a, "--sort=false"), NoRoutes: true})
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

func TestTableText(t *testing.T) {
	tb := &Table{Title: "T", Head: []string{"stage", "rows/s", "wall"}, Rows: [][]string{{"read", "5.21 M", "0.183 s"}, {"filter|x", "850 k", "12.4 s"}}, Notes: []string{"n"}}
	var b bytes.Buffer
	if err := tb.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "T\n" +
		"  stage    rows/s    wall\n" +
		"  read     5.21 M 0.183 s\n" +
		"  filter|x  850 k  12.4 s\n" +
		"  n\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := tb.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	wantMD := "**T**\n\n| stage | rows/s | wall |\n| :--- | ---: | ---: |\n| read | 5.21 M | 0.183 s |\n| filter\\|x | 850 k | 12.4 s |\n\nn\n\n"
	if b.String() != wantMD {
		t.Errorf("markdown:\n%q\nwant:\n%q", b.String(), wantMD)
	}
}

func TestProjectAndSummarize(t *testing.T) {
	tests := []struct {
		name   string
		rows   int64
		wall   float64
		target float64
		want   float64
	}{
		{"linear", 1_000_000, 2, 1e9, 2000},
		{"fraction", 4_000_000, 1, 1e9, 250},
		{"no rows", 0, 1, 1e9, 0},
		{"no time", 10, 0, 1e9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Project(tt.rows, tt.wall, tt.target); got != tt.want {
				t.Errorf("Project(%d, %v, %v) = %v, want %v", tt.rows, tt.wall, tt.target, got, tt.want)
			}
		})
	}
	sr := StageResult{Rows: 2_000_000, Runs: []Measurement{
		{WallSeconds: 3, UserSeconds: 2, SysSeconds: 1, PeakBytes: 100, Output: Output{RowsRead: 2_000_000, InputBytes: 8e6}},
		{WallSeconds: 1, UserSeconds: 1, SysSeconds: 0, PeakBytes: 300, Output: Output{RowsRead: 2_000_000, InputBytes: 8e6}},
		{WallSeconds: 2, UserSeconds: 1, SysSeconds: 1, PeakBytes: 200, Output: Output{RowsRead: 2_000_000, InputBytes: 8e6}},
	}}
	sr.summarize()
	if sr.WallSeconds != 2 || sr.CPUSeconds != 2 || sr.PeakBytes != 300 || sr.RowsPerSec != 1e6 || sr.RowsPerCPUSec != 1e6 || sr.MBPerSec != 4 || sr.Projected1e9 != 1000 {
		t.Errorf("summary %+v", sr)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", m)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{Rate(5_210_000), "5.21 M"}, {Rate(850_400), "850 k"}, {Rate(12), "12"},
		{Seconds(0.1834), "0.183 s"}, {Seconds(12.44), "12.4 s"},
		{Duration(45), "45 s"}, {Duration(192), "3 min 12 s"}, {Duration(7500), "2 h 05 min"}, {Duration(0), "-"},
		{Bytes(512), "512 B"}, {Bytes(1536), "1.5 KiB"}, {Bytes(300 << 20), "300 MiB"},
		{count(1234567), "1,234,567"}, {count(-1000), "-1,000"},
		{ShellJoin([]string{"node", "a b.mjs", "it's", "1024"}), `node 'a b.mjs' 'it'\''s' 1024`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func helperCmd(t *testing.T, helper string, env ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	t.Setenv("BENCH_TEST_HELPER", helper)
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	return []string{exe}
}

// TestRusage checks the peak RSS read from a child that touches 64 MiB,
// directly and through a measuring process.
func TestRusage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	argv := helperCmd(t, "alloc", "BENCH_TEST_MIB=64")
	cmd := exec.Command(argv[0])
	m, err := timeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if selfUsage() == (Usage{}) {
		t.Skip("no rusage on this system")
	}
	if m.PeakBytes < 64<<20 || m.PeakBytes > 1<<30 {
		t.Errorf("peak %d bytes, want about 64 MiB", m.PeakBytes)
	}
	if m.WallSeconds <= 0 || m.UserSeconds+m.SysSeconds <= 0 {
		t.Errorf("times %+v", m)
	}

	// Through MeasureMain in this process: the same figures as JSON.
	var buf bytes.Buffer
	if err := MeasureMain(context.Background(), argv, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"peak_bytes"`) {
		t.Errorf("MeasureMain wrote %q", buf.String())
	}
}

// TestMeasureVia checks that a child measured through a fresh measuring
// process does not inherit this process's peak RSS (Go starts children
// with vfork, and Linux counts the parent's memory in the child's
// ru_maxrss).
func TestMeasureVia(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("Linux only")
	}
	big := make([]byte, 512<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	exe := helperCmd(t, "alloc", "BENCH_TEST_MIB=16")[0]
	// The test binary plays both parts: the measuring process and, under
	// it, the child that allocates.
	via := []string{"/usr/bin/env", "BENCH_TEST_HELPER=measure", exe, "--"}
	argv := []string{"/usr/bin/env", "BENCH_TEST_HELPER=alloc", exe}
	m, err := measureCommand(context.Background(), via, argv, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if m.PeakBytes > 256<<20 {
		t.Errorf("peak through a measuring process is %d MiB, want the child's own (about 16 MiB, far below this process's 512 MiB)", m.PeakBytes>>20)
	}
	if m.PeakBytes < 16<<20 {
		t.Errorf("peak %d bytes, want at least 16 MiB", m.PeakBytes)
	}
	big[len(big)/2] = 2 // keep big alive until here
}

// writePlan writes a plan directory of one route whose shards hold rows.
func writePlan(t *testing.T, dir string, shards ...[][2]string) {
	t.Helper()
	pd, err := manifest.CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rows := range shards {
		sw, err := pd.NewShard("all", rows[0][0], false)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := sw.Add([]byte(r[0]), []byte(r[1]), nil, 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pd.Commit(context.Background(), &manifest.Plan{}); err != nil {
		t.Fatal(err)
	}
}

func TestCompareRows(t *testing.T) {
	tricky := [][2]string{{"b", "a/my file+1"}, {"b", "comma,here"}, {"b", `quote"d`}, {"b", "new\nline"}, {"b", "日本語 100%"}}
	tests := []struct {
		name     string
		plan     [][][2]string
		csv      string
		wantSame bool
		wantRows int64
		wantDiff string
	}{
		{"same, two shards", [][][2]string{tricky[:2], tricky[2:]},
			"b,a/my file+1\nb,\"comma,here\"\nb,\"quote\"\"d\"\nb,\"new\nline\"\nb,日本語 100%\n", true, 5, ""},
		{"different key", [][][2]string{tricky[:2]}, "b,a/my file 1\nb,\"comma,here\"\n", false, 0, "row 1"},
		{"peer has more", [][][2]string{tricky[:1]}, "b,a/my file+1\nb,x\n", false, 1, "s3batchkit ends after 1 rows"},
		{"ours has more", [][][2]string{tricky[:2]}, "b,a/my file+1\n", false, 1, "the peer ends after 1 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writePlan(t, filepath.Join(dir, "plan"), tt.plan...)
			csvPath := filepath.Join(dir, "duck.csv")
			if err := os.WriteFile(csvPath, []byte(tt.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := openPlanRows(context.Background(), filepath.Join(dir, "plan"))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := openCSVRows(csvPath)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			c, err := compareRows(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if c.Same != tt.wantSame || c.Rows != tt.wantRows || !strings.Contains(c.Diff, tt.wantDiff) {
				t.Errorf("got %+v, want same %v, %d rows, diff containing %q", c, tt.wantSame, tt.wantRows, tt.wantDiff)
			}
		})
	}
}

// TestCSVRowsErrors checks that the peer's CSV is refused, naming the
// line, when a record is not bucket,key or breaks the CSV grammar.
func TestCSVRowsErrors(t *testing.T) {
	for _, tt := range []struct{ name, csv, want string }{
		{"three fields", "b,k\nb,k,x\n", "line 2: 3 fields, want 2"},
		{"one field", "b\n", "line 1: 1 fields, want 2"},
		{"bare quote", "b,k\nb,a\"b\n", "line 2"},
		{"unterminated", "b,\"k\n", "line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "duck.csv")
			if err := os.WriteFile(p, []byte(tt.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := openCSVRows(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for {
				_, _, err = r.Next()
				if err != nil {
					break
				}
			}
			if err == io.EOF || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and %q", err, p, tt.want)
			}
		})
	}
}

// TestRunInProcess runs the harness end to end on a tiny report and
// checks the counts the stages agree on.
func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	o := Options{Rows: 3000, Formats: []string{"csv", "parquet"}, Stages: []string{StageRead, StageFilter, StageWrite, StageUnsorted, StageSort, StagePlan, StageDiff, StageReport},
		Scale: []int64{1000, 2000}, Runs: 1, Files: 2, Dir: filepath.Join(dir, "cache"), TmpDir: dir}
	var steps int
	o.Progress = func(Step) { steps++ }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StageResult{}
	for _, s := range res.Stages {
		got[s.Format+"/"+s.Stage] = s
	}
	for _, f := range []string{"csv", "parquet"} {
		read, filter, sorted, plan := got[f+"/read"], got[f+"/filter"], got[f+"/sort"], got[f+"/plan"]
		if read.Rows != 3000 || read.RowsKept != 3000 || read.InputBytes == 0 {
			t.Errorf("%s read: %+v", f, read)
		}
		if w := got[f+"/write"]; w.Rows != 3000 || w.RowsKept != 3000 || w.InputBytes == 0 {
			t.Errorf("%s write: %+v (every row read must be written)", f, w)
		}
		if filter.RowsKept <= 0 || filter.RowsKept >= 3000 {
			t.Errorf("%s filter kept %d of 3000", f, filter.RowsKept)
		}
		if unsorted := got[f+"/unsorted"]; sorted.RowsKept != filter.RowsKept || plan.RowsKept != filter.RowsKept || unsorted.RowsKept != filter.RowsKept {
			t.Errorf("%s kept: filter %d, unsorted %d, sort %d, plan %d", f, filter.RowsKept, unsorted.RowsKept, sorted.RowsKept, plan.RowsKept)
		}
		if d := got[f+"/diff"]; d.Skipped != "" || len(d.Runs) != 1 || d.TargetRows <= 0 || d.Rows != 3000+d.TargetRows {
			t.Errorf("%s diff: %+v, want a measured diff of both reports", f, d)
		}
		if plan.WallSeconds <= 0 || plan.PeakBytes <= 0 || plan.Projected1e9 <= 0 {
			t.Errorf("%s plan measurements %+v", f, plan)
		}
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "sorted / unsorted plan: ") || !strings.Contains(text.String(), "gunzip)") {
		t.Errorf("tables lack the sorted/unsorted ratio or the build:\n%s", text.String())
	}
	if r := got["completion-csv/report"]; r.Rows != 3000 || r.Files == 0 {
		t.Errorf("report stage %+v", r)
	}
	if len(res.Scale) != 4 || res.Scale[0].Rows != 1000 || res.Scale[3].Rows != 2000 {
		t.Errorf("scale results %+v", res.Scale)
	}
	if steps == 0 {
		t.Error("no progress steps")
	}
	// A second run finds the reports in the cache.
	entries, _ := os.ReadDir(o.Dir)
	if _, err := Run(context.Background(), Options{Rows: 3000, Formats: []string{"csv"}, Stages: []string{StageRead}, Runs: 1, Files: 2, Dir: o.Dir, TmpDir: dir}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadDir(o.Dir); len(again) != len(entries) {
		t.Errorf("cache grew from %d to %d entries on a repeated run", len(entries), len(again))
	}

	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CSV.gz, 3,000 rows, 2 file(s)", "Parquet, stage plan, by size", "  diff "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := res.WritePlot(&b); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b.Bytes(), new(struct{})); err != nil {
		t.Errorf("plot is not well-formed XML: %v", err)
	}
	b.Reset()
	if err := res.WriteMarkdown(&b, MarkdownInfo{Commands: []string{"s3batchkit bench"}, Note: "shared machine", Plot: "x.svg"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Benchmarks", "shared machine", "| read |", "![throughput"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// reportObjects reads a report's objects, with BenchFilter if filter is
// set: key → size and ETag. It also returns the report's bucket and rows.
func reportObjects(t *testing.T, loc string, filter bool) (map[string]string, string, int64) {
	t.Helper()
	ctx := context.Background()
	r, err := inventory.Open(ctx, loc, inventory.ReaderOptions{Fields: inventory.AllFields})
	if err != nil {
		t.Fatal(err)
	}
	var f *inventory.Filter
	if filter {
		if f, err = inventory.NewFilter(BenchFilter()); err != nil {
			t.Fatal(err)
		}
	}
	objects := map[string]string{}
	var bucket string
	var rows int64
	fields := r.Fields()
	var sel []int32
	err = r.Scan(ctx, func(rec arrow.RecordBatch) error {
		b := inventory.Batch{Rec: rec, Fields: fields}
		keys, buckets, etags := b.Strings(inventory.Key), b.Strings(inventory.Bucket), b.Strings(inventory.ETag)
		sizes, _ := b.Int64s(inventory.Size)
		sel = sel[:0]
		for i := 0; i < int(rec.NumRows()); i++ {
			sel = append(sel, int32(i))
		}
		if f != nil {
			sel = f.Select(rec, fields, sel, inventory.Drops{})
		}
		rows += rec.NumRows()
		for _, i := range sel {
			k := string(inventory.StringBytes(keys, int(i)))
			if _, dup := objects[k]; dup {
				t.Errorf("%s: key %q twice", loc, k)
			}
			objects[k] = fmt.Sprintf("%d %s", sizes[i], inventory.StringBytes(etags, int(i)))
			bucket = string(inventory.StringBytes(buckets, int(i)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return objects, bucket, rows
}

// naiveDiff diffs two reports in memory, with BenchFilter if filter is
// set, and returns the differences and the rows of both.
func naiveDiff(t *testing.T, source, target string, filter bool) (gen.DiffCounts, int64) {
	t.Helper()
	src, _, srcRows := reportObjects(t, source, filter)
	tgt, _, tgtRows := reportObjects(t, target, filter)
	var d gen.DiffCounts
	for k, v := range src {
		switch w, ok := tgt[k]; {
		case !ok:
			d.Missing++
		case w != v:
			d.Changed++
		}
	}
	for k := range tgt {
		if _, ok := src[k]; !ok {
			d.Extra++
		}
	}
	return d, srcRows + tgtRows
}

// TestGenerateDiffTarget checks, in every format, that a diff target
// differs from its source report in just the objects its counts say, the
// row index running across data files.
func TestGenerateDiffTarget(t *testing.T) {
	const rows = 3001 // files of 1001, 1000 and 1000 rows
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			src, err := gen.Generate(ctx, gen.Options{Rows: rows, Format: format, Out: filepath.Join(dir, "src"), Seed: 7, Files: 3})
			if err != nil {
				t.Fatal(err)
			}
			tgt, err := gen.Generate(ctx, gen.Options{Rows: rows, Format: format, Out: filepath.Join(dir, "tgt"), Seed: 7, Files: 3, DiffTarget: true, DiffKeep: benchKeeps})
			if err != nil {
				t.Fatal(err)
			}
			// Row indexes 0, 300, …, 3000 are missing; 100, …, 2900
			// changed; 200, …, 2900 followed by an extra object.
			want := gen.DiffCounts{Missing: 11, Changed: 10, Extra: 10}
			if tgt.Diff != want {
				t.Errorf("Diff = %+v, want %+v", tgt.Diff, want)
			}
			if src.Rows != rows || tgt.Rows != rows-want.Missing+want.Extra || tgt.Files != 3 {
				t.Errorf("rows: source %d, target %d in %d files; want %d and %d in 3", src.Rows, tgt.Rows, tgt.Files, rows, rows-want.Missing+want.Extra)
			}
			if src.Diff != (gen.DiffCounts{}) || src.DiffFiltered != (gen.DiffCounts{}) {
				t.Errorf("a source report counts differences: %+v %+v", src.Diff, src.DiffFiltered)
			}
			got, both := naiveDiff(t, src.Manifest, tgt.Manifest, false)
			if got != tgt.Diff || both != src.Rows+tgt.Rows {
				t.Errorf("the reports differ by %+v in %d rows; the target says %+v in %d", got, both, tgt.Diff, src.Rows+tgt.Rows)
			}
			got, _ = naiveDiff(t, src.Manifest, tgt.Manifest, true)
			if got != tgt.DiffFiltered || got.Missing == 0 || got.Changed == 0 || got.Extra == 0 {
				t.Errorf("with the bench filter the reports differ by %+v; the target says %+v", got, tgt.DiffFiltered)
			}
			_, sb, _ := reportObjects(t, src.Manifest, false)
			_, tb, _ := reportObjects(t, tgt.Manifest, false)
			if sb != "example-source-bucket" || tb != "example-target-bucket" {
				t.Errorf("buckets %q and %q", sb, tb)
			}
		})
	}
	if _, err := gen.Generate(context.Background(), gen.Options{Rows: 10, Out: t.TempDir(), DiffTarget: true, Versions: true}); err == nil {
		t.Error("a diff target with versions was generated")
	}
}

// TestBenchKeeps checks the diff target filter against BenchFilter: both
// keep the same rows, at the size and storage class boundaries.
func TestBenchKeeps(t *testing.T) {
	f, err := inventory.NewFilter(BenchFilter())
	if err != nil {
		t.Fatal(err)
	}
	rows := []gen.Row{
		{Bucket: "b", Key: "a", Size: 1024, StorageClass: "STANDARD"},
		{Bucket: "b", Key: "b", Size: 1023, StorageClass: "STANDARD"},
		{Bucket: "b", Key: "c", Size: 5000, StorageClass: "GLACIER"},
		{Bucket: "b", Key: "d", Size: 5000, StorageClass: "INTELLIGENT_TIERING"},
		{Bucket: "b", Key: "e", SizeNull: true, StorageClass: "STANDARD_IA"},
		{Bucket: "b", Key: "f", Size: 1 << 40, StorageClass: "STANDARD_IA"},
	}
	dir := t.TempDir()
	w, err := gen.NewReport(dir, gen.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, err := inventory.Open(context.Background(), m, inventory.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	err = r.Scan(context.Background(), func(rec arrow.RecordBatch) error {
		keys := inventory.Batch{Rec: rec, Fields: r.Fields()}.Strings(inventory.Key)
		for _, i := range f.Select(rec, r.Fields(), nil, inventory.Drops{}) {
			kept = append(kept, string(inventory.StringBytes(keys, int(i))))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range rows {
		if benchKeeps(&rows[i]) {
			want = append(want, rows[i].Key)
		}
	}
	if strings.Join(kept, ",") != strings.Join(want, ",") || len(want) != 3 {
		t.Errorf("BenchFilter keeps %v, benchKeeps %v", kept, want)
	}
}

// TestRunDiffStage runs the diff stage (package diff): the harness must
// generate the target, hand both reports to the diff, count the rows of
// both, find the cached reports on a second run, and refuse a result
// that misses the differences generated.
func TestRunDiffStage(t *testing.T) {
	dir := t.TempDir()
	o := Options{Rows: 3000, Formats: []string{"csv"}, Stages: []string{StageDiff}, Runs: 2, Files: 2, Dir: filepath.Join(dir, "cache"), TmpDir: dir}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stages) != 1 {
		t.Fatalf("%d results, want 1", len(res.Stages))
	}
	sr := res.Stages[0]
	// The target holds 3,000 rows less 10 missing plus 10 extra.
	if sr.Skipped != "" || len(sr.Runs) != 2 || sr.TargetRows != 3000 || sr.Rows != 6000 || sr.Files != 4 || sr.RowsPerSec <= 0 {
		t.Errorf("diff stage %+v", sr)
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CSV.gz, 3,000 rows (build: ", "  diff ", "diff: rows/s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, b.String())
		}
	}
	// A second run finds both reports in the cache.
	entries, _ := os.ReadDir(o.Dir)
	if len(entries) != 2 {
		t.Errorf("cache holds %d entries, want the report and its diff target", len(entries))
	}
	o.Runs = 1
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadDir(o.Dir); len(again) != len(entries) {
		t.Errorf("cache grew from %d to %d entries on a repeated run", len(entries), len(again))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "s3batchkit-*")); len(left) != 0 {
		t.Errorf("left behind in the temporary folder: %v", left)
	}
	// A diff finding one more missing object is refused.
	want := gen.DiffCounts{Missing: 10, Changed: 10, Extra: 10}
	spec := RunSpec{Stage: StageDiff, Manifest: "src", Target: "tgt", WantDiff: &want}
	if err := checkDiff(spec, want); err != nil {
		t.Errorf("the right differences: %v", err)
	}
	if err := checkDiff(spec, gen.DiffCounts{Missing: 11, Changed: 10, Extra: 10}); !errors.Is(err, ErrDiffMismatch) {
		t.Errorf("one more missing object: err %v, want ErrDiffMismatch", err)
	}
	if _, err := RunStage(context.Background(), RunSpec{Stage: StageDiff, Manifest: "src"}); !errors.Is(err, ErrOptions) {
		t.Errorf("a diff stage without a target: err %v, want ErrOptions", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []Options{{Formats: []string{"avro"}}, {Stages: []string{"zip"}}, {Rows: -1}, {Runs: -1}, {Scale: []int64{0}}} {
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: err %v, want ErrOptions", o, err)
		}
	}
}

// duckdbDir returns the folder with @duckdb/node-api installed, named by
// S3BATCHKIT_DUCKDB_DIR, or skips: the peer never runs in `make test`, and
// the test never installs anything (make bench-peer does).
func duckdbDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs node")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; the DuckDB peer test needs it")
	}
	dir := os.Getenv("S3BATCHKIT_DUCKDB_DIR")
	if dir == "" {
		t.Skip("S3BATCHKIT_DUCKDB_DIR is not set: no DuckDB peer test (make bench-peer installs DuckDB into .cache/duckdb; then S3BATCHKIT_DUCKDB_DIR=$PWD/.cache/duckdb go test ./bench)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", DuckDBModule, "package.json")); err != nil {
		t.Skipf("%s is not installed in %s (make bench-peer installs it; or set S3BATCHKIT_DUCKDB_DIR)", DuckDBModule, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestDuckDBPeer runs the peer on tiny reports (CSV with tricky keys;
// Parquet as generated and as DuckDB writes it, in no order and in key
// order; ORC against the same rows in Parquet) and expects both sides to
// write the same rows.
func TestDuckDBPeer(t *testing.T) {
	duck := duckdbDir(t)
	planner := helperCmd(t, "plan")
	dir := t.TempDir()
	o := Options{Rows: 2000, Formats: []string{"csv", "parquet", "orc"}, Runs: 1, Files: 3, Dir: filepath.Join(dir, "cache"), TmpDir: dir}
	res, err := RunPeer(context.Background(), o, PeerOptions{DuckDBDir: duck, Planner: planner})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Formats {
		names = append(names, f.Format)
	}
	if want := []string{"csv", "parquet", "parquet-duckdb", "parquet-duckdb-sorted", "orc"}; res.DuckDB == "" || !slices.Equal(names, want) {
		t.Fatalf("DuckDB %q, cases %v, want %v", res.DuckDB, names, want)
	}
	for _, f := range res.Formats {
		if !f.Check.Same || f.Check.Rows < 1000 {
			t.Errorf("%s: %+v", f.Format, f.Check)
		}
		if f.WallRatio <= 0 || f.MemRatio <= 0 || f.SortRatio <= 0 {
			t.Errorf("%s ratios %v %v %v", f.Format, f.WallRatio, f.MemRatio, f.SortRatio)
		}
	}
	// The sorted DuckDB report is in key order across its files.
	m, err := ensureDuckDBParquet(context.Background(), o, PeerOptions{DuckDBDir: duck, Node: "node"}, filepath.Join(duck, "s3batchkit-bench-duckdb.mjs"), true, res)
	if err != nil {
		t.Fatal(err)
	}
	plan, stats, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{m}, Sort: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sort.Streamed != plan.Counters.RowsRead {
		t.Errorf("the sorted DuckDB report streamed %d of %d rows", stats.Sort.Streamed, plan.Counters.RowsRead)
	}
}

// TestRunNoVerify checks that --no-verify reaches the reader: a data file
// whose bytes (not its rows) changed after the manifest was written fails
// the read stage with a checksum error unless NoVerify is set, and the
// result says when MD5s were not verified.
func TestRunNoVerify(t *testing.T) {
	dir := t.TempDir()
	o := Options{Rows: 2000, Formats: []string{"csv"}, Stages: []string{StageRead}, Runs: 1, Files: 1, Dir: filepath.Join(dir, "cache"), TmpDir: dir}
	m, err := EnsureReport(context.Background(), o, "csv", o.Rows)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(m), "data", "*.csv.gz"))
	if err != nil || len(files) != 1 {
		t.Fatalf("data files %v, %v", files, err)
	}
	// An empty gzip member after the data: the same rows, other bytes.
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	spec := RunSpec{Stage: StageRead, Format: "csv", Manifest: m, TmpDir: dir}
	if _, err := RunStage(context.Background(), spec); !errors.Is(err, inventory.ErrChecksum) && !errors.Is(err, inventory.ErrTruncated) {
		t.Fatalf("read stage of a changed data file: err %v, want a checksum or size error", err)
	}
	spec.NoVerify = true
	out, err := RunStage(context.Background(), spec)
	if err != nil || out.RowsRead != 2000 {
		t.Fatalf("read stage with NoVerify: %+v, %v; want 2000 rows", out, err)
	}
	o.NoVerify = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !res.NoVerify || !strings.Contains(b.String(), "not verified") {
		t.Errorf("result NoVerify %v, text:\n%s", res.NoVerify, b.String())
	}
}
