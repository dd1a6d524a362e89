package extsort

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultMemory is the budget when Options.Memory is zero.
const DefaultMemory = 64 << 20

// DefaultMaxFanIn is the most run files merged at once when
// Options.MaxFanIn is zero; more are merged in passes first.
const DefaultMaxFanIn = 128

// MaxRecordBytes bounds a record's key and its value, each.
const MaxRecordBytes = 1 << 30

// Options configure a Sorter.
type Options struct {
	// Memory bounds the bytes the sort holds: the chunks being filled and
	// sorted, and the sorted pieces (front-coded) until they are spilled.
	// Merging adds a fixed amount per run file merged (about 160 KiB) and
	// the iterator's blocks (1 MiB). Zero means DefaultMemory.
	Memory int64
	// TmpDir is where run files go, in a folder of their own that Close
	// removes; "" means os.TempDir().
	TmpDir string
	// Workers is the number of goroutines that sort chunks while Add
	// fills the next one; zero means GOMAXPROCS.
	Workers int
	// MaxFanIn bounds the run files merged at once; zero means
	// DefaultMaxFanIn.
	MaxFanIn int
	// Stable keeps records with equal keys in the order they were added.
	// Without it such records come out in no particular order (it may
	// change with Memory, Workers and the Split calls): enough for a
	// sort whose equal keys carry equal values (the planner's).
	Stable bool
	// ChunkBytes is the size of a chunk's record bytes; zero derives it
	// from Memory (at most 1 MiB: a chunk and its ents stay in the caches
	// while it is sorted). For tests and tuning.
	ChunkBytes int
}

// Stats describe a sort.
type Stats struct {
	Records    int64 // records added
	Presorted  int64 // records that arrived in order and needed no sorting
	Pieces     int   // sorted pieces made in memory
	Runs       int   // run files written (spills and merge passes)
	Passes     int   // merge passes over run files before the final merge
	SpillBytes int64 // bytes written to run files
	Sources    int   // chains the final merge read (1: no comparisons)
	PeakBytes  int64 // most bytes of pool blocks in use at once
}

// Sorter is an external sort of byte records (see the package doc).
type Sorter struct {
	o          Options
	chunkBytes int
	blockSize  int
	limit      int64 // bytes of pool blocks in use at most
	spillAt    int64 // bytes of registered pieces that start a spill

	cur      *chunk
	seq      int64 // sequence number of the next chunk
	records  int64
	todo     chan *chunk
	free     chan *chunk
	nchunks  int
	workers  sync.WaitGroup
	started  bool
	finished bool
	isClosed atomic.Bool
	it       *Iterator

	mu        sync.Mutex
	cond      *sync.Cond
	used      int64    // bytes of blocks handed out
	pool      [][]byte // free blocks of blockSize
	pieces    []*piece // registered, not yet spilled
	pieceMem  int64
	nextReg   int64 // seq of the next chunk whose pieces register
	spilling  bool
	spillDone chan struct{}
	runs      []*diskRun
	err       error
	closed    bool
	dir       string
	fileSeq   int
	stats     Stats
}

