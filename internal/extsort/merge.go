package extsort

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
)

// source is a sorted run to merge: a piece in memory or a run file.
type source struct {
	first, last []byte
	seq         int64
	n           int64
	mem         *piece
	disk        *diskRun
}

func (src *source) open(s *Sorter) (blockReader, error) {
	if src.mem != nil {
		return &pieceReader{s: s, p: src.mem}, nil
	}
	return openRun(src.disk)
}

// chainSources groups the sources into chains: sources read one after the
// other because each one's first key is above the last key of the one
// before (strictly, so that no two records of a chain are equal and ties
// stay decided by seq). Sorted by first key and given to the chain that
// ends highest below it, they make as few chains as the most sources
// overlapping at one key: input that arrived in key order, even
// interleaved from several files, merges as one chain.
func chainSources(srcs []*source) [][]*source {
	slices.SortFunc(srcs, func(a, b *source) int {
		if c := bytes.Compare(a.first, b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var chains [][]*source
	for _, src := range srcs {
		best := -1
		for i, ch := range chains {
			last := ch[len(ch)-1].last
			if bytes.Compare(last, src.first) < 0 && (best < 0 || bytes.Compare(last, chains[best][len(chains[best])-1].last) > 0) {
				best = i
			}
		}
		if best < 0 {
			chains = append(chains, []*source{src})
		} else {
			chains[best] = append(chains[best], src)
		}
	}
	return chains
}

// cursor reads the records of one chain in order. code is its record's
// offset-value code relative to the record before it (see makeCode).
type cursor struct {
	s     *Sorter
	chain []*source
	ci    int
	rd    blockReader
	blk   []byte
	pos   int
	key   []byte
	val   []byte
	code  uint64
	seq   int64
	fresh bool // the next record is a source's first (it shares nothing)
	done  bool
	name  string // the run being read, for errors
}

// Offset-value codes (Graefe, "Offset-value coding", 2023) decide most
// matches of a merge without reading the keys. The code of key k
// relative to a base b ≤ k is 0 when k equals b, else maxOff minus the
// offset of their first difference, shifted, with k's byte there: of two
// keys coded against the same base, the smaller code is the smaller key,
// and equal codes mean a tie up to and including that byte. A run's
// records are coded against their predecessors by the front coding
// itself (the bytes shared are the offset).
const (
	maxOff = 1 << 31
	ended  = ^uint64(0) // an ended cursor loses every match
)

func makeCode(key []byte, off int) uint64 {
	if off >= len(key) {
		return 0
	}
	return uint64(maxOff-off)<<8 | uint64(key[off])
}

// codeOff returns the offset of a non-zero code.
func codeOff(code uint64) int { return maxOff - int(code>>8) }

// next moves to the next record; false at the end of the chain.
func (c *cursor) next() (bool, error) {
	for c.pos >= len(c.blk) {
		if c.blk != nil {
			c.rd.done(c.blk)
			c.blk = nil
		}
		if c.rd != nil {
			blk, err := c.rd.next()
			if err != nil {
				return false, err
			}
			if blk != nil {
				c.blk, c.pos = blk, 0
				continue
			}
			c.rd.close()
			c.rd = nil
		}
		if c.ci == len(c.chain) {
			c.done, c.code = true, ended
			return false, nil
		}
		src := c.chain[c.ci]
		c.ci++
		rd, err := src.open(c.s)
		if err != nil {
			return false, err
		}
		c.rd, c.seq, c.fresh = rd, src.seq, true
		c.name = "a sorted piece in memory"
		if src.disk != nil {
			c.name = src.disk.file.path
		}
	}
	b := c.blk
	shared, start, mid, end, ok := parseRecord(b, c.pos)
	if !ok || shared > len(c.key) || c.fresh && shared != 0 {
		return false, fmt.Errorf("%w: reading %s: corrupt record at block offset %d", ErrSpill, c.name, c.pos)
	}
	if c.fresh {
		// The chain's previous record (in the previous source, all of
		// whose keys are below this one's) is the base.
		shared = commonPrefix(c.key, b[start:mid])
		c.key = append(c.key[:0], b[start:mid]...)
		c.fresh = false
	} else {
		c.key = append(c.key[:shared], b[start:mid]...)
	}
	c.code = makeCode(c.key, shared)
	c.val = b[mid:end:end]
	c.pos = end
	// The next record: on the way by the time this run wins again.
	prefetch(&b[min(c.pos+64, len(b)-1)])
	return true, nil
}

// close hands back the blocks the cursor holds and closes its run.
func (c *cursor) close() {
	if c.blk != nil && c.rd != nil {
		c.rd.done(c.blk)
	}
	c.blk = nil
	if c.rd != nil {
		c.rd.close()
		c.rd = nil
	}
	// Pieces of the chain not reached yet go back to the pool.
	for ; c.ci < len(c.chain); c.ci++ {
		if p := c.chain[c.ci].mem; p != nil {
			c.s.releasePiece(p)
		}
	}
}

// merger picks the smallest record among the cursors: a tournament whose
// inner nodes keep the loser of their match, so that replacing the
// winner replays one match per level. Leaves are nodes k to 2k-1 (cursor
// node-k), inner nodes 1 to k-1, node 0 holds the winner. Matches
// compare offset-value codes, kept in the nodes so that most matches
// read no cursor: each loser's code is relative to the winner of its
// match, so the losers on the path of the last winner are all coded
// against it, as is its cursor's next record. Equal keys go to the
// smaller seq (the earlier added).
type merger struct {
	c    []*cursor
	node []treeNode
}

// treeNode is a cursor and its record's code.
type treeNode struct {
	code uint64
	idx  int32
}

func newMerger(cs []*cursor) (*merger, error) {
	m := &merger{c: cs, node: make([]treeNode, max(len(cs), 1))}
	// First records are coded against the empty key (fresh cursors with
	// an empty key: shared 0).
	for _, c := range cs {
		if _, err := c.next(); err != nil {
			return nil, err
		}
	}
	switch len(cs) {
	case 0:
		m.node[0] = treeNode{code: ended}
	case 1:
		m.node[0] = treeNode{code: cs[0].code}
	default:
		m.node[0] = m.build(1)
	}
	return m, nil
}

func (m *merger) build(n int) treeNode {
	k := len(m.c)
	if n >= k {
		return treeNode{code: m.c[n-k].code, idx: int32(n - k)}
	}
	w, l := m.play(m.build(2*n), m.build(2*n+1))
	m.node[n] = l
	return w
}

// play returns the winner and the loser of a and b, whose codes are
// relative to one base; the loser's code becomes relative to the winner.
func (m *merger) play(a, b treeNode) (win, lose treeNode) {
	switch {
	case a.code < b.code:
		return a, b
	case b.code < a.code:
		return b, a
	case a.code == ended:
		return a, b
	}
	ca, cb := m.c[a.idx], m.c[b.idx]
	if a.code == 0 {
		// Both equal the base.
		if cb.seq < ca.seq {
			return b, a
		}
		return a, b
	}
	off := codeOff(a.code) + 1
	ka, kb := ca.key[off:], cb.key[off:]
	l := commonPrefix(ka, kb)
	switch {
	case l == len(ka) && l == len(kb):
		if cb.seq < ca.seq {
			a, b = b, a
		}
		b.code = 0
		return a, b
	case l == len(ka) || l < len(kb) && ka[l] < kb[l]:
		b.code = makeCode(cb.key, off+l)
		return a, b
	}
	a.code = makeCode(ca.key, off+l)
	return b, a
}

// winner returns the cursor with the smallest record, nil when all ended.
func (m *merger) winner() *cursor {
	if m.node[0].code == ended {
		return nil
	}
	return m.c[m.node[0].idx]
}

// shared returns how many bytes the winner's key shares with the winner
// before it.
func (m *merger) shared() int {
	w := m.node[0]
	if w.code == 0 {
		return len(m.c[w.idx].key)
	}
	return codeOff(w.code)
}

// advance moves the winner on and replays its matches.
func (m *merger) advance() error {
	w := m.node[0]
	c := m.c[w.idx]
	if _, err := c.next(); err != nil {
		return err
	}
	w.code = c.code
	for n := (int(w.idx) + len(m.c)) / 2; n > 0; n /= 2 {
		nd := m.node[n]
		if nd.code == w.code {
			w, m.node[n] = m.play(w, nd)
			continue
		}
		// The smaller code goes on up, without a branch to mispredict
		// (the outcome is a coin toss on random keys).
		lo, hi := w, nd
		if nd.code < w.code {
			lo, hi = nd, w
		}
		m.node[n], w = hi, lo
	}
	m.node[0] = w
	return nil
}

// shared returns how many bytes the cursor's key shares with its key
// before it.
func (c *cursor) shared() int {
	if c.code == 0 {
		return len(c.key)
	}
	return codeOff(c.code)
}

// newCursors makes a cursor per chain.
func (s *Sorter) newCursors(chains [][]*source) []*cursor {
	cs := make([]*cursor, len(chains))
	for i, ch := range chains {
		cs[i] = &cursor{s: s, chain: ch}
	}
	return cs
}

// mergeTo merges the chains into one run of a new spill file, seq giving
// its place in the order records were added; with each set, every
// chain's sources are copied as runs of their own instead (no
// comparisons). The sorter's stop and ctx are polled every few thousand
// records.
func (s *Sorter) mergeTo(ctx context.Context, chains [][]*source, seq int64, each bool) ([]*diskRun, error) {
	path, err := s.nextPath()
	if err != nil {
		return nil, err
	}
	w, err := newRunWriter(path)
	if err != nil {
		return nil, err
	}
	if each {
		for _, ch := range chains {
			for _, src := range ch {
				c := &cursor{s: s, chain: []*source{src}}
				err := s.copyRun(ctx, w, c, src.seq)
				c.close()
				if err != nil {
					w.abort()
					releaseSources(s, chains)
					return nil, err
				}
			}
		}
		return w.close()
	}
	cs := s.newCursors(chains)
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	m, err := newMerger(cs)
	if err != nil {
		w.abort()
		return nil, err
	}
	w.begin(seq)
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := s.stopped(ctx); err != nil {
				w.abort()
				return nil, err
			}
		}
		c := m.winner()
		if c == nil {
			break
		}
		if err := w.add(c.key, c.val, m.shared()); err != nil {
			w.abort()
			return nil, err
		}
		if err := m.advance(); err != nil {
			w.abort()
			return nil, err
		}
	}
	return w.close()
}

// copyRun copies one source's records as a run.
func (s *Sorter) copyRun(ctx context.Context, w *runWriter, c *cursor, seq int64) error {
	w.begin(seq)
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := s.stopped(ctx); err != nil {
				return err
			}
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := w.add(c.key, c.val, c.shared()); err != nil {
			return err
		}
	}
	w.end()
	return nil
}

// releaseSources hands the blocks of the pieces among chains back (those
// read already hold none).
func releaseSources(s *Sorter, chains [][]*source) {
	for _, ch := range chains {
		for _, src := range ch {
			if src.mem != nil {
				s.releasePiece(src.mem)
			}
		}
	}
}
