package partition

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/s2"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// DefaultSortMemory is the sort's memory budget when SortOptions.Memory is
// zero.
const DefaultSortMemory = 512 << 20

// DropDuplicate is the counters.dropped reason of a row whose bucket, key
// and version id were already planned (inventories can list an object in
// more than one data file).
const DropDuplicate = "duplicate"

// DefaultSortBatchRows is the number of rows per batch the sorter writes
// and emits when SortOptions.BatchRows is zero.
const DefaultSortBatchRows = 4096

// ErrSpill is returned (wrapped) when a sort run cannot be written to or
// read back from the temporary directory, for example when the disk is
// full. The spill files are removed by Sorter.Close.
var ErrSpill = errors.New("sort spill failed")

// SortOptions configure a Sorter.
type SortOptions struct {
	// Memory bounds the bytes of rows held in memory: at most three
	// quarters of it hold runs (the first run up to half, later ones up to
	// a quarter, one being written while the next is gathered); the rest
	// covers a run's output while it is written, and the open runs while
	// they are merged. Zero means DefaultSortMemory.
	Memory int64
	// TmpDir is where spill files go, in a folder of their own that Close
	// removes; "" means os.TempDir().
	TmpDir string
	// Fields are the columns carried through the sort; the sorted batches
	// carry exactly these. Bucket and Key are always included.
	Fields inventory.FieldSet
	// BatchRows is the number of rows per spilled and emitted batch; zero
	// means DefaultSortBatchRows.
	BatchRows int
	// SpillWorkers is the number of goroutines that sort and write a
	// spill, each its share of the rows as a run of its own; zero means
	// DefaultSpillWorkers, capped by GOMAXPROCS.
	SpillWorkers int
	// Progress, when not nil, counts the rows of the final merge
	// (Merging, Merged).
	Progress *inventory.Progress
}

// DefaultSpillWorkers is the default SortOptions.SpillWorkers: sorting and
// writing a run costs about as much CPU as reading its rows, so two
// goroutines keep up with the readers of a two-core machine.
const DefaultSpillWorkers = 2

// SortStats describe a finished sort.
type SortStats struct {
	Rows       int64 // rows added
	Duplicates int64 // rows dropped as duplicates
	Runs       int   // runs spilled to disk (0: sorted in memory)
	Passes     int   // merge passes (more than 1 when runs outnumber the fan-in)
	SpillBytes int64 // bytes written to spill files
}

// Sorter is an external merge sort of inventory rows by bucket, key bytes
// and version, newest first (last modified descending, then the current
// version first, then version id; rows equal on those, duplicates, by
// their other columns, so the output does not depend on the order rows
// are added in). Rows are added batch by batch; when the rows held reach
// a run's share of the memory budget they are sorted and spilled as
// S2-compressed Arrow IPC streams (SpillWorkers of them, written in
// parallel), in the background while the next run is gathered. Finish
// merges the runs and emits the sorted rows, each (bucket, key, version
// id) once: the duplicates after the first in that order are dropped and
// counted.
//
// A Sorter is not safe for concurrent use. Close must be called, also
// after an error; it removes the spill files.
type Sorter struct {
	o      SortOptions
	schema *arrow.Schema
	list   []inventory.Field
	mem    memory.Allocator
	cur    *runSet // the rows being gathered for the next run
	held   int64   // bytes of cur's batches
	dir    string
	runs   []string
	maxRun int64 // largest decoded batch seen, for the merge fan-in
	stats  SortStats
	// fileSeq numbers the spill files; spilling is the spill in flight
	// (nil when none), which writes one run in its own goroutine while
	// Add gathers the next.
	fileSeq  int
	spilling chan spillResult
	// stop cancels the spill in flight; spills do not use the context of
	// the Add that started them, which may end as soon as Add returns.
	stopCtx context.Context
	stop    context.CancelFunc
	closed  bool
}

// runSet is the rows of one run, held until they are sorted and handed
// over: the batches they come from and, while they are sorted and
// gathered, the run's bucket names by rank (nil when one of them is null,
// which a name cannot tell from empty), the chunk the run is gathered
// into, and gather's scratch (touch keeps its cache-warming loads from
// being optimized away).
type runSet struct {
	pending []pendingBatch
	names   []string
	g       chunk
	spans   [][2]int32
	touch   byte
}

// spillResult is what a spill goroutine reports: the runs it wrote, in
// any order (the sorted output does not depend on it).
type spillResult struct {
	paths    []string
	maxBatch int64
	bytes    int64
	err      error
}

type pendingBatch struct {
	rec  arrow.RecordBatch
	cols cols
	sel  []int32
}

// NewSorter returns a sorter; nothing is created on disk until the first
// spill.
func NewSorter(o SortOptions) *Sorter {
	if o.Memory <= 0 {
		o.Memory = DefaultSortMemory
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultSortBatchRows
	}
	if o.SpillWorkers <= 0 {
		o.SpillWorkers = min(DefaultSpillWorkers, runtime.GOMAXPROCS(0))
	}
	o.Fields |= inventory.Fields(inventory.Bucket, inventory.Key)
	s := &Sorter{o: o, schema: inventory.Schema(o.Fields), list: o.Fields.List(), mem: memory.NewGoAllocator(), cur: &runSet{}}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	return s
}

// Fields returns the columns of the sorted batches.
func (s *Sorter) Fields() inventory.FieldSet { return s.o.Fields }

// Add adds the rows sel of rec (whose columns are fields) to the sort.
// The sorter retains rec and copies sel; the caller keeps ownership of
// both. Columns of s's Fields that fields lacks are null in the output.
func (s *Sorter) Add(ctx context.Context, rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
	if len(sel) == 0 {
		return nil
	}
	rec.Retain()
	s.cur.pending = append(s.cur.pending, pendingBatch{rec: rec, cols: newCols(rec, fields), sel: slices.Clone(sel)})
	s.held += recordBytes(rec) + int64(len(sel))*refBytes
	s.stats.Rows += int64(len(sel))
	if s.held >= s.runLimit() {
		return s.spill(ctx)
	}
	return nil
}

