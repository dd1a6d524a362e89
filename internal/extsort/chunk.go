package extsort

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// chunk is records as they were added: their bytes (key, then value)
// back to back in data, and one ent each, in the order added. segs lists
// the ents where the keys stopped ascending (a new sorted segment
// starts); once it holds maxSegments, checking stops and the chunk is
// sorted whole (unordered is then set).
type chunk struct {
	seq       int64
	data      []byte
	ents      []ent
	segs      []int32
	unordered bool
	split     bool // the next record starts a segment (Sorter.Split)
}

// ent is one record of a chunk: its key's 8 bytes from the depth the
// radix sort is at (big-endian, zero-padded), and where its bytes are.
// off also orders ties: records with equal keys keep the order they were
// added in.
type ent struct {
	pfx  uint64
	off  uint32
	klen uint32
	vlen uint32
}

// maxSegments is the number of sorted segments a chunk tracks; more
// means the input is not in order, and the chunk is sorted whole.
const maxSegments = 64

// minSegment is the fewest records a segment that arrived in order must
// have to become a piece of its own instead of being sorted with the
// rest of its chunk.
const minSegment = 256

func (c *chunk) reset() {
	c.data, c.ents, c.segs, c.unordered, c.split = c.data[:0], c.ents[:0], c.segs[:0], false, false
}

func (c *chunk) key(e *ent) []byte { return c.data[e.off : e.off+e.klen : e.off+e.klen] }

func (c *chunk) value(e *ent) []byte {
	start := e.off + e.klen
	return c.data[start : start+e.vlen : start+e.vlen]
}

// add copies a record into the chunk.
func (c *chunk) add(key, value []byte) {
	off := len(c.data)
	c.data = append(c.data, key...)
	c.data = append(c.data, value...)
	c.note(key)
	c.ents = append(c.ents, ent{off: uint32(off), klen: uint32(len(key)), vlen: uint32(len(value))})
	c.split = false
}

// addInPlace adds the record of n bytes (klen of them its key) written
// at the end of data, past its length.
func (c *chunk) addInPlace(off, n, klen int) {
	c.data = c.data[:off+n]
	key := c.data[off : off+klen : off+klen]
	c.note(key)
	c.ents = append(c.ents, ent{off: uint32(off), klen: uint32(klen), vlen: uint32(n - klen)})
	c.split = false
}

// note records whether key, about to be added, starts a new segment.
func (c *chunk) note(key []byte) {
	if n := len(c.ents); n > 0 && !c.unordered {
		if p := &c.ents[n-1]; c.split || bytes.Compare(key, c.key(p)) < 0 {
			if len(c.segs) == maxSegments {
				c.unordered = true
			} else {
				c.segs = append(c.segs, int32(n))
			}
		}
	}
}

// sorted reports whether ents are in key order (ties by off), for
// checks.
func (c *chunk) sorted(ents []ent) bool {
	for i := 1; i < len(ents); i++ {
		if c.less(&ents[i], &ents[i-1], 0) {
			return false
		}
	}
	return true
}

// sortEnts sorts ents by key, ties by the order added.
func (c *chunk) sortEnts(ents []ent) {
	c.sortFrom(ents, 0)
}

// insertionMax is the group size under which the radix sort switches to
// insertion sort.
const insertionMax = 32

// sortFrom sorts ents whose keys agree on their first d bytes, the keys
// shorter than d padded with zero bytes.
func (c *chunk) sortFrom(ents []ent, d int) {
	ents = c.takeEnded(ents, d)
	if len(ents) < 2 {
		return
	}
	if len(ents) > insertionMax {
		// Skip the bytes every key shares past d: deep common folders
		// are never looked at byte by byte.
		if l := c.lcp(ents, d); l > 0 {
			d += l
			if ents = c.takeEnded(ents, d); len(ents) < 2 {
				return
			}
		}
	}
	for i := range ents {
		if j := i + 6; j < len(ents) {
			prefetch(&c.data[ents[j].off+uint32(d)])
		}
		ents[i].pfx = prefixAt(c.key(&ents[i]), d)
	}
	c.radix(ents, d, 0)
}