// New returns a sorter; nothing is written to disk before the first
// spill.
func New(o Options) *Sorter {
	if o.Memory <= 0 {
		o.Memory = DefaultMemory
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxFanIn <= 1 {
		o.MaxFanIn = DefaultMaxFanIn
	}
	s := &Sorter{o: o}
	s.cond = sync.NewCond(&s.mu)
	s.chunkBytes = o.ChunkBytes
	if s.chunkBytes <= 0 {
		s.chunkBytes = int(min(1<<20, max(1<<10, o.Memory/32)))
	}
	// Small blocks: a piece's last block is half empty on average.
	s.blockSize = int(min(32<<10, max(1<<10, o.Memory/64)))
	// Chunks: the one being filled, one per worker and one spare, each
	// its bytes and about as much again for its ents.
	chunkMem := int64(o.Workers+2) * int64(s.chunkBytes) * 2
	s.limit = max(o.Memory-chunkMem, o.Memory/4)
	// Spill early enough that the pieces the workers are writing fit.
	s.spillAt = max(s.limit-int64(o.Workers)*int64(s.chunkBytes+s.blockSize)*3/2, s.limit/2)
	return s
}

// Add copies a record into the sort. It returns the first error of the
// background work (a spill that failed), if any.
func (s *Sorter) Add(key, value []byte) error {
	if s.finished {
		return ErrFinished
	}
	if len(key) > MaxRecordBytes || len(value) > MaxRecordBytes {
		return fmt.Errorf("%w: a %d-byte key and a %d-byte value", ErrTooLong, len(key), len(value))
	}
	c := s.cur
	if c == nil || len(c.data)+len(key)+len(value) > s.chunkBytes && len(c.ents) > 0 {
		if err := s.rotate(); err != nil {
			return err
		}
		c = s.cur
	}
	c.add(key, value)
	s.records++
	return nil
}

// Buffer returns where to build the next record without copying it:
// append its key to the returned slice (then its value, if any) and hand
// the result to Commit before any other call. Appending past the slice's
// capacity is allowed (Commit then copies).
func (s *Sorter) Buffer() ([]byte, error) {
	if s.finished {
		return nil, ErrFinished
	}
	if s.cur == nil || len(s.cur.data) >= s.chunkBytes && len(s.cur.ents) > 0 {
		if err := s.rotate(); err != nil {
			return nil, err
		}
	}
	return s.cur.data[len(s.cur.data):], nil
}

// Commit adds the record built in the slice Buffer returned: rec is that
// slice with the record appended, its first keyLen bytes the key.
func (s *Sorter) Commit(rec []byte, keyLen int) error {
	if keyLen > len(rec) || keyLen > MaxRecordBytes || len(rec)-keyLen > MaxRecordBytes {
		return fmt.Errorf("%w: a %d-byte record with a %d-byte key", ErrTooLong, len(rec), keyLen)
	}
	c := s.cur
	n := len(c.data)
	if cap(rec) == cap(c.data)-n && len(rec) > 0 && &rec[:1][0] == &c.data[:n+1][n] {
		// Built in place.
		c.addInPlace(n, len(rec), keyLen)
	} else {
		c.add(rec[:keyLen], rec[keyLen:])
	}
	s.records++
	return nil
}

// Split tells the sorter that the records added next may not continue
// the ones before in order, even when their keys happen to ascend: a new
// batch that may come from another data file, say. Stretches of records
// that arrive in order are found between splits; without them, two
// sorted inputs added in turns look like one that spans both of their
// key ranges, and cannot be chained.
func (s *Sorter) Split() {
	if s.cur != nil {
		s.cur.split = true
	}
}

// rotate hands the current chunk to the workers and takes an empty one.
func (s *Sorter) rotate() error {
	if s.isClosed.Load() {
		return ErrClosed
	}
	if s.cur != nil && len(s.cur.ents) > 0 {
		if !s.started {
			s.started = true
			s.todo = make(chan *chunk, s.o.Workers)
			s.free = make(chan *chunk, s.o.Workers+2)
			for range s.o.Workers {
				s.workers.Go(s.work)
			}
		}
		s.todo <- s.cur
		s.cur = nil
	}
	if s.cur == nil {
		if s.nchunks < s.o.Workers+2 {
			s.nchunks++
			s.cur = &chunk{data: make([]byte, 0, s.chunkBytes)}
		} else {
			s.cur = <-s.free
		}
		s.cur.seq = s.seq
		s.seq++
	}
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	return err
}

func (s *Sorter) work() {
	for c := range s.todo {
		var pieces []*piece
		var err error
		if !s.isClosed.Load() {
			pieces, err = s.sortChunk(c)
		}
		// The chunk goes back before its pieces wait for their turn to
		// register: Add need not wait for the slowest worker.
		seq := c.seq
		c.reset()
		s.free <- c
		s.register(seq, pieces, err)
	}
}

// process sorts a chunk into pieces and registers them (without workers).
func (s *Sorter) process(c *chunk) {
	var pieces []*piece
	var err error
	if !s.isClosed.Load() {
		pieces, err = s.sortChunk(c)
	}
	s.register(c.seq, pieces, err)
}

// register lists the pieces of chunk seq, in the order the chunks were
// filled (so that the pieces registered are always all those of the
// records added up to some point, which keeps ties in order).
func (s *Sorter) register(seq int64, pieces []*piece, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.nextReg != seq && !s.closed && s.err == nil {
		s.cond.Wait()
	}
	if err != nil && s.err == nil {
		s.err = err
	}
	s.nextReg = max(s.nextReg, seq+1)
	s.cond.Broadcast()
	if s.closed || s.err != nil {
		for _, p := range pieces {
			s.releasePieceLocked(p)
		}
		return
	}
	for _, p := range pieces {
		s.pieces = append(s.pieces, p)
		s.pieceMem += p.bytes
		s.stats.Pieces++
	}
	if !s.spilling && s.pieceMem >= s.spillAt {
		s.startSpillLocked()
	}
}

// sortChunk turns a chunk into sorted pieces: segments that arrived in
// order as they are, when they are long (at least minSegment records) or
// at an end of the chunk (likely the two halves of a long one the chunk
// boundary cut), and the other ones sorted together.
func (s *Sorter) sortChunk(c *chunk) ([]*piece, error) {
	seq := c.seq << 16
	if len(c.segs) == 0 {
		p, err := s.writePiece(c, c.ents, seq)
		if err != nil {
			return nil, err
		}
		s.addPresorted(int64(len(c.ents)))
		return []*piece{p}, nil
	}
	if c.unordered || s.o.Stable {
		c.sortEnts(c.ents)
		p, err := s.writePiece(c, c.ents, seq)
		if err != nil {
			return nil, err
		}
		return []*piece{p}, nil
	}
	// The pieces in order first; the ents of the others are moved to the
	// front (the pieces written already no longer need theirs).
	var pieces []*piece
	fail := func(err error) ([]*piece, error) {
		for _, p := range pieces {
			s.releasePiece(p)
		}
		return nil, err
	}
	rest := 0
	start := 0
	for i := 0; i <= len(c.segs); i++ {
		end := len(c.ents)
		if i < len(c.segs) {
			end = int(c.segs[i])
		}
		if end-start >= minSegment || i == 0 || i == len(c.segs) {
			p, err := s.writePiece(c, c.ents[start:end], seq+int64(len(pieces))+1)
			if err != nil {
				return fail(err)
			}
			pieces = append(pieces, p)
			s.addPresorted(int64(end - start))
		} else {
			rest += copy(c.ents[rest:], c.ents[start:end])
		}
		start = end
	}
	if rest > 0 {
		c.sortEnts(c.ents[:rest])
		p, err := s.writePiece(c, c.ents[:rest], seq)
		if err != nil {
			return fail(err)
		}
		pieces = append(pieces, p)
	}
	return pieces, nil
}

func (s *Sorter) addPresorted(n int64) {
	s.mu.Lock()
	s.stats.Presorted += n
	s.mu.Unlock()
}

// writePiece writes ents, in order, as a piece.
func (s *Sorter) writePiece(c *chunk, ents []ent, seq int64) (*piece, error) {
	w := pieceWriter{s: s, p: &piece{seq: seq}}
	var prev []byte
	for i := range ents {
		if j := i + 6; j < len(ents) {
			prefetch(&c.data[ents[j].off])
		}
		k := c.key(&ents[i])
		shared := 0
		if i > 0 {
			shared = commonPrefix(prev, k)
		}
		if err := w.add(k, c.value(&ents[i]), shared); err != nil {
			w.abort()
			return nil, err
		}
		prev = k
	}
	return w.finish(prev), nil
}

// getBlock hands out a pool block with room for at least need bytes,
// waiting while the pool is used up and a spill is freeing blocks.
func (s *Sorter) getBlock(need int) ([]byte, error) {
	size := max(s.blockSize, need)
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.closed:
			return nil, ErrClosed
		case s.err != nil:
			return nil, s.err
		}
		// Past the limit only when nothing can be freed: no spill running
		// and no piece to spill (the blocks are the workers' own).
		if s.used+int64(size) <= s.limit || !s.spilling && len(s.pieces) == 0 {
			s.used += int64(size)
			s.stats.PeakBytes = max(s.stats.PeakBytes, s.used)
			if size == s.blockSize && len(s.pool) > 0 {
				b := s.pool[len(s.pool)-1]
				s.pool = s.pool[:len(s.pool)-1]
				return b[:0], nil
			}
			return make([]byte, 0, size), nil
		}
		if !s.spilling {
			s.startSpillLocked()
		}
		s.cond.Wait()
	}
}