// runLimit is the size at which the pending rows are spilled as a run.
// The first run may take half the budget, so that an input of up to that
// size is sorted in memory without touching the disk. Later runs take a
// quarter: one is written while the next is gathered (see spill), and
// while the first one is written the next may already reach its quarter,
// so at most three quarters of the budget are held at once.
func (s *Sorter) runLimit() int64 {
	if s.fileSeq == 0 {
		return s.o.Memory / 2
	}
	return s.o.Memory / 4
}

// recordBytes is the memory a batch holds (capacities, not lengths: that
// is what stays allocated).
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		for _, b := range c.Data().Buffers() {
			if b != nil {
				n += int64(b.Cap())
			}
		}
	}
	return n
}

// ref is one row of the current run: pending batch b, row r, with 16
// bytes of its key (big-endian, zero-padded; the first 16 at first, later
// bytes while ties are broken, see sortRefs) and the rank of its bucket
// among the run's buckets, so that most comparisons are decided without
// touching the batches (whose rows are scattered in memory).
type ref struct {
	k0, k1 uint64
	b, r   int32
	bucket uint32
}

// refBytes is the memory of one ref, counted against the budget.
const refBytes = 32 + 4

// keyPrefix returns the first 16 bytes of k, zero-padded, as two
// big-endian words.
func keyPrefix(k []byte) (uint64, uint64) {
	if len(k) >= 16 {
		return binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:])
	}
	var buf [16]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

// cmpPrefix orders refs by bucket rank and key prefix only.
func cmpPrefix(x, y ref) int {
	switch {
	case x.bucket != y.bucket:
		return cmp.Compare(x.bucket, y.bucket)
	case x.k0 != y.k0:
		return cmp.Compare(x.k0, y.k0)
	}
	return cmp.Compare(x.k1, y.k1)
}

// sortPrefixes sorts refs by bucket rank and key prefix (cmpPrefix), not
// stably.
func sortPrefixes(refs []ref) {
	// Buckets first (there is usually one), then the key prefixes.
	if len(refs) < radixMin {
		insertionSort(refs)
		return
	}
	lo, hi := refs[0].bucket, refs[0].bucket
	for i := range refs {
		lo, hi = min(lo, refs[i].bucket), max(hi, refs[i].bucket)
	}
	if lo == hi {
		radixSort(refs, 0)
		return
	}
	slices.SortFunc(refs, func(x, y ref) int { return cmp.Compare(x.bucket, y.bucket) })
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j].bucket == refs[i].bucket {
			j++
		}
		radixSort(refs[i:j], 0)
		i = j
	}
}

// radixMin is the length under which radixSort sorts by insertion.
const radixMin = 48

// radixSort sorts refs, all of one bucket and agreeing on their first d
// prefix bytes, by the rest of their key prefix: most significant byte
// first, in place.
func radixSort(refs []ref, d int) {
	for ; d < 16; d++ {
		if len(refs) < radixMin {
			insertionSort(refs)
			return
		}
		var count [256]int
		for i := range refs {
			count[prefixByte(&refs[i], d)]++
		}
		if count[prefixByte(&refs[0], d)] == len(refs) {
			continue // every ref has this byte
		}
		// Move each ref to its byte's range in place (American flag
		// sort): next[b] is the first slot of range b not yet filled.
		var next, end [256]int
		sum := 0
		for b, n := range count {
			next[b] = sum
			sum += n
			end[b] = sum
		}
		for b := range next {
			for next[b] < end[b] {
				v := refs[next[b]]
				for vb := int(prefixByte(&v, d)); vb != b; vb = int(prefixByte(&v, d)) {
					v, refs[next[vb]] = refs[next[vb]], v
					next[vb]++
				}
				refs[next[b]] = v
				next[b]++
			}
		}
		start := 0
		for _, n := range count {
			if n > 1 {
				radixSort(refs[start:start+n], d+1)
			}
			start += n
		}
		return
	}
}

// prefixByte returns byte d (0 to 15) of rf's key prefix.
func prefixByte(rf *ref, d int) byte {
	if d < 8 {
		return byte(rf.k0 >> (56 - 8*d))
	}
	return byte(rf.k1 >> (120 - 8*d))
}

func insertionSort(refs []ref) {
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && cmpPrefix(refs[j], refs[j-1]) < 0; j-- {
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
	}
}

func samePrefix(x, y *ref) bool {
	return x.k0 == y.k0 && x.k1 == y.k1 && x.bucket == y.bucket
}

func (s *runSet) sortPending() []ref {
	n := 0
	for _, p := range s.pending {
		n += len(p.sel)
	}
	// Rank the buckets (usually one).
	var names []string
	null := false
	for _, p := range s.pending {
		for _, r := range p.sel {
			bkt := p.cols.str(inventory.Bucket, int(r))
			null = null || bkt == nil
			if len(names) == 0 || names[len(names)-1] != string(bkt) {
				if !slices.Contains(names, string(bkt)) {
					names = append(names, string(bkt))
				}
			}
		}
	}
	slices.Sort(names)
	refs := make([]ref, 0, n)
	last, lastRank := "", uint32(0)
	for b, p := range s.pending {
		key := &p.cols.sc[inventory.Key]
		for _, r := range p.sel {
			bkt := p.cols.str(inventory.Bucket, int(r))
			if string(bkt) != last || len(refs) == 0 {
				i, _ := slices.BinarySearch(names, string(bkt))
				last, lastRank = names[i], uint32(i)
			}
			k0, k1 := keyPrefix(key.at(int(r)))
			refs = append(refs, ref{k0: k0, k1: k1, b: int32(b), r: r, bucket: lastRank})
		}
	}
	s.sortRefs(refs, 0)
	s.names = names
	if null {
		s.names = nil
	}
	return refs
}

// sortRefs sorts refs whose keys agree on their first depth bytes
// (zero-padded) and whose k0, k1 hold the 16 bytes from depth. It sorts by
// those, then breaks each tie on the following bytes of the keys, skipping
// the bytes all keys of the tie share, so that keys with long common
// prefixes (directories) are never compared from their start. Zero-padded
// order refines the byte order of keys (a key ordered before another one
// padded is also before it unpadded); keys that stay equal padded are
// ordered by compareRows, then by the order they were added.
//
// The k0, k1 left in refs are the 16 key bytes at the depth of the last
// tie the ref was part of: equal rows (bucket, key) end with equal
// prefixes.
func (s *runSet) sortRefs(refs []ref, depth int) {
	sortPrefixes(refs)
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && samePrefix(&refs[j], &refs[i]) {
			j++
		}
		if j-i > 1 {
			s.breakTie(refs[i:j], depth+16)
		}
		i = j
	}
}

