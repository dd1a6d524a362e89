package scaleout

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Modes the split may be asked for.
const (
	ModeAuto    = "auto"
	ModeDirect  = manifest.ModeDirect
	ModeShuffle = manifest.ModeShuffle
)

// DirectMaxAmplification is the read amplification (rows all ranges
// read together over the input's rows) up to which ModeAuto reads an
// input directly.
const DirectMaxAmplification = 1.5

// DefaultSampleRows is the number of keys the split samples when the
// footers do not locate the keys well enough.
const DefaultSampleRows = 160_000

// MaxRanges bounds N (AWS Batch array jobs have at most 10,000 children).
const MaxRanges = 10_000

// SplitOptions configure Split.
type SplitOptions struct {
	// Plan holds the plan's inventories, reader options (data root,
	// checksums, workers), filters, bounds and routing: everything a
	// worker will be given. Out and DryRun are ignored. Plan.IO reads
	// the inventories and writes ranges.json (nil: see objio).
	Plan partition.Options
	// N is the number of ranges.
	N int
	// Mode is ModeAuto (""), ModeDirect or ModeShuffle.
	Mode string
	// Out is where ranges.json is written.
	Out string
	// SampleRows is the number of keys to sample (zero: DefaultSampleRows).
	SampleRows int
	// Slices is the number of scatter slices for shuffled inputs (zero:
	// N).
	Slices int
}

// SplitResult is what Split decided.
type SplitResult struct {
	Ranges *manifest.Ranges
	// SHA256 is the hex SHA-256 of the ranges.json written.
	SHA256 string
	// Sampled is the number of keys read from data files (zero when the
	// footers' statistics sufficed).
	Sampled int
	// Notes are things the user should know (a mode forced or fallen
	// back to).
	Notes []string
}

// splitInput is one inventory being split.
type splitInput struct {
	m     *inventory.Manifest
	root  string // the data root it was opened with
	stats []*inventory.FileStats
	// known: every unit of every file has key bounds.
	known bool
	rows  int64 // -1 when unknown
}

// point is a sampled (bucket, key) with the rows it stands for.
type point struct {
	k manifest.SplitKey
	w float64
}

// spanFunc returns the first and last range the rows of a unit can fall
// in: a plan's ranges split (bucket, key); a diff's split source keys.
type spanFunc func(u *inventory.UnitStats, r *manifest.Ranges) (int, int)

