package extsort

import (
	"context"
	"sync"
)

// Iterator hands over the sorted records. Its merge runs in a goroutine
// of its own and passes records over in blocks, so that the caller's work
// on each record overlaps with the merge. Not safe for concurrent use.
type Iterator struct {
	s      *Sorter
	ctx    context.Context
	full   chan []byte
	free   chan []byte
	cancel context.CancelFunc
	done   chan struct{}
	gerr   error // the merge's error, read after full is closed

	blk      []byte
	pos      int
	key, val []byte
	err      error
	n        int64
	once     sync.Once
	closed   bool
}

// outBlock is the size of the blocks the merge hands over; outBlocks are
// in flight at most.
const (
	outBlock  = 256 << 10
	outBlocks = 4
)

func newIterator(ctx context.Context, s *Sorter, chains [][]*source) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iterator{s: s, ctx: ctx, full: make(chan []byte, outBlocks), free: make(chan []byte, outBlocks), cancel: cancel, done: make(chan struct{})}
	for range outBlocks {
		it.free <- make([]byte, 0, outBlock)
	}
	go it.merge(ctx, chains)
	return it
}

// merge runs the final merge, writing the records as runs hold them
// (appendRecord) but whole: a key shares nothing, so Next hands out
// slices of the block without copying.
func (it *Iterator) merge(ctx context.Context, chains [][]*source) {
	defer close(it.done)
	defer close(it.full)
	cs := it.s.newCursors(chains)
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	m, err := newMerger(cs)
	if err != nil {
		it.gerr = err
		return
	}
	var blk []byte
	take := func() bool {
		select {
		case blk = <-it.free:
			blk = blk[:0]
			return true
		case <-ctx.Done():
			return false
		}
	}
	send := func() bool {
		select {
		case it.full <- blk:
			blk = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !take() {
		it.gerr = it.s.stopped(ctx)
		return
	}
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := it.s.stopped(ctx); err != nil {
				it.gerr = err
				return
			}
		}
		c := m.winner()
		if c == nil {
			break
		}
		if len(blk)+maxHeader+len(c.key)+len(c.val) > cap(blk) {
			if len(blk) > 0 && (!send() || !take()) {
				it.gerr = it.s.stopped(ctx)
				return
			}
		}
		blk = appendRecord(blk, 0, c.key, c.val)
		if err := m.advance(); err != nil {
			it.gerr = err
			return
		}
	}
	if len(blk) > 0 && !send() {
		it.gerr = it.s.stopped(ctx)
	}
}

// Next moves to the next record; it returns false after the last one or
// on an error (see Err).
func (it *Iterator) Next() bool {
	if it.closed || it.err != nil {
		return false
	}
	for it.pos >= len(it.blk) {
		if it.blk != nil {
			it.free <- it.blk
			it.blk = nil
		}
		if err := it.s.stopped(it.ctx); err != nil {
			it.err = err
			return false
		}
		b, ok := <-it.full
		if !ok {
			it.err = it.gerr
			return false
		}
		it.blk, it.pos = b, 0
	}
	_, start, mid, end, _ := parseRecord(it.blk, it.pos)
	it.key = it.blk[start:mid:mid]
	it.val = it.blk[mid:end:end]
	it.pos = end
	it.n++
	return true
}

// Key returns the current record's key, valid until the next call of
// Next.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current record's value, valid until the next call of
// Next.
func (it *Iterator) Value() []byte { return it.val }

// Err returns the error that ended the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Close stops the merge; the sorter's Close calls it too.
func (it *Iterator) Close() {
	it.once.Do(func() {
		it.closed = true
		it.cancel()
		<-it.done
	})
}
