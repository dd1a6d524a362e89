package inventory

import (
	"io"
	"sync/atomic"
)

// readAhead decompresses (or otherwise produces) a byte stream in its own
// goroutine, a few blocks ahead of the consumer, so that gunzip and CSV
// parsing of one file run on two cores. The consumer reads it as an
// io.Reader (Read) or takes its blocks whole (Next, Release), each with
// head bytes of room before the data.
//
// Channels: full carries filled blocks from the producer to Read and is
// closed by the producer when the stream ends (err then holds the reason);
// free carries emptied blocks back and is never closed; done is closed by
// Close to stop the producer.
type readAhead struct {
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	err    error // set by the producer before closing full
	head   int   // room kept before the data of each block
	cur    []byte
	block  []byte
	closed bool
	off    atomic.Int64 // bytes produced so far
}

func newReadAhead(open func() (io.Reader, error), head, blockSize, blocks int) *readAhead {
	ra := &readAhead{
		head:   head,
		full:   make(chan []byte, blocks),
		free:   make(chan []byte, blocks),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for i := 0; i < blocks; i++ {
		ra.free <- make([]byte, head+blockSize)
	}
	go ra.run(open)
	return ra
}

func (ra *readAhead) run(open func() (io.Reader, error)) {
	defer close(ra.exited)
	defer close(ra.full)
	r, err := open()
	if err != nil {
		ra.err = err
		return
	}
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.done:
			ra.err = io.ErrClosedPipe
			return
		}
		b = b[:cap(b)]
		n := ra.head
		var rerr error
		for n < len(b) {
			m, err := r.Read(b[n:])
			n += m
			if err != nil {
				rerr = err
				break
			}
		}
		if n > ra.head {
			ra.off.Add(int64(n - ra.head))
			select {
			case ra.full <- b[:n]:
			case <-ra.done:
				ra.err = io.ErrClosedPipe
				return
			}
		}
		if rerr != nil {
			ra.err = rerr
			return
		}
	}
}

// Read implements io.Reader. At the end of the stream it returns the
// producer's error (io.EOF for a clean end).
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.block != nil {
			ra.free <- ra.block
			ra.block = nil
		}
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.block, ra.cur = b, b[ra.head:]
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Next returns the next block whole: head bytes of room, then the bytes
// produced. The caller owns it until it hands it back with Release. At
// the end of the stream Next returns the producer's error (io.EOF for a
// clean end). Next and Read must not be mixed.
func (ra *readAhead) Next() ([]byte, error) {
	b, ok := <-ra.full
	if !ok {
		return nil, ra.err
	}
	return b, nil
}

// Release hands back a block Next returned.
func (ra *readAhead) Release(b []byte) { ra.free <- b[:cap(b)] }

// Close stops the producer and waits for it to exit.
func (ra *readAhead) Close() {
	if ra.closed {
		return
	}
	ra.closed = true
	close(ra.done)
	for range ra.full { //nolint:revive // drain so the producer can exit
	}
	<-ra.exited
}