// putBlock takes a block back into the pool.
func (s *Sorter) putBlock(b []byte) {
	s.mu.Lock()
	s.putBlockLocked(b)
	s.mu.Unlock()
}

func (s *Sorter) putBlockLocked(b []byte) {
	s.used -= int64(cap(b))
	if cap(b) == s.blockSize && !s.closed {
		s.pool = append(s.pool, b)
	}
	s.cond.Broadcast()
}

func (s *Sorter) releasePiece(p *piece) {
	s.mu.Lock()
	s.releasePieceLocked(p)
	s.mu.Unlock()
}

func (s *Sorter) releasePieceLocked(p *piece) {
	for i, b := range p.blocks {
		if b != nil {
			s.putBlockLocked(b)
			p.blocks[i] = nil
		}
	}
	p.bytes = 0
}

// startSpillLocked merges the registered pieces into a run file in the
// background, handing their blocks back as it reads them.
func (s *Sorter) startSpillLocked() {
	pieces := s.pieces
	s.pieces, s.pieceMem = nil, 0
	s.spilling = true
	done := make(chan struct{})
	s.spillDone = done
	go func() {
		defer close(done)
		srcs := make([]*source, len(pieces))
		for i, p := range pieces {
			srcs[i] = &source{first: p.first, last: p.last, seq: p.seq, n: p.n, mem: p}
		}
		// Few chains (input that arrived in order): each piece is
		// copied as a run of its own, so that they go on chaining with
		// the later ones (a run merged from several streams of keys
		// would span all of their ranges). Many: merged into one run.
		chains := chainSources(srcs)
		runs, err := s.mergeTo(context.Background(), chains, pieces[0].seq, len(chains) <= maxSpillChains)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.spilling = false
		s.cond.Broadcast()
		if err != nil && s.err == nil && !s.closed {
			s.err = err
		}
		s.runs = append(s.runs, runs...)
		if len(runs) > 0 {
			s.stats.Runs++
			s.stats.SpillBytes += runs[0].fileSize()
		}
	}()
}

