package partition

import (
	"bytes"
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
	"github.com/s3batchkit/s3batchkit/inventory"
)

// DefaultSortMemory is the sort's memory budget when SortOptions.Memory is
// zero.
const DefaultSortMemory = 512 << 20

// MemoryLimit is the Go memory limit (debug.SetMemoryLimit) for a process
// whose sort holds budget bytes: the budget plus 192 MiB for everything
// else (readers, shard writers) and the garbage the collector has not
// reclaimed yet, so that the process's peak resident memory stays within
// budget + 256 MiB (the rest is memory the Go heap does not count:
// stacks, the runtime's own, C allocations).
func MemoryLimit(budget int64) int64 {
	if budget <= 0 {
		budget = DefaultSortMemory
	}
	return budget + 192<<20
}

// DropDuplicate is the counters.dropped reason of a row whose bucket, key
// and version id were already planned (inventories can list an object in
// more than one data file).
const DropDuplicate = "duplicate"

// DefaultSortBatchRows is the number of rows per batch Sorter.Finish
// emits when SortOptions.BatchRows is zero.
const DefaultSortBatchRows = 4096

// ErrSpill is returned (wrapped) when a sort run cannot be written to or
// read back from the temporary directory, for example when the disk is
// full. The spill files are removed by Sorter.Close.
var ErrSpill = extsort.ErrSpill

// SortOptions configure a Sorter.
type SortOptions struct {
	// Memory bounds the bytes the sort holds (see extsort.Options.Memory):
	// rows are held as their sort keys, front-coded, so a budget holds
	// several times more rows than the same bytes of Arrow batches. Zero
	// means DefaultSortMemory.
	Memory int64
	// TmpDir is where spill files go, in a folder of their own that Close
	// removes; "" means os.TempDir().
	TmpDir string
	// Fields are the columns carried through the sort; the sorted rows
	// carry exactly these. Bucket and Key are always included.
	Fields inventory.FieldSet
	// BatchRows is the number of rows per batch Finish emits; zero means
	// DefaultSortBatchRows.
	BatchRows int
	// Workers is the number of goroutines that sort while rows are added;
	// zero means GOMAXPROCS.
	Workers int
	// Progress, when not nil, counts the rows of the final merge
	// (Merging, Merged).
	Progress *inventory.Progress
	// Buckets are the bucket names the rows are expected to carry (the
	// reports' source buckets); rows of other buckets sort just as well,
	// in more memory.
	Buckets []string
}

// SortStats describe a finished sort.
type SortStats struct {
	Rows       int64 // rows added
	Duplicates int64 // rows dropped as duplicates
	Presorted  int64 // rows that arrived in key order and were not sorted
	Streamed   int64 // rows planned as they were read, in order (no sort at all)
	Runs       int   // spill files written (0: sorted in memory)
	Passes     int   // merge passes over spill files, the final one included (0: sorted in memory)
	SpillBytes int64 // bytes written to spill files
}

// Sorter sorts inventory rows by bucket, key bytes and version, newest
// first (last modified descending, unknown last, then the current version
// first, then version id; rows equal on those, duplicates, by their other
// columns, so that the output does not depend on the order rows are added
// in), and drops the duplicates of an object version: the rows after the
// first with the same bucket, key and version id (a null version id
// equals an empty one), counted in SortStats.
//
// Each row selected by Add is encoded as one sort key holding the carried
// columns only (see sortkey.go) and sorted by the external sort
// (internal/extsort): a sort holds what the plan keeps, not the batches
// it was selected from. Each batch added is a stretch the sort checks for
// key order: input whose data files arrive in key order is merged, not
// sorted.
//
// A Sorter is not safe for concurrent use. Close must be called, also
// after an error; it removes the spill files.
type Sorter struct {
	o     SortOptions
	codec *sortCodec
	xs    *extsort.Sorter
	stats SortStats
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
	return &Sorter{o: o, codec: newSortCodec(o.Fields),
		xs: extsort.New(extsort.Options{Memory: o.Memory, TmpDir: o.TmpDir, Workers: o.Workers})}
}

