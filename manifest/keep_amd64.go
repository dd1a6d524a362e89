//go:build amd64 && !purego

package manifest

import (
	"math"

	"golang.org/x/sys/cpu"
)

// minAVX2Len is the shortest string that keptPrefix hands to
// keptPrefixAVX2, or math.MaxInt on a CPU without AVX2 (or whose OS does
// not save the AVX registers, which cpu.X86.HasAVX2 checks too).
// keptPrefixAVX2 needs 8 bytes at least, since it never reads outside s;
// at 8 it is already faster than the table loop, whose cost grows with
// every byte while a call to the assembly costs about as much as 8 of
// them whatever the length up to 32 (BenchmarkKeptPrefix). One variable
// for both the length and the CPU keeps keptPrefix to one comparison, and
// the tests set it to run the pure-Go path on a CPU that has AVX2.
var minAVX2Len = func() int {
	if cpu.X86.HasAVX2 {
		return 8
	}
	return math.MaxInt
}()

// keptPrefix returns the length of the run of kept bytes (keepByte) that s
// starts with: len(s) when every byte is kept.
func keptPrefix(s []byte) int {
	if len(s) >= minAVX2Len {
		return keptPrefixAVX2(s)
	}
	return keptPrefixGeneric(s)
}

// keptPrefixAVX2 is keptPrefix for len(s) >= 8 on a CPU with AVX2. It
// classifies 32 bytes at a time (a shorter string as two overlapping
// halves of 8 or 16 bytes) and reads no byte outside s.
//
//go:noescape
func keptPrefixAVX2(s []byte) int