// breakTie orders refs, which agree on their first depth key bytes
// (zero-padded).
func (s *runSet) breakTie(refs []ref, depth int) {
	// Skip the bytes that every key longer than depth shares past it.
	// Shorter keys are prefixes of those (padded with zeros they agree on
	// the first depth bytes) and pad with zeros wherever they are compared,
	// so they stay first.
	var first []byte
	lcp := 0
	for i := range refs {
		k := s.key(&refs[i])
		switch {
		case len(k) <= depth:
		case first == nil:
			first, lcp = k, len(k)-depth
		case lcp > 0:
			lcp = commonPrefix(first[depth:depth+lcp], k[depth:])
		}
	}
	if first == nil {
		// Equal keys (padded): order by the rest of the row.
		slices.SortFunc(refs, s.cmpFull)
		return
	}
	depth += lcp
	for i := range refs {
		k := s.key(&refs[i])
		if len(k) > depth {
			refs[i].k0, refs[i].k1 = keyPrefix(k[depth:])
		} else {
			refs[i].k0, refs[i].k1 = 0, 0
		}
	}
	s.sortRefs(refs, depth)
}

// commonPrefix returns the length of the common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}

func (s *runSet) key(rf *ref) []byte {
	return s.pending[rf.b].cols.sc[inventory.Key].at(int(rf.r))
}

// cmpFull orders refs by compareRows, then by the order they were added.
func (s *runSet) cmpFull(x, y ref) int {
	if c := compareRows(&s.pending[x.b].cols, int(x.r), &s.pending[y.b].cols, int(y.r)); c != 0 {
		return c
	}
	if x.b != y.b {
		return int(x.b - y.b)
	}
	return int(x.r - y.r)
}

// release drops the run's batches.
func (rs *runSet) release() {
	for _, p := range rs.pending {
		p.rec.Release()
	}
	rs.pending = nil
}

// spill starts writing the pending rows as one run, in a goroutine of its
// own, once the spill before it is done: a run is sorted and written while
// the next one is gathered, so that reading and sorting overlap (see
// runLimit for the memory this holds).
func (s *Sorter) spill(ctx context.Context) error {
	if err := s.waitSpill(ctx); err != nil {
		return err
	}
	if len(s.cur.pending) == 0 {
		return nil
	}
	parts := s.cur.split(s.o.SpillWorkers)
	paths := make([]string, len(parts))
	for i := range parts {
		var err error
		if paths[i], err = s.nextPath(); err != nil {
			return err
		}
	}
	rs := s.cur
	s.cur, s.held = &runSet{}, 0
	ch := make(chan spillResult, 1)
	s.spilling = ch
	go func() {
		results := make([]spillResult, len(parts))
		var wg sync.WaitGroup
		for i, part := range parts {
			wg.Go(func() { results[i] = s.writeRun(s.stopCtx, part, paths[i]) })
		}
		wg.Wait()
		rs.release()
		var res spillResult
		for _, r := range results {
			res.bytes += r.bytes
			res.maxBatch = max(res.maxBatch, r.maxBatch)
			if r.err != nil && res.err == nil {
				res.err = r.err
			}
			res.paths = append(res.paths, r.paths...)
		}
		if res.err != nil {
			// A failed writeRun removed its own file; the others go too,
			// so that the caller has nothing to track.
			for _, p := range res.paths {
				os.Remove(p)
			}
			res.paths = nil
		}
		ch <- res
	}()
	return nil
}

// split divides the run's batches into at most n parts of about equal
// rows, each sorted and written as a run of its own, in parallel: a
// spill's sort, gather and compression cost more than reading the rows.
// The parts share the batches, which rs releases once they are written.
func (rs *runSet) split(n int) []*runSet {
	if n <= 1 || len(rs.pending) < n {
		return []*runSet{{pending: rs.pending}}
	}
	total := 0
	for _, p := range rs.pending {
		total += len(p.sel)
	}
	parts := make([]*runSet, 0, n)
	cur := &runSet{}
	rows := 0
	for i, p := range rs.pending {
		cur.pending = append(cur.pending, p)
		rows += len(p.sel)
		left := len(rs.pending) - i - 1
		if len(parts) < n-1 && left > 0 && rows >= total*(len(parts)+1)/n {
			parts = append(parts, cur)
			cur = &runSet{}
		}
	}
	return append(parts, cur)
}

// waitSpill waits for the spill in flight, if any, and records its run;
// when ctx ends first, the spill is stopped.
func (s *Sorter) waitSpill(ctx context.Context) error {
	if s.spilling == nil {
		return nil
	}
	var res spillResult
	select {
	case res = <-s.spilling:
	case <-ctx.Done():
		s.stop()
		res = <-s.spilling
		for _, p := range res.paths {
			os.Remove(p)
		}
		s.spilling = nil
		return ctx.Err()
	}
	s.spilling = nil
	s.stats.SpillBytes += res.bytes
	if res.err != nil {
		return res.err
	}
	s.maxRun = max(s.maxRun, res.maxBatch)
	s.runs = append(s.runs, res.paths...)
	s.stats.Runs += len(res.paths)
	return nil
}

// writeRun sorts rs and writes it to path as one run. It runs in the
// spill goroutine: it uses only rs and the sorter's settings.
func (s *Sorter) writeRun(ctx context.Context, rs *runSet, path string) spillResult {
	refs := rs.sortPending()
	w, err := s.newRun(path)
	if err != nil {
		return spillResult{err: err}
	}
	for i := 0; i < len(refs); i += s.o.BatchRows {
		if ctx.Err() != nil {
			w.abort()
			return spillResult{err: ctx.Err()}
		}
		rs.gather(&rs.g, s.list, refs[i:min(i+s.o.BatchRows, len(refs))], rs.names)
		// The writer is done with the batch when write returns: the
		// chunk's buffers are reused.
		if err := w.write(rs.g.record(s.schema, false)); err != nil {
			return spillResult{err: err}
		}
	}
	if err := w.close(); err != nil {
		return spillResult{err: err}
	}
	return spillResult{paths: []string{path}, maxBatch: w.maxBatch, bytes: w.cw.n}
}

