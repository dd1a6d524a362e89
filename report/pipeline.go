package report

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Run's pipeline: each result file is read by two goroutines, one that
// reads blocks and hashes them (MD5) and one that parses them into
// batches, so that a single file already keeps two cores busy; up to
// Options.Workers files are read at once; one goroutine (Run's) merges
// the batches. Rows point into the blocks they were read into: a block is
// parsed in place and not copied, and goes back to a pool once every batch
// of its rows is merged.

const (
	// blockSize is the bytes read at once from a result file.
	blockSize = 256 << 10
	// blockHead is the room before a block's bytes for the start of a
	// record that the previous block cut; a longer start is copied into a
	// block of its own.
	blockHead = 16 << 10
)

// block is a buffer of file bytes shared by the batches of its rows.
type block struct {
	buf  []byte
	refs atomic.Int32 // holders: the parser while it parses, each batch
}

var blockPool = sync.Pool{New: func() any { return &block{buf: make([]byte, blockHead+blockSize)} }}

// getBlock returns a block with room for size bytes after blockHead
// (blockSize but in tests).
func getBlock(size int) *block {
	var b *block
	if size == blockSize {
		b = blockPool.Get().(*block)
	} else {
		b = &block{buf: make([]byte, blockHead+size)}
	}
	b.refs.Store(1)
	return b
}

func (b *block) unref() {
	if b.refs.Add(-1) == 0 && len(b.buf) == blockHead+blockSize {
		blockPool.Put(b)
	}
}

// release drops the batch's hold on its block.
func (b *Batch) release() {
	if b.blk != nil {
		b.blk.unref()
		b.blk = nil
		b.buf = nil
	}
}

// item is what the file readers send to the merging goroutine: a batch of
// rows, or the end of a file (done), possibly with the error that ended it.
type item struct {
	batch *Batch
	file  *ResultFile
	done  bool
	order ColumnOrder
	rows  int64
	err   error
}

// mergeFiles reads files in parallel and merges their rows here.
//
// Channels: items carries batches and end-of-file notes from the parsers
// to this goroutine; the feeder goroutine closes it once every reader has
// returned. free hands emptied batches back to the parsers; nobody closes
// it. Each file's blocks channel (see readFile) is closed by its reading
// goroutine. Every send watches ctx.Done().
func mergeFiles(ctx context.Context, files []*ResultFile, m *Merger, o Options) error {
	if len(files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan item, 2*o.Workers)
	free := make(chan *Batch, 4*o.Workers)
	ro := ReaderOptions{io: o.IO, BatchRows: o.BatchRows, PlusAsSpace: o.PlusAsSpace, prefixDepth: m.opt.PrefixDepth, filter: m.track.filter}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(items)
		rg, rctx := errgroup.WithContext(gctx)
		rg.SetLimit(o.Workers)
		for _, f := range files {
			if rctx.Err() != nil {
				break
			}
			rg.Go(func() error { return readFile(rctx, f, ro, items, free) })
		}
		return rg.Wait()
	})
	var merr error
	for it := range items {
		if merr != nil {
			if it.batch != nil {
				it.batch.release()
			}
			continue // drain
		}
		switch {
		case it.done && it.err != nil:
			if !o.KeepGoing {
				merr = it.err
				cancel()
				continue
			}
			m.Warn("%v (%d rows read from the file before the error are counted)", it.err, it.rows)
			it.file.Job.incomplete = true
			m.FileDone(it.file, it.order, it.rows)
		case it.done:
			m.FileDone(it.file, it.order, it.rows)
			if o.Progress != nil {
				o.Progress.Files.Add(1)
			}
		default:
			err := m.Add(it.batch)
			n := it.batch.Len()
			it.batch.release()
			if err != nil {
				merr = err
				cancel()
				continue
			}
			if o.Progress != nil {
				o.Progress.Rows.Add(int64(n))
			}
			select {
			case free <- it.batch:
			default:
			}
		}
	}
	gerr := g.Wait()
	if merr != nil {
		return merr
	}
	if gerr != nil {
		return gerr
	}
	return ctx.Err()
}

// chunk is a block of a file's bytes, at blk.buf[blockHead:blockHead+n],
// or the end of the file (eof, with the MD5 of all its bytes), or a read
// error.
type chunk struct {
	blk *block
	n   int
	eof bool
	sum []byte
	err error
}

// readBlocks reads src block by block into out, hashing the bytes as they
// come (when h is true); it closes out.
func readBlocks(ctx context.Context, src io.Reader, name string, size int, h bool, out chan<- chunk) {
	defer close(out)
	md := md5.New()
	for {
		blk := getBlock(size)
		n, err := io.ReadFull(src, blk.buf[blockHead:])
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		c := chunk{blk: blk, n: n, eof: eof}
		if err != nil && !eof {
			blk.unref()
			c = chunk{err: fmt.Errorf("reading %s: %w", name, err)}
		} else if h {
			md.Write(blk.buf[blockHead : blockHead+n])
			if eof {
				c.sum = md.Sum(nil)
			}
		}
		select {
		case out <- c:
		case <-ctx.Done():
			if c.blk != nil {
				c.blk.unref()
			}
			return
		}
		if c.err != nil || eof {
			return
		}
	}
}

