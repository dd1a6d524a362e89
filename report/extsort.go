package report

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
)

// DefaultSortMemory is the bytes of records each of the report's external
// sorts holds in memory before it spills a sorted run (MergeOptions.SortMemory).
const DefaultSortMemory = 1 << 20

// maxFanIn bounds the runs merged at once; more runs are merged in passes.
const maxFanIn = 64

// spillPattern names the temporary files of the report (os.CreateTemp
// pattern); Run removes leftovers of a killed run from the output folder.
const spillPattern = ".s3batchkit-report-spill-*"

// recSorter is an external merge sort of byte records. Records are added
// one by one; once the records held reach the memory limit they are sorted
// and written to a temporary file (a run); iter merges the runs and the
// records still in memory. The sort is stable: records that compare equal
// come out in the order they were added.
//
// Memory: the records held (at most limit bytes plus 8 bytes each), and
// while iterating one 32 KiB read buffer per run merged at once (at most
// maxFanIn). Not safe for concurrent use; close removes the run files,
// also after an error.
type recSorter struct {
	cmp   func(a, b []byte) int
	limit int
	dir   string

	buf  []byte
	idx  []recRef
	runs []string // run files, in the order they were spilled

	records, spilled int64 // records added; bytes written to runs
	closed           bool
}

type recRef struct{ off, n uint32 }

// newRecSorter returns a sorter ordering records by cmp, spilling to dir
// ("" means the system's temporary folder) past limit bytes (zero means
// DefaultSortMemory). Nothing is created on disk before the first spill.
func newRecSorter(dir string, limit int, cmp func(a, b []byte) int) *recSorter {
	if limit <= 0 {
		limit = DefaultSortMemory
	}
	// Offsets are 32-bit.
	limit = min(limit, 1<<31)
	return &recSorter{cmp: cmp, limit: limit, dir: dir}
}

// add copies rec into the sorter. It returns an error only when a run
// cannot be written; the error wraps ErrSpill.
func (s *recSorter) add(rec []byte) error {
	if len(s.buf)+len(rec) > s.limit && len(s.idx) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if len(rec) > 1<<31 {
		return fmt.Errorf("report: a %d-byte record is too long to sort", len(rec))
	}
	s.idx = append(s.idx, recRef{uint32(len(s.buf)), uint32(len(rec))})
	s.buf = append(s.buf, rec...)
	s.records++
	return nil
}

func (s *recSorter) rec(r recRef) []byte { return s.buf[r.off : r.off+r.n : r.off+r.n] }

func (s *recSorter) sortMemory() {
	slices.SortStableFunc(s.idx, func(a, b recRef) int { return s.cmp(s.rec(a), s.rec(b)) })
}

// runsSpilled counts the runs every sorter spilled (tests check that a
// small memory limit spills).
var runsSpilled atomic.Int64

// spill sorts the records held and writes them as a run.
func (s *recSorter) spill() error {
	runsSpilled.Add(1)
	s.sortMemory()
	w, err := s.newRun()
	if err != nil {
		return err
	}
	for _, r := range s.idx {
		w.write(s.rec(r))
	}
	if err := s.closeRun(w); err != nil {
		return err
	}
	s.buf, s.idx = s.buf[:0], s.idx[:0]
	return nil
}

type runWriter struct {
	f   *os.File
	w   *bufio.Writer
	n   int64
	err error
	hdr [binary.MaxVarintLen64]byte
}

func (w *runWriter) write(rec []byte) {
	if w.err != nil {
		return
	}
	k := binary.PutUvarint(w.hdr[:], uint64(len(rec)))
	w.w.Write(w.hdr[:k])
	_, w.err = w.w.Write(rec)
	w.n += int64(k + len(rec))
}

// newRun creates a run file and lists it in s.runs (last).
func (s *recSorter) newRun() (*runWriter, error) {
	if s.closed {
		return nil, errors.New("report: sorter used after close")
	}
	f, err := os.CreateTemp(s.dir, spillPattern)
	if err != nil {
		return nil, fmt.Errorf("creating a sort run: %w: %w", ErrSpill, err)
	}
	s.runs = append(s.runs, f.Name())
	return &runWriter{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *recSorter) closeRun(w *runWriter) error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = err
	}
	s.spilled += w.n
	if w.err != nil {
		return fmt.Errorf("writing sort run %s: %w: %w", w.f.Name(), ErrSpill, w.err)
	}
	return nil
}

// iter returns an iterator over all records added, in order. The sorter
// takes no more records afterwards. When there are more runs than one
// merge takes (maxFanIn), consecutive runs are first merged into longer
// ones, group by group, keeping their order (so the sort stays stable).
func (s *recSorter) iter() (*recIter, error) {
	for len(s.runs)+1 > maxFanIn {
		runs := s.runs
		s.runs = nil
		var merged []string
		for len(runs) > 0 {
			group := runs[:min(maxFanIn, len(runs))]
			runs = runs[len(group):]
			name, err := s.mergeRuns(group)
			if err != nil {
				// Keep every file listed, for close to remove.
				s.runs = append(append(append(s.runs, merged...), group...), runs...)
				return nil, err
			}
			merged = append(merged, name)
		}
		s.runs = merged
	}
	s.sortMemory()
	return s.openRuns(s.runs, s)
}

