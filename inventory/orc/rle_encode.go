package orc

import (
	"math/bits"
)

// Encoders for the Writer: byte RLE, boolean RLE and integer RLE v2 (short
// repeat, direct and delta sub-encodings, and patched base when enabled).
// Each appends to dst and returns it.

// appendByteRLE appends the byte-RLE encoding of src.
func appendByteRLE(dst, src []byte) []byte {
	i := 0
	for i < len(src) {
		// length of the run of identical bytes at i
		r := 1
		for i+r < len(src) && r < 130 && src[i+r] == src[i] {
			r++
		}
		if r >= 3 {
			dst = append(dst, byte(r-3), src[i])
			i += r
			continue
		}
		// literals until a run of 3 starts, at most 128
		j := i
		for j < len(src) && j-i < 128 {
			if j+2 < len(src) && src[j] == src[j+1] && src[j] == src[j+2] {
				break
			}
			j++
		}
		dst = append(dst, byte(-(j - i)))
		dst = append(dst, src[i:j]...)
		i = j
	}
	return dst
}

// appendBoolRLE appends the boolean-RLE encoding of src (bits most
// significant first, last byte zero padded).
func appendBoolRLE(dst []byte, src []bool) []byte {
	packed := make([]byte, (len(src)+7)/8)
	for i, v := range src {
		if v {
			packed[i>>3] |= 0x80 >> uint(i&7)
		}
	}
	return appendByteRLE(dst, packed)
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// bitsNeeded is the number of bits needed to hold v (at least 1).
func bitsNeeded(v uint64) int {
	if v == 0 {
		return 1
	}
	return 64 - bits.LeadingZeros64(v)
}

// appendPacked appends vals as big-endian bit-packed w-bit values.
func appendPacked(dst []byte, vals []uint64, w int) []byte {
	var acc uint64
	nbits := 0
	for _, v := range vals {
		if w == 64 {
			dst = append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
			continue
		}
		// w <= 56 here, and nbits < 8 before adding, so acc never overflows
		acc = acc<<uint(w) | v&(1<<uint(w)-1)
		nbits += w
		for nbits >= 8 {
			nbits -= 8
			dst = append(dst, byte(acc>>uint(nbits)))
		}
	}
	if nbits > 0 {
		dst = append(dst, byte(acc<<uint(8-nbits)))
	}
	return dst
}

// rleV2Encoder encodes integers with RLE v2. It keeps scratch space so that
// repeated use does not allocate.
type rleV2Encoder struct {
	signed  bool
	patched bool // use PATCHED_BASE where the Java writer would
	tmp     [512]uint64
	red     [512]uint64 // base-reduced values of a patched run
}

func (e *rleV2Encoder) enc(v int64) uint64 {
	if e.signed {
		return zigzag(v)
	}
	return uint64(v)
}

// appendInts appends the RLE v2 encoding of vals.
func (e *rleV2Encoder) appendInts(dst []byte, vals []int64) []byte {
	i := 0
	for i < len(vals) {
		r := 1
		for i+r < len(vals) && r < 512 && vals[i+r] == vals[i] {
			r++
		}
		if r >= 3 {
			if r <= 10 {
				dst = e.shortRepeat(dst, vals[i], r)
			} else {
				dst = e.delta(dst, vals[i:i+r])
			}
			i += r
			continue
		}
		j := i
		for j < len(vals) && j-i < 512 {
			if j+2 < len(vals) && vals[j] == vals[j+1] && vals[j] == vals[j+2] {
				break
			}
			j++
		}
		block := vals[i:j]
		switch {
		case len(block) >= 3 && monotonic(block):
			dst = e.delta(dst, block)
		case e.patched && e.wantPatched(block):
			dst = e.patchedBase(dst, block)
		default:
			dst = e.direct(dst, block)
		}
		i = j
	}
	return dst
}

// monotonic reports whether vals is strictly increasing or strictly
// decreasing at its first step and never changes direction, with every
// step fitting in int64.
func monotonic(vals []int64) bool {
	d0 := vals[1] - vals[0]
	if d0 == 0 || (d0 > 0) != (vals[1] > vals[0]) {
		return false
	}
	for k := 2; k < len(vals); k++ {
		d := vals[k] - vals[k-1]
		if (d > 0) != (vals[k] > vals[k-1]) { // overflow
			return false
		}
		if (d0 > 0 && vals[k] < vals[k-1]) || (d0 < 0 && vals[k] > vals[k-1]) {
			return false
		}
	}
	return true
}

func (e *rleV2Encoder) shortRepeat(dst []byte, v int64, count int) []byte {
	u := e.enc(v)
	w := (bitsNeeded(u) + 7) / 8
	dst = append(dst, byte(rleShortRepeat<<6|(w-1)<<3|(count-3)))
	for k := w - 1; k >= 0; k-- {
		dst = append(dst, byte(u>>(8*uint(k))))
	}
	return dst
}

func (e *rleV2Encoder) direct(dst []byte, vals []int64) []byte {
	var maxv uint64
	for k, v := range vals {
		u := e.enc(v)
		e.tmp[k] = u
		maxv |= u
	}
	w := alignedBits(bitsNeeded(maxv))
	l := len(vals) - 1
	dst = append(dst, byte(rleDirect<<6|encodeWidth(w)<<1|l>>8), byte(l))
	return appendPacked(dst, e.tmp[:len(vals)], w)
}

// delta encodes a run that is constant or monotonic (see monotonic).
func (e *rleV2Encoder) delta(dst []byte, vals []int64) []byte {
	l := len(vals) - 1
	first := vals[0]
	var d0 int64
	if len(vals) > 1 {
		d0 = vals[1] - vals[0]
	}
	fixed := true
	var maxd uint64
	for k := 2; k < len(vals); k++ {
		d := vals[k] - vals[k-1]
		if d != d0 {
			fixed = false
		}
		if d < 0 {
			d = -d
		}
		e.tmp[k-2] = uint64(d)
		maxd |= uint64(d)
	}
	code := 0
	w := 0
	if !fixed {
		w = alignedBits(bitsNeeded(maxd))
		if w == 1 {
			w = 2 // width code 0 means "fixed delta" in delta runs
		}
		code = encodeWidth(w)
	}
	dst = append(dst, byte(rleDelta<<6|code<<1|l>>8), byte(l))
	dst = appendUvarint(dst, e.enc(first))
	dst = appendUvarint(dst, zigzag(d0))
	if !fixed {
		dst = appendPacked(dst, e.tmp[:len(vals)-2], w)
	}
	return dst
}

// alignedBits rounds a bit width up to 1, 2, 4, 8, 16, 24, 32, 40, 48, 56
// or 64: the widths writers use (the others in the width table are
// deprecated).
func alignedBits(n int) int {
	switch {
	case n <= 1:
		return 1
	case n <= 2:
		return 2
	case n <= 4:
		return 4
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	}
	return (n + 7) / 8 * 8
}

// percentileBits returns the bit width (rounded as closestFixedBits does)
// that holds the share p of vals, the way the Java writer computes it:
// going down from the widest, the width at which more than (1-p)*n
// values have been counted.
func percentileBits(vals []uint64, p float64) int {
	var hist [32]int
	for _, v := range vals {
		hist[encodeWidth(closestFixedBits(bits.Len64(v)))]++
	}
	left := int(float64(len(vals)) * (1 - p))
	for i := len(hist) - 1; i >= 0; i-- {
		left -= hist[i]
		if left < 0 {
			return widthTable[i]
		}
	}
	return 0
}

// patchedBaseLimit bounds the base of a patched run, as in the Java
// writer.
const patchedBaseLimit = 1 << 56

// wantPatched reports whether the Java writer would write block (not a
// repeat, not monotonic) as PATCHED_BASE: its widest values need more
// than one bit beyond the 90th percentile's, and once the minimum is
// subtracted, the 95th percentile still needs fewer bits than the
// widest. It leaves the base-reduced values in e.red.
func (e *rleV2Encoder) wantPatched(block []int64) bool {
	if len(block) < 2 {
		return false
	}
	zz := e.tmp[:len(block)]
	minv := block[0]
	for k, v := range block {
		zz[k] = e.enc(v)
		minv = min(minv, v)
	}
	if percentileBits(zz, 1)-percentileBits(zz, 0.9) <= 1 {
		return false
	}
	if minv <= -patchedBaseLimit || minv >= patchedBaseLimit {
		return false
	}
	red := e.red[:len(block)]
	for k, v := range block {
		d := uint64(v - minv)
		if v-minv < 0 { // the spread does not fit in int64
			return false
		}
		red[k] = d
	}
	return percentileBits(red, 1) != percentileBits(red, 0.95)
}

// patchedBase writes block, for which wantPatched said yes, as
// PATCHED_BASE, laying out the patch list as the Java writer does: the
// bits above the 95th percentile's width of each wide value, with the
// gap since the previous patch, gaps over 255 split by zero patches.
func (e *rleV2Encoder) patchedBase(dst []byte, block []int64) []byte {
	n := len(block)
	red := e.red[:n]
	minv := block[0]
	for _, v := range block {
		minv = min(minv, v)
	}
	w95 := percentileBits(red, 0.95)
	pw := closestFixedBits(percentileBits(red, 1) - w95)
	if pw == 64 {
		pw, w95 = 56, 8
	}
	mask := uint64(1)<<uint(w95) - 1
	var gaps [512]int
	var patches [512]uint64
	np, prev, maxGap := 0, 0, 0
	for i, v := range red {
		if v > mask {
			gap := i - prev
			maxGap = max(maxGap, gap)
			prev = i
			gaps[np], patches[np] = gap, v>>uint(w95)
			np++
			red[i] = v & mask
		}
	}
	gw := 1
	if maxGap > 0 {
		gw = closestFixedBits(bits.Len(uint(maxGap)))
	}
	var list []uint64
	if gw > 8 {
		gw = 8
	}
	for k := range np {
		g := gaps[k]
		for g > 255 {
			list = append(list, uint64(255)<<uint(pw))
			g -= 255
		}
		list = append(list, uint64(g)<<uint(pw)|patches[k])
	}
	// The header: width of the reduced values, the run length, the base's
	// byte count and the patch width, the gap width and the patch count.
	neg := minv < 0
	base := uint64(minv)
	if neg {
		base = uint64(-minv)
	}
	bb := (closestFixedBits(bits.Len64(base)) + 1 + 7) / 8 // and a sign bit
	if neg {
		base |= 1 << uint(bb*8-1)
	}
	l := n - 1
	dst = append(dst, byte(rlePatchedBase<<6|encodeWidth(w95)<<1|l>>8), byte(l),
		byte((bb-1)<<5|encodeWidth(pw)), byte((gw-1)<<5|len(list)))
	for k := bb - 1; k >= 0; k-- {
		dst = append(dst, byte(base>>(8*uint(k))))
	}
	dst = appendPacked(dst, red, w95)
	return appendPacked(dst, list, closestFixedBits(gw+pw))
}