// maxSpillChains is the most chains a spill copies piece by piece
// instead of merging them.
const maxSpillChains = 8

// stopped returns an error once the sorter is closed or ctx is done.
func (s *Sorter) stopped(ctx context.Context) error {
	if s.isClosed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// nextPath returns the path of a new run file, creating the sort's
// folder on first use. Only one goroutine at a time writes runs.
func (s *Sorter) nextPath() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.dir == "" {
		dir, err := newSpillDir(s.o.TmpDir)
		if err != nil {
			return "", fmt.Errorf("%w: creating a folder in %q: %w", ErrSpill, s.o.TmpDir, err)
		}
		s.dir = dir
	}
	s.fileSeq++
	return filepath.Join(s.dir, fmt.Sprintf("run-%06d.s2", s.fileSeq)), nil
}

// Finish ends the input and returns an iterator over every record in
// order. The iterator's merge runs in its own goroutine until the
// iterator or the sorter is closed; ctx stops it too.
func (s *Sorter) Finish(ctx context.Context) (*Iterator, error) {
	if s.finished {
		return nil, ErrFinished
	}
	s.finished = true
	if s.isClosed.Load() {
		return nil, ErrClosed
	}
	if s.cur != nil && len(s.cur.ents) > 0 {
		if s.started {
			s.todo <- s.cur
		} else {
			s.process(s.cur)
		}
		s.cur = nil
	}
	if s.started {
		close(s.todo)
		s.workers.Wait()
		s.started = false
	}
	s.mu.Lock()
	done := s.spillDone
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	if err := s.firstErr(ctx); err != nil {
		return nil, err
	}
	srcs, err := s.finalSources(ctx)
	if err != nil {
		return nil, err
	}
	chains := chainSources(srcs)
	s.mu.Lock()
	s.stats.Records = s.records
	s.stats.Sources = len(chains)
	s.mu.Unlock()
	s.it = newIterator(ctx, s, chains)
	return s.it, nil
}

