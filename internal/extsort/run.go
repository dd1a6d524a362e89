package extsort

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/s2"
)

// A run is sorted records, front-coded: each record is
//
//	uvarint shared          bytes its key shares with the key before it
//	uvarint suffix<<1 | v   length of the rest of its key; v: a value follows
//	uvarint vlen            length of its value, when v is 1
//	suffix bytes, value bytes
//
// (the first record of a run shares nothing). Records are grouped in
// blocks, never split between two. In memory a run (a piece) is a list
// of blocks of the sorter's pool; on disk a run file is a sequence of
// frames, each one block compressed with S2:
//
//	uvarint compressed length, uvarint raw length, S2 block

// maxHeader is the most bytes a record's three lengths take.
const maxHeader = 3 * binary.MaxVarintLen32

// appendRecord appends a front-coded record.
func appendRecord(b []byte, shared int, suffix, value []byte) []byte {
	if shared < 0x80 && len(suffix) < 0x40 && len(value) == 0 {
		// Most records: two one-byte lengths.
		b = append(b, byte(shared), byte(len(suffix)<<1))
		return append(b, suffix...)
	}
	b = binary.AppendUvarint(b, uint64(shared))
	if len(value) == 0 {
		b = binary.AppendUvarint(b, uint64(len(suffix))<<1)
		return append(b, suffix...)
	}
	b = binary.AppendUvarint(b, uint64(len(suffix))<<1|1)
	b = binary.AppendUvarint(b, uint64(len(value)))
	b = append(b, suffix...)
	return append(b, value...)
}

// parseRecord reads the lengths of the record at b[i:]: the bytes its key
// shares, the start and end of its key's suffix and of its value; ok is
// false when they do not fit in b.
func parseRecord(b []byte, i int) (shared, start, mid, end int, ok bool) {
	// Most records: two one-byte lengths and no value.
	if i+1 < len(b) && b[i]|b[i+1] < 0x80 && b[i+1]&1 == 0 {
		suffix := int(b[i+1] >> 1)
		if i += 2; suffix <= len(b)-i {
			return int(b[i-2]), i, i + suffix, i + suffix, true
		}
		return 0, 0, 0, 0, false
	}
	shared, i, ok1 := uvarint(b, i)
	sv, i, ok2 := uvarint(b, i)
	vlen, ok3 := 0, true
	if sv&1 == 1 {
		vlen, i, ok3 = uvarint(b, i)
	}
	suffix := sv >> 1
	if !ok1 || !ok2 || !ok3 || suffix > len(b)-i || vlen > len(b)-i-suffix {
		return 0, 0, 0, 0, false
	}
	return shared, i, i + suffix, i + suffix + vlen, true
}

// uvarint decodes a length at b[i:], returning it and the index after
// it; ok is false when b is too short or the value too large.
func uvarint(b []byte, i int) (v, next int, ok bool) {
	if i < len(b) && b[i] < 0x80 {
		return int(b[i]), i + 1, true
	}
	if i >= len(b) {
		return 0, i, false
	}
	x, n := binary.Uvarint(b[i:])
	if n <= 0 || x > 2*MaxRecordBytes+1 {
		return 0, i, false
	}
	return int(x), i + n, true
}

// piece is a sorted run held in memory: front-coded blocks of the pool,
// its first and last keys (copies, for chaining) and its place in the
// order records were added (seq).
type piece struct {
	blocks      [][]byte
	first, last []byte
	seq         int64
	n           int64
	bytes       int64 // capacity of its blocks, counted against the budget
}

// pieceWriter writes records, in order, into a new piece.
type pieceWriter struct {
	s   *Sorter
	p   *piece
	cur []byte
}

func (w *pieceWriter) add(key, value []byte, shared int) error {
	need := maxHeader + len(key) - shared + len(value)
	if w.cur == nil || len(w.cur)+need > cap(w.cur) {
		w.flush()
		b, err := w.s.getBlock(need)
		if err != nil {
			return err
		}
		w.cur = b
	}
	w.cur = appendRecord(w.cur, shared, key[shared:], value)
	if w.p.n == 0 {
		w.p.first = append([]byte(nil), key...)
	}
	w.p.n++
	return nil
}

func (w *pieceWriter) flush() {
	if w.cur != nil {
		w.p.blocks = append(w.p.blocks, w.cur)
		w.p.bytes += int64(cap(w.cur))
		w.cur = nil
	}
}

// finish ends the piece; last is its last key.
func (w *pieceWriter) finish(last []byte) *piece {
	w.flush()
	w.p.last = append([]byte(nil), last...)
	return w.p
}

// abort hands the piece's blocks back.
func (w *pieceWriter) abort() {
	w.flush()
	w.s.releasePiece(w.p)
}

// blockReader hands out the blocks of one run in order; done takes back
// a block the reader's user has finished with.
type blockReader interface {
	next() ([]byte, error) // nil at the end
	done(blk []byte)
	close()
}

// pieceReader reads a piece, returning each block to the pool once read:
// memory is freed as a merge goes, not at its end.
type pieceReader struct {
	s *Sorter
	p *piece
	i int
}

func (r *pieceReader) next() ([]byte, error) {
	if r.i == len(r.p.blocks) {
		return nil, nil
	}
	b := r.p.blocks[r.i]
	r.p.blocks[r.i] = nil
	r.i++
	return b, nil
}

func (r *pieceReader) done(blk []byte) {
	r.p.bytes -= int64(cap(blk))
	r.s.putBlock(blk)
}

