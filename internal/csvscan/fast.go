package csvscan

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// quoted is the fast path for the lines S3 Inventory writes: every field
// quoted, no "" escape. buf[at:e] is one line without its line end. It
// notes the fields and reports whether the line is exactly such fields,
// at most MaxFields of them; for anything else (unquoted fields, escapes,
// more fields, a quoted line break that split the record) it returns
// false and the slow path splits the line and names the error.
//
// It maps the quotes of each 64-byte block to the bits of one word (SWAR
// eight bytes at a time, then a multiply gathers the eight lane bits) and
// counts them. A separator is a quote with a comma after it and a quote
// after that: the quote bits that also have a quote two bits up, with the
// comma checked byte-wise. A separator whose first quote is the opening
// quote of the field being read is content (the field starts with ",).
// The line is exactly k quoted fields when it starts and ends with a
// quote, holds k-1 separators that overlap neither each other nor the
// first and last quote, and has no other quote: 2k quotes in all. Walking
// the separators of a block rather than the quotes of each word keeps the
// branches few, and their outcome mostly the same from line to line.
func (s *Splitter) quoted(buf []byte, at, e int) bool {
	line := buf[at:e]
	end := len(line)
	if end < 2 || line[end-1] != '"' {
		return false // line[0] is '"'
	}
	fld := s.fld
	cur := quoteBits(line, 0)
	quotes := bits.OnesCount64(cur)
	i := 0     // separators found
	start := 1 // first byte of field i
	for pos := 0; pos < end; pos += 64 {
		var next uint64
		if pos+64 < end {
			next = quoteBits(line, pos+64)
			quotes += bits.OnesCount64(next)
		}
		for m := cur & (cur>>2 | next<<62); m != 0; m &= m - 1 {
			sep := pos + bits.TrailingZeros64(m)
			if line[sep+1] != ',' || sep < start {
				continue // a one-byte field, or "," opening field i
			}
			if i == len(fld)-1 {
				return false
			}
			fld[i] = Field{Start: int32(at + start), End: int32(at + sep), Quoted: true}
			i++
			start = sep + 3
		}
		cur = next
	}
	if quotes != 2*(i+1) || start > end-1 {
		return false
	}
	fld[i] = Field{Start: int32(at + start), End: int32(at + end - 1), Quoted: true}
	s.rec.N = i + 1
	return true
}

// plain is the fast path for lines without a quote (result files,
// manifests): buf[at:e] is one line without its line end, whose fields
// are what its commas separate. It returns false, having noted nothing
// that matters, when the line holds a quote or more than MaxFields
// fields. One vectorised search rules out quotes; the commas are then
// found eight bytes at a time (SWAR). (Measured against one bitmap per
// 64 bytes of commas and quotes, and against a search per comma, this is
// the fastest on both short manifest lines and seven-field result rows.)
func (s *Splitter) plain(buf []byte, at, e int) bool {
	if bytes.IndexByte(buf[at:e], '"') >= 0 {
		return false
	}
	fld := s.fld
	nf := 0
	start := at
	i := at
	for ; ; i += 8 {
		var w uint64
		if i+8 <= e {
			w = binary.LittleEndian.Uint64(buf[i:])
		} else if i < e {
			w = tailWord(buf[:e], i) // the lanes past e are zero bytes
		} else {
			break
		}
		for m := byteLanes(w, ','); m != 0; m &= m - 1 {
			sep := i + bits.TrailingZeros64(m)/8
			if nf == len(fld)-1 {
				return false
			}
			fld[nf] = Field{Start: int32(start), End: int32(sep)}
			nf++
			start = sep + 1
		}
	}
	fld[nf] = Field{Start: int32(start), End: int32(e)}
	s.rec.N = nf + 1
	return true
}

// quoteBits returns the quotes of line[pos:pos+64] as bits (bit k for
// byte pos+k); bytes past the end of line count as no quote. (The quote
// is a constant: the compiler folds its byte pattern.)
func quoteBits(line []byte, pos int) uint64 {
	if pos+64 <= len(line) {
		w := line[pos : pos+64]
		return laneBits(byteLanes(binary.LittleEndian.Uint64(w[0:]), '"')) |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[8:]), '"'))<<8 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[16:]), '"'))<<16 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[24:]), '"'))<<24 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[32:]), '"'))<<32 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[40:]), '"'))<<40 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[48:]), '"'))<<48 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(w[56:]), '"'))<<56
	}
	var m uint64
	k := 0
	for ; pos+k+8 <= len(line); k += 8 {
		m |= laneBits(byteLanes(binary.LittleEndian.Uint64(line[pos+k:]), '"')) << k
	}
	if r := len(line) - pos - k; r > 0 {
		m |= laneBits(byteLanes(tailWord(line, pos+k), '"')) & (1<<r - 1) << k
	}
	return m
}

// tailWord returns the bytes of line from p to its end (fewer than 8) in
// the low lanes of a word, little-endian; the other lanes hold bytes that
// must be masked off.
func tailWord(line []byte, p int) uint64 {
	r := len(line) - p
	if len(line) >= 8 {
		// The last 8 bytes of line: its last r lanes are the r bytes left.
		return binary.LittleEndian.Uint64(line[len(line)-8:]) >> (8 * (8 - r))
	}
	var t [8]byte
	copy(t[:], line[p:])
	return binary.LittleEndian.Uint64(t[:])
}

// indexAny3 returns the position of the first byte of buf at or after p
// that is a, b or c, or -1. It tests 8 bytes at a time.
func indexAny3(buf []byte, p int, a, b, c byte) int {
	for ; p+8 <= len(buf); p += 8 {
		w := binary.LittleEndian.Uint64(buf[p:])
		if m := byteLanes(w, a) | byteLanes(w, b) | byteLanes(w, c); m != 0 {
			return p + bits.TrailingZeros64(m)/8
		}
	}
	for ; p < len(buf); p++ {
		if x := buf[p]; x == a || x == b || x == c {
			return p
		}
	}
	return -1
}

// laneBits gathers the high bits of the eight byte lanes of m (as
// byteLanes sets them) into its low eight bits, lane i to bit i.
func laneBits(m uint64) uint64 {
	return ((m >> 7) * 0x0102040810204080) >> 56
}

// byteLanes returns a word with the high bit of each byte lane of w set
// exactly when that byte is b (no false positives from borrows).
func byteLanes(w uint64, b byte) uint64 {
	const lo7 = 0x7f7f7f7f7f7f7f7f
	x := w ^ (0x0101010101010101 * uint64(b))
	t := (x & lo7) + lo7
	return ^(t | x | lo7)
}
