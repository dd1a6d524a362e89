package orc

// Integer RLE version 2: short repeat, direct, patched base and delta
// sub-encodings ("Integer Run Length Encoding, version 2" in the ORC
// specification).

const (
	rleShortRepeat = 0
	rleDirect      = 1
	rlePatchedBase = 2
	rleDelta       = 3
)

// widthTable maps the 5-bit encoded width to a bit width.
var widthTable = [32]int{
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32, 40, 48, 56, 64,
}

// closestFixedBits rounds a bit width up to one the width table can hold.
func closestFixedBits(n int) int {
	switch {
	case n <= 0:
		return 1
	case n <= 24:
		return n
	case n <= 26:
		return 26
	case n <= 28:
		return 28
	case n <= 30:
		return 30
	case n <= 32:
		return 32
	case n <= 40:
		return 40
	case n <= 48:
		return 48
	case n <= 56:
		return 56
	}
	return 64
}

// encodeWidth is the inverse of widthTable for widths closestFixedBits returns.
func encodeWidth(w int) int {
	switch {
	case w <= 24:
		return w - 1
	case w == 26:
		return 24
	case w == 28:
		return 25
	case w == 30:
		return 26
	case w == 32:
		return 27
	case w == 40:
		return 28
	case w == 48:
		return 29
	case w == 56:
		return 30
	}
	return 31
}

// unpackBits reads len(dst) big-endian bit-packed values of width w
// (1..64) from src[pos:] and returns the position after the last byte used.
func unpackBits(src []byte, pos int, dst []int64, w int) (int, error) {
	need := (len(dst)*w + 7) / 8
	if need > len(src)-pos {
		return pos, corruptf(pos, "bit-packed run of %d values x %d bits needs %d bytes, %d left", len(dst), w, need, len(src)-pos)
	}
	s := src[pos : pos+need]
	switch w {
	case 8:
		for i := range dst {
			dst[i] = int64(s[i])
		}
	case 16:
		for i := range dst {
			dst[i] = int64(uint16(s[2*i])<<8 | uint16(s[2*i+1]))
		}
	case 32:
		for i := range dst {
			b := s[4*i : 4*i+4 : 4*i+4]
			dst[i] = int64(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		}
	case 64:
		for i := range dst {
			b := s[8*i : 8*i+8 : 8*i+8]
			dst[i] = int64(uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
				uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]))
		}
	default:
		if w > 56 {
			// widths 57..63 cannot come from the width table; decode bit
			// by bit to stay correct anyway.
			bit := 0
			for i := range dst {
				var v uint64
				for range w {
					v = v<<1 | uint64(s[bit>>3]>>(7-uint(bit&7))&1)
					bit++
				}
				dst[i] = int64(v)
			}
			break
		}
		var acc uint64
		var bits int
		p := 0
		mask := uint64(1)<<uint(w) - 1
		for i := range dst {
			for bits < w {
				acc = acc<<8 | uint64(s[p])
				p++
				bits += 8
			}
			bits -= w
			dst[i] = int64(acc >> uint(bits) & mask)
		}
	}
	return pos + need, nil
}

// decodeIntRLEv2 fills dst from an integer RLE v2 stream.
func decodeIntRLEv2(src []byte, dst []int64, signed bool) error {
	var r intReader
	r.reset(src, signed, true, len(dst))
	return r.read(dst)
}

// readV2 decodes the next len(dst) values of an RLE v2 stream; already
// counts the values read before them, for errors.
func (r *intReader) readV2(dst []int64, already int) error {
	src, pos, n := r.src, r.pos, 0
	defer func() { r.pos = pos }()
	for n < len(dst) {
		if pos >= len(src) {
			return corruptf(pos, "integer RLE v2 stream ended after %d of %d values", already+n, r.want)
		}
		h := src[pos]
		start := pos
		var err error
		switch h >> 6 {
		case rleShortRepeat:
			wb := int(h>>3&7) + 1
			cnt := int(h&7) + 3
			pos++
			if wb > len(src)-pos {
				return corruptf(start, "truncated short repeat run")
			}
			var u uint64
			for _, b := range src[pos : pos+wb] {
				u = u<<8 | uint64(b)
			}
			pos += wb
			v := int64(u)
			if r.signed {
				v = unzigzag(u)
			}
			out := r.runBuffer(dst[n:], cnt)
			for i := range out {
				out[i] = v
			}
			n = r.keep(dst, n, out)
			continue
		}
		if len(src)-pos < 2 {
			return corruptf(start, "truncated integer RLE v2 header")
		}
		length := (int(h&1)<<8 | int(src[pos+1])) + 1
		out := r.runBuffer(dst[n:], length)
		switch h >> 6 {
		case rleDirect:
			pos, err = decodeDirect(src, pos, out, r.signed)
		case rlePatchedBase:
			pos, err = decodePatchedBase(src, pos, out)
		case rleDelta:
			pos, err = decodeDelta(src, pos, out, r.signed)
		}
		if err != nil {
			return err
		}
		n = r.keep(dst, n, out)
	}
	return nil
}

