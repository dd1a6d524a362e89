package csvscan

import "io"

// Reader splits the records of an io.Reader: a Splitter over one buffer
// that it refills, keeping the record being split and growing up to
// Options.MaxRecordBytes. Not safe for concurrent use.
type Reader struct {
	s        *Splitter
	src      io.Reader
	buf      []byte
	pos, end int
	eof      bool
	max      int
	read     int64
	err      error // sticky
}

// NewReader reads records from r.
func NewReader(r io.Reader, o Options) *Reader {
	o = o.withDefaults()
	return &Reader{s: NewSplitter(o), src: r, buf: make([]byte, min(o.BufferSize, o.MaxRecordBytes)), max: o.MaxRecordBytes}
}

// Next returns the next record. Its fields index Bytes(), and it stays
// valid until the next call; the caller may change the record's bytes in
// place (Field.Unescape). At the end of the input it returns io.EOF. An
// error of the underlying reader is returned as it is; a record that
// breaks the grammar or is too long is a *SyntaxError. Errors stick.
func (r *Reader) Next() (*Record, error) {
	if r.err == nil {
		rec, next, err := r.s.Next(r.buf[:r.end], r.pos, r.eof)
		r.pos = next
		if rec != nil {
			return rec, nil
		}
		if err != nil {
			r.err = err
		}
	}
	return r.more()
}

// more is Next when the buffer holds no whole record: it reads until it
// does, or ends.
func (r *Reader) more() (*Record, error) {
	for r.err == nil {
		if r.eof {
			r.err = io.EOF
			break
		}
		if err := r.fill(); err != nil {
			r.err = err
			break
		}
		rec, next, err := r.s.Next(r.buf[:r.end], r.pos, r.eof)
		r.pos = next
		if rec != nil {
			return rec, nil
		}
		if err != nil {
			r.err = err
		}
	}
	return nil, r.err
}

// Bytes returns the buffer the last record's fields index.
func (r *Reader) Bytes() []byte { return r.buf[:r.end] }

// Line returns the number of the line the next record starts on.
func (r *Reader) Line() int64 { return r.s.Line() }

// Offset returns the input offset of the next record: after an error,
// of the record that failed.
func (r *Reader) Offset() int64 { return r.s.Offset() }

// BytesRead returns how many bytes were read from the underlying reader.
func (r *Reader) BytesRead() int64 { return r.read }

// fill makes room, keeping buf[pos:end], and reads more bytes. At the end
// of the input it sets eof.
func (r *Reader) fill() error {
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:r.end])
		r.pos, r.end = 0, n
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= r.max {
			return r.s.TooLong(r.max)
		}
		nb := make([]byte, min(2*len(r.buf), r.max))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for range 100 {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		r.read += int64(n)
		if err == io.EOF {
			r.eof = true
			return nil
		}
		if err != nil || n > 0 {
			return err
		}
	}
	return io.ErrNoProgress
}
