package orc

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func seq(from, to, step int64) []int64 {
	var out []int64
	for v := from; (step > 0 && v <= to) || (step < 0 && v >= to); v += step {
		out = append(out, v)
	}
	return out
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestByteRLE(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		n       int
		want    []byte
		wantErr bool
	}{
		{"spec: a hundred zeros", []byte{0x61, 0x00}, 100, make([]byte, 100), false},
		{"spec: literals", []byte{0xfe, 0x44, 0x45}, 2, []byte{0x44, 0x45}, false},
		{"run then literal", []byte{0x00, 0x07, 0xff, 0x09}, 4, []byte{7, 7, 7, 9}, false},
		{"partial run", []byte{0x61, 0x05}, 3, []byte{5, 5, 5}, false},
		{"empty stream", nil, 1, nil, true},
		{"truncated run", []byte{0x05}, 1, nil, true},
		{"literal overruns", []byte{0xfd, 0x01}, 3, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]byte, tc.n)
			_, err := decodeByteRLE(tc.in, got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBoolRLE(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []bool
		wantErr bool
	}{
		{"spec: one true then seven false", []byte{0xff, 0x80}, []bool{true, false, false, false, false, false, false, false}, false},
		{"partial byte", []byte{0xff, 0xa0}, []bool{true, false, true}, false},
		{"run of all true", []byte{0x00, 0xff}, slices.Repeat([]bool{true}, 24), false},
		{"too short", []byte{0xff, 0x80}, make([]bool, 9), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]bool, len(tc.want))
			err := decodeBoolRLE(tc.in, got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIntRLEv1(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		signed  bool
		want    []int64
		wantErr bool
	}{
		{"spec: 100 sevens", []byte{0x61, 0x00, 0x07}, false, repeat(7, 100), false},
		{"spec: 100 down to 1", []byte{0x61, 0xff, 0x64}, false, seq(100, 1, -1), false},
		{"spec: literals", []byte{0xfb, 0x02, 0x03, 0x04, 0x07, 0x0b}, false, []int64{2, 3, 4, 7, 11}, false},
		{"signed literals", []byte{0xfd, 0x01, 0x02, 0x03}, true, []int64{-1, 1, -2}, false},
		{"signed run", []byte{0x00, 0x01, 0x03}, true, []int64{-2, -1, 0}, false},
		{"truncated varint", []byte{0xff, 0x80}, false, []int64{0}, true},
		{"short", []byte{0xff, 0x01}, false, []int64{1, 2}, true},
		{"overlong varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, false, []int64{0}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]int64, len(tc.want))
			err := decodeIntRLEv1(tc.in, got, tc.signed)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if err != nil {
				var de *decodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %T is not a decodeError", err)
				}
			}
		})
	}
}

func TestIntRLEv2(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		signed  bool
		want    []int64
		wantErr bool
	}{
		{"spec: short repeat", []byte{0x0a, 0x27, 0x10}, false, repeat(10000, 5), false},
		{"spec: direct", []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}, false,
			[]int64{23713, 43806, 57005, 48879}, false},
		{"spec: patched base", []byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e,
			0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}, false,
			[]int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190}, false},
		{"spec: delta", []byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, false,
			[]int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}, false},
		{"signed short repeat", []byte{0x00, 0x03}, true, []int64{-2, -2, -2}, false},
		{"fixed delta decreasing", []byte{0xc0, 0x04, 0x14, 0x03}, true, []int64{10, 8, 6, 4, 2}, false},
		{"partial run is truncated", []byte{0x0a, 0x27, 0x10}, false, repeat(10000, 2), false},
		{"truncated direct", []byte{0x5e, 0x03, 0x5c}, false, make([]int64, 4), true},
		{"truncated header", []byte{0x5e}, false, make([]int64, 1), true},
		{"empty", nil, false, make([]int64, 1), true},
		{"patch beyond run", []byte{0x8e, 0x00, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0xfc, 0xe8}, false, make([]int64, 1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]int64, len(tc.want))
			err := decodeIntRLEv2(tc.in, got, tc.signed)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIntRLEv2EncoderSpecExamples(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want []byte
	}{
		{"short repeat", repeat(10000, 5), []byte{0x0a, 0x27, 0x10}},
		{"direct", []int64{23713, 43806, 57005, 48879}, []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}},
		{"delta", []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}, []byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}},
		{"patched base", []int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190},
			[]byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e, 0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := rleV2Encoder{patched: true}
			got := e.appendInts(nil, tc.in)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got % x, want % x", got, tc.want)
			}
		})
	}
}

func TestRLERoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func(n int) []int64{
		"random64": func(n int) []int64 {
			out := make([]int64, n)
			for i := range out {
				out[i] = int64(r.Uint64())
			}
			return out
		},
		"small": func(n int) []int64 {
			out := make([]int64, n)
			for i := range out {
				out[i] = r.Int64N(100) - 50
			}
			return out
		},
		"runs": func(n int) []int64 {
			var out []int64
			for len(out) < n {
				out = append(out, repeat(r.Int64N(5), 1+r.IntN(700))...)
			}
			return out[:n]
		},
		"increasing": func(n int) []int64 {
			out := make([]int64, n)
			v := int64(1e12)
			for i := range out {
				v += r.Int64N(1000)
				out[i] = v
			}
			return out
		},
		"decreasing": func(n int) []int64 {
			out := make([]int64, n)
			v := int64(0)
			for i := range out {
				v -= r.Int64N(3) + 1
				out[i] = v
			}
			return out
		},
		"outliers": func(n int) []int64 { // sizes: small values, rare huge ones
			out := make([]int64, n)
			for i := range out {
				out[i] = 1000 + r.Int64N(3000)
				if r.IntN(50) == 0 {
					out[i] = 1<<40 + r.Int64N(1<<50)
				}
			}
			return out
		},
		"outliers-negative": func(n int) []int64 {
			out := make([]int64, n)
			for i := range out {
				out[i] = -500 + r.Int64N(300)
				if r.IntN(30) == 0 {
					out[i] = r.Int64N(1 << 55)
				}
			}
			return out
		},
		"outliers-far-apart": func(n int) []int64 { // gaps over 255 between patches
			out := make([]int64, n)
			for i := range out {
				out[i] = r.Int64N(16)
				if i%511 == 0 || i%512 == 511 {
					out[i] = 1<<62 + int64(i)
				}
			}
			return out
		},
		"extremes": func(n int) []int64 {
			out := make([]int64, n)
			for i := range out {
				out[i] = []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)]
			}
			return out
		},
	}
	for name, gen := range gens {
		for _, n := range []int{1, 2, 3, 10, 11, 511, 512, 513, 5000} {
			vals := gen(n)
			got := make([]int64, n)
			for _, patched := range []bool{false, true} {
				e := rleV2Encoder{signed: true, patched: patched}
				enc := e.appendInts(nil, vals)
				if err := decodeIntRLEv2(enc, got, true); err != nil {
					t.Fatalf("%s/%d: signed decode (patched %v): %v", name, n, patched, err)
				}
				if !slices.Equal(got, vals) {
					t.Fatalf("%s/%d: signed round trip differs (patched %v)", name, n, patched)
				}
				ue := rleV2Encoder{patched: patched}
				uvals := make([]int64, n)
				for i, v := range vals {
					uvals[i] = v & math.MaxInt64
				}
				enc = ue.appendInts(nil, uvals)
				if err := decodeIntRLEv2(enc, got, false); err != nil {
					t.Fatalf("%s/%d: unsigned decode (patched %v): %v", name, n, patched, err)
				}
				if !slices.Equal(got, uvals) {
					t.Fatalf("%s/%d: unsigned round trip differs (patched %v)", name, n, patched)
				}
			}
		}
	}
	// The outlier generators must give patched runs, with a gap over 255
	// among them.
	for _, name := range []string{"outliers", "outliers-negative", "outliers-far-apart"} {
		e := rleV2Encoder{signed: true, patched: true}
		enc := e.appendInts(nil, gens[name](5000))
		if k := runKinds(t, enc, 5000); k[rlePatchedBase] == 0 {
			t.Errorf("%s: no PATCHED_BASE run (runs: %v)", name, k)
		}
	}
	// byte and bool RLE
	for _, n := range []int{0, 1, 2, 3, 129, 130, 131, 1000} {
		b := make([]byte, n)
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = byte(r.IntN(4))
			}
		}
		got := make([]byte, n)
		if _, err := decodeByteRLE(appendByteRLE(nil, b), got); err != nil || !slices.Equal(got, b) {
			t.Fatalf("byte RLE round trip n=%d: %v", n, err)
		}
		bs := make([]bool, n)
		for i := range bs {
			bs[i] = b[i] != 0
		}
		gotb := make([]bool, n)
		if err := decodeBoolRLE(appendBoolRLE(nil, bs), gotb); err != nil || !slices.Equal(gotb, bs) {
			t.Fatalf("bool RLE round trip n=%d: %v", n, err)
		}
	}
}