// probe marks the successes of b whose objects never failed (as far as
// the filter knows), so that the merger skips them. One tight loop over
// the batch lets the filter's memory accesses overlap.
func probe(b *Batch, f *hashFilter) {
	if f == nil {
		return
	}
	for i := range b.offs {
		o := &b.offs[i]
		o.skip = !o.fail && !f.has(o.hash)
	}
}

// sendItem sends it to items unless ctx ends first (then it drops the
// batch's hold on its block).
func sendItem(ctx context.Context, items chan<- item, it item) error {
	select {
	case items <- it:
		return nil
	case <-ctx.Done():
		if it.batch != nil {
			it.batch.release()
		}
		return ctx.Err()
	}
}

// readFile reads and parses one result file into batches sent to items.
func readFile(ctx context.Context, f *ResultFile, ro ReaderOptions, items chan<- item, free chan *Batch) error {
	obj, err := ro.io.Open(ctx, f.Location)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			err = &DataError{Job: f.Job.ID, File: f.Location, Expected: "the result file named in " + f.Job.Manifest, Err: ErrMissingFile}
		}
		return sendItem(ctx, items, item{file: f, done: true, err: err})
	}
	defer obj.Close()
	return readStream(ctx, f, obj, ro, items, free)
}

// readStream parses the bytes of f, read from src, into batches sent to
// items, and ends with a done item (with the error that stopped it, if
// any). Two goroutines: readBlocks reads and hashes blocks, this one
// parses them. A block's rows go in batches that hold the block; the
// start of a record that a block cuts is carried into the room before
// the next block's bytes.
func readStream(ctx context.Context, f *ResultFile, src io.Reader, ro ReaderOptions, items chan<- item, free chan *Batch) error {
	send := func(it item) error { return sendItem(ctx, items, it) }
	ro.WantMD5, ro.Job = f.MD5, f.Job.ID
	if ro.BatchRows <= 0 {
		ro.BatchRows = DefaultBatchRows
	}
	p := newRowParser(f.Location, ro)

	rctx, stop := context.WithCancel(ctx)
	chunks := make(chan chunk, 1)
	var wg sync.WaitGroup
	size := ro.blockSize
	if size <= 0 {
		size = blockSize
	}
	wg.Go(func() { readBlocks(rctx, src, f.Location, size, ro.WantMD5 != "", chunks) })
	defer func() {
		stop()
		for c := range chunks {
			if c.blk != nil {
				c.blk.unref()
			}
		}
		wg.Wait()
	}()

	newBatch := func(blk *block) *Batch {
		var b *Batch
		select {
		case b = <-free:
		default:
			b = &Batch{}
		}
		b.offs = b.offs[:0]
		b.Rows = b.Rows[:0]
		b.Source, b.depth, b.plus = f, p.depth, ro.PlusAsSpace
		blk.refs.Add(1)
		b.blk, b.buf = blk, blk.buf
		return b
	}
	var rows int64
	var carry []byte // the start of a record the previous block cut
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return send(item{file: f, done: true, order: p.order, rows: rows, err: err})
	}
	for {
		var c chunk
		select {
		case c = <-chunks:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err != nil {
			return fail(c.err)
		}
		blk, start, end := c.blk, blockHead, blockHead+c.n
		if len(carry) > 0 {
			if len(carry) <= blockHead {
				start -= copy(blk.buf[blockHead-len(carry):], carry)
			} else {
				if len(carry)+c.n > maxRecordBytes {
					blk.unref()
					return fail(p.tooLong(p.s.Line()))
				}
				big := &block{buf: make([]byte, len(carry)+c.n)}
				big.refs.Store(1)
				copy(big.buf, carry)
				copy(big.buf[len(carry):], blk.buf[blockHead:end])
				blk.unref()
				blk, start, end = big, 0, len(big.buf)
			}
		}
		buf := blk.buf[:end]
		b := newBatch(blk)
		at := start
		for {
			if len(b.offs) == cap(b.offs) {
				b.offs = slices.Grow(b.offs, 1)
			}
			next, ok, err := p.next(buf, at, c.eof, &b.offs[:len(b.offs)+1][len(b.offs)])
			if err != nil {
				b.release()
				blk.unref()
				return fail(err)
			}
			at = next
			if !ok {
				break
			}
			b.offs = b.offs[:len(b.offs)+1]
			if len(b.offs) == ro.BatchRows {
				probe(b, ro.filter)
				rows += int64(len(b.offs))
				if err := send(item{batch: b, file: f}); err != nil {
					blk.unref()
					return err
				}
				b = newBatch(blk)
			}
		}
		carry = append(carry[:0], buf[at:]...)
		blk.unref()
		if len(b.offs) > 0 {
			probe(b, ro.filter)
			rows += int64(len(b.offs))
			if err := send(item{batch: b, file: f}); err != nil {
				return err
			}
		} else {
			b.release()
			select {
			case free <- b:
			default:
			}
		}
		if c.eof {
			if c.sum != nil {
				if err := p.checkMD5(c.sum); err != nil {
					return fail(err)
				}
			}
			return send(item{file: f, done: true, order: p.order, rows: rows})
		}
	}
}
