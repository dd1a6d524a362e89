package partition

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// prow is one test row.
type prow struct {
	Bucket, Key, Version string
	Latest               bool
	Modified             int64 // ms; 0 = null
	Size                 int64
	Class                string
}

var sortTestFields = inventory.Fields(inventory.Bucket, inventory.Key, inventory.VersionID, inventory.IsLatest,
	inventory.Size, inventory.LastModifiedDate, inventory.StorageClass)

func makeBatch(t testing.TB, rows []prow, set inventory.FieldSet) arrow.RecordBatch {
	t.Helper()
	b := inventory.NewBatchBuilder(set, len(rows))
	for _, r := range rows {
		for _, f := range set.List() {
			switch f {
			case inventory.Bucket:
				b.AppendString(f, []byte(r.Bucket))
			case inventory.Key:
				b.AppendString(f, []byte(r.Key))
			case inventory.VersionID:
				if r.Version == "" {
					b.AppendNull(f)
				} else {
					b.AppendString(f, []byte(r.Version))
				}
			case inventory.IsLatest:
				b.AppendBool(f, r.Latest)
			case inventory.Size:
				b.AppendInt(f, r.Size)
			case inventory.LastModifiedDate:
				if r.Modified == 0 {
					b.AppendNull(f)
				} else {
					b.AppendInt(f, r.Modified)
				}
			case inventory.StorageClass:
				if r.Class == "" {
					b.AppendNull(f)
				} else {
					b.AppendString(f, []byte(r.Class))
				}
			default:
				b.AppendNull(f)
			}
		}
		b.EndRow()
	}
	return b.Build()
}

// randomRows makes n rows over few buckets and keys, with versions,
// equal timestamps, null timestamps, non-ASCII keys and exact duplicates.
func randomRows(seed uint64, n int) []prow {
	rnd := rand.New(rand.NewPCG(seed, 7))
	keys := []string{"a", "a/b", "a/b/c", "ä", "日本", "a b", "z", "A", "a+", "~"}
	rows := make([]prow, 0, n)
	for len(rows) < n {
		if len(rows) > 0 && rnd.IntN(10) == 0 {
			rows = append(rows, rows[rnd.IntN(len(rows))]) // a duplicate
			continue
		}
		r := prow{
			Bucket:   []string{"b1", "b2", "b0"}[rnd.IntN(3)],
			Key:      fmt.Sprintf("%s/%03d", keys[rnd.IntN(len(keys))], rnd.IntN(200)),
			Version:  fmt.Sprintf("v%02d", rnd.IntN(40)),
			Latest:   rnd.IntN(3) == 0,
			Modified: int64(1 + rnd.IntN(5)*1000),
			Size:     rnd.Int64N(1000),
			Class:    "STANDARD",
		}
		if rnd.IntN(20) == 0 {
			r.Modified = 0
		}
		if rnd.IntN(20) == 0 {
			r.Version = ""
		}
		rows = append(rows, r)
	}
	return rows
}

// refSort is the order the sorter must produce, written independently:
// a stable sort by bucket, key, last modified descending (null last),
// current first, version id; then the first of each (bucket, key,
// version) kept.
func refSort(rows []prow) (out []prow, dups int) {
	s := append([]prow(nil), rows...)
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Bucket != b.Bucket {
			return a.Bucket < b.Bucket
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if am, bm := a.Modified, b.Modified; am != bm {
			// Newest first, unknown (0) last.
			switch {
			case am == 0:
				return false
			case bm == 0:
				return true
			}
			return am > bm
		}
		if a.Latest != b.Latest {
			return a.Latest
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		// Duplicates: by the other columns in field order (Size, then
		// StorageClass; a null class, "", first).
		if a.Size != b.Size {
			return a.Size < b.Size
		}
		return a.Class < b.Class
	})
	for i, r := range s {
		if i > 0 && r.Bucket == s[i-1].Bucket && r.Key == s[i-1].Key && r.Version == s[i-1].Version {
			dups++
			continue
		}
		out = append(out, r)
	}
	return out, dups
}

