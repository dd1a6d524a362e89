package extsort

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rec is a test record; split marks the first record of a stretch that
// may not continue the one before (Sorter.Split is called before it).
type rec struct {
	k, v  string
	split bool
}

// sortAll adds recs to a new sorter and returns what the iterator gives,
// with the sorter's stats; the sorter is closed and its folder checked
// empty.
func sortAll(t testing.TB, recs []rec, o Options) ([]rec, Stats) {
	t.Helper()
	if o.TmpDir == "" {
		o.TmpDir = t.TempDir()
	}
	s := New(o)
	for _, r := range recs {
		if r.split {
			s.Split()
		}
		if err := s.Add([]byte(r.k), []byte(r.v)); err != nil {
			s.Close()
			t.Fatal(err)
		}
	}
	it, err := s.Finish(context.Background())
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	var out []rec
	for it.Next() {
		out = append(out, rec{k: string(it.Key()), v: string(it.Value())})
	}
	if err := it.Err(); err != nil {
		s.Close()
		t.Fatal(err)
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkEmpty(t, o.TmpDir)
	return out, st
}

func checkEmpty(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("%s not cleaned up: %v", dir, ents)
	}
}

// stableRef sorts by key, ties in the order added.
func stableRef(recs []rec) []rec {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b rec) int { return bytes.Compare([]byte(a.k), []byte(b.k)) })
	return out
}

// Key generators: each returns n records whose values number them, so
// that a stable order can be checked.
func randomKeys(rnd *rand.Rand, n int) []rec {
	alpha := []string{"", "\x00", "\x00\x00", "\xff", "a", "b", "a/", "ab", "a\x00", "zz", "日本"}
	out := make([]rec, n)
	for i := range out {
		var k []byte
		for j := rnd.IntN(6); j > 0; j-- {
			k = append(k, alpha[rnd.IntN(len(alpha))]...)
		}
		out[i] = rec{k: string(k), v: fmt.Sprint(i)}
	}
	return out
}

func longPrefixKeys(rnd *rand.Rand, n int) []rec {
	const long = "bucket-name\x00\x00tenant07/year=2024/month=03/day=11/part-00000000000000000000/"
	out := make([]rec, n)
	for i := range out {
		k := long[:rnd.IntN(len(long)+1)]
		if rnd.IntN(2) == 0 {
			k = long + fmt.Sprintf("obj %09d+v%03d.parquet", rnd.IntN(n/3+1), rnd.IntN(3))
		} else if rnd.IntN(3) == 0 {
			k += string([]byte{byte(rnd.IntN(3)), byte(rnd.IntN(256))})
		}
		out[i] = rec{k: k, v: fmt.Sprint(i)}
	}
	return out
}

func dupHeavyKeys(rnd *rand.Rand, n int) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{k: fmt.Sprintf("k%d", rnd.IntN(7)), v: fmt.Sprint(i)}
	}
	return out
}

func sortedKeys(rnd *rand.Rand, n int) []rec {
	out := longPrefixKeys(rnd, n)
	out = stableRef(out)
	for i := range out {
		out[i].v = fmt.Sprint(i)
	}
	return out
}

func reversedKeys(rnd *rand.Rand, n int) []rec {
	out := sortedKeys(rnd, n)
	slices.Reverse(out)
	for i := range out {
		out[i].v = fmt.Sprint(i)
	}
	return out
}

// interleavedKeys is k sorted streams of disjoint key ranges, added
// interleaved in random stretches, as batches of several data files
// written in key order arrive.
func interleavedKeys(rnd *rand.Rand, n int) []rec {
	const k = 3
	streams := make([][]rec, k)
	for i := range n {
		f := i * k / n
		streams[f] = append(streams[f], rec{k: fmt.Sprintf("file%d/key%08d", f, i)})
	}
	var out []rec
	for {
		live := 0
		for f := range streams {
			take := min(len(streams[f]), 300+rnd.IntN(700))
			if take > 0 {
				streams[f][0].split = true
			}
			out = append(out, streams[f][:take]...)
			streams[f] = streams[f][take:]
			live += len(streams[f])
		}
		if live == 0 {
			break
		}
	}
	for i := range out {
		out[i].v = fmt.Sprint(i)
	}
	return out
}

