package report

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDistinctCounter counts hashes with many repeats against a map, in
// memory and with batches small enough to spill many runs (more than one
// merge pass).
func TestDistinctCounter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		space uint64 // hashes are drawn from [0, space)
		limit int
	}{
		{"empty", 0, 10, 0},
		{"in memory", 5000, 3000, 0},
		{"spills", 200_000, 150_000, 8 << 10},
		{"all distinct", 100_000, 1 << 62, 4 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDistinctCounter(t.TempDir(), tc.limit)
			defer d.close()
			r := rand.New(rand.NewPCG(1, 2))
			seen := map[uint64]bool{}
			for range tc.n {
				h := r.Uint64N(tc.space)
				seen[h] = true
				if err := d.add(h); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.count(context.Background())
			if err != nil || got != int64(len(seen)) {
				t.Errorf("count = %d, %v; want %d", got, err, len(seen))
			}
			if runs := d.sorter.Stats().Runs; tc.limit > 0 && tc.n > 0 && runs < 2 {
				t.Errorf("only %d runs spilled", runs)
			}
		})
	}
}

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 100, 5000} {
		a := make([]uint64, n)
		for i := range a {
			a[i] = r.Uint64() >> (r.UintN(64)) // values of every width, with repeats
		}
		want := slices.Clone(a)
		slices.Sort(want)
		radixSort(a, make([]uint64, n))
		if !slices.Equal(a, want) {
			t.Fatalf("%d values: not sorted", n)
		}
	}
}

// BenchmarkDistinctCounter measures counting 1M distinct object hashes
// with the default memory (spilling runs).
func BenchmarkDistinctCounter(b *testing.B) {
	const n = 1_000_000
	hs := make([]uint64, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range hs {
		hs[i] = r.Uint64()
	}
	b.ReportAllocs()
	dir := b.TempDir()
	for b.Loop() {
		d := newDistinctCounter(dir, 0)
		for _, h := range hs {
			if err := d.add(h); err != nil {
				b.Fatal(err)
			}
		}
		got, err := d.count(context.Background())
		if err != nil || got != n {
			b.Fatalf("%d %v", got, err)
		}
		d.close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/hash")
}
