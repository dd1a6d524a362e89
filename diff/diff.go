package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Options configure Run.
type Options struct {
	// Source and Target are the two reports' manifest.json locations
	// (local path or s3://). Required.
	Source, Target string
	// Out is the plan directory to write. Required.
	Out string
	// Reader configures both scans (workers, batch size, checksums); its
	// Fields and DataRoot are set by Run.
	Reader inventory.ReaderOptions
	// SourceDataRoot and TargetDataRoot are each report's
	// inventory.ManifestOptions.DataRoot ("" searches the manifest's
	// ancestor folders).
	SourceDataRoot, TargetDataRoot string
	// Filter applies to both sides before they are compared; key filters
	// see source keys on both sides (target keys are mapped first). Unless
	// AllVersions is set, it must leave LatestOnly and DeleteMarkers at
	// their zero values: Run compares current versions and drops delete
	// markers itself.
	Filter inventory.FilterOptions
	// Compare decides which objects in both reports changed; the zero
	// value is DefaultCompare.
	Compare Compare
	// Maps are key mappings, checked by NewKeyMap. With mappings, reports
	// of different buckets are compared without CrossBucket.
	Maps []Mapping
	// AllVersions compares every version by (key, version id); both
	// reports must be of the same bucket, with version ids, and without
	// Maps. Off: current versions are compared.
	AllVersions bool
	// CrossBucket allows reports of different source buckets.
	CrossBucket bool
	// SortMemory is the memory budget of both sorts together (half each);
	// zero means partition.DefaultSortMemory. It does not change the
	// output.
	SortMemory int64
	// TmpDir is where the sorts spill; "" means os.TempDir().
	TmpDir string
	// Bounds limit each shard, as for partition.Plan.
	Bounds partition.Bounds
	// NoRoutes puts every object to copy in one route, partition.RouteAll,
	// instead of routing by size and storage class.
	NoRoutes bool
	// Examples is how many examples of each class diff.json lists; zero
	// means DefaultExamples, negative none.
	Examples int
	// OptionName names the options in the warnings Run writes (such as
	// "Compare"), the way the caller's users set them; nil: the field
	// names. See internal/optname.
	OptionName func(option string) string
	// IO reads both inventories and writes the plan directory (nil: see
	// objio); it replaces Reader.IO.
	IO *objio.Client
	// Range, when not nil, compares one source-key range of a distributed
	// diff (see Range).
	Range *Range
}

// Stats describe a finished run (not written to the plan, which must not
// depend on the run).
type Stats struct {
	Elapsed    time.Duration
	InputBytes int64
	// SourceSort and TargetSort describe each side's sort.
	SourceSort, TargetSort partition.SortStats
}

// Result is what Run wrote.
type Result struct {
	Plan    *manifest.Plan
	Summary *Summary
	Stats   Stats
}

// mergeFields are the columns the merge reads; the sort orders versions
// newest first by sortFields.
var mergeFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.Size,
	inventory.StorageClass, inventory.IntelligentTieringAccessTier)

// side is one report through scan, filter and sort.
type side struct {
	name     string // "source" or "target"
	report   *inventory.Report
	sorter   *partition.Sorter
	stats    SideStats
	sortStat partition.SortStats
	// files and format are those of its manifest (a range of a
	// distributed diff may read fewer files, or the scatter's).
	files  int
	format string
	// bucket is the bucket every row of the side names (set by the scan).
	bucket    string
	bucketSet bool
}

func (s *side) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *SideError
	if errors.As(err, &se) || errors.Is(err, context.Canceled) {
		return err
	}
	return &SideError{Side: s.name, Manifest: s.report.Manifest.Location, Err: err}
}

// filterOptions are o's filters as the diff applies them: comparing
// current versions, the latest only.
func (o *Options) filterOptions() inventory.FilterOptions {
	fo := o.Filter
	if !o.AllVersions {
		fo.LatestOnly = true
	}
	return fo
}

