package report

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Object identity is a 64-bit hash of (bucket, key, version id). It is
// seeded by a constant, so summaries are the same from run to run. With n
// distinct failed objects the chance that two share a hash is about
// n²/2⁶⁵: 3·10⁻⁶ at ten million.

const (
	hashSeed = 0x243f6a8885a308d3
	hashP1   = 0xa0761d6478bd642f
	hashP2   = 0xe7037ed1a0b428db
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashBytes mixes b into h, wyhash-style, 8 bytes at a time; the last
// 1 to 7 bytes are mixed as one little-endian word.
func hashBytes(h uint64, b []byte) uint64 {
	n := len(b)
	h = mum(h^uint64(n), hashP1)
	i := 0
	for ; i+8 <= n; i += 8 {
		h = mum(h^binary.LittleEndian.Uint64(b[i:]), hashP2)
	}
	if r := n - i; r > 0 {
		var t uint64
		switch {
		case n >= 8:
			// The last 8 bytes, shifted down to the r not mixed yet.
			t = binary.LittleEndian.Uint64(b[n-8:]) >> (8 * (8 - r))
		case r >= 4:
			// Two overlapping 4-byte loads.
			t = uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[r-4:]))<<(8*(r-4))
		default:
			t = uint64(b[0]) | uint64(b[r/2])<<(8*(r/2)) | uint64(b[r-1])<<(8*(r-1))
		}
		h = mum(h^t, hashP2)
	}
	return h
}

// objectHash identifies an object version.
func objectHash(bucket, key, version []byte) uint64 {
	return objectHashFrom(bucketHash(bucket), key, version)
}

// bucketHash is the state of objectHash and prefixHash after the bucket.
func bucketHash(bucket []byte) uint64 { return hashBytes(hashSeed, bucket) }

// objectHashFrom is objectHash from bucketHash(bucket).
func objectHashFrom(hb uint64, key, version []byte) uint64 {
	h := hashBytes(hb, key)
	h = hashBytes(h, version)
	return mum(h, hashP1^hashP2)
}

// hll is a HyperLogLog sketch of 2^14 registers (16 KiB): it estimates the
// number of distinct objects with a standard error of about 0.8%.
type hll struct {
	reg [1 << hllBits]uint8
}

const hllBits = 14

func (s *hll) add(h uint64) {
	i := h >> (64 - hllBits)
	w := h<<hllBits | 1<<(hllBits-1)
	r := uint8(bits.LeadingZeros64(w)) + 1
	if r > s.reg[i] {
		s.reg[i] = r
	}
}

func (s *hll) estimate() int64 {
	const m = float64(1 << hllBits)
	sum, zeros := 0.0, 0
	for _, r := range s.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int64(e + 0.5)
}

// prefixHash identifies a bucket and key prefix (see Merger.prefix).
func prefixHash(bucket, prefix []byte) uint64 { return prefixHashFrom(bucketHash(bucket), prefix) }

// prefixHashFrom is prefixHash from bucketHash(bucket).
func prefixHashFrom(hb uint64, prefix []byte) uint64 {
	return mum(hashBytes(hb^hashP2, prefix), hashP1)
}
