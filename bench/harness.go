package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// Stage names, in pipeline order.
const (
	StageRead     = "read"     // scan only: decode every batch
	StageFilter   = "filter"   // scan + filter (size and storage class)
	StageWrite    = "write"    // scan + every row written to manifest shards in read order: no filter, no sort, no routes
	StageUnsorted = "unsorted" // scan + filter + routes + shards in read order (plan --sort=false)
	StageSort     = "sort"     // scan + filter + external sort + shard cutting, writing nothing
	StagePlan     = "plan"     // the whole plan, shards written to a temporary folder
	StageDiff     = "diff"     // scan + filter + sort of two reports differing by 1%, their merge, copy and delete shards (package diff)
	StageReport   = "report"   // merge of synthetic completion reports
)

// Stages lists every stage in pipeline order.
var Stages = []string{StageRead, StageFilter, StageWrite, StageUnsorted, StageSort, StagePlan, StageDiff, StageReport}

// Formats lists the inventory formats the harness knows.
var Formats = []string{"csv", "parquet", "orc"}

// ErrOptions is returned (wrapped) by Run for options that contradict
// each other or name an unknown stage or format.
var ErrOptions = errors.New("bench: invalid options")

// Options configure Run. Zero values mean the defaults given.
type Options struct {
	// Rows is the size of the generated reports; zero means 1,000,000.
	Rows int64
	// Scale, when set, also runs ScaleStages at each of these sizes, so
	// that time and memory can be seen against size.
	Scale []int64
	// ScaleStages are the stages measured at each Scale size; empty means
	// the plan stage alone.
	ScaleStages []string
	// Formats are the inventory formats to measure; empty means all of
	// Formats.
	Formats []string
	// Stages are the stages to measure at Rows, of Stages; nil means all,
	// empty (not nil) none.
	Stages []string
	// Workers is the data files decoded at once (ReaderOptions.Workers);
	// zero means GOMAXPROCS.
	Workers int
	// NoVerify skips the MD5 checks of manifest.checksum and the data
	// files (ReaderOptions.SkipChecksums), as plan --no-verify does, so
	// that the decoding can be measured without the hashing.
	NoVerify bool
	// Runs is how many times each stage is measured; zero means 3. The
	// table shows the median wall and CPU time and the largest peak.
	Runs int
	// Files is the data files per generated report; zero means Generate's
	// default (one per 500,000 rows).
	Files int
	// Seed seeds the generated reports; zero means 1.
	Seed uint64
	// Dir caches generated reports, keyed by format, rows, files and
	// seed, so that a second run does not generate them again; "" means
	// DefaultCacheDir().
	Dir string
	// TmpDir receives plan outputs and sort spills, removed after each
	// run; "" means os.TempDir().
	TmpDir string
	// Exec, when set, is the command line (program and arguments) that
	// measures one run in a child process: the harness appends the run's
	// spec and reads the child's wall time, CPU time and peak RSS from the
	// operating system. The program must call ChildMain with that spec
	// (`s3batchkit bench --child SPEC`). Nil measures in this process,
	// where the peak is sampled instead (and includes what the process
	// held before).
	Exec []string
	// Via is the command line of a small measuring process (one that
	// calls MeasureMain, such as `s3batchkit bench --measure --`) that
	// starts each child, so that the child's peak RSS is its own (see
	// measureCommand). Nil starts children directly.
	Via []string
	// Progress, when not nil, is called before each measured run and
	// each generation step, from the goroutine that called Run.
	Progress func(Step)
}

// Step describes what Run is doing, for a progress line.
type Step struct {
	Done, Total int    // measured runs done and planned
	What        string // for example "csv sort run 2/3" or "generating parquet 1,000,000 rows"
}

// DefaultRows is the report size when Options.Rows is zero.
const DefaultRows = 1_000_000

// DefaultCacheDir returns the folder generated reports are kept in:
// s3batchkit/bench under os.UserCacheDir, else under os.TempDir.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "s3batchkit", "bench")
	}
	return filepath.Join(os.TempDir(), "s3batchkit-bench")
}