// runWriter writes one spill file.
type runWriter struct {
	path     string
	f        *os.File
	bw       *bufio.Writer
	cw       *countWriter
	zw       *s2.Writer
	w        *ipc.Writer
	maxBatch int64
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// nextPath returns the path of a new spill file, creating the sort's
// temp dir on first use.
func (s *Sorter) nextPath() (string, error) {
	if s.dir == "" {
		dir, err := newSpillDir(s.o.TmpDir)
		if err != nil {
			return "", fmt.Errorf("%w: creating a temp dir in %q: %w", ErrSpill, s.o.TmpDir, err)
		}
		s.dir = dir
	}
	s.fileSeq++
	return filepath.Join(s.dir, fmt.Sprintf("run-%06d.arrows.s2", s.fileSeq)), nil
}

// spillBlock is the S2 block size of spill files.
const spillBlock = 64 << 10

func (s *Sorter) newRun(path string) (*runWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err)
	}
	rw := &runWriter{path: path, f: f}
	rw.bw = bufio.NewWriterSize(f, 1<<20)
	rw.cw = &countWriter{w: rw.bw}
	// The Arrow stream is written uncompressed into an S2 stream: the
	// spill is read back once, and S2's assembly codec costs less CPU than
	// Arrow's LZ4 or zstd buffer compression. Small blocks keep the
	// decoders of a merge of hundreds of runs small.
	rw.zw = s2.NewWriter(rw.cw, s2.WriterConcurrency(1), s2.WriterBlockSize(spillBlock))
	rw.w = ipc.NewWriter(rw.zw, ipc.WithSchema(s.schema), ipc.WithAllocator(s.mem))
	return rw, nil
}

func (rw *runWriter) write(rec arrow.RecordBatch) error {
	rw.maxBatch = max(rw.maxBatch, recordBytes(rec))
	err := rw.w.Write(rec)
	rec.Release()
	if err != nil {
		rw.abort()
		return fmt.Errorf("%w: writing %s: %w", ErrSpill, rw.path, err)
	}
	return nil
}

func (rw *runWriter) close() error {
	err := rw.w.Close()
	if err == nil {
		err = rw.zw.Close()
	}
	if err == nil {
		err = rw.bw.Flush()
	}
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(rw.path)
		return fmt.Errorf("%w: writing %s: %w", ErrSpill, rw.path, err)
	}
	return nil
}

func (rw *runWriter) abort() {
	rw.w.Close()
	rw.f.Close()
	os.Remove(rw.path)
}

// Finish sorts what is left, merges the runs and calls emit with each
// sorted batch (at most BatchRows rows, carrying Fields()). emit must not
// keep the batch past its return without retaining it. Duplicates are
// counted in the returned stats (reason DropDuplicate).
func (s *Sorter) Finish(ctx context.Context, emit func(rec arrow.RecordBatch) error) (SortStats, error) {
	e := &emitter{fields: s.list, b: inventory.NewBatchBuilder(s.o.Fields, s.o.BatchRows), rows: s.o.BatchRows, emit: emit}
	st, err := s.finish(ctx, func(g *chunk) error {
		rec := g.record(s.schema, true)
		defer rec.Release()
		return emit(rec)
	}, e.add)
	if err == nil {
		err = e.flush()
	}
	return st, err
}

// finishRows is Finish handing over rows one by one, without building
// batches: out sees row r of c, valid only during the call.
func (s *Sorter) finishRows(ctx context.Context, out func(c *cols, r int) error) (SortStats, error) {
	return s.finish(ctx, func(g *chunk) error {
		for r := 0; r < g.n; r++ {
			if err := out(&g.cols, r); err != nil {
				return err
			}
		}
		return nil
	}, out)
}