var generators = map[string]func(*rand.Rand, int) []rec{
	"random": randomKeys, "long-prefix": longPrefixKeys, "duplicates": dupHeavyKeys,
	"sorted": sortedKeys, "reversed": reversedKeys, "interleaved": interleavedKeys,
}

// TestSortMatchesReference: every input shape, budgets from roomy to a
// few KiB (many spills, merge passes with a fan-in of 3), 1 to 3
// workers, stable and not: the output is the input sorted by key, every
// record once; stable, ties keep their order.
func TestSortMatchesReference(t *testing.T) {
	for name, gen := range generators {
		t.Run(name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, uint64(len(name))))
			recs := gen(rnd, 6000)
			want := stableRef(recs)
			for _, o := range []Options{
				{Memory: 1 << 30},
				{Memory: 1 << 30, Workers: 1, ChunkBytes: 4 << 10},
				{Memory: 64 << 10, Workers: 2},
				{Memory: 16 << 10, Workers: 3, MaxFanIn: 3},
				{Memory: 8 << 10, Workers: 1, MaxFanIn: 2, ChunkBytes: 1 << 10},
			} {
				for _, stable := range []bool{true, false} {
					o.Stable = stable
					got, st := sortAll(t, recs, o)
					if len(got) != len(want) {
						t.Fatalf("%+v: %d records, want %d", o, len(got), len(want))
					}
					if stable {
						for i := range want {
							if got[i].k != want[i].k || got[i].v != want[i].v {
								t.Fatalf("%+v: record %d = %q %q, want %q %q", o, i, got[i].k, got[i].v, want[i].k, want[i].v)
							}
						}
					} else {
						// Sorted by key; ties in any order, so compare
						// with ties put in order.
						if !slices.IsSortedFunc(got, func(a, b rec) int { return bytes.Compare([]byte(a.k), []byte(b.k)) }) {
							t.Fatalf("%+v: output not sorted", o)
						}
						gs, ws := slices.Clone(got), slices.Clone(want)
						byBoth := func(a, b rec) int {
							if c := bytes.Compare([]byte(a.k), []byte(b.k)); c != 0 {
								return c
							}
							return bytes.Compare([]byte(a.v), []byte(b.v))
						}
						slices.SortFunc(gs, byBoth)
						slices.SortFunc(ws, byBoth)
						for i := range ws {
							if gs[i].k != ws[i].k || gs[i].v != ws[i].v {
								t.Fatalf("%+v: record %d = %q %q, want %q %q", o, i, gs[i].k, gs[i].v, ws[i].k, ws[i].v)
							}
						}
					}
					if o.Memory < 1<<20 && st.Runs == 0 {
						t.Errorf("%+v: no spill at a budget of %d", o, o.Memory)
					}
					if o.MaxFanIn == 2 && st.Runs > 2 && st.Passes == 0 && (name == "random" || name == "long-prefix") {
						t.Errorf("%+v: %d runs merged with a fan-in of 2 without a pass", o, st.Runs)
					}
				}
			}
		})
	}
}

// TestPresortedInputIsNotSorted: input that arrives in order, whole or
// as interleaved sorted streams, is stored as it came and merged as one
// source (no comparisons), in memory and spilled.
func TestPresortedInputIsNotSorted(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 2))
	for name, recs := range map[string][]rec{"sorted": sortedKeys(rnd, 20000), "interleaved": interleavedKeys(rnd, 20000)} {
		for _, mem := range []int64{1 << 30, 256 << 10} {
			_, st := sortAll(t, recs, Options{Memory: mem, ChunkBytes: 64 << 10})
			wantSources := 1
			if name == "sorted" {
				wantSources = 2 // equal keys on both sides of a chunk boundary
			}
			t.Logf("%s, %d: %+v", name, mem, st)
			if st.Presorted < int64(len(recs))*9/10 {
				t.Errorf("%s, %d: %d of %d records found in order", name, mem, st.Presorted, len(recs))
			}
			if st.Sources > wantSources {
				t.Errorf("%s, %d: final merge of %d sources, want %d", name, mem, st.Sources, wantSources)
			}
		}
	}
	_, st := sortAll(t, randomKeys(rnd, 20000), Options{ChunkBytes: 16 << 10})
	if st.Presorted > 0 || st.Sources < 2 {
		t.Errorf("random input: %d records taken as presorted, %d sources", st.Presorted, st.Sources)
	}
}