func decodeDirect(src []byte, pos int, out []int64, signed bool) (int, error) {
	w := widthTable[src[pos]>>1&0x1f]
	pos, err := unpackBits(src, pos+2, out, w)
	if err != nil {
		return pos, err
	}
	if signed {
		for i, v := range out {
			out[i] = unzigzag(uint64(v))
		}
	}
	return pos, nil
}

func decodePatchedBase(src []byte, pos int, out []int64) (int, error) {
	start := pos
	if len(src)-pos < 4 {
		return pos, corruptf(start, "truncated patched base header")
	}
	w := widthTable[src[pos]>>1&0x1f]
	bw := int(src[pos+2]>>5&7) + 1
	pw := widthTable[src[pos+2]&0x1f]
	pgw := int(src[pos+3]>>5&7) + 1
	pll := int(src[pos+3] & 0x1f)
	pos += 4
	if bw > len(src)-pos {
		return pos, corruptf(start, "truncated patched base value")
	}
	var ub uint64
	for _, b := range src[pos : pos+bw] {
		ub = ub<<8 | uint64(b)
	}
	pos += bw
	signBit := uint64(1) << uint(bw*8-1)
	base := int64(ub)
	if ub&signBit != 0 {
		base = -int64(ub &^ signBit)
	}
	pos, err := unpackBits(src, pos, out, w)
	if err != nil {
		return pos, err
	}
	if pw+pgw > 64 {
		return pos, corruptf(start, "patch width %d + gap width %d exceeds 64 bits", pw, pgw)
	}
	if pll > 0 {
		var patches [31]int64
		pos, err = unpackBits(src, pos, patches[:pll], closestFixedBits(pw+pgw))
		if err != nil {
			return pos, err
		}
		idx := 0
		pmask := uint64(1)<<uint(pw) - 1
		if pw == 64 {
			pmask = ^uint64(0)
		}
		for _, p := range patches[:pll] {
			gap := int(uint64(p) >> uint(pw))
			patch := uint64(p) & pmask
			idx += gap
			if patch == 0 {
				continue // a gap longer than 255 is split with zero patches
			}
			if idx >= len(out) {
				return pos, corruptf(start, "patch at index %d beyond run of %d", idx, len(out))
			}
			out[idx] = int64(uint64(out[idx]) | patch<<uint(w))
		}
	}
	for i, v := range out {
		out[i] = base + v
	}
	return pos, nil
}

func decodeDelta(src []byte, pos int, out []int64, signed bool) (int, error) {
	code := src[pos] >> 1 & 0x1f
	w := 0
	if code != 0 {
		w = widthTable[code]
	}
	pos += 2
	u, pos, err := readUvarint(src, pos)
	if err != nil {
		return pos, err
	}
	first := int64(u)
	if signed {
		first = unzigzag(u)
	}
	du, pos, err := readUvarint(src, pos)
	if err != nil {
		return pos, err
	}
	delta := unzigzag(du)
	out[0] = first
	if len(out) == 1 {
		return pos, nil
	}
	if w == 0 {
		v := first
		for i := 1; i < len(out); i++ {
			v += delta
			out[i] = v
		}
		return pos, nil
	}
	out[1] = first + delta
	if len(out) == 2 {
		return pos, nil
	}
	rest := out[2:]
	pos, err = unpackBits(src, pos, rest, w)
	if err != nil {
		return pos, err
	}
	prev := out[1]
	if delta < 0 {
		for i, d := range rest {
			prev -= d
			rest[i] = prev
		}
	} else {
		for i, d := range rest {
			prev += d
			rest[i] = prev
		}
	}
	return pos, nil
}