// finish sorts what is left and hands over the sorted rows: in chunks
// (at most BatchRows rows) when they all fit in memory, else row by row
// as the runs are merged.
func (s *Sorter) finish(ctx context.Context, chunkOut func(g *chunk) error, rowOut func(c *cols, r int) error) (SortStats, error) {
	if err := s.waitSpill(ctx); err != nil {
		return s.stats, err
	}
	if len(s.runs) == 0 {
		// Everything fits: sort in memory, no disk. Both rows are at hand,
		// so duplicates are found in place: rows of one object end the
		// sort with equal refs (see sortRefs).
		rs := s.cur
		refs := rs.sortPending()
		kept := refs[:0]
		var prev ref
		for i, rf := range refs {
			if i > 0 && samePrefix(&prev, &rf) && sameObject(&rs.pending[prev.b].cols, int(prev.r), &rs.pending[rf.b].cols, int(rf.r)) {
				s.stats.Duplicates++
				continue
			}
			prev = rf
			kept = append(kept, rf)
		}
		for i := 0; i < len(kept); i += s.o.BatchRows {
			if ctx.Err() != nil {
				return s.stats, ctx.Err()
			}
			rs.gather(&rs.g, s.list, kept[i:min(i+s.o.BatchRows, len(kept))], rs.names)
			if err := chunkOut(&rs.g); err != nil {
				return s.stats, err
			}
		}
		rs.release()
		s.cur, s.held = &runSet{}, 0
		return s.stats, nil
	}
	if err := s.spill(ctx); err != nil {
		return s.stats, err
	}
	if err := s.waitSpill(ctx); err != nil {
		return s.stats, err
	}
	// Merge passes until the runs fit the fan-in: a batch of each run
	// open, and as many again at most kept for the rows in flight
	// (mergeAsync), within the budget.
	fanIn := int(max(2, (s.o.Memory/2)/max(s.maxRun, 1)))
	for len(s.runs) > fanIn {
		s.stats.Passes++
		var next []string
		for i := 0; i < len(s.runs); i += fanIn {
			group := s.runs[i:min(i+fanIn, len(s.runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			path, err := s.nextPath()
			if err != nil {
				return s.stats, err
			}
			w, err := s.newRun(path)
			if err != nil {
				return s.stats, err
			}
			b := inventory.NewBatchBuilder(s.o.Fields, s.o.BatchRows)
			err = s.merge(ctx, group, func(c *cols, r int) error {
				appendRow(b, s.list, c, r)
				if b.Len() == s.o.BatchRows {
					return w.write(b.Build())
				}
				return nil
			})
			if err == nil && b.Len() > 0 {
				err = w.write(b.Build())
			}
			if err == nil {
				err = w.close()
				s.stats.SpillBytes += w.cw.n
			} else {
				w.abort()
			}
			if err != nil {
				return s.stats, err
			}
			next = append(next, w.path)
			for _, p := range group {
				os.Remove(p)
			}
		}
		s.runs = next
		s.runs = slices.Clip(s.runs)
	}
	s.stats.Passes++
	if p := s.o.Progress; p != nil {
		p.Merging.Add(s.stats.Rows)
	}
	out := &deduper{out: rowOut}
	if err := s.mergeAsync(ctx, s.runs, out.add, out.detach); err != nil {
		return s.stats, err
	}
	s.stats.Duplicates += out.dups
	return s.stats, nil
}

// deduper passes on the first row of each (bucket, key, version id) and
// counts the others. It compares each row with the identity of the last
// row passed on: slices of that row while it is valid (the rows of one
// group of the merge), copied into buf by detach before the group's
// batches are released.
type deduper struct {
	out        func(c *cols, r int) error
	dups       int64
	started    bool
	pb, pk, pv []byte // the last row's bucket, key and version id
	owned      bool   // pb, pk and pv are in buf
	buf        []byte
}

// detach copies the last row's identity, which is about to become
// invalid.
func (d *deduper) detach() {
	if d.owned {
		return
	}
	nb, nk := len(d.pb), len(d.pk)
	d.buf = append(append(append(d.buf[:0], d.pb...), d.pk...), d.pv...)
	d.pb, d.pk, d.pv = d.buf[:nb], d.buf[nb:nb+nk], d.buf[nb+nk:]
	d.owned = true
}

// sameObject reports whether rows i of a and j of b have the same key and
// version id (a null version id equals an empty one); the caller has
// checked the buckets.
func sameObject(a *cols, i int, b *cols, j int) bool {
	return bytes.Equal(a.str(inventory.Key, i), b.str(inventory.Key, j)) &&
		bytes.Equal(a.str(inventory.VersionID, i), b.str(inventory.VersionID, j))
}

func (d *deduper) add(c *cols, r int) error {
	bkt, key, ver := c.str(inventory.Bucket, r), c.str(inventory.Key, r), c.str(inventory.VersionID, r)
	if d.started && bytes.Equal(key, d.pk) && bytes.Equal(bkt, d.pb) && bytes.Equal(ver, d.pv) {
		// The row kept stays the one compared with.
		d.dups++
		return nil
	}
	d.started = true
	d.pb, d.pk, d.pv, d.owned = bkt, key, ver, false
	return d.out(c, r)
}

// emitter builds output batches.
type emitter struct {
	fields []inventory.Field
	b      *inventory.BatchBuilder
	rows   int
	emit   func(arrow.RecordBatch) error
}

func (e *emitter) add(c *cols, r int) error {
	appendRow(e.b, e.fields, c, r)
	if e.b.Len() >= e.rows {
		return e.flush()
	}
	return nil
}

func (e *emitter) flush() error {
	rec := e.b.Build()
	if rec == nil {
		return nil
	}
	defer rec.Release()
	return e.emit(rec)
}

// cursor reads one run during a merge.
type cursor struct {
	f    *os.File
	rd   *ipc.Reader
	rec  arrow.RecordBatch
	cols *cols // of rec; a new one for each batch, so rows handed over stay valid
	row  int
	n    int
	// key and bkt are the current row's key and bucket, at hand for the
	// merge's comparisons (most decided by the keys alone).
	key, bkt []byte
	// retire takes the batch the cursor is done with: it releases it, or
	// keeps it until the rows handed over from it are consumed.
	retire func(arrow.RecordBatch)
}

func (c *cursor) next() (bool, error) {
	ok, err := c.advance()
	if ok {
		c.key = c.cols.sc[inventory.Key].at(c.row)
		c.bkt = c.cols.sc[inventory.Bucket].at(c.row)
	}
	return ok, err
}

func (c *cursor) advance() (bool, error) {
	c.row++
	if c.row < c.n {
		return true, nil
	}
	if c.rec != nil {
		c.retire(c.rec)
		c.rec = nil
	}
	for c.rd.Next() {
		rec := c.rd.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		rec.Retain()
		c.rec, c.row, c.n = rec, 0, int(rec.NumRows())
		cs := newCols(rec, inventory.FieldSet(0))
		c.cols = &cs
		return true, nil
	}
	if err := c.rd.Err(); err != nil {
		return false, fmt.Errorf("%w: reading %s: %w", ErrSpill, c.f.Name(), err)
	}
	return false, nil
}

// loserTree picks the smallest row among the cursors of a merge: a
// tournament whose inner nodes keep the loser of their match, so that
// replacing the winner replays one match per level, log2(k) comparisons,
// about half what a binary heap needs. Leaves are nodes k to 2k-1 (cursor
// node-k), inner nodes 1 to k-1, and node 0 holds the winner. An ended
// cursor loses every match; equal rows go to the earlier run.
type loserTree struct {
	c    []*cursor
	done []bool
	node []int
}

func newLoserTree(c []*cursor, done []bool) *loserTree {
	t := &loserTree{c: c, done: done, node: make([]int, max(len(c), 1))}
	if len(c) > 1 {
		t.node[0] = t.build(1)
	}
	return t
}

// build plays the matches under node n and returns their winner.
func (t *loserTree) build(n int) int {
	k := len(t.c)
	if n >= k {
		return n - k
	}
	a, b := t.build(2*n), t.build(2*n+1)
	if t.beats(b, a) {
		a, b = b, a
	}
	t.node[n] = b
	return a
}

// beats says whether cursor a's row comes before cursor b's.
func (t *loserTree) beats(a, b int) bool {
	switch {
	case t.done[a]:
		return false
	case t.done[b]:
		return true
	}
	ca, cb := t.c[a], t.c[b]
	// compareRows, with the key and bucket at hand.
	if c := bytes.Compare(ca.key, cb.key); c != 0 {
		if bytes.Equal(ca.bkt, cb.bkt) {
			return c < 0
		}
		return bytes.Compare(ca.bkt, cb.bkt) < 0
	}
	if c := compareRows(ca.cols, ca.row, cb.cols, cb.row); c != 0 {
		return c < 0
	}
	return a < b
}

// winner returns the cursor with the smallest row, or -1 when all ended.
func (t *loserTree) winner() int {
	if w := t.node[0]; !t.done[w] {
		return w
	}
	return -1
}

// replay re-plays the matches of the winner's leaf after its cursor moved
// (or ended).
func (t *loserTree) replay() {
	w := t.node[0]
	for n := (w + len(t.c)) / 2; n > 0; n /= 2 {
		if t.beats(t.node[n], w) {
			w, t.node[n] = t.node[n], w
		}
	}
	t.node[0] = w
}

// merge k-way merges the runs (each sorted; earlier runs hold earlier
// input) and calls out with each row in order; the row is valid during the
// call.
func (s *Sorter) merge(ctx context.Context, runs []string, out func(c *cols, r int) error) error {
	return s.mergeWith(ctx, runs, out, arrow.RecordBatch.Release)
}

// mergeWith is merge handing each batch it is done with to retire, so
// that the rows handed over can outlive the call to out.
func (s *Sorter) mergeWith(ctx context.Context, runs []string, out func(c *cols, r int) error, retire func(arrow.RecordBatch)) error {
	var all []*cursor
	defer func() {
		for _, c := range all {
			if c.rec != nil {
				retire(c.rec)
			}
			c.rd.Release()
			c.f.Close()
		}
	}()
	done := make([]bool, len(runs))
	for i, p := range runs {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSpill, err)
		}
		// Small buffers: a merge may have hundreds of runs open.
		zr := s2.NewReader(bufio.NewReaderSize(f, 64<<10), s2.ReaderMaxBlockSize(spillBlock))
		rd, err := ipc.NewReader(zr, ipc.WithAllocator(s.mem), ipc.WithSchema(s.schema))
		if err != nil {
			f.Close()
			return fmt.Errorf("%w: reading %s: %w", ErrSpill, p, err)
		}
		c := &cursor{f: f, rd: rd, row: -1, retire: retire}
		all = append(all, c)
		ok, err := c.next()
		if err != nil {
			return err
		}
		done[i] = !ok
	}
	if len(all) == 0 {
		return nil
	}
	t := newLoserTree(all, done)
	for n := 0; ; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		w := t.winner()
		if w < 0 {
			return nil
		}
		c := all[w]
		if err := out(c.cols, c.row); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		done[w] = !ok
		t.replay()
	}
}

