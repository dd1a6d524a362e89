package report

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRecSorter sorts random records of random lengths with memory limits
// from none to a few bytes (a run per record, more runs than one merge
// takes) and checks the order, the stability and that no file is left.
func TestRecSorter(t *testing.T) {
	// A record: a 2-byte key (few values, so many ties), then its serial
	// number, then filler. cmp looks at the key only.
	cmpKey := func(a, b []byte) int { return bytes.Compare(a[:2], b[:2]) }
	for _, tt := range []struct {
		name  string
		n     int
		limit int
	}{
		{"empty", 0, 0},
		{"in memory", 1000, 0},
		{"a few runs", 1000, 4 << 10},
		{"a run per record", 300, 1},
		{"runs merged in two passes", 3000, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(uint64(tt.n), 7))
			s := newRecSorter(dir, tt.limit, cmpKey)
			var want [][]byte
			for i := 0; i < tt.n; i++ {
				rec := []byte{byte(rng.IntN(4)), byte(rng.IntN(256))}
				rec = binary.BigEndian.AppendUint32(rec, uint32(i))
				rec = append(rec, bytes.Repeat([]byte{'x'}, rng.IntN(40))...)
				want = append(want, rec)
				if err := s.add(rec); err != nil {
					t.Fatal(err)
				}
			}
			if tt.limit > 0 && tt.n > 0 && len(s.runs) == 0 {
				t.Fatalf("no run spilled with a limit of %d bytes", tt.limit)
			}
			slices.SortStableFunc(want, cmpKey)
			it, err := s.iter()
			if err != nil {
				t.Fatal(err)
			}
			if len(s.runs) >= maxFanIn {
				t.Errorf("%d runs merged at once", len(s.runs))
			}
			var got [][]byte
			for it.next() {
				got = append(got, bytes.Clone(it.rec))
			}
			if it.err != nil {
				t.Fatal(it.err)
			}
			it.close()
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("record %d: %x, want %x (order or stability)", i, got[i], want[i])
				}
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

func TestRecSorterSpillError(t *testing.T) {
	s := newRecSorter(filepath.Join(t.TempDir(), "missing"), 8, bytes.Compare)
	defer s.close()
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = s.add([]byte("0123456789"))
	}
	if !errors.Is(err, ErrSpill) {
		t.Fatalf("err = %v, want ErrSpill", err)
	}
}

func TestRecSorterCorruptRun(t *testing.T) {
	s := newRecSorter(t.TempDir(), 8, bytes.Compare)
	defer s.close()
	for i := 0; i < 3; i++ {
		if err := s.add([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(s.runs[0], 5); err != nil {
		t.Fatal(err)
	}
	it, err := s.iter()
	if err == nil {
		for it.next() {
		}
		err = it.err
		it.close()
	}
	if !errors.Is(err, ErrSpill) {
		t.Fatalf("err = %v, want ErrSpill", err)
	}
}

func TestHashFilter(t *testing.T) {
	const n = 100_000
	f := newHashFilter(n)
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]uint64, n)
	for i := range in {
		in[i] = objectHash([]byte("b"), binary.LittleEndian.AppendUint64(nil, rng.Uint64()), nil)
		f.add(in[i])
	}
	for _, h := range in {
		if !f.has(h) {
			t.Fatalf("added hash %x not found", h)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.has(objectHash([]byte("other"), binary.LittleEndian.AppendUint64(nil, uint64(i)), nil)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.01 {
		t.Errorf("false positive rate %.4f (fill %.2f), want under 1%%", rate, f.fill())
	}
	if got := len(newHashFilter(1<<40).words) * 8; got != maxFilterBytes {
		t.Errorf("filter for 2^40 objects takes %d bytes, want the bound %d", got, maxFilterBytes)
	}
}