// takeEnded moves the keys no longer than d to the front, sorted, and
// returns the others. Those keys agree with every other key on their
// whole length (padded, the others have zeros there), so each is a
// prefix of the longer ones and comes first; among themselves the
// shorter comes first.
func (c *chunk) takeEnded(ents []ent, d int) []ent {
	m := 0
	for i := range ents {
		if int(ents[i].klen) <= d {
			ents[i], ents[m] = ents[m], ents[i]
			m++
		}
	}
	if m > 1 {
		slices.SortFunc(ents[:m], func(x, y ent) int {
			if x.klen != y.klen {
				return cmp.Compare(x.klen, y.klen)
			}
			return cmp.Compare(x.off, y.off)
		})
	}
	return ents[m:]
}

// lcp returns how many bytes past d every key of ents (all longer than
// d) shares.
func (c *chunk) lcp(ents []ent, d int) int {
	first := c.key(&ents[0])[d:]
	l := len(first)
	for i := 1; i < len(ents) && l > 0; i++ {
		if j := i + 6; j < len(ents) {
			prefetch(&c.data[ents[j].off+uint32(d)])
		}
		l = commonPrefix(first[:l], c.key(&ents[i])[d:])
	}
	return l
}

// radix sorts ents, whose keys (all longer than d) agree on their first
// d bytes and on the first b bytes of pfx (their 8 bytes from d), by
// byte b of pfx and on: most significant byte first, in place (American
// flag sort); groups still tied after 8 bytes go on from d+8.
func (c *chunk) radix(ents []ent, d, b int) {
	// Skip the prefix bytes every ent shares; when they share all 8,
	// go on from d+8 (even a small group: insertion sort would compare
	// whole keys).
	var diff uint64
	for i := range ents {
		diff |= ents[i].pfx ^ ents[0].pfx
	}
	if diff == 0 {
		c.sortFrom(ents, d+8)
		return
	}
	if len(ents) <= insertionMax {
		c.insertion(ents, d)
		return
	}
	for b = max(b, bits.LeadingZeros64(diff)/8); b < 8; b++ {
		shift := uint(56 - 8*b)
		var count [256]int
		for i := range ents {
			count[byte(ents[i].pfx>>shift)]++
		}
		if count[byte(ents[0].pfx>>shift)] == len(ents) {
			continue // one byte value: the next byte decides
		}
		var next, end [256]int
		sum := 0
		for v, n := range count {
			next[v] = sum
			sum += n
			end[v] = sum
		}
		for v := range next {
			for next[v] < end[v] {
				e := ents[next[v]]
				for ev := int(byte(e.pfx >> shift)); ev != v; ev = int(byte(e.pfx >> shift)) {
					e, ents[next[ev]] = ents[next[ev]], e
					next[ev]++
				}
				ents[next[v]] = e
				next[v]++
			}
		}
		start := 0
		for _, n := range count {
			if n > 1 {
				c.radix(ents[start:start+n], d, b+1)
			}
			start += n
		}
		return
	}
	c.sortFrom(ents, d+8)
}

// insertion sorts ents, whose keys (all longer than d) agree on their
// first d bytes and whose pfx are their 8 bytes from d.
func (c *chunk) insertion(ents []ent, d int) {
	for i := 1; i < len(ents); i++ {
		for j := i; j > 0; j-- {
			x, y := &ents[j], &ents[j-1]
			if x.pfx > y.pfx || x.pfx == y.pfx && !c.less(x, y, d) {
				break
			}
			*x, *y = *y, *x
		}
	}
}

// less orders x before y by their key bytes from d, ties by the order
// added.
func (c *chunk) less(x, y *ent, d int) bool {
	if r := bytes.Compare(c.key(x)[d:], c.key(y)[d:]); r != 0 {
		return r < 0
	}
	return x.off < y.off
}

// prefixAt returns the 8 bytes of k from d, zero-padded, big-endian.
func prefixAt(k []byte, d int) uint64 {
	if len(k) >= d+8 {
		return binary.BigEndian.Uint64(k[d:])
	}
	var buf [8]byte
	copy(buf[:], k[d:])
	return binary.BigEndian.Uint64(buf[:])
}

// commonPrefix returns the length of the common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}