// mergeGroupRows is the number of merged rows handed over at once from
// the merging goroutine to the consuming one.
const mergeGroupRows = 4096

// rowGroup is merged rows handed over, with the batches the merge finished
// while producing them (released once the rows are consumed).
type rowGroup struct {
	rows []rowRef
	done []arrow.RecordBatch
}

type rowRef struct {
	c *cols
	r int
}

// mergeAsync is merge with the merging (reading and decompressing the
// runs, the tournament) in a goroutine of its own and out called on the
// calling goroutine, so that the two overlap. Rows go over in groups of
// mergeGroupRows, a few groups in flight, and the batches they come from
// are released when their group is consumed, after endGroup.
func (s *Sorter) mergeAsync(ctx context.Context, runs []string, out func(c *cols, r int) error, endGroup func()) error {
	const groups = 4
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *rowGroup, groups)
	free := make(chan *rowGroup, groups)
	for range groups {
		free <- &rowGroup{rows: make([]rowRef, 0, mergeGroupRows)}
	}
	var mergeErr error
	go func() {
		defer close(full)
		g := <-free
		send := func() error {
			select {
			case full <- g:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case g = <-free:
				return nil
			case <-ctx.Done():
				g = nil
				return ctx.Err()
			}
		}
		mergeErr = s.mergeWith(ctx, runs, func(c *cols, r int) error {
			g.rows = append(g.rows, rowRef{c, r})
			if len(g.rows) == mergeGroupRows {
				return send()
			}
			return nil
		}, func(rec arrow.RecordBatch) {
			if g == nil {
				rec.Release()
				return
			}
			g.done = append(g.done, rec)
		})
		if g == nil {
			return
		}
		if mergeErr == nil && (len(g.rows) > 0 || len(g.done) > 0) {
			select {
			case full <- g:
				return
			case <-ctx.Done():
			}
		}
		for _, rec := range g.done {
			rec.Release()
		}
	}()
	var err error
	for g := range full {
		if err == nil {
			for _, rr := range g.rows {
				if err = out(rr.c, rr.r); err != nil {
					cancel()
					break
				}
			}
		}
		endGroup()
		if p := s.o.Progress; p != nil {
			p.Merged.Add(int64(len(g.rows)))
		}
		for _, rec := range g.done {
			rec.Release()
		}
		g.rows, g.done = g.rows[:0], g.done[:0]
		free <- g
	}
	if err != nil {
		return err
	}
	return mergeErr
}

// Close releases held batches and removes the spill files. It is safe to
// call more than once.
func (s *Sorter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.stop()
	if s.spilling != nil {
		<-s.spilling // the spill goroutine has released its run
		s.spilling = nil
	}
	s.cur.release()
	if s.dir != "" {
		return os.RemoveAll(s.dir)
	}
	return nil
}

// cols is typed access to the columns of one batch, by field: an Arrow
// batch (newCols) or a gathered chunk (gather).
type cols struct {
	sc    [inventory.NumFields]strCol
	ints  [inventory.NumFields][]int64 // nil when absent
	ivld  [inventory.NumFields]bitmap
	bhas  [inventory.NumFields]bool
	bvals [inventory.NumFields]bitmap
	bvld  [inventory.NumFields]bitmap
}

// bitmap is an Arrow validity bitmap with its array's offset; a nil one
// means every value is present.
type bitmap struct {
	bits []byte
	off  int
}