func TestLZ4Block(t *testing.T) {
	// "abcabcabcabc" + "x": literals "abc", match offset 3 length 9, then literal "x"
	src := []byte{0x35, 'a', 'b', 'c', 0x03, 0x00, 0x10, 'x'}
	got, err := lz4DecodeBlock(nil, src, 100)
	if err != nil || string(got) != "abcabcabcabcx" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := lz4DecodeBlock(nil, src, 5); err == nil {
		t.Fatal("limit not enforced")
	}
	if _, err := lz4DecodeBlock(nil, []byte{0x35, 'a', 'b', 'c', 0x09, 0x00}, 100); err == nil {
		t.Fatal("bad offset accepted")
	}
}

func TestRLEHotPathsDoNotAllocate(t *testing.T) {
	vals := make([]int64, 4096)
	for i := range vals {
		vals[i] = int64(i*i) % 1000
	}
	e := &rleV2Encoder{signed: true}
	buf := e.appendInts(nil, vals)
	dst := make([]int64, len(vals))
	out := make([]byte, 0, 2*len(buf))
	if a := testing.AllocsPerRun(20, func() { out = e.appendInts(out[:0], vals) }); a != 0 {
		t.Errorf("rleV2Encoder.appendInts allocates %v times per run", a)
	}
	if a := testing.AllocsPerRun(20, func() { _ = decodeIntRLEv2(buf, dst, true) }); a != 0 {
		t.Errorf("decodeIntRLEv2 allocates %v times per run", a)
	}
	v1 := []byte{0x61, 0x00, 0x07, 0xfb, 0x02, 0x03, 0x04, 0x07, 0x0b}
	dst1 := make([]int64, 105)
	if a := testing.AllocsPerRun(20, func() { _ = decodeIntRLEv1(v1, dst1, false) }); a != 0 {
		t.Errorf("decodeIntRLEv1 allocates %v times per run", a)
	}
}

// TestPatchedBaseLongGap checks a patched run whose patches lie more than
// 255 values apart: the gap is split by a zero patch, as the Java writer
// and the specification do.
func TestPatchedBaseLongGap(t *testing.T) {
	vals := make([]int64, 512)
	for i := range vals {
		vals[i] = int64(i % 13)
	}
	vals[0], vals[300], vals[511] = 1<<40, 1<<41, 1<<42
	e := rleV2Encoder{patched: true}
	enc := e.appendInts(nil, vals)
	if enc[0]>>6 != rlePatchedBase {
		t.Fatalf("run kind %d, want PATCHED_BASE", enc[0]>>6)
	}
	if gw, pll := int(enc[3]>>5)+1, int(enc[3]&0x1f); gw != 8 || pll != 4 {
		t.Fatalf("gap width %d and %d patches, want 8 and 4 (three patches, one gap split)", gw, pll)
	}
	got := make([]int64, len(vals))
	if err := decodeIntRLEv2(enc, got, false); err != nil || !slices.Equal(got, vals) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzIntRLEv2 checks the RLE v2 codec both ways: any bytes decode
// without a panic (an error or values), and any values, taken 8 bytes
// each from the input, come back from every encoder setting, PATCHED_BASE
// runs included. Seeds: the specification's examples and runs with
// outliers.
func FuzzIntRLEv2(f *testing.F) {
	f.Add([]byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e,
		0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}, false)
	f.Add([]byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}, true)
	r := rand.New(rand.NewPCG(9, 9))
	vals := make([]byte, 0, 8*600)
	for i := 0; i < 600; i++ {
		v := uint64(1000 + r.IntN(3000))
		if r.IntN(40) == 0 {
			v = 1<<41 + r.Uint64()>>20
		}
		vals = binary.LittleEndian.AppendUint64(vals, v)
	}
	f.Add(vals, true)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		// Decoding arbitrary bytes: an error or values, never a panic.
		out := make([]int64, min(len(data)*maxValuesPerByte, 4096))
		_ = decodeIntRLEv2(data, out, signed)
		// Encoding arbitrary values: every setting round-trips.
		in := make([]int64, len(data)/8)
		for i := range in {
			in[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
			if !signed {
				in[i] &= math.MaxInt64
			}
		}
		got := make([]int64, len(in))
		for _, patched := range []bool{false, true} {
			e := rleV2Encoder{signed: signed, patched: patched}
			enc := e.appendInts(nil, in)
			if err := decodeIntRLEv2(enc, got, signed); err != nil {
				t.Fatalf("patched %v: decoding the encoder's output: %v", patched, err)
			}
			if !slices.Equal(got, in) {
				t.Fatalf("patched %v: round trip differs", patched)
			}
		}
	})
}
