package orc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// readFooter decodes the footer of stripe i, as the reader does.
func readFooter(t *testing.T, f *File, i int) stripeFooterProto {
	t.Helper()
	info := f.Stripe(i)
	raw := make([]byte, info.FooterLength)
	if err := f.readAt(raw, info.Offset+info.IndexLength+info.DataLength); err != nil {
		t.Fatal(err)
	}
	buf, err := f.codec.decompress(raw)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := parseStripeFooter(buf)
	if err != nil {
		t.Fatal(err)
	}
	return sf
}

// streamsOf returns the kinds and lengths of column id's streams in sf.
func streamsOf(sf stripeFooterProto, id int) map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, s := range sf.streams {
		if int(s.column) == id {
			out[s.kind] = s.length
		}
	}
	return out
}

// layoutBatch makes n rows of a schema of two string columns (one null
// on every row), a long column with rare huge values, and a boolean
// column without nulls.
func layoutBatch(schema *Type, r *rand.Rand, first, n int) *Batch {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k/%06d/%x", first+i, r.Uint32())
	}
	size := &Column{Type: schema.Children[2], Len: n, Int64: make([]int64, n)}
	flag := &Column{Type: schema.Children[3], Len: n, Bool: make([]bool, n)}
	for i := range n {
		size.Int64[i] = 1000 + r.Int64N(4000)
		if r.IntN(40) == 0 {
			size.Int64[i] = 5<<30 + r.Int64N(1<<40)
		}
		flag.Bool[i] = r.IntN(3) == 0
	}
	return &Batch{NumRows: n, Names: schema.FieldNames, Columns: []*Column{
		stringCol(schema.Children[0], keys, nil),
		stringCol(schema.Children[1], make([]string, n), slices.Repeat([]bool{true}, n)),
		size, flag,
	}}
}