func newBitmap(a arrow.Array) bitmap {
	d := a.Data()
	if a.NullN() == 0 || d.Buffers()[0] == nil {
		return bitmap{}
	}
	return bitmap{bits: d.Buffers()[0].Bytes(), off: d.Offset()}
}

func (b *bitmap) valid(r int) bool {
	if b.bits == nil {
		return true
	}
	i := r + b.off
	return b.bits[i>>3]&(1<<(i&7)) != 0
}

// strCol is a string column's raw buffers, so that the comparisons of the
// sort, its hottest loop, index slices directly instead of going through
// the array's methods.
type strCol struct {
	offs  []int32 // from the array's offset: offs[r], offs[r+1] bound row r
	data  []byte  // the whole values buffer (offsets are absolute)
	valid bitmap
}

func newStrCol(a *array.String) strCol {
	sc := strCol{offs: a.ValueOffsets(), valid: newBitmap(a)}
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		sc.data = bufs[2].Bytes()
	}
	return sc
}

// at returns the bytes of row r; nil when null or absent.
func (s *strCol) at(r int) []byte {
	if s.offs == nil || !s.valid.valid(r) {
		return nil
	}
	return s.data[s.offs[r]:s.offs[r+1]]
}

// newCols maps rec's columns; fields is rec's field set, or zero to map
// columns by their names.
func newCols(rec arrow.RecordBatch, fields inventory.FieldSet) cols {
	var c cols
	if fields == 0 {
		for _, f := range rec.Schema().Fields() {
			if fld, ok := inventory.LookupField(f.Name); ok {
				fields |= inventory.Fields(fld)
			}
		}
	}
	b := inventory.Batch{Rec: rec, Fields: fields}
	for _, f := range fields.List() {
		switch f.Kind() {
		case inventory.KindBool:
			if a := b.Bools(f); a != nil {
				d := a.Data()
				c.bhas[f] = true
				if buf := d.Buffers()[1]; buf != nil {
					c.bvals[f] = bitmap{bits: buf.Bytes(), off: d.Offset()}
				}
				c.bvld[f] = newBitmap(a)
			}
		case inventory.KindInt64, inventory.KindTimestamp:
			var a arrow.Array
			c.ints[f], a = b.Int64s(f)
			if a != nil {
				if c.ints[f] == nil {
					c.ints[f] = []int64{}
				}
				c.ivld[f] = newBitmap(a)
			}
		default:
			if a := b.Strings(f); a != nil {
				c.sc[f] = newStrCol(a)
			}
		}
	}
	return c
}

// str returns the bytes of string field f at row r; nil when null or
// absent.
func (c *cols) str(f inventory.Field, r int) []byte {
	return c.sc[f].at(r)
}

// int returns int64 field f at row r and whether it is present.
func (c *cols) int(f inventory.Field, r int) (int64, bool) {
	if c.ints[f] == nil || !c.ivld[f].valid(r) {
		return 0, false
	}
	return c.ints[f][r], true
}

func (c *cols) boolean(f inventory.Field, r int) (v, ok bool) {
	if !c.bhas[f] || !c.bvld[f].valid(r) {
		return false, false
	}
	return c.bvals[f].valid(r), true
}