func (o *Options) normalize() error {
	if o.Rows == 0 {
		o.Rows = DefaultRows
	}
	if o.Rows < 0 {
		return fmt.Errorf("%w: rows must be positive, got %d", ErrOptions, o.Rows)
	}
	for _, n := range o.Scale {
		if n <= 0 {
			return fmt.Errorf("%w: scale sizes must be positive, got %d", ErrOptions, n)
		}
	}
	if len(o.Formats) == 0 {
		o.Formats = Formats
	}
	for _, f := range o.Formats {
		if !slices.Contains(Formats, f) {
			return fmt.Errorf("%w: unknown format %q: expected one of %s", ErrOptions, f, strings.Join(Formats, ", "))
		}
	}
	if o.Stages == nil {
		o.Stages = Stages
	}
	if len(o.ScaleStages) == 0 {
		o.ScaleStages = []string{StagePlan}
	}
	for _, s := range append(slices.Clone(o.Stages), o.ScaleStages...) {
		if !slices.Contains(Stages, s) {
			return fmt.Errorf("%w: unknown stage %q: expected one of %s", ErrOptions, s, strings.Join(Stages, ", "))
		}
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.Runs < 0 || o.Workers < 0 || o.Files < 0 {
		return fmt.Errorf("%w: runs, workers and files must not be negative", ErrOptions)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Dir == "" {
		o.Dir = DefaultCacheDir()
	}
	if o.TmpDir == "" {
		o.TmpDir = os.TempDir()
	}
	return nil
}

// Measurement is one measured run of a stage.
type Measurement struct {
	WallSeconds float64 `json:"wall_s"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	// PeakBytes is the peak resident set of the child process, or, in
	// process, the peak resident set sampled every 10 ms.
	PeakBytes int64 `json:"peak_bytes"`
	Output
}

// Output is what a stage reports about its own work.
type Output struct {
	RowsRead   int64 `json:"rows_read"`
	RowsKept   int64 `json:"rows_kept"`
	InputBytes int64 `json:"input_bytes"`
}

// StageResult summarizes the runs of one stage on one report.
type StageResult struct {
	Format string `json:"format"` // "completion-csv" for the report stage
	Stage  string `json:"stage"`
	// Rows is the rows of the report (tasks for the report stage; for the
	// diff stage, the rows of both reports, TargetRows of them in the
	// target).
	Rows       int64 `json:"rows"`
	TargetRows int64 `json:"target_rows,omitempty"`
	Files      int   `json:"files"` // data files (of both reports for the diff stage)
	// Skipped, when not empty, says why the stage was not measured.
	Skipped string        `json:"skipped,omitempty"`
	Runs    []Measurement `json:"runs,omitempty"`

	// Median wall and CPU (user+sys) seconds of the runs, largest peak.
	WallSeconds float64 `json:"wall_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	PeakBytes   int64   `json:"peak_bytes"`
	InputBytes  int64   `json:"input_bytes"`
	RowsKept    int64   `json:"rows_kept"`
	RowsPerSec  float64 `json:"rows_per_s"`
	// RowsPerCPUSec is rows per CPU-second (user+sys, median): what one
	// core delivers, the measure that does not depend on how many cores
	// the stage kept busy.
	RowsPerCPUSec float64 `json:"rows_per_cpu_s"`
	MBPerSec      float64 `json:"input_mb_per_s"`
	// Projected1e9 is the wall time 10^9 rows would take at the measured
	// rate, in seconds (Project).
	Projected1e9 float64 `json:"projected_1e9_s"`
}

// Result is everything Run measured.
type Result struct {
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	Rows    int64     `json:"rows"` // the size Stages were measured at
	Runs    int       `json:"runs"`
	Workers int       `json:"workers"`
	Mode    string    `json:"mode"` // "child process" or "in process"
	// NoVerify is set when the data files' MD5s were not checked.
	NoVerify bool          `json:"no_verify,omitempty"`
	Filter   string        `json:"filter"`
	Stages   []StageResult `json:"stages"`
	// Scale holds the ScaleStages measured at each Scale size.
	Scale []StageResult `json:"scale,omitempty"`
	Peer  *PeerResult   `json:"peer,omitempty"`
}

// Run generates (or finds in the cache) the reports and measures each
// stage on each format at each size.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	res := &Result{Machine: DescribeMachine(), Started: time.Now().UTC(), Rows: o.Rows, Runs: o.Runs,
		Workers: o.Workers, Mode: "in process", Filter: BenchFilterText, NoVerify: o.NoVerify}
	if res.Workers == 0 {
		res.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Exec != nil {
		res.Mode = "child process"
	}
	p := &progress{fn: o.Progress, total: plannedRuns(o, o.Stages)}
	p.total += len(o.Scale) * plannedRuns(o, o.ScaleStages)
	var err error
	if res.Stages, err = measureSize(ctx, o, p, o.Rows, o.Stages); err != nil {
		return nil, err
	}
	for _, rows := range o.Scale {
		sr, err := measureSize(ctx, o, p, rows, o.ScaleStages)
		if err != nil {
			return nil, err
		}
		res.Scale = append(res.Scale, sr...)
	}
	return res, nil
}

// plannedRuns is the number of measured runs of stages at one size.
func plannedRuns(o Options, stages []string) int {
	n := 0
	for _, st := range stages {
		if st == StageReport {
			n += o.Runs
		} else {
			n += o.Runs * len(o.Formats)
		}
	}
	return n
}

// measureSize measures stages on each format at rows rows.
func measureSize(ctx context.Context, o Options, p *progress, rows int64, stages []string) ([]StageResult, error) {
	var out []StageResult
	for _, format := range o.Formats {
		var rep *cachedReport
		for _, st := range stages {
			if st == StageReport {
				continue
			}
			sr := StageResult{Format: format, Stage: st, Rows: rows}
			// skip records a stage that cannot run: a format whose writer
			// or reader is not ready is reported, not fatal, and the
			// other formats still run.
			skip := func(reason error) {
				sr.Skipped = reason.Error()
				p.done += o.Runs
				out = append(out, sr)
			}
			if rep == nil {
				p.say(fmt.Sprintf("generating %s report of %s rows", format, count(rows)))
				r, err := ensureReport(ctx, o, format, rows)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					skip(err)
					continue
				}
				rep = r
			}
			sr.Files = rep.Files
			spec := RunSpec{Stage: st, Format: format, Manifest: rep.Manifest, Workers: o.Workers, TmpDir: o.TmpDir, NoVerify: o.NoVerify}
			if st == StageDiff {
				p.say(fmt.Sprintf("generating %s diff target of %s rows", format, count(rows)))
				tgt, err := ensureDiffTarget(ctx, o, format, rows)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					skip(err)
					continue
				}
				spec.Target, spec.WantDiff = tgt.Manifest, tgt.Diff
				sr.Rows += tgt.Rows
				sr.TargetRows = tgt.Rows
				sr.Files += tgt.Files
			}
			if err := measureStage(ctx, o, p, spec, &sr); err != nil {
				return nil, err
			}
			out = append(out, sr)
		}
	}
	if slices.Contains(stages, StageReport) {
		sr := StageResult{Format: "completion-csv", Stage: StageReport, Rows: rows}
		p.say(fmt.Sprintf("generating completion reports of %s tasks", count(rows)))
		dir, files, err := ensureCompletionReports(o, rows)
		if err != nil {
			return nil, err
		}
		sr.Files = files
		spec := RunSpec{Stage: StageReport, Format: sr.Format, Manifest: dir, Workers: o.Workers, TmpDir: o.TmpDir}
		if err := measureStage(ctx, o, p, spec, &sr); err != nil {
			return nil, err
		}
		out = append(out, sr)
	}
	return out, nil
}

