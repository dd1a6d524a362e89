package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestGunzip checks this build's decoder (GunzipImpl) against klauspost's
// on single- and multi-member streams of several sizes and levels, read
// through small and large buffers.
func TestGunzip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []byte {
		b := make([]byte, n)
		words := []string{"bucket,", "photos/2024/", "\"STANDARD\"", "d41d8cd98f00b204e9800998ecf8427e", "\n", "x"}
		for i := 0; i < n; {
			if rnd.IntN(4) == 0 {
				b[i] = byte(rnd.IntN(256))
				i++
				continue
			}
			i += copy(b[i:], words[rnd.IntN(len(words))])
		}
		return b
	}
	compress := func(level int, parts ...[]byte) []byte {
		var z bytes.Buffer
		for _, p := range parts {
			zw, _ := gzip.NewWriterLevel(&z, level)
			zw.Write(p)
			zw.Close()
		}
		return z.Bytes()
	}
	cases := []struct {
		name  string
		parts [][]byte
		level int
	}{
		{"empty member", [][]byte{{}}, gzip.DefaultCompression},
		{"small", [][]byte{text(100)}, gzip.DefaultCompression},
		{"1MB best", [][]byte{text(1 << 20)}, gzip.BestCompression},
		{"3MB stored", [][]byte{text(3 << 20)}, gzip.NoCompression},
		{"multi-member", [][]byte{text(70_000), {}, text(300_000), text(5)}, gzip.BestSpeed},
	}
	t.Logf("decoder: %s", GunzipImpl)
	for _, tc := range cases {
		want := bytes.Join(tc.parts, nil)
		z := compress(tc.level, tc.parts...)
		for _, bufSize := range []int{1, 4093, 1 << 20} {
			r, err := newGunzip(bufio.NewReaderSize(bytes.NewReader(z), 4096))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []byte
			buf := make([]byte, bufSize)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s/%d: %v", tc.name, bufSize, err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/%d: got %d bytes, want %d", tc.name, bufSize, len(got), len(want))
			}
			if bufSize == 1 && len(want) > 100_000 {
				break
			}
		}
	}
	// Errors: empty input, truncation, corruption, garbage after a member.
	z := compress(gzip.DefaultCompression, text(200_000))
	for name, in := range map[string][]byte{
		"empty":                {},
		"truncated":            z[:len(z)/2],
		"no trailer":           z[:len(z)-4],
		"garbage after member": append(append([]byte{}, z...), "not gzip at all"...),
	} {
		r, err := newGunzip(bufio.NewReader(bytes.NewReader(in)))
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "garbage after member" && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: err = %v, want io.ErrUnexpectedEOF", name, err)
		}
	}
}
