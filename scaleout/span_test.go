package scaleout

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/s3batchkit/s3batchkit/diff"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestMappedSpanHoldsEveryKey: for random key mappings, split keys and
// target units, every target key a unit can hold falls, once mapped as a
// distributed diff maps it (rangeKeys, as the scatter and diff.Range do),
// in a range of the unit's span; so a range reading directly never misses
// a row of its own. Keys are every string of up to 4 letters of a small
// alphabet, which includes the prefixes' own letters and the highest
// byte of one-byte UTF-8. Invalid UTF-8 mappings are refused: skipped.
func TestMappedSpanHoldsEveryKey(t *testing.T) {
	alphabet := []byte{'/', 'a', 'b', 'z', 0x7f}
	var all [][]byte
	var grow func(p []byte)
	grow = func(p []byte) {
		all = append(all, p)
		if len(p) < 4 {
			for _, c := range alphabet {
				grow(append(slices.Clip(p), c))
			}
		}
	}
	grow(nil)
	slices.SortFunc(all, bytes.Compare)
	rng := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	checked := 0
	for trial := 0; trial < 400; trial++ {
		var maps []diff.Mapping
		for range rng.IntN(3) + 1 {
			maps = append(maps, diff.Mapping{Source: word(2), Target: word(2)})
		}
		if _, err := diff.NewKeyMap(maps); err != nil {
			continue // refused before any split
		}
		r := &manifest.Ranges{Kind: KindDiff, Options: map[string]any{"diff": map[string]any{"maps": maps}}}
		for range rng.IntN(5) {
			r.Splits = append(r.Splits, manifest.SplitKey{Key: word(4)})
		}
		slices.SortFunc(r.Splits, func(a, b manifest.SplitKey) int { return a.Compare(b) })
		r.Ranges = make([]manifest.RangeDetail, len(r.Splits)+1)
		km, err := diff.NewKeyMap(maps)
		if err != nil {
			t.Fatal(err)
		}
		rangeKey, err := rangeKeys(r, 1)
		if err != nil {
			t.Fatal(err)
		}
		span := mappedSpan(km)
		for range 20 {
			i, j := rng.IntN(len(all)), rng.IntN(len(all))
			if i > j {
				i, j = j, i
			}
			u := &inventory.UnitStats{Rows: 1, Known: true, MinBucket: []byte("b"), MaxBucket: []byte("b"), MinKey: all[i], MaxKey: all[j]}
			lo, hi := span(u, r)
			for _, k := range all[i : j+1] {
				if got := r.RangeOf(rangeKey(nil, k)); got < lo || got > hi {
					t.Fatalf("maps %v, splits %v: key %q of unit [%q, %q] falls in range %d, the span is %d..%d", maps, r.Splits, k, u.MinKey, u.MaxKey, got, lo, hi)
				}
				checked++
			}
		}
	}
	if checked < 10_000 {
		t.Fatalf("only %d keys checked", checked)
	}
}

// TestScatterSlicesSpreadFiles: files of about equal size, as many as the
// slices, go one to a slice (each by its middle byte), and the slices of
// files of any sizes follow the files' order.
func TestScatterSlicesSpreadFiles(t *testing.T) {
	for _, tc := range []struct {
		sizes  []int64
		slices int
		want   []int
	}{
		{[]int64{1000, 1001, 999, 1000, 1000, 1002, 998, 1000}, 8, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{[]int64{1000, 999, 1000, 1001}, 4, []int{0, 1, 2, 3}}, // by each file's start: 0, 1, 1, 2
		{[]int64{1000, 1000, 1000, 1000}, 2, []int{0, 0, 1, 1}},
		{[]int64{10, 10, 5000, 10}, 3, []int{0, 0, 1, 2}},
		{[]int64{0, 0, 0}, 3, []int{0, 1, 2}},
	} {
		m := &inventory.Manifest{Location: "m.json", Format: inventory.FormatCSV}
		in := &splitInput{m: m, rows: -1}
		for _, size := range tc.sizes {
			m.Files = append(m.Files, inventory.DataFile{Key: "f", Size: size})
			in.stats = append(in.stats, &inventory.FileStats{Unit: inventory.UnitFile, Rows: -1})
		}
		r := &manifest.Ranges{Splits: []manifest.SplitKey{{Key: "m"}}}
		layout(r, []int64{0, 0}, []*splitInput{in}, []spanFunc{span}, ModeShuffle, tc.slices, &SplitResult{})
		var got []int
		for _, f := range r.Inputs[0].Files {
			got = append(got, f.VerifiedBy)
		}
		if !slices.Equal(got, tc.want) || r.Slices != tc.slices {
			t.Errorf("sizes %v in %d slices: %v (%d slices), want %v", tc.sizes, tc.slices, got, r.Slices, tc.want)
		}
	}
}