// TestCloseCleansUp closes the sorter at every stage, with spills in
// flight or done: no file is left and no goroutine blocks.
func TestCloseCleansUp(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 3))
	recs := longPrefixKeys(rnd, 20000)
	for stage := range 4 {
		tmp := t.TempDir()
		s := New(Options{Memory: 32 << 10, TmpDir: tmp, Workers: 2})
		for i, r := range recs {
			if stage == 0 && i == len(recs)/2 {
				break
			}
			if err := s.Add([]byte(r.k), []byte(r.v)); err != nil {
				t.Fatal(err)
			}
		}
		if stage >= 1 {
			it, err := s.Finish(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; stage == 2 && i < 100 && it.Next(); i++ {
			}
			if stage == 3 {
				it.Close()
				if it.Next() {
					t.Error("Next after Close")
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Runs == 0 {
			t.Errorf("stage %d: nothing spilled", stage)
		}
		checkEmpty(t, tmp)
		if err := s.Add([]byte("x"), nil); err == nil {
			t.Error("Add after Close succeeded")
		}
	}
}

// TestCancelStopsTheMerge: a context cancelled during the final merge
// ends the iteration with its error, and Close removes the runs.
func TestCancelStopsTheMerge(t *testing.T) {
	rnd := rand.New(rand.NewPCG(4, 4))
	tmp := t.TempDir()
	s := New(Options{Memory: 32 << 10, TmpDir: tmp})
	for _, r := range randomKeys(rnd, 300000) {
		if err := s.Add([]byte(r.k), []byte(r.v)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	it, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		if n++; n == 1000 {
			cancel()
		}
	}
	if !errors.Is(it.Err(), context.Canceled) {
		t.Fatalf("Err = %v after %d records, want context.Canceled", it.Err(), n)
	}
	if n >= 300000 {
		t.Errorf("all %d records came out after the cancel", n)
	}
	s.Close()
	checkEmpty(t, tmp)
}

// TestSpillErrors: a folder that cannot be created fails the sort with
// ErrSpill naming it, from Add or Finish; a corrupt run file fails the
// merge with ErrSpill naming the file.
func TestSpillErrors(t *testing.T) {
	s := New(Options{Memory: 4 << 10, TmpDir: "/nonexistent/dir", Workers: 1})
	defer s.Close()
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		err = s.Add(fmt.Appendf(nil, "key %d", i*7919%5000), nil)
	}
	if err == nil {
		_, err = s.Finish(context.Background())
	}
	if !errors.Is(err, ErrSpill) || !bytes.Contains([]byte(err.Error()), []byte("/nonexistent/dir")) {
		t.Fatalf("err = %v, want ErrSpill naming the folder", err)
	}

	// A run file cut short or with a flipped byte.
	for _, damage := range []string{"truncate", "flip"} {
		tmp := t.TempDir()
		path := filepath.Join(tmp, "run.s2")
		w, err := newRunWriter(path)
		if err != nil {
			t.Fatal(err)
		}
		w.begin(0)
		var prev []byte
		for i := range 20000 {
			k := fmt.Appendf(nil, "key %08d", i)
			if err := w.add(k, []byte("v"), commonPrefix(prev, k)); err != nil {
				t.Fatal(err)
			}
			prev = k
		}
		runs, err := w.close()
		if err != nil {
			t.Fatal(err)
		}
		run := runs[0]
		data, _ := os.ReadFile(path)
		if damage == "truncate" {
			data = data[:len(data)/2]
		} else {
			data[len(data)/3] ^= 0x55
		}
		os.WriteFile(path, data, 0o600)
		s := New(Options{})
		c := &cursor{s: s, chain: []*source{{first: run.first, last: run.last, disk: run}}}
		var n int
		for {
			ok, err := c.next()
			if err != nil {
				if !errors.Is(err, ErrSpill) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
					t.Errorf("%s: err = %v, want ErrSpill naming the file", damage, err)
				}
				break
			}
			if !ok {
				t.Errorf("%s: read %d records to the end without an error", damage, n)
				break
			}
			n++
		}
		c.close()
		s.Close()
	}
}

// TestRadixSortChunk checks the chunk sort alone on keys that stress its
// padding rules: keys that are prefixes of others, NUL bytes around the
// 8-byte steps, equal keys.
func TestRadixSortChunk(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	for trial := range 50 {
		var c chunk
		n := 1 + rnd.IntN(3000)
		for range n {
			k := make([]byte, rnd.IntN(30))
			for i := range k {
				k[i] = []byte{0, 0, 1, 'a', 0xff}[rnd.IntN(5)]
			}
			c.add(k, nil)
		}
		c.sortEnts(c.ents)
		if !c.sorted(c.ents) {
			t.Fatalf("trial %d: %d keys not sorted", trial, n)
		}
	}
}

func TestTooLong(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.Add(make([]byte, MaxRecordBytes+1), nil); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Add = %v, want ErrTooLong", err)
	}
}

// TestBufferCommit builds records in place (Buffer, Commit), with values,
// some longer than a chunk's room (Commit then copies), and expects the
// order Add gives.
func TestBufferCommit(t *testing.T) {
	rnd := rand.New(rand.NewPCG(6, 6))
	recs := longPrefixKeys(rnd, 5000)
	for i := range recs {
		if i%97 == 0 {
			recs[i].v = strings.Repeat("v", 3000) // past a 4 KiB chunk's room
		}
	}
	want := stableRef(recs)
	s := New(Options{Memory: 64 << 10, TmpDir: t.TempDir(), ChunkBytes: 4 << 10, Stable: true})
	defer s.Close()
	for _, r := range recs {
		dst, err := s.Buffer()
		if err != nil {
			t.Fatal(err)
		}
		dst = append(append(dst, r.k...), r.v...)
		if err := s.Commit(dst, len(r.k)); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; it.Next(); i++ {
		if string(it.Key()) != want[i].k || string(it.Value()) != want[i].v {
			t.Fatalf("record %d = %q %q, want %q %q", i, it.Key(), it.Value(), want[i].k, want[i].v)
		}
	}
	if it.Err() != nil || i != len(want) {
		t.Fatalf("%d records, err %v; want %d", i, it.Err(), len(want))
	}
}

// TestEmptyAndTiny: no records, one record, and a budget of 1 KiB.
func TestEmptyAndTiny(t *testing.T) {
	if got, st := sortAll(t, nil, Options{}); len(got) != 0 || st.Records != 0 {
		t.Errorf("empty sort gave %d records, stats %+v", len(got), st)
	}
	if got, _ := sortAll(t, []rec{{k: "only", v: "one"}}, Options{}); len(got) != 1 || got[0].k != "only" || got[0].v != "one" {
		t.Errorf("one record: %+v", got)
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	recs := randomKeys(rnd, 3000)
	got, st := sortAll(t, recs, Options{Memory: 1 << 10, Stable: true})
	want := stableRef(recs)
	if len(got) != len(want) || st.Runs == 0 {
		t.Fatalf("%d records, %d runs", len(got), st.Runs)
	}
	for i := range want {
		if got[i].k != want[i].k || got[i].v != want[i].v {
			t.Fatalf("record %d = %q, want %q", i, got[i].k, want[i].k)
		}
	}
}
