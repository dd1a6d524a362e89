package report

import (
	"context"
	"encoding/binary"
	"slices"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
)

// distinctCounter counts the distinct objects of a report exactly, told
// apart by their 64-bit hash as the tracker tells failed objects apart
// (hash.go: among a billion distinct objects, the chance that two share
// a hash is about 3%; among a million, about 3 in 10^8). Hashes are
// gathered in a batch; each full batch is sorted and deduplicated in
// memory, and its distinct hashes go, in order, to an external sort
// (newSort) that spills them past its budget and merges them for count
// (a batch arrives sorted: the sort keeps it as it is). A report that fits
// one batch never touches the sort.
//
// Memory: the batch and its sort buffer (distinctBatches*limit bytes
// each), and the sort's budget (as much). Not safe for concurrent use;
// close removes the spill files.
type distinctCounter struct {
	batch   []uint64
	scratch []uint64 // radixSort's second buffer
	sorter  *extsort.Sorter
	flushed bool // a batch went to sorter
}

// distinctBatches is the batch's size in sort budgets: hashes are dense
// (8 bytes, sorted without comparisons), and a report whose tasks fit one
// batch (256 Ki tasks with the default budget) is counted without a merge.
const distinctBatches = 2

// newDistinctCounter returns a counter spilling to dir ("" means the
// system's temporary folder) past distinctBatches*limit bytes of hashes
// (limit zero: DefaultSortMemory).
func newDistinctCounter(dir string, limit int) *distinctCounter {
	if limit <= 0 {
		limit = DefaultSortMemory
	}
	n := max(distinctBatches*limit/8, 1024)
	return &distinctCounter{
		batch:  make([]uint64, 0, n),
		sorter: newSort(dir, 8*n, false), // equal keys: equal records
	}
}

// add counts the object of hash h. It returns an error only when a run
// cannot be written (wrapping ErrSpill).
func (d *distinctCounter) add(h uint64) error {
	d.batch = append(d.batch, h)
	if len(d.batch) == cap(d.batch) {
		return d.flush()
	}
	return nil
}

// sortBatch sorts the batch and drops its repeated hashes.
func (d *distinctCounter) sortBatch() {
	if cap(d.scratch) < len(d.batch) {
		d.scratch = make([]uint64, len(d.batch), cap(d.batch))
	}
	radixSort(d.batch, d.scratch[:len(d.batch)])
	d.batch = slices.Compact(d.batch)
}

// radixSort sorts a by bytes, least significant first, through tmp (as
// long as a): hashes spread evenly over every byte, so each of the eight
// passes is one read and one write of a, several times faster than a
// comparison sort.
func radixSort(a, tmp []uint64) {
	src, dst := a, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [257]int
		for _, v := range src {
			count[(v>>shift)&0xff+1]++
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, v := range src {
			b := (v >> shift) & 0xff
			dst[count[b]] = v
			count[b]++
		}
		src, dst = dst, src
	}
	// Eight passes: the sorted values are back in a.
}

// flush passes the batch's distinct hashes to the sorter, in order.
func (d *distinctCounter) flush() error {
	d.sortBatch()
	d.sorter.Split() // a new sorted stretch
	var rec [8]byte
	for _, h := range d.batch {
		binary.BigEndian.PutUint64(rec[:], h) // big-endian: bytes sort as numbers
		if err := d.sorter.Add(rec[:], nil); err != nil {
			return err
		}
	}
	d.batch = d.batch[:0]
	d.flushed = true
	return nil
}

// count returns the number of distinct hashes added. The counter takes no
// more hashes afterwards.
func (d *distinctCounter) count(ctx context.Context) (int64, error) {
	if !d.flushed {
		d.sortBatch()
		return int64(len(d.batch)), nil
	}
	if err := d.flush(); err != nil {
		return 0, err
	}
	it, err := finishSort(ctx, d.sorter)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n int64
	var last [8]byte
	for it.Next() {
		if k := [8]byte(it.Key()); n == 0 || k != last {
			n++
			last = k
		}
	}
	return n, it.Err()
}

// close removes the spill files.
func (d *distinctCounter) close() error { return d.sorter.Close() }