func (o *Options) check() (*KeyMap, error) {
	if o.Source == "" || o.Target == "" {
		return nil, fmt.Errorf("%w: a source and a target report are required", ErrOptions)
	}
	if o.Out == "" {
		return nil, fmt.Errorf("%w: no output directory", ErrOptions)
	}
	if !o.AllVersions && (o.Filter.LatestOnly || o.Filter.DeleteMarkers != inventory.DeleteMarkersExclude) {
		return nil, fmt.Errorf("%w: comparing current versions, the diff drops noncurrent versions and delete markers itself; delete-marker and latest-only filters apply only with all versions", ErrOptions)
	}
	if o.AllVersions && o.Filter.LatestOnly {
		return nil, fmt.Errorf("%w: latest-only contradicts all versions (current versions are the default)", ErrOptions)
	}
	if o.AllVersions && len(o.Maps) > 0 {
		return nil, fmt.Errorf("%w: key mappings move objects, and a moved object has a new version id; compare current versions instead", ErrVersionsAcrossBuckets)
	}
	var err error
	if o.Bounds, err = o.Bounds.Normalize(); err != nil {
		return nil, err
	}
	if o.Examples == 0 {
		o.Examples = DefaultExamples
	}
	o.Compare = o.Compare.orDefault()
	return NewKeyMap(o.Maps)
}

