package objio

import (
	"context"
	"io"
)

// prefetcher reads [start, size) of an object in order, with up to conc
// ranged GETs of part bytes in flight ahead of the reader.
//
// Channels: slots carries one result channel per part, in object order;
// the producer goroutine creates each result channel, queues it, then
// starts the GET that fills it, and closes slots after the last part or
// when the context is canceled. slots holds conc-1 parts, so at most conc
// GETs run at once. Memory: (conc+1) × part bytes.
type prefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan chan chunk
	cur    []byte // unread rest of the current part
	buf    []byte // the current part's buffer, recycled when done
	pos    int64  // object offset of cur[0]
	err    error  // sticky: io.EOF or the first failure
}

type chunk struct {
	b   []byte
	err error
}

type getFunc func(ctx context.Context, off, n int64) ([]byte, error)

func newPrefetcher(ctx context.Context, get getFunc, start, size, part int64, conc int) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{ctx: ctx, cancel: cancel, slots: make(chan chan chunk, max(conc-1, 0)), pos: start}
	go func() {
		defer close(p.slots)
		for off := start; off < size; off += part {
			n := min(part, size-off)
			ch := make(chan chunk, 1) // never blocks the GET's goroutine
			select {
			case p.slots <- ch:
			case <-ctx.Done():
				return
			}
			go func() {
				b, err := get(ctx, off, n)
				ch <- chunk{b, err}
			}()
		}
	}()
	return p
}

// Read implements io.Reader. It is not safe for concurrent use.
func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.buf != nil {
			putBuf(p.buf)
			p.buf = nil
		}
		var ch chan chunk
		var ok bool
		select {
		case ch, ok = <-p.slots:
		case <-p.ctx.Done():
			p.err = p.ctx.Err()
			return 0, p.err
		}
		if !ok {
			if p.err = p.ctx.Err(); p.err == nil {
				p.err = io.EOF
			}
			return 0, p.err
		}
		var c chunk
		select {
		case c = <-ch:
		case <-p.ctx.Done():
			p.err = p.ctx.Err()
			return 0, p.err
		}
		if c.err != nil {
			p.err = c.err
			return 0, p.err
		}
		p.cur, p.buf = c.b, c.b
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.pos += int64(n)
	return n, nil
}

// Close stops the GETs ahead; their buffers are left to the collector.
func (p *prefetcher) Close() {
	p.cancel()
	if p.err == nil {
		p.err = io.ErrClosedPipe
	}
}