// mergeRuns merges runs into a new run, removes them and returns the new
// run's name. While it runs, s.runs lists only the new run.
func (s *recSorter) mergeRuns(runs []string) (string, error) {
	if len(runs) == 1 {
		return runs[0], nil
	}
	it, err := s.openRuns(runs, nil)
	if err != nil {
		return "", err
	}
	defer it.close()
	w, err := s.newRun()
	if err != nil {
		return "", err
	}
	name := s.runs[len(s.runs)-1]
	s.runs = s.runs[:len(s.runs)-1] // the caller lists it
	for it.next() {
		w.write(it.rec)
	}
	if err := s.closeRun(w); err != nil {
		os.Remove(name)
		return "", err
	}
	if it.err != nil {
		os.Remove(name)
		return "", it.err
	}
	for _, r := range runs {
		os.Remove(r)
	}
	return name, nil
}

// openRuns opens a merging iterator over run files and, when mem is not
// nil, the records mem holds in memory (already sorted; they come last).
func (s *recSorter) openRuns(runs []string, mem *recSorter) (*recIter, error) {
	it := &recIter{cmp: s.cmp}
	for i, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			it.close()
			return nil, fmt.Errorf("reading sort run: %w: %w", ErrSpill, err)
		}
		c := &runCursor{order: i, f: f, r: bufio.NewReaderSize(f, 32<<10), name: name}
		it.cursors = append(it.cursors, c)
	}
	if mem != nil && len(mem.idx) > 0 {
		it.cursors = append(it.cursors, &runCursor{order: len(runs), mem: mem})
	}
	for _, c := range it.cursors {
		ok, err := c.next()
		if err != nil {
			it.close()
			return nil, err
		}
		if ok {
			it.heap = append(it.heap, c)
		}
	}
	for i := len(it.heap)/2 - 1; i >= 0; i-- {
		it.down(i)
	}
	return it, nil
}

// close removes the run files. Iterators opened from the sorter must be
// closed first.
func (s *recSorter) close() error {
	var first error
	for _, name := range s.runs {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	s.runs, s.buf, s.idx, s.closed = nil, nil, nil, true
	return first
}

// recIter merges sorted runs. rec is valid until the next call of next.
type recIter struct {
	cmp     func(a, b []byte) int
	cursors []*runCursor
	heap    []*runCursor
	cur     *runCursor // the cursor rec came from; advanced by the next call
	rec     []byte
	err     error
}

type runCursor struct {
	order int
	rec   []byte
	// a run file
	f    *os.File
	r    *bufio.Reader
	name string
	buf  []byte
	// or the records in memory
	mem *recSorter
	i   int
}

func (c *runCursor) next() (bool, error) {
	if c.mem != nil {
		if c.i == len(c.mem.idx) {
			return false, nil
		}
		c.rec = c.mem.rec(c.mem.idx[c.i])
		c.i++
		return true, nil
	}
	n, err := binary.ReadUvarint(c.r)
	if err == io.EOF {
		return false, nil
	}
	if err == nil && n > 1<<31 {
		err = errors.New("record length out of range")
	}
	if err == nil {
		if uint64(cap(c.buf)) < n {
			c.buf = make([]byte, n)
		}
		c.buf = c.buf[:n]
		_, err = io.ReadFull(c.r, c.buf)
	}
	if err != nil {
		return false, fmt.Errorf("reading sort run %s: %w: %w", c.name, ErrSpill, err)
	}
	c.rec = c.buf
	return true, nil
}

func (it *recIter) less(a, b *runCursor) bool {
	if c := it.cmp(a.rec, b.rec); c != 0 {
		return c < 0
	}
	return a.order < b.order
}

func (it *recIter) down(i int) {
	h := it.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && it.less(h[r], h[l]) {
			m = r
		}
		if !it.less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// next moves to the next record; it returns false at the end or on an
// error (then it.err is set).
func (it *recIter) next() bool {
	if it.err != nil {
		return false
	}
	if c := it.cur; c != nil {
		it.cur = nil
		ok, err := c.next()
		if err != nil {
			it.err = err
			return false
		}
		if ok {
			it.down(0)
		} else {
			last := len(it.heap) - 1
			it.heap[0] = it.heap[last]
			it.heap = it.heap[:last]
			if last > 0 {
				it.down(0)
			}
		}
	}
	if len(it.heap) == 0 {
		it.rec = nil
		return false
	}
	it.cur = it.heap[0]
	it.rec = it.cur.rec
	return true
}

// close closes the run files (the sorter removes them).
func (it *recIter) close() {
	for _, c := range it.cursors {
		if c.f != nil {
			c.f.Close()
		}
	}
	it.cursors, it.heap, it.cur = nil, nil, nil
}