func readRows(rec arrow.RecordBatch, set inventory.FieldSet) []prow {
	c := newCols(rec, set)
	out := make([]prow, rec.NumRows())
	for i := range out {
		r := &out[i]
		r.Bucket = string(c.str(inventory.Bucket, i))
		r.Key = string(c.str(inventory.Key, i))
		r.Version = string(c.str(inventory.VersionID, i))
		r.Latest, _ = c.boolean(inventory.IsLatest, i)
		r.Modified, _ = c.int(inventory.LastModifiedDate, i)
		r.Size, _ = c.int(inventory.Size, i)
		r.Class = string(c.str(inventory.StorageClass, i))
	}
	return out
}

// runSort feeds rows to a sorter in batches of batchRows, selecting every
// other row of a doubled batch to exercise selection vectors.
func runSort(t *testing.T, rows []prow, o SortOptions, batchRows int) ([]prow, SortStats) {
	t.Helper()
	ctx := context.Background()
	s := NewSorter(o)
	defer s.Close()
	for i := 0; i < len(rows); i += batchRows {
		chunk := rows[i:min(i+batchRows, len(rows))]
		// Interleave junk rows that the selection skips.
		var withJunk []prow
		var sel []int32
		for _, r := range chunk {
			withJunk = append(withJunk, prow{Bucket: "junk", Key: "junk"}, r)
			sel = append(sel, int32(len(withJunk)-1))
		}
		rec := makeBatch(t, withJunk, sortTestFields)
		// Each Add gets a context that ends when it returns, as a scan's
		// errgroup context does: a spill it started must not depend on it.
		addCtx, cancel := context.WithCancel(ctx)
		err := s.Add(addCtx, rec, sortTestFields, sel)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	var got []prow
	st, err := s.Finish(ctx, func(rec arrow.RecordBatch) error {
		got = append(got, readRows(rec, s.Fields())...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestSorterMatchesReference(t *testing.T) {
	rows := randomRows(1, 20000)
	want, wantDups := refSort(rows)
	tests := []struct {
		name      string
		memory    int64
		batchRows int
		wantRuns  bool
	}{
		{"in memory", 1 << 30, 1000, false},
		{"spilled runs, one merge pass", 256 << 10, 700, true},
		{"many tiny runs, multi-pass merge", 24 << 10, 97, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			got, st := runSort(t, rows, SortOptions{Memory: tt.memory, TmpDir: tmp, Fields: sortTestFields, BatchRows: 128}, tt.batchRows)
			if (st.Runs > 1) != tt.wantRuns {
				t.Errorf("runs = %d, want spilled=%v", st.Runs, tt.wantRuns)
			}
			if st.Duplicates != int64(wantDups) {
				t.Errorf("duplicates = %d, want %d", st.Duplicates, wantDups)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			t.Logf("runs %d, passes %d, spill %d bytes", st.Runs, st.Passes, st.SpillBytes)
			ents, _ := os.ReadDir(tmp)
			// The spill folder is removed by Close (deferred in runSort).
			if len(ents) != 0 {
				t.Errorf("temp dir not cleaned: %v", ents)
			}
		})
	}
}

func TestSorterDedupe(t *testing.T) {
	rows := []prow{
		{Bucket: "b", Key: "k", Version: "v1", Modified: 2000, Size: 1, Latest: true},
		{Bucket: "b", Key: "k", Version: "v2", Modified: 1000, Size: 2},
		{Bucket: "b", Key: "k", Version: "v1", Modified: 2000, Size: 3, Latest: true}, // duplicate of the first: dropped (the larger size)
		{Bucket: "c", Key: "k", Version: "v1", Modified: 2000, Size: 4},               // other bucket: kept
		{Bucket: "b", Key: "k", Version: "", Modified: 500, Size: 5},                  // null version
		{Bucket: "b", Key: "k", Version: "", Modified: 500, Size: 6},                  // duplicate null version
	}
	for _, mem := range []int64{1 << 30, 1 << 10} {
		t.Run(fmt.Sprint(mem), func(t *testing.T) {
			got, st := runSort(t, rows, SortOptions{Memory: mem, TmpDir: t.TempDir(), Fields: sortTestFields, BatchRows: 2}, 1)
			var sizes []int64
			for _, r := range got {
				sizes = append(sizes, r.Size)
			}
			if want := []int64{1, 2, 5, 4}; !reflect.DeepEqual(sizes, want) {
				t.Errorf("kept sizes %v, want %v (the smallest duplicate wins)", sizes, want)
			}
			if st.Duplicates != 2 {
				t.Errorf("duplicates = %d, want 2", st.Duplicates)
			}
		})
	}
}

// TestSorterOrderIndependent adds the same rows, rich in duplicates that
// differ in their other columns, in several orders and batch sizes, in
// memory and spilled: the output must be the same every time, since
// plan and diff add batches in the order the workers read them.
func TestSorterOrderIndependent(t *testing.T) {
	base := randomRows(5, 3000)
	// Make a third of the rows duplicates of others that differ in size
	// or storage class.
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range base {
		if i%3 == 0 && i > 0 {
			d := base[rng.IntN(i)]
			switch rng.IntN(3) {
			case 0:
				d.Size++
			case 1:
				d.Class = "GLACIER"
			case 2:
				d.Class = ""
			}
			base[i] = d
		}
	}
	var first []prow
	for trial := 0; trial < 6; trial++ {
		rows := slices.Clone(base)
		if trial > 0 {
			rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		}
		mem := int64(1 << 30)
		if trial%2 == 1 {
			mem = 48 << 10
		}
		got, st := runSort(t, rows, SortOptions{Memory: mem, TmpDir: t.TempDir(), Fields: sortTestFields, BatchRows: 64}, 1+trial*37)
		if trial%2 == 1 && st.Runs < 2 {
			t.Fatalf("trial %d: %d runs, want a spilled sort", trial, st.Runs)
		}
		if trial == 0 {
			first = got
			want, _ := refSort(base)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trial 0 differs from the reference")
			}
			continue
		}
		if !reflect.DeepEqual(got, first) {
			for i := range min(len(got), len(first)) {
				if got[i] != first[i] {
					t.Fatalf("trial %d: row %d = %+v, want %+v", trial, i, got[i], first[i])
				}
			}
			t.Fatalf("trial %d: %d rows, want %d", trial, len(got), len(first))
		}
	}
}

// TestSorterProgress checks that a spilled sort counts its final merge:
// every row added, duplicates included, is merged.
func TestSorterProgress(t *testing.T) {
	rows := randomRows(3, 5000)
	p := &inventory.Progress{}
	_, st := runSort(t, rows, SortOptions{Memory: 64 << 10, TmpDir: t.TempDir(), Fields: sortTestFields, BatchRows: 64, Progress: p}, 100)
	if st.Runs < 2 {
		t.Fatalf("%d runs, want a spilled sort", st.Runs)
	}
	if p.Merging.Load() != int64(len(rows)) || p.Merged.Load() != int64(len(rows)) {
		t.Errorf("merging %d, merged %d, want %d and %d", p.Merging.Load(), p.Merged.Load(), len(rows), len(rows))
	}
}

func TestSorterCleansUpOnCancel(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s := NewSorter(SortOptions{Memory: 16 << 10, TmpDir: tmp, Fields: sortTestFields, BatchRows: 64})
	rows := randomRows(2, 5000)
	rec := makeBatch(t, rows, sortTestFields)
	defer rec.Release()
	sel := make([]int32, 0, len(rows))
	for i := range rows {
		sel = append(sel, int32(i))
	}
	for i := 0; i < 4; i++ {
		if err := s.Add(ctx, rec, sortTestFields, sel); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	_, err := s.Finish(ctx, func(arrow.RecordBatch) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish after cancel = %v, want context.Canceled", err)
	}
	s.Close()
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spill files left after cancel: %v", ents)
	}
}

func TestSorterSpillErrorIsClear(t *testing.T) {
	s := NewSorter(SortOptions{Memory: 16 << 10, TmpDir: "/nonexistent/dir", Fields: sortTestFields})
	defer s.Close()
	rows := randomRows(3, 5000)
	rec := makeBatch(t, rows, sortTestFields)
	defer rec.Release()
	sel := make([]int32, len(rows))
	for i := range sel {
		sel[i] = int32(i)
	}
	// The spill runs in the background: its error shows at a later Add or
	// at Finish.
	var err error
	for i := 0; i < 4 && err == nil; i++ {
		err = s.Add(context.Background(), rec, sortTestFields, sel)
	}
	if err == nil {
		_, err = s.Finish(context.Background(), func(arrow.RecordBatch) error { return nil })
	}
	if !errors.Is(err, ErrSpill) || !strings.Contains(err.Error(), "/nonexistent/dir") {
		t.Fatalf("err = %v, want ErrSpill naming the folder", err)
	}
}

// longKeyRows makes n rows whose keys share long prefixes (deep folders,
// as in real inventories) and differ late, with NUL and 0xff bytes,
// keys that are prefixes of others, and exact duplicates: the cases the
// sort's tie breaking on later key bytes must get right.
func longKeyRows(seed uint64, n int) []prow {
	rnd := rand.New(rand.NewPCG(seed, 11))
	const long = "data/warehouse/daily/2024/01/part-0000000000000000000000000000000/"
	prefixes := []string{"", "a", "data/warehouse/daily/2024/01/part-\x00\x00", long}
	for _, n := range []int{15, 16, 17, 21, 31, 32, 33, 34, 47, 48} {
		prefixes = append(prefixes, long[:n]) // keys ending around the 16-byte steps
	}
	tails := []string{"", "\x00", "\x00\x00", "x", "\xff", "0", "00", "01", "1", "a/b", "a/b/c.parquet"}
	rows := make([]prow, 0, n)
	for len(rows) < n {
		if len(rows) > 0 && rnd.IntN(8) == 0 {
			rows = append(rows, rows[rnd.IntN(len(rows))])
			continue
		}
		key := prefixes[rnd.IntN(len(prefixes))]
		for k := rnd.IntN(4); k > 0; k-- {
			key += tails[rnd.IntN(len(tails))]
		}
		r := prow{
			Bucket:   []string{"b1", "b0"}[rnd.IntN(2)],
			Key:      key,
			Version:  fmt.Sprintf("v%d", rnd.IntN(4)),
			Latest:   rnd.IntN(2) == 0,
			Modified: int64(1 + rnd.IntN(3)*1000),
			Size:     int64(len(rows)),
		}
		if rnd.IntN(10) == 0 {
			r.Modified = 0
		}
		rows = append(rows, r)
	}
	return rows
}

func TestSorterLongSharedPrefixes(t *testing.T) {
	rows := longKeyRows(5, 6000)
	want, wantDups := refSort(rows)
	for _, mem := range []int64{1 << 30, 64 << 10} {
		t.Run(fmt.Sprint(mem), func(t *testing.T) {
			got, st := runSort(t, rows, SortOptions{Memory: mem, TmpDir: t.TempDir(), Fields: sortTestFields, BatchRows: 100}, 500)
			if st.Duplicates != int64(wantDups) {
				t.Errorf("duplicates = %d, want %d", st.Duplicates, wantDups)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestSorterMergeStopsOnConsumerError checks that an error from the
// consumer of the merged rows (which runs apart from the merging
// goroutine) ends Finish with that error and leaves nothing behind.
func TestSorterMergeStopsOnConsumerError(t *testing.T) {
	tmp := t.TempDir()
	s := NewSorter(SortOptions{Memory: 64 << 10, TmpDir: tmp, Fields: sortTestFields, BatchRows: 64})
	rows := randomRows(5, 20000)
	rec := makeBatch(t, rows, sortTestFields)
	defer rec.Release()
	for part := 0; part < 4; part++ {
		var sel []int32
		for i := part; i < len(rows); i += 4 {
			sel = append(sel, int32(i))
		}
		if err := s.Add(context.Background(), rec, sortTestFields, sel); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("consumer stops")
	seen := 0
	_, err := s.finishRows(context.Background(), func(d *sortRow) error {
		if seen++; seen == 10000 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("finishRows = %v, want the consumer's error", err)
	}
	if seen != 10000 {
		t.Errorf("consumer called %d times, want it to stop at 10000", seen)
	}
	if st := s.finalStats(); st.Runs < 2 {
		t.Fatalf("runs = %d, want a merge of spilled runs", st.Runs)
	}
	s.Close()
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spill files left: %v", ents)
	}
}
