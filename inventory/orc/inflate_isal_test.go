//go:build isal && cgo

package orc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
)

// FuzzInflateISAL checks that the ISA-L decoder decodes every deflate
// stream the pure-Go one decodes, to the same output, also when the
// output limit cuts the stream. The converse does not hold: ISA-L accepts
// some invalid streams that Go and zlib reject (an incomplete set of
// distance codes, see testdata/fuzz/FuzzInflateISAL/4d0a412df6874667),
// and which error a bad stream gets may differ (a truncated stream whose
// output also exceeds the limit is "too big" to one and "unexpected EOF"
// to the other).
func FuzzInflateISAL(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	var text bytes.Buffer
	for i := range 20_000 {
		fmt.Fprintf(&text, "data/%04d/part-%08d-%x.parquet,STANDARD,%d\n", i%977, i, r.Uint32(), r.Int64N(5<<30))
	}
	random := make([]byte, 70_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, src := range [][]byte{nil, []byte("a"), text.Bytes()[:1000], text.Bytes(), random} {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
			var buf bytes.Buffer
			w, err := flate.NewWriter(&buf, level)
			if err != nil {
				f.Fatal(err)
			}
			w.Write(src)
			w.Close()
			c := buf.Bytes()
			f.Add(c, uint32(len(src)))
			f.Add(c, uint32(max(len(src)-1, 0)))
			f.Add(c[:len(c)/2], uint32(len(src)))
			if len(c) > 10 {
				bad := bytes.Clone(c)
				bad[len(c)/3] ^= 0x55
				f.Add(bad, uint32(len(src)))
			}
		}
	}
	f.Fuzz(func(t *testing.T, chunk []byte, limit uint32) {
		lim := int(limit % (4 << 20))
		want, werr := inflateGo([]byte("prefix"), chunk, lim)
		got, gerr := inflate([]byte("prefix"), chunk, lim)
		if werr == nil && gerr != nil {
			t.Fatalf("limit %d: pure Go decodes the stream, ISA-L fails: %v", lim, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("limit %d: outputs differ (%d and %d bytes)", lim, len(want), len(got))
		}
	})
}
