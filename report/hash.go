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

// hashBytes mixes b into h, wyhash-style, 8 bytes at a time.
func hashBytes(h uint64, b []byte) uint64 {
	h = mum(h^uint64(len(b)), hashP1)
	for len(b) >= 8 {
		h = mum(h^binary.LittleEndian.Uint64(b), hashP2)
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		h = mum(h^t, hashP2)
	}
	return h
}

// objectHash identifies an object version.
func objectHash(bucket, key, version []byte) uint64 {
	h := hashBytes(hashSeed, bucket)
	h = hashBytes(h, key)
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
