package manifest

import (
	"bytes"
	"fmt"
	"testing"
)

// appendEncodedRef is AppendEncoded as it was before keptPrefix: a plain
// table loop, kept as the reference the fast paths must match byte for
// byte.
func appendEncodedRef(dst, s []byte) []byte {
	for len(s) > 0 {
		i := 0
		for i < len(s) && keepByte[s[i]] {
			i++
		}
		dst = append(dst, s[:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		s = s[i+1:]
	}
	return dst
}

// checkEncoded fails t unless AppendEncoded and keptPrefix agree with the
// reference on s. Both encodings go after a prefix, as AppendRow appends
// them, into buffers kept between calls: the table test makes millions.
func checkEncoded(t *testing.T, s []byte) {
	t.Helper()
	want := appendEncodedRef(append(checkBufs.want[:0], "prefix"...), s)
	got := AppendEncoded(append(checkBufs.got[:0], "prefix"...), s)
	checkBufs.want, checkBufs.got = want, got
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendEncoded(%q) = %q, want %q", s, got, want)
	}
	if got, want := keptPrefix(s), keptPrefixGeneric(s); got != want {
		t.Fatalf("keptPrefix(%q) = %d, want %d", s, got, want)
	}
}

// checkBufs holds checkEncoded's buffers; no test using it runs in
// parallel.
var checkBufs struct{ got, want []byte }

// keptAlphabet lists every kept byte value.
var keptAlphabet = func() (a []byte) {
	for c := 0; c < 256; c++ {
		if keepByte[c] {
			a = append(a, byte(c))
		}
	}
	return a
}()

// kept returns n kept bytes that cycle through every kept byte value, so
// that each of them meets each lane of the vector code.
func kept(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = keptAlphabet[i%len(keptAlphabet)]
	}
	return b
}

// forEachPath runs f once with keptPrefix as the build has it and, where
// the build has assembly, once more with the pure-Go path forced.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Run("default", f)
	if restore := forcePureGo(); restore != nil {
		defer restore()
		t.Run("purego", f)
	}
}

func TestAppendEncodedMatchesReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		// Every byte value at each of the first 71 positions of kept
		// strings of every length up to 100.
		for n := 0; n <= 100; n++ {
			s := kept(n)
			checkEncoded(t, s)
			for pos := 0; pos < n && pos <= 70; pos++ {
				for c := 0; c < 256; c++ {
					s[pos] = byte(c)
					checkEncoded(t, s)
				}
				s[pos] = keptAlphabet[pos%len(keptAlphabet)]
			}
		}
		// Whole strings of one byte value, at lengths around the block
		// sizes of the vector code.
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 200} {
			for c := 0; c < 256; c++ {
				checkEncoded(t, bytes.Repeat([]byte{byte(c)}, n))
			}
		}
		// Two bytes to escape: the first must win wherever the second is,
		// even when both fall in one block or overlapping reads see the
		// second first.
		for n := 8; n <= 70; n++ {
			for i := 0; i < n; i++ {
				for j := i + 1; j < n; j++ {
					s := kept(n)
					s[i], s[j] = ' ', 0xff
					checkEncoded(t, s)
				}
			}
		}
		// Keys shaped like real ones, and runs escaped back to back.
		for _, s := range []string{
			"photos/2024/a.jpg",
			"logs/2024/us-east-1/app server/part+0001 (copy).log",
			"media/ünïcödé/fïlé-42.png",
			"日本語/日本語/日本語/日本語/日本語/日本語",
			"%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%",
			"a b c d e f g h i j k l m n o p q r s t u v w x y z",
		} {
			checkEncoded(t, []byte(s))
		}
	})
}

// TestAppendEncodedUnaligned reads windows of every start and length from
// one buffer, so that the vector loads meet every alignment.
func TestAppendEncodedUnaligned(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		buf := kept(160)
		buf[40], buf[101], buf[130] = '+', 0x80, ','
		for start := 0; start < 64; start++ {
			for end := start; end <= len(buf); end++ {
				checkEncoded(t, buf[start:end])
			}
		}
	})
}

// TestKeepTables checks that keepByte is what the vector code's lookup
// tables (keep_amd64.s) were built from: the documented kept set.
func TestKeepTables(t *testing.T) {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/"
	for c := 0; c < 256; c++ {
		if want := bytes.IndexByte([]byte(set), byte(c)) >= 0; keepByte[c] != want {
			t.Errorf("keepByte[%#x] = %v, want %v", c, keepByte[c], want)
		}
		s := kept(40)
		s[20] = byte(c)
		want := 20
		if keepByte[c] {
			want = 40
		}
		if got := keptPrefix(s); got != want {
			t.Errorf("keptPrefix with %#x at 20 = %d, want %d", c, got, want)
		}
	}
}

// FuzzAppendEncodedAVX2 compares AppendEncoded, on whatever path this
// build and CPU take, with the reference loop, for the whole input and for
// a window of it that starts and ends anywhere.
func FuzzAppendEncodedAVX2(f *testing.F) {
	for _, s := range []string{"", "a", "a b", "0123456789abcdefghijklmnopqrstuvwxyz", "日本/語 +%", "\x00\xff"} {
		f.Add([]byte(s), uint8(0), uint8(0))
	}
	f.Add(kept(65), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, s []byte, cut1, cut2 uint8) {
		checkEncoded(t, s)
		lo, hi := int(cut1), len(s)-int(cut2)
		if lo <= hi {
			checkEncoded(t, s[lo:hi])
		}
	})
}

// BenchmarkAppendEncoded encodes the fields of a manifest line one at a
// time: a bucket, a plain key, a version id, and keys with spaces and
// non-ASCII characters, whose short runs between escapes take the table
// loop rather than the vector code.
func BenchmarkAppendEncoded(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"bucket15", "example-bucket1"},
		{"key50", "home/2019/eu-west-1/25/2022/prod/01/obj-0-2.jpg.bk"},
		{"version32", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"},
		{"spaces", "logs/2024/us-east-1/app server/part+0001 (copy).log"},
		{"unicode", "media/ünïcödé/fïlé-42.png"},
		{"long200", string(kept(200))},
	} {
		s := []byte(bc.s)
		buf := make([]byte, 0, 1024)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				buf = AppendEncoded(buf[:0], s)
			}
		})
	}
}

// BenchmarkKeptPrefix times keptPrefix alone at the lengths around its
// cutoff (minAVX2Len on amd64), on kept strings and on strings that start
// with a byte to escape, which show the fixed cost of a call.
func BenchmarkKeptPrefix(b *testing.B) {
	for _, n := range []int{4, 7, 8, 12, 15, 16, 24, 31, 32, 48, 64} {
		for _, first := range []byte{'k', 0xc3} {
			s := kept(n)
			s[0] = first
			name := fmt.Sprintf("len%d", n)
			if first != 'k' {
				name += "escaped"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					keptPrefix(s)
				}
			})
		}
	}
}