func (s *Sorter) firstErr(ctx context.Context) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.stopped(ctx)
}

// finalSources merges run files in passes until the chains of the final
// merge read at most MaxFanIn of them at once, and returns every source:
// the runs and the pieces still in memory.
func (s *Sorter) finalSources(ctx context.Context) ([]*source, error) {
	for {
		s.mu.Lock()
		runs := s.runs
		pieces := s.pieces
		s.mu.Unlock()
		var srcs, disk []*source
		for _, r := range runs {
			src := &source{first: r.first, last: r.last, seq: r.seq, n: r.n, disk: r}
			srcs = append(srcs, src)
			disk = append(disk, src)
		}
		if len(chainSources(disk)) <= s.o.MaxFanIn {
			for _, p := range pieces {
				srcs = append(srcs, &source{first: p.first, last: p.last, seq: p.seq, n: p.n, mem: p})
			}
			return srcs, nil
		}
		// Merge consecutive runs by seq (the order their records were
		// added in), so that ties keep their order.
		slices.SortFunc(runs, func(a, b *diskRun) int { return cmp.Compare(a.seq, b.seq) })
		var next []*diskRun
		for i := 0; i < len(runs); i += s.o.MaxFanIn {
			group := runs[i:min(i+s.o.MaxFanIn, len(runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			gs := make([]*source, len(group))
			for j, r := range group {
				gs[j] = &source{first: r.first, last: r.last, seq: r.seq, n: r.n, disk: r}
			}
			merged, err := s.mergeTo(ctx, chainSources(gs), group[0].seq, false)
			if err != nil {
				return nil, err
			}
			for _, r := range group {
				r.drop()
			}
			next = append(next, merged...)
			s.mu.Lock()
			s.stats.Runs++
			s.stats.SpillBytes += merged[0].fileSize()
			s.mu.Unlock()
		}
		s.mu.Lock()
		s.runs = next
		s.stats.Passes++
		s.mu.Unlock()
	}
}

// Stats returns the sort's statistics so far.
func (s *Sorter) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Records = s.records
	return st
}

// Close stops the background work, drops the records held and removes
// the run files. It is safe to call more than once.
func (s *Sorter) Close() error {
	if s.isClosed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	if s.it != nil {
		s.it.Close()
	}
	if s.started {
		close(s.todo)
		s.workers.Wait()
		s.started = false
	}
	s.mu.Lock()
	done := s.spillDone
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.mu.Lock()
	for _, p := range s.pieces {
		s.releasePieceLocked(p)
	}
	s.pieces, s.pool, s.runs, s.cur = nil, nil, nil, nil
	dir := s.dir
	s.mu.Unlock()
	if dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}
