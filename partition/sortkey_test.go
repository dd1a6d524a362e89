package partition

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// TestSortKeyRoundTripAndOrder encodes random rows (NUL bytes, empty and
// null values, buckets and classes in and out of the dictionaries) and
// checks that each key decodes to its row and that keys order as the
// reference order does (refSort's comparison).
func TestSortKeyRoundTripAndOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 9))
	strs := []string{"", "a", "a\x00", "a\x00b", "\x00", "\xff", "b", "ab", "STANDARD", "GLACIER"}
	ints := []int64{math.MinInt64, -1 << 40, -256, -1, 1, 2, 255, 256, 1 << 40, 1_700_000_000_000, math.MaxInt64}
	rows := make([]prow, 3000)
	for i := range rows {
		rows[i] = prow{
			Bucket:  []string{"b1", "b0", "b2", "", "b\x00"}[rnd.IntN(5)],
			Key:     strs[rnd.IntN(len(strs))] + strs[rnd.IntN(len(strs))],
			Version: strs[rnd.IntN(len(strs))], Latest: rnd.IntN(2) == 0,
			Modified: int64(rnd.IntN(5)) * 1000 * int64(1-2*rnd.IntN(2)), Size: rnd.Int64N(5) - 2,
			Class: strs[rnd.IntN(len(strs))],
		}
		if i%3 == 0 {
			rows[i].Size, rows[i].Modified = ints[rnd.IntN(len(ints))], ints[rnd.IntN(len(ints))]
		}
	}
	rec := makeBatch(t, rows, sortTestFields)
	defer rec.Release()
	cs := newCols(rec, sortTestFields)
	sc := newSortCodec(sortTestFields)
	// The dictionaries see only the first rows: later values are spelled
	// out.
	sc.setup(&cs, []int32{0, 1, 2, 3}, []string{"b1"})
	keys := make([][]byte, len(rows))
	var d sortRow
	for i := range rows {
		keys[i] = sc.encode(nil, &cs, i)
		if err := sc.decode(keys[i], &d); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		got := prow{Bucket: string(d.str[inventory.Bucket]), Key: string(d.str[inventory.Key]), Version: string(d.str[inventory.VersionID]),
			Latest: d.bools[inventory.IsLatest], Size: d.ints[inventory.Size], Class: string(d.strOrNil(inventory.StorageClass))}
		if d.valid[inventory.LastModifiedDate] {
			got.Modified = d.ints[inventory.LastModifiedDate]
		}
		if got != rows[i] {
			t.Fatalf("row %d decodes to %+v, want %+v", i, got, rows[i])
		}
	}
	// Order: the keys' byte order against refSort's (which keeps the
	// first of each object; compare the order of the unique rows).
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	byKey := make([]prow, len(rows))
	for i, j := range idx {
		byKey[i] = rows[j]
	}
	want, _ := refSort(rows)
	var got []prow
	for i, r := range byKey {
		if i > 0 && r.Bucket == byKey[i-1].Bucket && r.Key == byKey[i-1].Key && r.Version == byKey[i-1].Version {
			continue
		}
		got = append(got, r)
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("row %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
}
