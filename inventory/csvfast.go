package inventory

import (
	"encoding/binary"
	"math/bits"
)

// splitQuoted is the tokenizer's fast path for the records S3 Inventory
// writes: every field quoted, no "" escape, no line break inside a field.
// line is one line without its line end. It fills vals with the n =
// len(vals) field values and reports whether line is exactly n such
// fields; for anything else (unquoted fields, escapes, a field count
// mismatch, a quoted line break that split the record) it returns false
// and the general tokenizer parses the record and names the error.
//
// It maps the quotes of each 64-byte block to the bits of one word (SWAR
// eight bytes at a time, then a multiply gathers the eight lane bits) and
// counts them. A separator is a quote with a comma after it and a quote
// after that: the quote bits that also have a quote two bits up, with the
// comma checked byte-wise. A separator whose first quote is the opening
// quote of the field being read is content (the field starts with ",).
// The line is exactly n quoted fields when it starts and ends with a
// quote, holds n-1 separators that overlap neither each other nor the
// first and last quote, and has no other quote: 2n quotes in all. Walking
// the separators of a block rather than the quotes of each word keeps the
// branches few, and their outcome mostly the same from line to line.
func splitQuoted(line []byte, vals [][]byte) bool {
	n := len(vals)
	end := len(line)
	if n == 0 || end < 2 || line[0] != '"' || line[end-1] != '"' {
		return false
	}
	cur := quoteBlock(line, 0)
	quotes := bits.OnesCount64(cur)
	i := 0     // separators found
	start := 1 // first byte of field i
	for pos := 0; pos < end; pos += 64 {
		var next uint64
		if pos+64 < end {
			next = quoteBlock(line, pos+64)
			quotes += bits.OnesCount64(next)
		}
		for s := cur & (cur>>2 | next<<62); s != 0; s &= s - 1 {
			sep := pos + bits.TrailingZeros64(s)
			if line[sep+1] != ',' || sep < start {
				continue // a one-byte field, or "," opening field i
			}
			if i == n-1 {
				return false
			}
			vals[i] = line[start:sep]
			i++
			start = sep + 3
		}
		cur = next
	}
	if i != n-1 || quotes != 2*n || start > end-1 {
		return false
	}
	vals[i] = line[start : end-1]
	return true
}

// quoteBlock returns the quotes of line[pos:pos+64] as bits (bit k for
// byte pos+k); bytes past the end of line count as no quote.
func quoteBlock(line []byte, pos int) uint64 {
	if pos+64 <= len(line) {
		b := line[pos : pos+64]
		return laneBits(byteLanes(binary.LittleEndian.Uint64(b[0:]), '"')) |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[8:]), '"'))<<8 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[16:]), '"'))<<16 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[24:]), '"'))<<24 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[32:]), '"'))<<32 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[40:]), '"'))<<40 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[48:]), '"'))<<48 |
			laneBits(byteLanes(binary.LittleEndian.Uint64(b[56:]), '"'))<<56
	}
	var m uint64
	k := 0
	for ; pos+k+8 <= len(line); k += 8 {
		m |= laneBits(byteLanes(binary.LittleEndian.Uint64(line[pos+k:]), '"')) << k
	}
	if r := len(line) - pos - k; r > 0 {
		if len(line) >= 8 {
			// The last 8 bytes of line: its last r lanes are the r bytes left.
			m |= laneBits(byteLanes(binary.LittleEndian.Uint64(line[len(line)-8:]), '"')) >> (8 - r) << k
		} else {
			var tail [8]byte
			copy(tail[:], line[pos+k:])
			m |= laneBits(byteLanes(binary.LittleEndian.Uint64(tail[:]), '"')) << k
		}
	}
	return m
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
