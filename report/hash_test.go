package report

import "testing"

// hashBytesRef is hashBytes as first written, a byte at a time: object
// hashes feed the distinct estimate of summary.json, which must not change
// with a faster hashBytes.
func hashBytesRef(h uint64, b []byte) uint64 {
	h = mum(h^uint64(len(b)), hashP1)
	for len(b) >= 8 {
		h = mum(h^leU64(b), hashP2)
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
func leU64(b []byte) uint64 {
	var t uint64
	for i := 0; i < 8; i++ {
		t |= uint64(b[i]) << (8 * i)
	}
	return t
}

func TestHashBytesMatchesByteLoop(t *testing.T) {
	b := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	for i := 0; i <= len(b); i++ {
		for j := i; j <= len(b); j++ {
			if hashBytes(7, b[i:j]) != hashBytesRef(7, b[i:j]) {
				t.Fatalf("%d %d", i, j)
			}
		}
	}
}