// Split reads the footers of the inventories' data files (and, when
// their statistics do not locate the keys, a deterministic sample of
// keys: the first rows of every data file), picks N−1 split keys so that
// the ranges hold about as many rows each, assigns each range the data
// files, row groups and stripes whose keys can fall in it and the files
// whose MD5 it checks, and writes ranges.json to o.Out.
func Split(ctx context.Context, o SplitOptions) (*SplitResult, error) {
	if !o.Plan.Sort {
		return nil, fmt.Errorf("%w: a distributed plan is sorted (not --sort=false)", manifest.ErrRanges)
	}
	mode, err := checkSplit(o.N, o.Mode)
	if err != nil {
		return nil, err
	}
	hash, opts, err := partition.OptionsHash(o.Plan)
	if err != nil {
		return nil, err
	}
	filter, err := inventory.NewFilter(o.Plan.Filter)
	if err != nil {
		return nil, err
	}
	workers := o.Plan.Reader.Workers
	if workers <= 0 {
		workers = 4
	}
	var inputs []*splitInput
	for _, loc := range o.Plan.Inventories {
		in, err := openInput(ctx, o.Plan.IO, loc, o.Plan.Reader.DataRoot, o.Plan.Reader.SkipChecksums, workers, filter.Check)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, in)
	}
	res := &SplitResult{}
	ro := o.Plan.Reader
	ro.IO = o.Plan.IO
	splits, rows, err := chooseSplits(ctx, inputs, o.N, ro, o.SampleRows, workers, res)
	if err != nil {
		return nil, err
	}
	r := &manifest.Ranges{Version: manifest.RangesVersion, Kind: "plan", OptionsHash: hash, Options: opts, Splits: splits}
	needs, err := partition.PlanFields(o.Plan)
	if err != nil {
		return nil, err
	}
	for _, f := range needs.List() {
		r.Columns = append(r.Columns, f.String())
	}
	spans := make([]spanFunc, len(inputs))
	for k := range spans {
		spans[k] = span
	}
	layout(r, rows, inputs, spans, mode, o.Slices, res)
	if err := writeRanges(ctx, o.Plan.IO, o.Out, r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkSplit checks the number of ranges and the mode ("" is ModeAuto).
func checkSplit(n int, mode string) (string, error) {
	if n < 1 || n > MaxRanges {
		return "", fmt.Errorf("%w: %d ranges; give 1 to %d", manifest.ErrRanges, n, MaxRanges)
	}
	switch mode {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeDirect, ModeShuffle:
		return mode, nil
	}
	return "", fmt.Errorf("%w: mode %q (auto, direct or shuffle)", manifest.ErrRanges, mode)
}

// openInput opens the manifest at loc, checks its columns (check may be
// nil) and reads the key statistics of its data files, workers at a time.
func openInput(ctx context.Context, oc *objio.Client, loc, dataRoot string, skipChecksums bool, workers int, check func(inventory.FieldSet) error) (*splitInput, error) {
	m, err := inventory.OpenManifest(ctx, loc, inventory.ManifestOptions{DataRoot: dataRoot, SkipChecksums: skipChecksums, IO: oc})
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(m.Fields); err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
	}
	in := &splitInput{m: m, root: dataRoot, stats: make([]*inventory.FileStats, len(m.Files))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range m.Files {
		g.Go(func() error {
			st, err := inventory.ReadFileStats(gctx, oc, m, i)
			in.stats[i] = st
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	in.known, in.rows = true, 0
	for _, st := range in.stats {
		if st.Rows < 0 || in.rows < 0 {
			in.rows = -1
		} else {
			in.rows += st.Rows
		}
		for _, u := range st.Units {
			in.known = in.known && u.Known
		}
		if st.Unit == inventory.UnitFile {
			in.known = false
		}
	}
	return in, nil
}

// chooseSplits picks the n−1 split keys of the inputs' (bucket, key)
// space, from the footers when they place the keys well, else from a
// sample of keys (res.Sampled counts them), and estimates the rows of
// each range.
func chooseSplits(ctx context.Context, inputs []*splitInput, n int, ro inventory.ReaderOptions, sampleRows, workers int, res *SplitResult) ([]manifest.SplitKey, []int64, error) {
	// First try the footers: one point per unit, at its smallest key. For
	// key-clustered files, the split keys then fall on unit boundaries and
	// each unit is read by one range.
	var splits []manifest.SplitKey
	var points []point
	allKnown := true
	for _, in := range inputs {
		allKnown = allKnown && in.known
	}
	if allKnown {
		for _, in := range inputs {
			for _, st := range in.stats {
				for _, u := range st.Units {
					if u.Rows > 0 {
						points = append(points, point{k: manifest.SplitKey{Bucket: string(u.MinBucket), Key: string(u.MinKey)}, w: float64(u.Rows)})
					}
				}
			}
		}
		splits = pickSplits(points, n)
		for _, in := range inputs {
			if depth(in) > maxDepth || amplification(in, splits, span) > DirectMaxAmplification {
				splits = nil
				break
			}
		}
	}
	if splits == nil && n == 1 {
		splits = []manifest.SplitKey{} // one range: nothing to place
	}
	if splits == nil {
		// The footers do not place the keys: sample them.
		budget := sampleRows
		if budget <= 0 {
			budget = DefaultSampleRows
		}
		var err error
		if points, err = samplePoints(ctx, inputs, ro, budget, workers); err != nil {
			return nil, nil, err
		}
		res.Sampled = len(points)
		splits = pickSplits(points, n)
	}
	rows := make([]int64, n)
	rt := &manifest.Ranges{Splits: splits, Ranges: make([]manifest.RangeDetail, n)}
	for _, p := range points {
		rows[rt.RangeOf([]byte(p.k.Bucket), []byte(p.k.Key))] += int64(math.Round(p.w))
	}
	return splits, rows, nil
}

// layout fills r's ranges (estimated rows given) and inputs: per input,
// its mode (mode, or for ModeAuto direct unless its read amplification
// exceeds DirectMaxAmplification), its files, and who checks each file's
// MD5: for direct inputs, the ranges that read it, by spans[k], with its
// row groups or stripes; for shuffled ones, the scatter slices (slices of
// them, zero: N), each a run of files of about equal bytes.
func layout(r *manifest.Ranges, rows []int64, inputs []*splitInput, spans []spanFunc, mode string, slices int, res *SplitResult) {
	n := len(rows)
	if r.Splits == nil {
		r.Splits = []manifest.SplitKey{}
	}
	r.Ranges = make([]manifest.RangeDetail, n)
	for i := range r.Ranges {
		r.Ranges[i] = manifest.RangeDetail{Index: i, Rows: rows[i], Reads: []manifest.FileRead{}}
	}
	if slices <= 0 {
		slices = n
	}
	for k, in := range inputs {
		amp := amplification(in, r.Splits, spans[k])
		ri := manifest.RangesInput{Manifest: in.m.Location, MD5: in.m.MD5, DataRoot: in.root, Format: string(in.m.Format), Mode: manifest.ModeDirect,
			Unit: in.stats0Unit(), Rows: in.rows, ReadAmplification: math.Round(amp*1000) / 1000, Files: []manifest.RangesFile{}}
		if mode == ModeShuffle || mode == ModeAuto && amp > DirectMaxAmplification && n > 1 {
			ri.Mode = manifest.ModeShuffle
		}
		if ri.Mode == manifest.ModeShuffle {
			if mode == ModeAuto {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: its data files' keys overlap the ranges (read directly, each row would be read %.2f times): shuffled, run 'plan scatter' first", in.m.Location, amp))
			}
			for f, df := range in.m.Files {
				st := in.stats[f]
				ri.Files = append(ri.Files, manifest.RangesFile{Key: df.Key, Size: df.Size, MD5: df.MD5checksum, Rows: st.Rows, Units: max(len(st.Units), 1), VerifiedBy: -1})
			}
			r.Inputs = append(r.Inputs, ri)
			continue
		}
		for f, df := range in.m.Files {
			st := in.stats[f]
			file := manifest.RangesFile{Key: df.Key, Size: df.Size, MD5: df.MD5checksum, Rows: st.Rows, Units: len(st.Units)}
			if st.Unit == inventory.UnitFile {
				file.Units = 1
			}
			readers, units := assign(st, r, spans[k])
			file.VerifiedBy = readers[f%len(readers)]
			ri.Files = append(ri.Files, file)
			for _, i := range readers {
				fr := manifest.FileRead{Input: k, File: f, Units: units[i], Verify: i == file.VerifiedBy}
				r.Ranges[i].Reads = append(r.Ranges[i].Reads, fr)
			}
		}
		r.Inputs = append(r.Inputs, ri)
	}
	// Shuffled files go to the scatter slices (at most one a file), each
	// slice a run of files of about the same bytes (a file goes to the
	// slice its middle byte falls in), and the slice checks their MD5.
	shuffled, files := false, 0
	var total, before int64
	for _, in := range r.Inputs {
		if in.Mode == manifest.ModeShuffle {
			shuffled = true
			for _, f := range in.Files {
				files++
				total += max(f.Size, 1)
			}
		}
	}
	if !shuffled {
		return
	}
	r.Slices = max(min(slices, files), 1)
	for k := range r.Inputs {
		in := &r.Inputs[k]
		if in.Mode != manifest.ModeShuffle {
			continue
		}
		for f := range in.Files {
			// By the file's middle byte: equal files spread one a slice.
			size := max(in.Files[f].Size, 1)
			in.Files[f].VerifiedBy = int(min((2*before+size)*int64(r.Slices)/(2*total), int64(r.Slices-1)))
			before += size
		}
	}
}

// writeRanges writes r to loc (creating a local folder) and records it,
// with its SHA-256, in res.
func writeRanges(ctx context.Context, oc *objio.Client, loc string, r *manifest.Ranges, res *SplitResult) error {
	if !objio.IsS3(loc) {
		if err := os.MkdirAll(filepath.Dir(loc), 0o755); err != nil {
			return err
		}
	}
	sum, err := manifest.WriteRanges(ctx, oc, loc, r)
	if err != nil {
		return err
	}
	res.Ranges, res.SHA256 = r, sum
	return nil
}

func (in *splitInput) stats0Unit() string {
	switch in.m.Format {
	case inventory.FormatParquet:
		return inventory.UnitRowGroup
	case inventory.FormatORC:
		return inventory.UnitStripe
	}
	return inventory.UnitFile
}

// span returns the first and last range a unit's keys can fall in.
func span(u *inventory.UnitStats, r *manifest.Ranges) (int, int) {
	if !u.Known {
		return 0, r.N() - 1
	}
	return r.RangeOf(u.MinBucket, u.MinKey), r.RangeOf(u.MaxBucket, u.MaxKey)
}

// assign returns the ranges that read a data file (ascending, at least
// one) and, per range, the units it reads (nil: all of them).
func assign(st *inventory.FileStats, r *manifest.Ranges, span spanFunc) ([]int, map[int][]int) {
	if st.Unit == inventory.UnitFile {
		all := make([]int, r.N())
		for i := range all {
			all[i] = i
		}
		return all, map[int][]int{}
	}
	units := map[int][]int{}
	for j := range st.Units {
		if st.Units[j].Rows == 0 {
			continue // nothing to read
		}
		lo, hi := span(&st.Units[j], r)
		for i := lo; i <= hi; i++ {
			units[i] = append(units[i], j)
		}
	}
	var readers []int
	for i := range units {
		readers = append(readers, i)
	}
	if len(readers) == 0 {
		// No rows: range 0 opens the file, to check it.
		return []int{0}, map[int][]int{0: {}}
	}
	sort.Ints(readers)
	for _, i := range readers {
		if len(units[i]) == len(st.Units) {
			units[i] = nil
		}
	}
	return readers, units
}

// maxDepth is the mean number of units a unit's key range overlaps
// (itself included) up to which the units' smallest keys stand for the
// keys of their rows: key-clustered units overlap their neighbours at
// most, where versions of a key straddle them.
const maxDepth = 3.5

// depth is the mean, over an input's rows, of the number of units whose
// key range overlaps that of the row's unit.
func depth(in *splitInput) float64 {
	type iv struct{ lo, hi manifest.SplitKey }
	var units []iv
	var rows []int64
	for _, st := range in.stats {
		for _, u := range st.Units {
			if u.Rows > 0 {
				units = append(units, iv{manifest.SplitKey{Bucket: string(u.MinBucket), Key: string(u.MinKey)}, manifest.SplitKey{Bucket: string(u.MaxBucket), Key: string(u.MaxKey)}})
				rows = append(rows, u.Rows)
			}
		}
	}
	if len(units) == 0 {
		return 1
	}
	los := make([]manifest.SplitKey, len(units))
	his := make([]manifest.SplitKey, len(units))
	for i, u := range units {
		los[i], his[i] = u.lo, u.hi
	}
	cmp := func(a, b manifest.SplitKey) int { return a.Compare(b) }
	slices.SortFunc(los, cmp)
	slices.SortFunc(his, cmp)
	var sum, total float64
	for i, u := range units {
		// Units starting at or before u ends, less those ending before u
		// starts.
		starts, _ := slices.BinarySearchFunc(los, u.hi, func(a, b manifest.SplitKey) int {
			if a.Compare(b) <= 0 {
				return -1
			}
			return 1
		})
		ends, _ := slices.BinarySearchFunc(his, u.lo, func(a, b manifest.SplitKey) int {
			if a.Compare(b) < 0 {
				return -1
			}
			return 1
		})
		sum += float64(rows[i]) * float64(starts-ends)
		total += float64(rows[i])
	}
	return sum / total
}

// amplification is the rows all ranges read together over the input's
// rows, when split at splits, a unit read by the ranges span gives.
func amplification(in *splitInput, splits []manifest.SplitKey, span spanFunc) float64 {
	r := &manifest.Ranges{Splits: splits, Ranges: make([]manifest.RangeDetail, len(splits)+1)}
	var rows, read float64
	for _, st := range in.stats {
		if st.Unit == inventory.UnitFile {
			return float64(r.N())
		}
		for j := range st.Units {
			u := &st.Units[j]
			lo, hi := span(u, r)
			rows += float64(u.Rows)
			read += float64(u.Rows) * float64(hi-lo+1)
		}
	}
	if rows == 0 {
		return 1
	}
	return read / rows
}

// pickSplits returns the n−1 split keys that cut the weighted points
// into n parts of about equal weight: the first point of part i whose
// weight before it reaches i/n of the total.
func pickSplits(points []point, n int) []manifest.SplitKey {
	slices.SortStableFunc(points, func(a, b point) int { return a.k.Compare(b.k) })
	var total float64
	for _, p := range points {
		total += p.w
	}
	splits := make([]manifest.SplitKey, 0, n-1)
	var before float64
	j := 0
	for i := 1; i < n; i++ {
		target := total * float64(i) / float64(n)
		for j < len(points) && before+points[j].w <= target {
			before += points[j].w
			j++
		}
		// points[j] is the first point past the target: it starts range i.
		var k manifest.SplitKey
		switch {
		case j < len(points):
			k = points[j].k
		case len(points) > 0:
			k = points[len(points)-1].k
			k.Key += "\x00" // past every sampled key
		}
		if len(splits) > 0 && k.Compare(splits[len(splits)-1]) < 0 {
			k = splits[len(splits)-1]
		}
		splits = append(splits, k)
	}
	return splits
}

// samplePoints samples keys of the inputs, about budget in all, each
// standing for its share of the rows, without checksums (the workers
// check the files). Parquet and ORC: the first rows of every row group or
// stripe, so that files whose row groups each hold a narrow key range
// (files sorted by key, whether or not they overlap each other) are
// placed well. CSV: a deterministic few of the files (1%, at least 2),
// read whole, every so many rows kept, and the first rows of the others,
// weighed by their size.
func samplePoints(ctx context.Context, inputs []*splitInput, ro inventory.ReaderOptions, budget, workers int) ([]point, error) {
	units := 0
	for _, in := range inputs {
		for _, st := range in.stats {
			units += max(len(st.Units), 1)
		}
	}
	if units == 0 {
		return nil, nil
	}
	var out []point
	var mu sync.Mutex
	add := func(keys []manifest.SplitKey, w float64) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			out = append(out, point{k: k, w: w})
		}
	}
	for _, in := range inputs {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		if in.m.Format != inventory.FormatCSV {
			// At most budget/16 units are read (each open reads a footer
			// and a key column chunk): every stride-th, standing for the
			// stride units around it.
			per := max(budget/units, 16)
			stride := max(1, (units+budget/16-1)/max(budget/16, 1))
			seen := 0
			for f := range in.m.Files {
				for j, u := range in.stats[f].Units {
					if u.Rows == 0 {
						continue
					}
					seen++
					if (seen-1)%stride != 0 {
						continue
					}
					g.Go(func() error {
						keys, _, err := readKeys(gctx, in.m, f, []int{j}, ro, per, 1)
						if err != nil || len(keys) == 0 {
							return err
						}
						add(keys, float64(u.Rows)*float64(stride)/float64(len(keys)))
						return nil
					})
				}
			}
			if err := g.Wait(); err != nil {
				return nil, err
			}
			continue
		}
		picked := pickFiles(in.m, max(2, (len(in.m.Files)+99)/100))
		var sampled int64
		for _, f := range picked {
			sampled += max(in.m.Files[f].Size, 1)
		}
		// The picked files are read whole, one row in stride kept (at
		// about 40 bytes of gzipped CSV a row); they give the rows per
		// byte that weigh the first rows of the others.
		stride := max(1, int(sampled/40/int64(max(budget/2/len(inputs), 1))))
		var mu2 sync.Mutex
		var rowsRead int64
		for _, f := range picked {
			g.Go(func() error {
				keys, rows, err := readKeys(gctx, in.m, f, nil, ro, -1, stride)
				if err != nil || len(keys) == 0 {
					return err
				}
				mu2.Lock()
				rowsRead += rows
				mu2.Unlock()
				add(keys, float64(rows)/float64(len(keys)))
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		perByte := float64(rowsRead) / float64(sampled)
		// The first rows of every other file: a random sample of its keys
		// if its rows are in no order, its first keys if it holds a key
		// range (files written in key order, as the small real ones are).
		per := max(budget/2/max(len(in.m.Files), 1), 16)
		g, gctx = errgroup.WithContext(ctx)
		g.SetLimit(workers)
		for f, df := range in.m.Files {
			if slices.Contains(picked, f) {
				continue
			}
			g.Go(func() error {
				keys, rows, err := readKeys(gctx, in.m, f, nil, ro, per, 1)
				if err != nil || len(keys) == 0 {
					return err
				}
				est := float64(max(df.Size, 1)) * perByte
				if rows < int64(per) || est < float64(rows) {
					est = float64(rows) // the file ended within the sample
				}
				add(keys, est/float64(len(keys)))
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	// The workers finished in any order: order the points (the sort of
	// pickSplits is stable, so equal keys must come in a fixed order too).
	slices.SortFunc(out, func(a, b point) int {
		if c := a.k.Compare(b.k); c != 0 {
			return c
		}
		switch {
		case a.w < b.w:
			return -1
		case a.w > b.w:
			return 1
		}
		return 0
	})
	return out, nil
}

// pickFiles returns n of m's data files (all when it has no more),
// chosen by the MD5 of the manifest's MD5 and each file's key: the same
// manifest gives the same files.
func pickFiles(m *inventory.Manifest, n int) []int {
	idx := make([]int, len(m.Files))
	rank := make([]string, len(m.Files))
	for i, df := range m.Files {
		idx[i] = i
		sum := md5.Sum([]byte(m.MD5 + "\x00" + df.Key))
		rank[i] = string(sum[:])
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank[idx[a]] < rank[idx[b]] })
	if n < len(idx) {
		idx = idx[:n]
	}
	sort.Ints(idx)
	return idx
}

// readKeys reads the (bucket, key) of data file f of m (only the given
// units, when not nil): up to limit rows (-1: all), keeping one row in
// stride; it returns the keys kept and the rows read.
func readKeys(ctx context.Context, m *inventory.Manifest, f int, units []int, ro inventory.ReaderOptions, limit, stride int) ([]manifest.SplitKey, int64, error) {
	one := *m
	df := m.Files[f]
	df.Units = units
	one.Files = []inventory.DataFile{df}
	batch := inventory.DefaultBatchRows
	if limit > 0 {
		batch = limit
	}
	rep := inventory.NewReport(&one, inventory.ReaderOptions{Workers: 1, Fields: inventory.Fields(inventory.Bucket, inventory.Key),
		BatchRows: batch, DataRoot: ro.DataRoot, SkipChecksums: true, IO: ro.IO})
	fr, err := rep.OpenFile(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	defer fr.Close()
	var keys []manifest.SplitKey
	var rows int64
	for limit < 0 || rows < int64(limit) {
		rec, err := fr.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		b := inventory.Batch{Rec: rec, Fields: rep.Fields()}
		bk, kk := b.Strings(inventory.Bucket), b.Strings(inventory.Key)
		for i := 0; i < int(rec.NumRows()) && (limit < 0 || rows < int64(limit)); i++ {
			if rows%int64(stride) == 0 {
				keys = append(keys, manifest.SplitKey{Bucket: strings.Clone(bk.Value(i)), Key: strings.Clone(kk.Value(i))})
			}
			rows++
		}
		rec.Release()
	}
	return keys, rows, nil
}