type progress struct {
	fn          func(Step)
	done, total int
}

func (p *progress) say(what string) {
	if p.fn != nil {
		p.fn(Step{Done: p.done, Total: p.total, What: what})
	}
}

func measureStage(ctx context.Context, o Options, p *progress, spec RunSpec, sr *StageResult) error {
	for i := 0; i < o.Runs; i++ {
		p.say(fmt.Sprintf("%s %s %s rows, run %d/%d", spec.Format, spec.Stage, count(sr.Rows), i+1, o.Runs))
		var m Measurement
		var err error
		if o.Exec != nil {
			m, err = measureChild(ctx, o.Via, o.Exec, spec)
		} else {
			m, err = measureInProcess(ctx, spec)
		}
		p.done++
		if err != nil {
			return fmt.Errorf("bench %s %s: %w", spec.Format, spec.Stage, err)
		}
		sr.Runs = append(sr.Runs, m)
	}
	sr.summarize()
	return nil
}

// summarize fills the summary fields from the runs: the median wall and
// CPU time, the largest peak, and the rates at the median wall time.
func (sr *StageResult) summarize() {
	if len(sr.Runs) == 0 {
		return
	}
	walls := make([]float64, len(sr.Runs))
	cpus := make([]float64, len(sr.Runs))
	for i, m := range sr.Runs {
		walls[i] = m.WallSeconds
		cpus[i] = m.UserSeconds + m.SysSeconds
		sr.PeakBytes = max(sr.PeakBytes, m.PeakBytes)
	}
	last := sr.Runs[len(sr.Runs)-1]
	sr.InputBytes = last.InputBytes
	sr.RowsKept = last.RowsKept
	if last.RowsRead > 0 {
		sr.Rows = last.RowsRead
	}
	sr.WallSeconds = median(walls)
	sr.CPUSeconds = median(cpus)
	if sr.WallSeconds > 0 {
		sr.RowsPerSec = float64(sr.Rows) / sr.WallSeconds
		sr.MBPerSec = float64(sr.InputBytes) / sr.WallSeconds / 1e6
	}
	if sr.CPUSeconds > 0 {
		sr.RowsPerCPUSec = float64(sr.Rows) / sr.CPUSeconds
	}
	sr.Projected1e9 = Project(sr.Rows, sr.WallSeconds, 1e9)
}

