package orc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds returns the small sample files, the layout fixtures and small
// written files.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	var files []string
	for _, pattern := range []string{"*.orc", "corrupt/*.orc"} {
		found, _ := filepath.Glob(filepath.Join(testdataDir, pattern))
		files = append(files, found...)
	}
	// The inventory layouts of gen (../testdata/layouts): empty
	// dictionaries, every codec, small blocks, patched runs.
	layouts, _ := filepath.Glob(filepath.Join("..", "testdata", "layouts", "*.orc"))
	files = append(files, layouts...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		// demo-12-zlib.orc is small but holds 1.9M rows: too slow to fuzz.
		if err == nil && len(data) <= 64<<10 && !strings.HasPrefix(filepath.Base(f), "demo-") {
			seeds = append(seeds, data)
		}
	}
	schema := inventorySchema(t)
	for _, opts := range []*WriterOptions{nil, {NoCompression: true, BlockSize: 1024}} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(inventoryBatch(schema, rand.New(rand.NewPCG(3, 4)), 0, 50, true)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	return seeds
}

// FuzzOpenAndRead checks that no input makes Open or ReadStripe panic or
// hang, that failures are typed, and that a small input cannot make the
// reader allocate without bound.
func FuzzOpenAndRead(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		st := time.Now()
		err := readAll(data, &Options{MaxStripeRows: 1 << 20})
		if d := time.Since(st); d > 10*time.Second {
			t.Fatalf("reading %d bytes took %v", len(data), d)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) && !errors.Is(err, ErrUnsupportedCompression) && !errors.Is(err, ErrUnsupportedType) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
		// Decoded data can legitimately expand (compression, RLE), but a
		// few-KB input must not claim hundreds of MB.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<20 {
			t.Fatalf("reading %d bytes allocated %d MB", len(data), grew>>20)
		}
	})
}

// TestLyingLengths patches counts in a valid file and checks the reader
// refuses them before allocating.
func TestLyingLengths(t *testing.T) {
	seeds := fuzzSeeds(t)
	r := rand.New(rand.NewPCG(9, 9))
	for _, seed := range seeds {
		for range 40 {
			data := bytes.Clone(seed)
			// overwrite a few bytes with large varint-ish values
			for range 1 + r.IntN(3) {
				p := r.IntN(len(data))
				data[p] = byte(0x80 | r.IntN(128))
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_ = readAll(data, nil)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<20 {
				t.Fatalf("mutated %d-byte file allocated %d MB", len(data), grew>>20)
			}
		}
	}
}
