package partition

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

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
	// Memory bounds the bytes of rows held in memory. Half of it holds
	// the current run; the rest covers the run's index and output while it
	// is sorted, and the open runs while they are merged. Zero means
	// DefaultSortMemory.
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
}

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
// version first, then version id), with rows of equal sort key kept in the
// order they were added. Rows are added batch by batch; when the rows held
// reach half the memory budget they are sorted and spilled to a
// zstd-compressed Arrow IPC file; Finish merges the runs and emits the
// sorted rows, each (bucket, key, version id) once: later duplicates are
// dropped and counted.
//
// A Sorter is not safe for concurrent use. Close must be called, also
// after an error; it removes the spill files.
type Sorter struct {
	o       SortOptions
	schema  *arrow.Schema
	list    []inventory.Field
	mem     memory.Allocator
	pending []pendingBatch
	held    int64 // bytes of pending batches
	dir     string
	runs    []string
	maxRun  int64 // largest decoded batch seen, for the merge fan-in
	stats   SortStats
	fileSeq int
	closed  bool
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
	o.Fields |= inventory.Fields(inventory.Bucket, inventory.Key)
	return &Sorter{o: o, schema: inventory.Schema(o.Fields), list: o.Fields.List(), mem: memory.NewGoAllocator()}
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
	s.pending = append(s.pending, pendingBatch{rec: rec, cols: newCols(rec, fields), sel: slices.Clone(sel)})
	s.held += recordBytes(rec) + int64(len(sel))*refBytes
	s.stats.Rows += int64(len(sel))
	if s.held >= s.o.Memory/2 {
		return s.spill(ctx)
	}
	return nil
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

// ref is one row of the current run: pending batch b, row r, with the
// first 16 bytes of its key (big-endian, zero-padded) and the rank of its
// bucket among the run's buckets, so that most comparisons are decided
// without touching the batches (whose rows are scattered in memory).
type ref struct {
	k0, k1 uint64
	b, r   int32
	bucket uint32
}

// refBytes is the memory of one ref, counted against the budget.
const refBytes = 32 + 4

func keyPrefix(k []byte) (uint64, uint64) {
	var buf [16]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

func (s *Sorter) sortPending() []ref {
	n := 0
	for _, p := range s.pending {
		n += len(p.sel)
	}
	// Rank the buckets (usually one).
	var names []string
	for _, p := range s.pending {
		for _, r := range p.sel {
			bkt := p.cols.str(inventory.Bucket, int(r))
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
		for _, r := range p.sel {
			bkt := p.cols.str(inventory.Bucket, int(r))
			if string(bkt) != last || len(refs) == 0 {
				i, _ := slices.BinarySearch(names, string(bkt))
				last, lastRank = names[i], uint32(i)
			}
			k0, k1 := keyPrefix(p.cols.str(inventory.Key, int(r)))
			refs = append(refs, ref{k0: k0, k1: k1, b: int32(b), r: r, bucket: lastRank})
		}
	}
	slices.SortFunc(refs, func(x, y ref) int {
		switch {
		case x.bucket != y.bucket:
			return cmp.Compare(x.bucket, y.bucket)
		case x.k0 != y.k0:
			return cmp.Compare(x.k0, y.k0)
		case x.k1 != y.k1:
			return cmp.Compare(x.k1, y.k1)
		}
		if c := compareRows(&s.pending[x.b].cols, int(x.r), &s.pending[y.b].cols, int(y.r)); c != 0 {
			return c
		}
		if x.b != y.b {
			return int(x.b - y.b)
		}
		return int(x.r - y.r)
	})
	return refs
}

func (s *Sorter) releasePending() {
	for _, p := range s.pending {
		p.rec.Release()
	}
	s.pending = s.pending[:0]
	s.held = 0
}

// spill sorts the pending rows and writes them as one run.
func (s *Sorter) spill(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	refs := s.sortPending()
	w, err := s.newRun()
	if err != nil {
		return err
	}
	b := inventory.NewBatchBuilder(s.o.Fields, s.o.BatchRows)
	for i, rf := range refs {
		if i&4095 == 0 && ctx.Err() != nil {
			w.abort()
			return ctx.Err()
		}
		appendRow(b, s.list, &s.pending[rf.b].cols, int(rf.r))
		if b.Len() == s.o.BatchRows {
			if err := w.write(b.Build()); err != nil {
				return err
			}
		}
	}
	if b.Len() > 0 {
		if err := w.write(b.Build()); err != nil {
			return err
		}
	}
	if err := w.close(); err != nil {
		return err
	}
	s.maxRun = max(s.maxRun, w.maxBatch)
	s.runs = append(s.runs, w.path)
	s.stats.Runs++
	s.releasePending()
	return nil
}

// runWriter writes one spill file.
type runWriter struct {
	s        *Sorter
	path     string
	f        *os.File
	bw       *bufio.Writer
	cw       *countWriter
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

func (s *Sorter) newRun() (*runWriter, error) {
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.o.TmpDir, "s3batchkit-sort-")
		if err != nil {
			return nil, fmt.Errorf("%w: creating a temp dir in %q: %w", ErrSpill, s.o.TmpDir, err)
		}
		s.dir = dir
	}
	s.fileSeq++
	path := filepath.Join(s.dir, fmt.Sprintf("run-%06d.arrows", s.fileSeq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err)
	}
	rw := &runWriter{s: s, path: path, f: f}
	rw.bw = bufio.NewWriterSize(f, 1<<20)
	rw.cw = &countWriter{w: rw.bw}
	rw.w = ipc.NewWriter(rw.cw, ipc.WithSchema(s.schema), ipc.WithZstd(), ipc.WithAllocator(s.mem))
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
		err = rw.bw.Flush()
	}
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	rw.s.stats.SpillBytes += rw.cw.n
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
	st, err := s.finishRows(ctx, e.add)
	if err == nil {
		err = e.flush()
	}
	return st, err
}

// finishRows is Finish handing over rows one by one, without building
// batches: out sees row r of c, valid only during the call.
func (s *Sorter) finishRows(ctx context.Context, emit func(c *cols, r int) error) (SortStats, error) {
	out := &deduper{out: emit}
	if len(s.runs) == 0 {
		// Everything fits: sort in memory, no disk.
		refs := s.sortPending()
		for i, rf := range refs {
			if i&4095 == 0 && ctx.Err() != nil {
				return s.stats, ctx.Err()
			}
			if err := out.add(&s.pending[rf.b].cols, int(rf.r)); err != nil {
				return s.stats, err
			}
		}
		s.releasePending()
	} else {
		if err := s.spill(ctx); err != nil {
			return s.stats, err
		}
		// Merge passes until the runs fit the fan-in.
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
				w, err := s.newRun()
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
		if err := s.merge(ctx, s.runs, out.add); err != nil {
			return s.stats, err
		}
	}
	s.stats.Duplicates = out.dups
	return s.stats, nil
}

// deduper passes on the first row of each (bucket, key, version id) and
// counts the others.
type deduper struct {
	out     func(c *cols, r int) error
	dups    int64
	started bool
	pb, pk  []byte
	pv      []byte
}

func (d *deduper) add(c *cols, r int) error {
	bkt, key, ver := c.str(inventory.Bucket, r), c.str(inventory.Key, r), c.str(inventory.VersionID, r)
	if d.started && bytes.Equal(key, d.pk) && bytes.Equal(bkt, d.pb) && bytes.Equal(ver, d.pv) {
		d.dups++
		return nil
	}
	d.started = true
	d.pb = append(d.pb[:0], bkt...)
	d.pk = append(d.pk[:0], key...)
	d.pv = append(d.pv[:0], ver...)
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
	run  int
	f    *os.File
	rd   *ipc.Reader
	rec  arrow.RecordBatch
	cols cols
	row  int
	n    int
}

func (c *cursor) next() (bool, error) {
	c.row++
	if c.row < c.n {
		return true, nil
	}
	if c.rec != nil {
		c.rec.Release()
		c.rec = nil
	}
	for c.rd.Next() {
		rec := c.rd.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		rec.Retain()
		c.rec, c.row, c.n = rec, 0, int(rec.NumRows())
		c.cols = newCols(rec, inventory.FieldSet(0))
		return true, nil
	}
	if err := c.rd.Err(); err != nil {
		return false, fmt.Errorf("%w: reading %s: %w", ErrSpill, c.f.Name(), err)
	}
	return false, nil
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if c := compareRows(&h[i].cols, h[i].row, &h[j].cols, h[j].row); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merge k-way merges the runs (each sorted; earlier runs hold earlier
// input) and calls out with each row in order.
func (s *Sorter) merge(ctx context.Context, runs []string, out func(c *cols, r int) error) error {
	var h cursorHeap
	var all []*cursor
	defer func() {
		for _, c := range all {
			if c.rec != nil {
				c.rec.Release()
			}
			c.rd.Release()
			c.f.Close()
		}
	}()
	for i, p := range runs {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSpill, err)
		}
		rd, err := ipc.NewReader(bufio.NewReaderSize(f, 256<<10), ipc.WithAllocator(s.mem), ipc.WithSchema(s.schema))
		if err != nil {
			f.Close()
			return fmt.Errorf("%w: reading %s: %w", ErrSpill, p, err)
		}
		c := &cursor{run: i, f: f, rd: rd, row: -1}
		all = append(all, c)
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	for n := 0; len(h) > 0; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c := h[0]
		if err := out(&c.cols, c.row); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

// Close releases held batches and removes the spill files. It is safe to
// call more than once.
func (s *Sorter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.releasePending()
	if s.dir != "" {
		return os.RemoveAll(s.dir)
	}
	return nil
}

// cols is typed access to the columns of one batch, by field.
type cols struct {
	strs  [inventory.NumFields]*array.String
	sc    [inventory.NumFields]strCol
	ints  [inventory.NumFields][]int64
	iarr  [inventory.NumFields]arrow.Array
	ivld  [inventory.NumFields]bitmap
	bools [inventory.NumFields]*array.Boolean
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
			c.bools[f] = b.Bools(f)
		case inventory.KindInt64, inventory.KindTimestamp:
			c.ints[f], c.iarr[f] = b.Int64s(f)
			if c.iarr[f] != nil {
				c.ivld[f] = newBitmap(c.iarr[f])
			}
		default:
			c.strs[f] = b.Strings(f)
			if c.strs[f] != nil {
				c.sc[f] = newStrCol(c.strs[f])
			}
		}
	}
	return c
}

// str returns the bytes of string field f at row r; nil when null or
// absent.
func (c *cols) str(f inventory.Field, r int) []byte {
	s := &c.sc[f]
	if s.offs == nil || !s.valid.valid(r) {
		return nil
	}
	return s.data[s.offs[r]:s.offs[r+1]]
}

// int returns int64 field f at row r and whether it is present.
func (c *cols) int(f inventory.Field, r int) (int64, bool) {
	if c.iarr[f] == nil || !c.ivld[f].valid(r) {
		return 0, false
	}
	return c.ints[f][r], true
}

func (c *cols) boolean(f inventory.Field, r int) (v, ok bool) {
	a := c.bools[f]
	if a == nil || a.IsNull(r) {
		return false, false
	}
	return a.Value(r), true
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
	return bytes.Compare(a.str(inventory.VersionID, i), b.str(inventory.VersionID, j))
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