// Fields returns the columns of the sorted rows.
func (s *Sorter) Fields() inventory.FieldSet { return s.o.Fields }

// Add adds the rows sel of rec (whose columns are fields) to the sort;
// it copies what it needs. Columns of s's Fields that fields lacks are
// null in the output.
func (s *Sorter) Add(ctx context.Context, rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
	if len(sel) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cs := newCols(rec, fields)
	if !s.codec.ready {
		s.codec.setup(&cs, sel, s.o.Buckets)
	}
	s.xs.Split()
	for _, r := range sel {
		dst, err := s.xs.Buffer()
		if err != nil {
			return err
		}
		dst = s.codec.encode(dst, &cs, int(r))
		if err := s.xs.Commit(dst, len(dst)); err != nil {
			return err
		}
	}
	s.stats.Rows += int64(len(sel))
	return nil
}

// Finish sorts, merges and calls emit with each sorted batch (at most
// BatchRows rows, carrying Fields()), duplicates dropped. emit must not
// keep the batch past its return without retaining it.
func (s *Sorter) Finish(ctx context.Context, emit func(rec arrow.RecordBatch) error) (SortStats, error) {
	b := inventory.NewBatchBuilder(s.o.Fields, s.o.BatchRows)
	flush := func() error {
		rec := b.Build()
		if rec == nil {
			return nil
		}
		defer rec.Release()
		return emit(rec)
	}
	st, err := s.finishRows(ctx, func(d *sortRow) error {
		d.appendTo(b, s.codec.list)
		if b.Len() >= s.o.BatchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return st, err
}

// finishRows is Finish handing over decoded rows one by one: d is valid
// only during the call.
func (s *Sorter) finishRows(ctx context.Context, out func(d *sortRow) error) (SortStats, error) {
	it, err := s.xs.Finish(ctx)
	if err != nil {
		return s.finalStats(), err
	}
	p := s.o.Progress
	if p != nil {
		p.Merging.Add(s.stats.Rows)
	}
	var d sortRow
	var prevIdent, prevVer []byte
	n := 0
	for it.Next() {
		if err := s.codec.decode(it.Key(), &d); err != nil {
			return s.finalStats(), err
		}
		ver := d.str[inventory.VersionID]
		if n > 0 && bytes.Equal(d.ident, prevIdent) && bytes.Equal(ver, prevVer) {
			s.stats.Duplicates++
		} else {
			prevIdent = append(prevIdent[:0], d.ident...)
			prevVer = append(prevVer[:0], ver...)
			if err := out(&d); err != nil {
				it.Close()
				return s.finalStats(), err
			}
		}
		if n++; n&4095 == 0 && p != nil {
			p.Merged.Add(4096)
		}
	}
	if p != nil {
		p.Merged.Add(int64(n & 4095))
	}
	return s.finalStats(), it.Err()
}

func (s *Sorter) finalStats() SortStats {
	st := s.stats
	x := s.xs.Stats()
	st.Presorted, st.Runs, st.SpillBytes = x.Presorted, x.Runs, x.SpillBytes
	if x.Runs > 0 {
		st.Passes = x.Passes + 1
	}
	return st
}

// Close drops what the sort holds and removes the spill files. It is
// safe to call more than once.
func (s *Sorter) Close() error {
	return s.xs.Close()
}

// addSorted routes a sorted row into its shard.
func (c *cutter) addSorted(d *sortRow, versioned bool) error {
	size, _ := d.int(inventory.Size)
	route := routeAll
	if c.routes {
		route = Route(size, d.strOrNil(inventory.StorageClass), d.strOrNil(inventory.IntelligentTieringAccessTier))
	}
	noncurrent := d.valid[inventory.IsLatest] && !d.bools[inventory.IsLatest]
	return c.addObject(route, d.str[inventory.Bucket], d.str[inventory.Key], d.str[inventory.VersionID], size, rowKind(versioned, noncurrent))
}