// Run compares the target report with the source report and writes the
// plan directory: the shards, diff.json, and plan.json last. On error
// nothing is committed, an earlier plan in Out is left as it was, and the
// sorts' spill files are removed.
func Run(ctx context.Context, o Options) (*Result, error) {
	km, err := o.check()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	fo := o.filterOptions()
	filter, err := inventory.NewFilter(fo)
	if err != nil {
		return nil, err
	}
	ro := o.Reader
	ro.IO = o.IO
	if ro.TmpDir == "" {
		ro.TmpDir = o.TmpDir // with the sort's spill files
	}
	if ro.Progress == nil {
		ro.Progress = &inventory.Progress{}
	}
	ro.Fields = readFields(filter, o.Compare)

	sides := [2]*side{{name: "source"}, {name: "target"}}
	for i, loc := range []string{o.Source, o.Target} {
		s := sides[i]
		r := ro
		r.DataRoot = []string{o.SourceDataRoot, o.TargetDataRoot}[i]
		m, err := inventory.OpenManifest(ctx, loc, inventory.ManifestOptions{DataRoot: r.DataRoot, SkipChecksums: r.SkipChecksums, IO: r.IO})
		if err != nil {
			return nil, fmt.Errorf("opening %s inventory: %w", s.name, err)
		}
		s.files, s.format = len(m.Files), string(m.Format)
		if err := o.Range.restrict(i, m); err != nil {
			return nil, err
		}
		s.report = inventory.NewReport(m, r)
		if err := filter.Check(m.Fields); err != nil {
			return nil, s.wrap(err)
		}
		if missing := o.Compare.Needs() &^ m.Fields; missing != 0 {
			return nil, s.wrap(fmt.Errorf("%w: comparing by %s needs the %s column, which the report lacks (it carries %s)", ErrCompare, o.Compare, missing, m.Fields))
		}
		if o.AllVersions && !m.Fields.Has(inventory.VersionID) {
			return nil, s.wrap(fmt.Errorf("%w: all versions need a report of all versions (a VersionId column)", ErrNoVersions))
		}
		s.stats = SideStats{Manifest: m.Location, Bucket: m.SourceBucket, Format: s.format, Dropped: map[string]int64{}}
	}
	src, tgt := sides[0], sides[1]
	if sb, tb := src.stats.Bucket, tgt.stats.Bucket; sb != tb {
		switch {
		case o.AllVersions:
			return nil, fmt.Errorf("%w: source bucket %q, target bucket %q: a copy gets a new version id, so every version would differ; compare current versions instead", ErrVersionsAcrossBuckets, sb, tb)
		case !o.CrossBucket && km == nil:
			return nil, fmt.Errorf("%w: source %q, target %q (set CrossBucket if that is intended, or map prefixes)", ErrCrossBucket, sb, tb)
		}
	}

	dir, err := manifest.CreatePlanDir(o.IO, o.Out)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			dir.Abort()
		}
	}()

	// Scan, filter and sort both sides at once: each goroutine owns its
	// side's sorter.
	mem := o.SortMemory
	if mem <= 0 {
		mem = partition.DefaultSortMemory
	}
	// The sorts carry only what the merge reads. Comparing current
	// versions, a key has one row left after the filter, so version ids
	// and the order of versions do not matter: leaving them out makes
	// the sort lighter, and makes its dedupe keep the newest row of a key
	// listed twice.
	sortFields := mergeFields | partition.SortFields() | o.Compare.uses()
	if !o.AllVersions {
		sortFields &^= inventory.Fields(inventory.VersionID, inventory.IsLatest)
	}
	for _, s := range sides {
		s.sorter = partition.NewSorter(partition.SortOptions{Memory: mem / 2, TmpDir: o.TmpDir, Fields: s.report.Fields() & sortFields, Progress: ro.Progress})
		defer s.sorter.Close()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return src.wrap(scanSide(gctx, src, filter, km, false, o.Range)) })
	g.Go(func() error { return tgt.wrap(scanSide(gctx, tgt, filter, km, true, o.Range)) })
	if err := g.Wait(); err != nil {
		return nil, err
	}

	shards, err := partition.NewShards(dir, o.Bounds, !o.NoRoutes)
	if err != nil {
		return nil, err
	}
	sum := &Summary{
		Version: SummaryVersion, Compare: o.Compare.String(), AllVersions: o.AllVersions,
		CrossBucket: src.stats.Bucket != tgt.stats.Bucket, Maps: km.Rules(),
		OnlyInSource: Class{Examples: []Example{}}, OnlyInTarget: Class{Examples: []Example{}},
		Changed: ChangedClass{Class: Class{Examples: []Example{}}, By: map[string]int64{}}, Unchanged: Class{Examples: []Example{}},
	}
	w := &writer{shards: shards, km: km, versioned: o.AllVersions, sum: sum, examples: o.Examples, routes: !o.NoRoutes,
		srcBucket: []byte(src.bucket), tgtBucket: []byte(tgt.bucket)}
	if err := mergeSides(ctx, src, tgt, &merger{cmp: o.Compare, allVersions: o.AllVersions, out: w}); err != nil {
		return nil, err
	}
	warnings, err := shards.Finish()
	if err != nil {
		return nil, err
	}
	for _, s := range sides {
		if err := s.sorter.Close(); err != nil {
			return nil, s.wrap(err)
		}
	}
	// A part leaves the ETag warning to the merge, which counts over
	// every range.
	if n := sum.Changed.MultipartETag; n > 0 && o.Compare.ETag && o.Range.part() == nil {
		warnings = append(warnings, fmt.Sprintf(etagWarning(&o), n))
	}
	if sum.CrossBucket && o.AllVersions {
		// Unreachable (refused above); kept so that the rule is stated
		// where the summary is made.
		warnings = append(warnings, "version ids never match across buckets")
	}
	sum.Warnings = warnings
	sum.Source, sum.Target = src.stats, tgt.stats

	plan := &manifest.Plan{Counters: manifest.Counters{Dropped: map[string]int64{}}, Warnings: warnings}
	for _, s := range sides {
		m := s.report.Manifest
		plan.Inputs = append(plan.Inputs, manifest.Input{
			Manifest: m.Location, MD5: m.MD5, ChecksumVerified: m.ChecksumVerified,
			SourceBucket: m.SourceBucket, Format: s.format,
			CreationTimestamp: m.CreationTimestamp, Files: s.files, Columns: m.Fields.String(),
		})
		plan.Counters.RowsRead += s.stats.RowsRead
		plan.Counters.RowsKept += s.stats.RowsCompared
		for r, n := range s.stats.Dropped {
			plan.Counters.Dropped[r] += n
		}
	}
	plan.Options = partition.DescribeOptions(partition.Options{Filter: fo, Bounds: o.Bounds, Sort: true, NoRoutes: o.NoRoutes})
	plan.Options["diff"] = map[string]any{
		"source": o.Source, "target": o.Target, "compare": sum.Compare, "all_versions": o.AllVersions,
		"cross_bucket": sum.CrossBucket, "maps": km.Rules(),
	}

	result := func() *Result {
		return &Result{Plan: plan, Summary: sum, Stats: Stats{
			Elapsed: time.Since(start), InputBytes: ro.Progress.InputBytes.Load(),
			SourceSort: src.sortStat, TargetSort: tgt.sortStat,
		}}
	}
	if part := o.Range.part(); part != nil {
		ps := &PartSummary{Summary: sum, Examples: o.Examples}
		if o.Compare.ETag {
			ps.ETagWarning = etagWarning(&o)
		}
		extra, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		part.Extra = extra
		part.RowsByInput = []int64{src.stats.RowsRead, tgt.stats.RowsRead}
		part.Plan = *plan
		if err := dir.CommitPart(ctx, part); err != nil {
			return nil, err
		}
		committed = true
		*plan = part.Plan
		return result(), nil
	}
	data, err := sum.Marshal()
	if err != nil {
		return nil, err
	}
	// diff.json goes in before plan.json, which Commit writes last;
	// WriteFile removes an earlier plan.json first, so that the new
	// diff.json never stands beside an older plan's marker. Through the
	// plan directory, an s3:// Out works as a folder does.
	if err := dir.WriteFile(ctx, SummaryFile, data); err != nil {
		return nil, err
	}
	if err := dir.Commit(ctx, plan); err != nil {
		return nil, err
	}
	committed = true
	return result(), nil
}