func (r *pieceReader) close() {
	for ; r.i < len(r.p.blocks); r.i++ {
		r.done(r.p.blocks[r.i])
		r.p.blocks[r.i] = nil
	}
}

// spillBlock is the raw size of a run file's blocks.
const spillBlock = 64 << 10

// runFile is a spill file, holding one run or several back to back; it
// is removed once every run in it has been merged (refs) or by Close.
type runFile struct {
	path string
	refs int
	size int64
}

// diskRun is a run in a spill file: bytes off to end.
type diskRun struct {
	file        *runFile
	off, end    int64
	first, last []byte
	seq         int64
	n           int64
}

func (r *diskRun) fileSize() int64 { return r.file.size }

// drop removes the run's file once no other run in it is left.
func (r *diskRun) drop() {
	if r.file.refs--; r.file.refs == 0 {
		os.Remove(r.file.path)
	}
}

// runWriter writes runs into a spill file: begin, add the records, end;
// then close.
type runWriter struct {
	file *runFile
	f    *os.File
	bw   *bufio.Writer
	pos  int64
	runs []*diskRun
	run  *diskRun // being written
	blk  []byte
	zbuf []byte
	prev []byte
	err  error
}

func newRunWriter(path string) (*runWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err)
	}
	return &runWriter{file: &runFile{path: path}, f: f, bw: bufio.NewWriterSize(f, 256<<10), blk: make([]byte, 0, spillBlock)}, nil
}

// begin starts a run; seq is its place in the order records were added.
func (w *runWriter) begin(seq int64) {
	w.run = &diskRun{file: w.file, off: w.pos, seq: seq}
}

// add appends a record; shared is the length of the prefix its key
// shares with the key before it (the first record of a run shares none).
func (w *runWriter) add(key, value []byte, shared int) error {
	if w.err != nil {
		return w.err
	}
	if w.run.n == 0 {
		w.run.first = append([]byte(nil), key...)
		shared = 0
	}
	need := maxHeader + len(key) - shared + len(value)
	if len(w.blk) > 0 && len(w.blk)+need > cap(w.blk) {
		w.flushBlock()
	}
	w.blk = appendRecord(w.blk, shared, key[shared:], value)
	w.prev = append(w.prev[:shared], key[shared:]...)
	w.run.n++
	return w.err
}

// end ends the run begun last; a run of no records is left out.
func (w *runWriter) end() {
	w.flushBlock()
	if w.run.n > 0 {
		w.run.end = w.pos
		w.run.last = append([]byte(nil), w.prev...)
		w.runs = append(w.runs, w.run)
		w.file.refs++
	}
	w.run = nil
}

func (w *runWriter) flushBlock() {
	if len(w.blk) == 0 || w.err != nil {
		return
	}
	w.zbuf = s2.Encode(w.zbuf[:cap(w.zbuf)], w.blk)
	var hdr [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(w.zbuf)))
	n += binary.PutUvarint(hdr[n:], uint64(len(w.blk)))
	if _, err := w.bw.Write(hdr[:n]); err != nil {
		w.fail(err)
		return
	}
	if _, err := w.bw.Write(w.zbuf); err != nil {
		w.fail(err)
		return
	}
	w.pos += int64(n + len(w.zbuf))
	w.blk = w.blk[:0]
}

func (w *runWriter) fail(err error) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: writing %s: %w", ErrSpill, w.file.path, err)
	}
}

// close finishes the file and returns its runs; on error it is removed.
func (w *runWriter) close() ([]*diskRun, error) {
	if w.run != nil {
		w.end()
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.fail(err)
		}
	}
	if err := w.f.Close(); err != nil {
		w.fail(err)
	}
	if w.err != nil || len(w.runs) == 0 {
		os.Remove(w.file.path)
		return nil, w.err
	}
	w.file.size = w.pos
	return w.runs, nil
}

// abort closes and removes the file.
func (w *runWriter) abort() {
	w.f.Close()
	os.Remove(w.file.path)
}

// fileReader reads the blocks of a run file.
type fileReader struct {
	path string
	f    *os.File
	br   *bufio.Reader
	zbuf []byte
	blk  []byte
}

func openRun(r *diskRun) (*fileReader, error) {
	f, err := os.Open(r.file.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpill, err)
	}
	// Small buffers: a merge may have a hundred runs open.
	return &fileReader{path: r.file.path, f: f, br: bufio.NewReaderSize(io.NewSectionReader(f, r.off, r.end-r.off), 32<<10)}, nil
}

func (r *fileReader) next() ([]byte, error) {
	clen, err := binary.ReadUvarint(r.br)
	if err == io.EOF {
		return nil, nil
	}
	var rlen uint64
	if err == nil {
		rlen, err = binary.ReadUvarint(r.br)
	}
	if err == nil && (clen > 2*MaxRecordBytes || rlen > 2*MaxRecordBytes) {
		err = errors.New("frame length out of range")
	}
	if err == nil {
		if uint64(cap(r.zbuf)) < clen {
			r.zbuf = make([]byte, clen)
		}
		r.zbuf = r.zbuf[:clen]
		_, err = io.ReadFull(r.br, r.zbuf)
	}
	if err == nil {
		if uint64(cap(r.blk)) < rlen {
			r.blk = make([]byte, rlen)
		}
		r.blk, err = s2.Decode(r.blk[:cap(r.blk)], r.zbuf)
		if err == nil && uint64(len(r.blk)) != rlen {
			err = errors.New("block length differs from its frame's")
		}
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: reading %s: %w", ErrSpill, r.path, err)
	}
	return r.blk, nil
}

func (r *fileReader) done([]byte) {}

func (r *fileReader) close() { r.f.Close() }