// TestWriterLayouts writes the layouts the Java writer produces for
// inventory schemas and reads them back: every codec, small compression
// blocks, several stripes, columns null on every row stored as empty
// dictionaries, PRESENT streams left out or always written, direct and
// dictionary strings, and PATCHED_BASE integers. It also checks in the
// stripe footers that each layout is what was asked for.
func TestWriterLayouts(t *testing.T) {
	schema, err := NewSchema(Field{"key", String}, Field{"object_lock_mode", String}, Field{"size", Long}, Field{"is_latest", Boolean})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts WriterOptions
	}{
		{"zlib", WriterOptions{}},
		{"snappy", WriterOptions{Compression: CompressionSnappy}},
		{"zstd", WriterOptions{Compression: CompressionZstd}},
		{"lz4", WriterOptions{Compression: CompressionLZ4}},
		{"none", WriterOptions{NoCompression: true}},
		{"zlib small blocks", WriterOptions{BlockSize: 64, StripeRows: 700}},
		{"lz4 small blocks", WriterOptions{Compression: CompressionLZ4, BlockSize: 100, StripeRows: 700}},
		{"snappy small blocks", WriterOptions{Compression: CompressionSnappy, BlockSize: 256, StripeRows: 700}},
		{"zstd small blocks", WriterOptions{Compression: CompressionZstd, BlockSize: 1000, StripeRows: 700}},
		{"empty dictionaries", WriterOptions{EmptyDictionaries: true, StripeRows: 1000}},
		{"all dictionaries", WriterOptions{EmptyDictionaries: true, DictionaryThreshold: 1, StripeRows: 1000}},
		{"always present", WriterOptions{AlwaysPresent: true, StripeRows: 1000}},
		{"patched base", WriterOptions{PatchedBase: true, Compression: CompressionZstd}},
		{"java", WriterOptions{EmptyDictionaries: true, PatchedBase: true, StripeRows: 1000, BlockSize: 1 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rows = 2500
			r := rand.New(rand.NewPCG(3, 4))
			var in []*Batch
			var buf bytes.Buffer
			w, err := NewWriter(&buf, schema, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for first := 0; first < rows; first += 999 {
				b := layoutBatch(schema, r, first, min(999, rows-first))
				in = append(in, b)
				if err := w.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			compareRoundTrip(t, data, schema, in, rows)
			f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := tc.opts.withDefaults()
			if f.Compression() != o.Compression || (o.Compression != CompressionNone && f.CompressionBlockSize() != o.BlockSize) {
				t.Fatalf("compression %v/%d, want %v/%d", f.Compression(), f.CompressionBlockSize(), o.Compression, o.BlockSize)
			}
			if want := (rows + o.StripeRows - 1) / o.StripeRows; f.NumStripes() != want {
				t.Fatalf("%d stripes, want %d", f.NumStripes(), want)
			}
			patched := false
			for s := range f.NumStripes() {
				sf := readFooter(t, f, s)
				// The all-null string column.
				enc, streams := sf.encodings[2], streamsOf(sf, 2)
				if o.EmptyDictionaries {
					if enc.kind != encDictionaryV2 || enc.dictSize != 0 {
						t.Fatalf("stripe %d: all-null column encoded %d with %d entries, want an empty DICTIONARY_V2", s, enc.kind, enc.dictSize)
					}
					for _, k := range []uint64{streamData, streamLength, streamDictionaryData} {
						if l, ok := streams[k]; !ok || l != 0 {
							t.Fatalf("stripe %d: all-null column's %s stream: present %v, %d bytes; want listed and empty", s, streamName(k), ok, l)
						}
					}
				} else if enc.kind != encDirectV2 {
					t.Fatalf("stripe %d: all-null column encoded %d, want DIRECT_V2", s, enc.kind)
				}
				if _, ok := streams[streamPresent]; !ok {
					t.Fatalf("stripe %d: all-null column has no PRESENT stream", s)
				}
				// The keys: distinct, so direct unless every column is a dictionary.
				if k := sf.encodings[1].kind; (k == encDictionaryV2) != (o.DictionaryThreshold >= 1) {
					t.Fatalf("stripe %d: key column encoded %d", s, k)
				}
				// The columns without nulls.
				for _, id := range []int{1, 3, 4} {
					if _, ok := streamsOf(sf, id)[streamPresent]; ok != o.AlwaysPresent {
						t.Fatalf("stripe %d column %d: PRESENT stream %v, want %v", s, id, ok, o.AlwaysPresent)
					}
				}
				if o.PatchedBase {
					patched = patched || hasPatchedRun(t, f, s, sf, 3)
				}
			}
			if o.PatchedBase && !patched {
				t.Fatal("no PATCHED_BASE run in the size column")
			}
		})
	}
}

// hasPatchedRun reports whether the DATA stream of integer column id in
// stripe s holds a PATCHED_BASE run.
func hasPatchedRun(t *testing.T, f *File, s int, sf stripeFooterProto, id int) bool {
	t.Helper()
	pos := f.Stripe(s).Offset
	for _, st := range sf.streams {
		if int(st.column) == id && st.kind == streamData {
			raw := make([]byte, st.length)
			if err := f.readAt(raw, pos); err != nil {
				t.Fatal(err)
			}
			data, err := f.codec.decompress(raw)
			if err != nil {
				t.Fatal(err)
			}
			return runKinds(t, data, int(f.Stripe(s).NumRows))[rlePatchedBase] > 0
		}
		pos += int64(st.length)
	}
	t.Fatalf("stripe %d has no DATA stream for column %d", s, id)
	return false
}

// runKinds counts the RLE v2 runs of each sub-encoding in an integer
// stream, walking the run headers.
func runKinds(t *testing.T, data []byte, n int) map[int]int {
	t.Helper()
	out := map[int]int{}
	packed := func(count, w int) int { return (count*w + 7) / 8 }
	values := 0
	for pos := 0; pos < len(data); {
		b := data[pos]
		kind := int(b >> 6)
		out[kind]++
		if kind == rleShortRepeat {
			values += int(b&7) + 3
			pos += 1 + int(b>>3&7) + 1
			continue
		}
		w := widthTable[b>>1&0x1f]
		l := (int(b&1)<<8 | int(data[pos+1])) + 1
		values += l
		switch kind {
		case rleDirect:
			pos += 2 + packed(l, w)
		case rlePatchedBase:
			bw := int(data[pos+2]>>5) + 1
			pw := widthTable[data[pos+2]&0x1f]
			pgw := int(data[pos+3]>>5) + 1
			pll := int(data[pos+3] & 0x1f)
			pos += 4 + bw + packed(l, w) + packed(pll, closestFixedBits(pw+pgw))
		case rleDelta:
			if b>>1&0x1f == 0 {
				w = 0
			}
			_, p, err := readUvarint(data, pos+2)
			if err != nil {
				t.Fatal(err)
			}
			_, p, err = readUvarint(data, p)
			if err != nil {
				t.Fatal(err)
			}
			pos = p + packed(max(l-2, 0), w)
		}
	}
	if values != n {
		t.Fatalf("runs hold %d values, want %d", values, n)
	}
	return out
}
