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
// It finds the quotes eight bytes at a time (SWAR: a '"' byte sets the
// high bit of its lane), then walks them in pairs: a closing quote must be
// followed by `,"` or the end of the line. A record costs one pass over its
// bytes and a few operations per quote instead of a scan call per field.
func splitQuoted(line []byte, vals [][]byte) bool {
	n := len(vals)
	if n == 0 || len(line) < 2 || line[0] != '"' {
		return false
	}
	i := 0         // field being read
	open := 0      // position of its opening quote
	inside := true // between field i's opening quote and its closing quote
	for pos := 1; pos < len(line); pos += 8 {
		var w uint64
		if pos+8 <= len(line) {
			w = binary.LittleEndian.Uint64(line[pos:])
		} else {
			var tail [8]byte
			copy(tail[:], line[pos:])
			w = binary.LittleEndian.Uint64(tail[:])
		}
		m := byteLanes(w, '"')
		for m != 0 {
			q := pos + bits.TrailingZeros64(m)>>3
			m &= m - 1
			if !inside {
				// The opening quote of field i must follow the ",".
				if q != open {
					return false
				}
				inside = true
				continue
			}
			vals[i] = line[open+1 : q]
			i++
			if i == n {
				return q+1 == len(line)
			}
			if q+2 >= len(line) || line[q+1] != ',' || line[q+2] != '"' {
				return false
			}
			open = q + 2
			inside = false
		}
	}
	return false
}

// byteLanes returns a word with the high bit of each byte lane of w set
// exactly when that byte is b (no false positives from borrows).
func byteLanes(w uint64, b byte) uint64 {
	const lo7 = 0x7f7f7f7f7f7f7f7f
	x := w ^ (0x0101010101010101 * uint64(b))
	t := (x & lo7) + lo7
	return ^(t | x | lo7)
}