// compareRows orders rows by bucket, key bytes, last modified descending
// (unknown last), current version first, then version id.
func compareRows(a *cols, i int, b *cols, j int) int {
	if c := bytes.Compare(a.str(inventory.Key, i), b.str(inventory.Key, j)); c != 0 {
		if bc := bytes.Compare(a.str(inventory.Bucket, i), b.str(inventory.Bucket, j)); bc != 0 {
			return bc
		}
		return c
	}
	if c := bytes.Compare(a.str(inventory.Bucket, i), b.str(inventory.Bucket, j)); c != 0 {
		return c
	}
	ta, oka := a.int(inventory.LastModifiedDate, i)
	tb, okb := b.int(inventory.LastModifiedDate, j)
	switch {
	case oka && !okb:
		return -1
	case !oka && okb:
		return 1
	case ta > tb:
		return -1
	case ta < tb:
		return 1
	}
	la, _ := a.boolean(inventory.IsLatest, i)
	lb, _ := b.boolean(inventory.IsLatest, j)
	if la != lb {
		if la {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.str(inventory.VersionID, i), b.str(inventory.VersionID, j)); c != 0 {
		return c
	}
	return compareRest(a, i, b, j)
}

// compareRest orders rows that agree on everything compareRows looks at
// (duplicates of one object version) by their other columns, null first,
// so that rows which still compare equal are identical in every column
// the sort carries. Which of them a sort keeps, or hands over first, then
// makes no difference: the sorted output does not depend on the order
// the rows were added in, and batches may be added as they are read.
func compareRest(a *cols, i int, b *cols, j int) int {
	for f := range inventory.Field(inventory.NumFields) {
		switch f {
		case inventory.Bucket, inventory.Key, inventory.LastModifiedDate, inventory.IsLatest, inventory.VersionID:
			continue
		}
		var c int
		switch {
		case a.sc[f].offs != nil || b.sc[f].offs != nil:
			va, vb := a.sc[f].offs != nil && a.sc[f].valid.valid(i), b.sc[f].offs != nil && b.sc[f].valid.valid(j)
			if c = compareValid(va, vb); c == 0 && va {
				c = bytes.Compare(a.sc[f].at(i), b.sc[f].at(j))
			}
		case a.ints[f] != nil || b.ints[f] != nil:
			x, va := a.int(f, i)
			y, vb := b.int(f, j)
			if c = compareValid(va, vb); c == 0 {
				c = cmp.Compare(x, y)
			}
		case a.bhas[f] || b.bhas[f]:
			x, va := a.boolean(f, i)
			y, vb := b.boolean(f, j)
			if c = compareValid(va, vb); c == 0 && x != y {
				c = 1
				if !x {
					c = -1
				}
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareValid orders a missing value before a present one.
func compareValid(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// appendRow copies row r of c into b, field by field (nulls where c lacks
// a field).
func appendRow(b *inventory.BatchBuilder, fields []inventory.Field, c *cols, r int) {
	for _, f := range fields {
		switch f.Kind() {
		case inventory.KindBool:
			if v, ok := c.boolean(f, r); ok {
				b.AppendBool(f, v)
			} else {
				b.AppendNull(f)
			}
		case inventory.KindInt64, inventory.KindTimestamp:
			if v, ok := c.int(f, r); ok {
				b.AppendInt(f, v)
			} else {
				b.AppendNull(f)
			}
		default:
			if sc := &c.sc[f]; sc.offs == nil || !sc.valid.valid(r) {
				b.AppendNull(f)
			} else {
				b.AppendString(f, sc.data[sc.offs[r]:sc.offs[r+1]])
			}
		}
	}
	b.EndRow()
}

// chunk is rows of the pending batches gathered in sorted order, column
// by column, into flat buffers: the sort's output without a row-by-row
// copy. Gathering one column at a time keeps each loop small, so that the
// cache misses of rows scattered over the batches overlap.
type chunk struct {
	n      int
	fields []inventory.Field
	col    [inventory.NumFields]chunkCol
	cols   cols // a view of the buffers
}

type chunkCol struct {
	offs  []int32
	data  []byte
	ints  []int64
	bits  []byte // boolean values
	valid []byte
	nulls int
}

// bitsFor returns b resized to hold n bits, all clear.
func bitsFor(b []byte, n int) []byte {
	b = slices.Grow(b[:0], (n+7)/8)[:(n+7)/8]
	clear(b)
	return b
}

// gather fills g with the given fields of refs' rows, in order; buckets
// come from the run's bucket names when names is not nil.
func (s *runSet) gather(g *chunk, fields []inventory.Field, refs []ref, names []string) {
	n := len(refs)
	g.n, g.fields, g.cols = n, fields, cols{}
	for _, f := range fields {
		c := &g.col[f]
		c.valid = bitsFor(c.valid, n)
		c.nulls = 0
		switch f.Kind() {
		case inventory.KindBool:
			c.bits = bitsFor(c.bits, n)
			for i := range refs {
				src := &s.pending[refs[i].b].cols
				if v, ok := src.boolean(f, int(refs[i].r)); ok {
					c.valid[i>>3] |= 1 << (i & 7)
					if v {
						c.bits[i>>3] |= 1 << (i & 7)
					}
				} else {
					c.nulls++
				}
			}
			g.cols.bhas[f] = true
			g.cols.bvals[f] = bitmap{bits: c.bits}
		case inventory.KindInt64, inventory.KindTimestamp:
			c.ints = slices.Grow(c.ints[:0], n)[:n]
			for i := range refs {
				src := &s.pending[refs[i].b].cols
				v, ok := src.int(f, int(refs[i].r))
				c.ints[i] = v
				if ok {
					c.valid[i>>3] |= 1 << (i & 7)
				} else {
					c.nulls++
				}
			}
			g.cols.ints[f] = c.ints
		default:
			c.offs = slices.Grow(c.offs[:0], n+1)[:1]
			c.offs[0] = 0
			if c.data == nil {
				c.data = make([]byte, 0, 16*n)
			}
			c.data = c.data[:0]
			if f == inventory.Bucket && names != nil {
				for i := range refs {
					c.data = append(c.data, names[refs[i].bucket]...)
					c.offs = append(c.offs, int32(len(c.data)))
					c.valid[i>>3] |= 1 << (i & 7)
				}
			} else {
				// Two passes: the first reads the offsets and the first
				// byte of each value, loads that do not wait for one
				// another, so that their cache misses overlap; the second
				// copies from the cache.
				spans := slices.Grow(s.spans[:0], n)[:n]
				var touch byte
				for i := range refs {
					sc := &s.pending[refs[i].b].cols.sc[f]
					if r := int(refs[i].r); sc.offs != nil && sc.valid.valid(r) {
						lo, hi := sc.offs[r], sc.offs[r+1]
						if lo < hi {
							touch += sc.data[lo] + sc.data[hi-1]
						}
						spans[i] = [2]int32{lo, hi}
						c.valid[i>>3] |= 1 << (i & 7)
					} else {
						spans[i] = [2]int32{}
						c.nulls++
					}
				}
				s.touch += touch
				for i := range refs {
					if sp := spans[i]; sp[0] < sp[1] {
						c.data = append(c.data, s.pending[refs[i].b].cols.sc[f].data[sp[0]:sp[1]]...)
					}
					c.offs = append(c.offs, int32(len(c.data)))
				}
				s.spans = spans
			}
			g.cols.sc[f] = strCol{offs: c.offs, data: c.data}
		}
	}
	for _, f := range fields {
		if c := &g.col[f]; c.nulls > 0 {
			vb := bitmap{bits: c.valid}
			switch f.Kind() {
			case inventory.KindBool:
				g.cols.bvld[f] = vb
			case inventory.KindInt64, inventory.KindTimestamp:
				g.cols.ivld[f] = vb
			default:
				g.cols.sc[f].valid = vb
			}
		}
	}
}

// record returns g as a batch of schema, which must list g's fields. The
// batch shares g's buffers: g must not be gathered into again while the
// batch is in use unless detach is set, which gives g new buffers.
func (g *chunk) record(schema *arrow.Schema, detach bool) arrow.RecordBatch {
	arrs := make([]arrow.Array, 0, len(g.fields))
	for _, f := range g.fields {
		c := &g.col[f]
		var validity *memory.Buffer
		if c.nulls > 0 {
			validity = memory.NewBufferBytes(c.valid)
		}
		var data arrow.ArrayData
		switch f.Kind() {
		case inventory.KindBool:
			data = array.NewData(f.ArrowType(), g.n, []*memory.Buffer{validity, memory.NewBufferBytes(c.bits)}, nil, c.nulls, 0)
		case inventory.KindInt64, inventory.KindTimestamp:
			data = array.NewData(f.ArrowType(), g.n, []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(c.ints))}, nil, c.nulls, 0)
		default:
			data = array.NewData(f.ArrowType(), g.n, []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offs)), memory.NewBufferBytes(c.data)}, nil, c.nulls, 0)
		}
		arrs = append(arrs, array.MakeFromData(data))
		data.Release()
		if detach {
			*c = chunkCol{}
		}
	}
	rec := array.NewRecordBatch(schema, arrs, int64(g.n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}