// Project returns the seconds target rows would take at the rate of rows
// in wall seconds (a linear projection: the scale runs show whether time
// is linear in rows). It is 0 when nothing was measured.
func Project(rows int64, wall float64, target float64) float64 {
	if rows <= 0 || wall <= 0 {
		return 0
	}
	return wall * target / float64(rows)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// cachedReport is a generated report in the cache.
type cachedReport struct {
	Manifest string `json:"manifest"`
	Files    int    `json:"files"`
	Rows     int64  `json:"rows,omitempty"`
	Bytes    int64  `json:"bytes"`
	// Diff, for a diff target, is what the diff stage must find
	// (gen.Result.DiffFiltered).
	Diff *gen.DiffCounts `json:"diff,omitempty"`
}

const cacheMarker = "bench-complete.json"

// ReportDir returns the cache folder of a generated report.
func ReportDir(cache, format string, rows int64, files int, seed uint64) string {
	return filepath.Join(cache, fmt.Sprintf("%s-%drows-%dfiles-seed%d", format, rows, files, seed))
}

// diffTargetDir returns the cache folder of the diff target of the
// report in ReportDir.
func diffTargetDir(cache, format string, rows int64, files int, seed uint64) string {
	return ReportDir(cache, format, rows, files, seed) + "-diff-target"
}

// EnsureReport returns the manifest.json of the generated report for
// (format, rows) under o.Dir, generating it first unless a complete one
// is cached there.
func EnsureReport(ctx context.Context, o Options, format string, rows int64) (string, error) {
	if err := o.normalize(); err != nil {
		return "", err
	}
	r, err := ensureReport(ctx, o, format, rows)
	if err != nil {
		return "", err
	}
	return r.Manifest, nil
}

func ensureReport(ctx context.Context, o Options, format string, rows int64) (*cachedReport, error) {
	g := gen.Options{Rows: rows, Format: format, Out: ReportDir(o.Dir, format, rows, o.Files, o.Seed), Seed: o.Seed, Files: o.Files}
	return ensureGenerated(ctx, g)
}

// ensureDiffTarget is ensureReport for the diff target of the report:
// the same rows in another bucket, 1% different (gen.Options.DiffTarget).
func ensureDiffTarget(ctx context.Context, o Options, format string, rows int64) (*cachedReport, error) {
	g := gen.Options{Rows: rows, Format: format, Out: diffTargetDir(o.Dir, format, rows, o.Files, o.Seed), Seed: o.Seed, Files: o.Files,
		DiffTarget: true, DiffKeep: benchKeeps}
	return ensureGenerated(ctx, g)
}

// ensureGenerated returns the report g describes from the cache folder
// g.Out if a complete one is there, else generates it into g.Out.
func ensureGenerated(ctx context.Context, g gen.Options) (*cachedReport, error) {
	marker := filepath.Join(g.Out, cacheMarker)
	if raw, err := os.ReadFile(marker); err == nil {
		var c cachedReport
		if json.Unmarshal(raw, &c) == nil && c.Manifest != "" && (c.Diff != nil) == g.DiffTarget {
			if _, err := os.Stat(c.Manifest); err == nil {
				return &c, nil
			}
		}
	}
	what := g.Format + " report"
	if g.DiffTarget {
		what = g.Format + " diff target"
	}
	// An incomplete folder (interrupted generation) is replaced.
	if err := os.RemoveAll(g.Out); err != nil {
		return nil, err
	}
	res, err := gen.Generate(ctx, g)
	if err != nil {
		os.RemoveAll(g.Out)
		return nil, fmt.Errorf("generating %s: %w", what, err)
	}
	c := cachedReport{Manifest: res.Manifest, Files: res.Files, Rows: res.Rows, Bytes: res.Bytes}
	if g.DiffTarget {
		c.Diff = &res.DiffFiltered
	}
	raw, _ := json.Marshal(c)
	if err := os.WriteFile(marker, raw, 0o644); err != nil {
		return nil, err
	}
	return &c, nil
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// gunzipImpl is recorded in results: the gzip decoder of this build.
var gunzipImpl = inventory.GunzipImpl