// scanSide reads one report, maps its keys (target keys to source keys),
// filters and feeds the sorter. It runs on its own goroutine and owns the
// side.
func scanSide(ctx context.Context, s *side, filter *inventory.Filter, km *KeyMap, target bool, rg *Range) error {
	fields := s.report.Fields()
	var sel []int32
	var mapped []bool
	var kb keyBuilder
	// The sorter does not depend on the order of the batches.
	return s.report.ScanUnordered(ctx, func(rec arrow.RecordBatch) error {
		in := rec
		if km != nil && target {
			in, mapped = kb.rewrite(rec, fields, km, mapped)
			defer in.Release()
		}
		if rg != nil {
			// In source keys: the target's are mapped (or, under no
			// target prefix, as they are, and dropped below).
			sel = rg.selectRows(in, fields, sel)
			s.stats.RowsRead += int64(len(sel))
			sel = filter.SelectIn(in, fields, sel, s.stats.Dropped)
		} else {
			s.stats.RowsRead += rec.NumRows()
			sel = filter.Select(in, fields, sel, s.stats.Dropped)
		}
		if km != nil {
			keys := inventory.Batch{Rec: in, Fields: fields}.Strings(inventory.Key)
			kept := sel[:0]
			for _, r := range sel {
				if target && mapped[r] || !target && km.CoversSource(inventory.StringBytes(keys, int(r))) {
					kept = append(kept, r)
				}
			}
			if d := len(sel) - len(kept); d > 0 {
				s.stats.Dropped[DropUnmapped] += int64(d)
			}
			sel = kept
		}
		if len(sel) == 0 {
			return nil
		}
		// One bucket per side: checked here, then the bucket column is
		// replaced by empty strings, so that the sort does not copy, spill
		// and merge the same name on every row. The shards get the name
		// back from s.bucket.
		buckets := inventory.Batch{Rec: in, Fields: fields}.Strings(inventory.Bucket)
		for _, r := range sel {
			b := inventory.StringBytes(buckets, int(r))
			if !s.bucketSet {
				s.bucket, s.bucketSet = string(b), true
			} else if string(b) != s.bucket {
				keys := inventory.Batch{Rec: in, Fields: fields}.Strings(inventory.Key)
				return &SideError{Side: s.name, Manifest: s.report.Manifest.Location, Key: string(inventory.StringBytes(keys, int(r))),
					Err: fmt.Errorf("%w: bucket %q after %q", ErrMixedBuckets, b, s.bucket)}
			}
		}
		in = withEmptyColumn(in, fields.ColumnIndex(inventory.Bucket))
		defer in.Release()
		s.stats.RowsCompared += int64(len(sel))
		return s.sorter.Add(ctx, in, fields, sel)
	})
}

