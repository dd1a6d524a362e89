package orc

// Byte RLE, boolean RLE and integer RLE version 1, as in the "Run Length
// Encoding" section of the ORC specification. The decoders work on a whole
// decompressed stream held in memory and decode exactly the number of
// values asked for; every read is bounds-checked and a short stream is an
// error, never a panic. Offsets in errors are relative to the stream.

// maxValuesPerByte bounds how many values one byte of an RLE stream can
// produce (boolean RLE: a 2-byte run of 130 bytes holds 1040 bits). It lets
// callers reject a value count that a stream could not possibly hold before
// allocating for it.
const maxValuesPerByte = 520

// readUvarint reads a base-128 varint at src[pos:].
func readUvarint(src []byte, pos int) (uint64, int, error) {
	var v uint64
	var shift uint
	for i := pos; i < len(src); i++ {
		b := src[i]
		if shift == 63 && b > 1 {
			return 0, pos, corruptf(pos, "varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, i + 1, nil
		}
		shift += 7
		if shift > 63 {
			return 0, pos, corruptf(pos, "varint longer than 10 bytes")
		}
	}
	return 0, pos, corruptf(pos, "truncated varint")
}

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// decodeByteRLE fills dst from the byte-RLE stream src and returns the
// number of bytes consumed.
func decodeByteRLE(src []byte, dst []byte) (int, error) {
	pos, n := 0, 0
	for n < len(dst) {
		if pos >= len(src) {
			return pos, corruptf(pos, "byte RLE stream ended after %d of %d values", n, len(dst))
		}
		h := src[pos]
		pos++
		if h < 0x80 {
			run := int(h) + 3
			if pos >= len(src) {
				return pos, corruptf(pos, "truncated byte RLE run")
			}
			v := src[pos]
			pos++
			run = min(run, len(dst)-n)
			for i := range run {
				dst[n+i] = v
			}
			n += run
		} else {
			lit := 256 - int(h)
			if lit > len(src)-pos {
				return pos, corruptf(pos-1, "byte RLE literal run of %d overruns the stream", lit)
			}
			take := min(lit, len(dst)-n)
			copy(dst[n:], src[pos:pos+take])
			n += take
			pos += lit
		}
	}
	return pos, nil
}

// decodeBoolRLE fills dst from the boolean-RLE stream src (bits most
// significant first).
func decodeBoolRLE(src []byte, dst []bool) error {
	var tmp arena[byte]
	return decodeBoolRLEBuf(src, dst, &tmp)
}

// decodeBoolRLEBuf is decodeBoolRLE taking the packed bytes from tmp.
func decodeBoolRLEBuf(src []byte, dst []bool, tmp *arena[byte]) error {
	nb := (len(dst) + 7) / 8
	bytes := tmp.alloc(nb)
	if _, err := decodeByteRLE(src, bytes); err != nil {
		return err
	}
	i := 0
	for _, b := range bytes[:len(dst)/8] {
		d := dst[i : i+8 : i+8]
		d[0] = b&0x80 != 0
		d[1] = b&0x40 != 0
		d[2] = b&0x20 != 0
		d[3] = b&0x10 != 0
		d[4] = b&0x08 != 0
		d[5] = b&0x04 != 0
		d[6] = b&0x02 != 0
		d[7] = b&0x01 != 0
		i += 8
	}
	if i < len(dst) {
		b := bytes[len(bytes)-1]
		for k := 0; i < len(dst); k++ {
			dst[i] = b&(0x80>>k) != 0
			i++
		}
	}
	return nil
}

// decodeIntRLEv1 fills dst from an integer RLE v1 stream. Signed values are
// zigzag decoded; unsigned values are returned as their two's complement
// bit pattern.
func decodeIntRLEv1(src []byte, dst []int64, signed bool) error {
	var r intReader
	r.reset(src, signed, false, len(dst))
	return r.read(dst)
}

// readV1 decodes the next len(dst) values of an RLE v1 stream; already
// counts the values read before them, for errors.
func (r *intReader) readV1(dst []int64, already int) error {
	src, pos, n := r.src, r.pos, 0
	defer func() { r.pos = pos }()
	for n < len(dst) {
		if pos >= len(src) {
			return corruptf(pos, "integer RLE v1 stream ended after %d of %d values", already+n, r.want)
		}
		h := src[pos]
		pos++
		if h < 0x80 {
			run := int(h) + 3
			if pos >= len(src) {
				return corruptf(pos, "truncated integer RLE v1 run")
			}
			delta := int64(int8(src[pos]))
			pos++
			u, p, err := readUvarint(src, pos)
			if err != nil {
				return err
			}
			pos = p
			base := int64(u)
			if r.signed {
				base = unzigzag(u)
			}
			out := r.runBuffer(dst[n:], run)
			for i := range out {
				out[i] = base + int64(i)*delta
			}
			n = r.keep(dst, n, out)
		} else {
			lit := 256 - int(h)
			out := r.runBuffer(dst[n:], lit)
			for i := range out {
				u, p, err := readUvarint(src, pos)
				if err != nil {
					return err
				}
				pos = p
				if r.signed {
					out[i] = unzigzag(u)
				} else {
					out[i] = int64(u)
				}
			}
			n = r.keep(dst, n, out)
		}
	}
	return nil
}

// decodeInts dispatches to RLE v1 or v2.
func decodeInts(src []byte, dst []int64, signed, v2 bool) error {
	var r intReader
	r.reset(src, signed, v2, len(dst))
	return r.read(dst)
}

// intReader decodes an integer RLE stream (version 1 or 2) a piece at a
// time, so that a caller can convert the values through a small buffer
// rather than hold all of them. Values are produced exactly as one
// decodeInts call over the whole stream would, with the same errors.
type intReader struct {
	src        []byte
	pos        int
	signed, v2 bool
	want, done int // values the caller reads in all, and has read (for errors)
	// run[lo:hi] are values of the last run decoded past what was asked.
	// (Indexes, not a slice: a pointer into itself would move the reader
	// to the heap.)
	lo, hi int
	run    [512]int64
}

func (r *intReader) reset(src []byte, signed, v2 bool, want int) {
	r.src, r.pos, r.signed, r.v2, r.want, r.done, r.lo, r.hi = src, 0, signed, v2, want, 0, 0, 0
}

// read fills dst with the next len(dst) values.
func (r *intReader) read(dst []int64) error {
	n := copy(dst, r.run[r.lo:r.hi])
	r.lo += n
	var err error
	if n < len(dst) {
		if r.v2 {
			err = r.readV2(dst[n:], r.done+n)
		} else {
			err = r.readV1(dst[n:], r.done+n)
		}
	}
	r.done += len(dst)
	return err
}

// runBuffer returns where to decode a run of length values when rest is
// what the caller still wants: rest itself when the run fits, else the
// reader's run buffer.
func (r *intReader) runBuffer(rest []int64, length int) []int64 {
	if length > len(rest) {
		return r.run[:length]
	}
	return rest[:length]
}

// keep accounts for a run decoded into out (from runBuffer) after n
// values of dst: a run decoded into the run buffer is copied to dst and
// its remainder kept for the next read. It returns the new n.
func (r *intReader) keep(dst []int64, n int, out []int64) int {
	if len(out) > len(dst)-n {
		r.lo = copy(dst[n:], out) // out is r.run[:len(out)]
		r.hi = len(out)
		return len(dst)
	}
	return n + len(out)
}