// zeroOffsets backs the offsets of empty-string columns; arrays are
// immutable, so every such column can share it.
var zeroOffsets = make([]int32, inventory.DefaultBatchRows+1)

// withEmptyColumn returns rec with column i (a string column) replaced by
// empty strings. The caller releases the returned batch.
func withEmptyColumn(rec arrow.RecordBatch, i int) arrow.RecordBatch {
	n := int(rec.NumRows())
	offs := zeroOffsets
	if n+1 > len(offs) {
		offs = make([]int32, n+1)
	}
	ad := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs[:n+1])), memory.NewBufferBytes(nil)}, nil, 0, 0)
	col := array.MakeFromData(ad)
	ad.Release()
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[i] = col
	out := array.NewRecordBatch(rec.Schema(), cols, int64(n))
	col.Release()
	return out
}

// keyBuilder rewrites a batch's key column.
type keyBuilder struct{}

// rewrite returns rec with its target keys replaced by source keys
// (km.ToSource); keys under no target prefix are kept as they are and
// flagged false in mapped. The caller releases the returned batch.
func (kb *keyBuilder) rewrite(rec arrow.RecordBatch, fields inventory.FieldSet, km *KeyMap, mapped []bool) (arrow.RecordBatch, []bool) {
	n := int(rec.NumRows())
	ki := fields.ColumnIndex(inventory.Key)
	keys := rec.Column(ki).(*array.String)
	mapped = append(mapped[:0], make([]bool, n)...)
	// Fresh buffers per batch: the sorter keeps the batch.
	data := make([]byte, 0, len(keys.ValueBytes())+n*8)
	offs := make([]int32, 1, n+1)
	for i := 0; i < n; i++ {
		k := inventory.StringBytes(keys, i)
		var ok bool
		if data, ok = km.ToSource(data, k); !ok {
			data = append(data, k...)
		}
		mapped[i] = ok
		offs = append(offs, int32(len(data)))
	}
	ad := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, 0, 0)
	col := array.MakeFromData(ad)
	ad.Release()
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[ki] = col
	out := array.NewRecordBatch(rec.Schema(), cols, int64(n))
	col.Release()
	return out, mapped
}

// mergeSides runs both sorts' final merges, each on its own goroutine, and
// merges their outputs in lock step on the calling goroutine.
func mergeSides(ctx context.Context, src, tgt *side, m *merger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	// chans[i] carries side i's sorted batches from its Sorter.Finish
	// goroutine to the merge; that goroutine closes it when Finish returns.
	// Each batch is retained for the merge, which releases it.
	var chans [2]chan arrow.RecordBatch
	var cursors [2]*cursor
	for i, s := range []*side{src, tgt} {
		ch := make(chan arrow.RecordBatch, 2)
		chans[i] = ch
		g.Go(func() error {
			defer close(ch)
			st, err := s.sorter.Finish(gctx, func(rec arrow.RecordBatch) error {
				rec.Retain()
				select {
				case ch <- rec:
					return nil
				case <-gctx.Done():
					rec.Release()
					return gctx.Err()
				}
			})
			s.sortStat = st
			return s.wrap(err)
		})
		cursors[i] = &cursor{side: s.name, manifest: s.report.Manifest.Location, fields: s.sorter.Fields(), row: 0, n: 0,
			next: func(ctx context.Context) (arrow.RecordBatch, error) {
				select {
				case rec, ok := <-ch:
					if !ok {
						return nil, io.EOF
					}
					return rec, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}}
	}
	m.src, m.tgt = cursors[0], cursors[1]
	merr := m.run(gctx)
	if merr != nil {
		cancel()
	}
	werr := g.Wait()
	for _, ch := range chans {
		for rec := range ch {
			rec.Release()
		}
	}
	for i, s := range []*side{src, tgt} {
		dups := s.sortStat.Duplicates
		if dups > 0 {
			s.stats.Dropped[partition.DropDuplicate] += dups
		}
		if d := cursors[i].dropped; d > 0 {
			s.stats.Dropped[partition.DropDuplicate] += d
		}
		s.stats.RowsCompared -= dups + cursors[i].dropped
	}
	switch {
	case merr != nil && !errors.Is(merr, context.Canceled):
		return merr
	case werr != nil:
		return werr
	case merr != nil:
		return merr
	}
	return ctx.Err()
}

// writer turns the merge's verdicts into shards, counts and examples.
type writer struct {
	shards    *partition.Shards
	km        *KeyMap
	versioned bool
	routes    bool
	sum       *Summary
	examples  int
	tk        []byte
	obj       partition.Object
	// srcBucket and tgtBucket are the sides' buckets (the sorted rows
	// carry none).
	srcBucket, tgtBucket []byte
}

func (w *writer) object(bucket []byte, o *Object, key []byte) *partition.Object {
	// A version known not to be the latest goes to a noncurrent-versions
	// shard: its copy job must end before the current versions' starts.
	w.obj = partition.Object{Bucket: bucket, Key: key, VersionID: o.VersionID, Size: o.Size,
		StorageClass: o.StorageClass, TieringTier: o.TieringTier, Noncurrent: o.HasLatest && !o.Latest}
	return &w.obj
}

func (w *writer) route(o *Object) string {
	if !w.routes {
		return partition.RouteAll
	}
	return []string{partition.RouteCopy, partition.RouteLarge, partition.RouteRestore, partition.RouteRestoreTiering}[partition.Route(o.Size, o.StorageClass, o.TieringTier)]
}

func (w *writer) example(c *Class, s, t *Object, route string, r Verdict) {
	if len(c.Examples) >= w.examples {
		return
	}
	var e Example
	if s != nil {
		e.Key, e.VersionID, e.Source = string(s.Key), string(s.VersionID), infoOf(s)
	}
	if t != nil {
		if s == nil {
			e.Key, e.VersionID = string(t.Key), string(t.VersionID)
		}
		e.Target = infoOf(t)
		if tk, _ := w.km.ToTarget(nil, t.Key); string(tk) != e.Key {
			e.TargetKey = string(tk)
		}
	} else if w.km != nil {
		if tk, _ := w.km.ToTarget(nil, s.Key); string(tk) != e.Key {
			e.TargetKey = string(tk)
		}
	}
	e.Route, e.Reasons = route, r.Reasons()
	if !w.versioned {
		e.VersionID = ""
	}
	c.Examples = append(c.Examples, e)
}

func (w *writer) onlySource(s *Object) error {
	c := &w.sum.OnlyInSource
	c.Objects++
	c.Bytes += s.Size
	if len(c.Examples) < w.examples {
		w.example(c, s, nil, w.route(s), 0)
	}
	return w.shards.AddRouted(w.object(w.srcBucket, s, s.Key), w.versioned)
}

func (w *writer) onlyTarget(t *Object) error {
	c := &w.sum.OnlyInTarget
	c.Objects++
	c.Bytes += t.Size
	if len(c.Examples) < w.examples {
		w.example(c, nil, t, partition.RouteDelete, 0)
	}
	// The merge saw the source key; the delete names the target's.
	w.tk, _ = w.km.ToTarget(w.tk[:0], t.Key)
	return w.shards.AddDelete(w.object(w.tgtBucket, t, w.tk), w.versioned)
}

func (w *writer) both(s, t *Object, r Verdict) error {
	if r&MultipartETag != 0 {
		w.sum.Changed.MultipartETag++
	}
	if r&Unverified != 0 {
		w.sum.Changed.Unverified++
	}
	if !r.Changed() {
		c := &w.sum.Unchanged
		c.Objects++
		c.Bytes += s.Size
		if len(c.Examples) < w.examples {
			w.example(c, s, t, "", 0)
		}
		return nil
	}
	c := &w.sum.Changed
	c.Objects++
	c.Bytes += s.Size
	for i, name := range reasonNames {
		if r&(1<<i) != 0 {
			c.By[name]++
		}
	}
	if len(c.Examples) < w.examples {
		w.example(&c.Class, s, t, w.route(s), r)
	}
	return w.shards.AddRouted(w.object(w.srcBucket, s, s.Key), w.versioned)
}
