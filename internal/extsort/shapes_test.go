package extsort

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The completion-report audit (package report) sorts two shapes of
// records with a sort of its own today; these tests show how they map
// onto this package, with the order report's comparisons give.

// TestTrackerShape: report's tracker sorts failures by object hash, then
// newest job first (cmpHashSeq over the first 12 bytes: hash and ^seq,
// big-endian), stably; the rest of the record is payload. As a key of
// those 12 bytes and a value of the rest, with Stable, the order is the
// same.
func TestTrackerShape(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 8))
	type failRec struct{ head, payload []byte }
	var recs []failRec
	for i := range 20000 {
		var h [12]byte
		binary.BigEndian.PutUint64(h[:], rnd.Uint64N(3000)) // collisions: same object, several jobs
		binary.BigEndian.PutUint32(h[8:], ^uint32(rnd.IntN(4)))
		recs = append(recs, failRec{h[:], fmt.Appendf(nil, "class %d, bucket, key %d, version", i%5, i)})
	}
	want := slices.Clone(recs)
	slices.SortStableFunc(want, func(a, b failRec) int {
		if x, y := binary.BigEndian.Uint64(a.head), binary.BigEndian.Uint64(b.head); x != y {
			return cmp.Compare(x, y)
		}
		return cmp.Compare(binary.BigEndian.Uint32(a.head[8:]), binary.BigEndian.Uint32(b.head[8:]))
	})
	s := New(Options{Memory: 256 << 10, TmpDir: t.TempDir(), Stable: true})
	defer s.Close()
	for _, r := range recs {
		if err := s.Add(r.head, r.payload); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; it.Next(); i++ {
		if !bytes.Equal(it.Key(), want[i].head) || !bytes.Equal(it.Value(), want[i].payload) {
			t.Fatalf("record %d: %x %q, want %x %q", i, it.Key(), it.Value(), want[i].head, want[i].payload)
		}
	}
	if it.Err() != nil || i != len(want) {
		t.Fatalf("%d records, %v", i, it.Err())
	}
	if s.Stats().Runs == 0 {
		t.Error("no spill")
	}
}

// rerunKey is report's re-run order (cmpRerun: class, route rank,
// bucket, rows without a version id first, key, version id) as bytes
// that compare in that order: strings escaped (NUL as 00 FF) and ended by
// 00 00, so that a string sorts before its extensions.
func rerunKey(dst []byte, class byte, rank uint16, bucket, key, version []byte) []byte {
	esc := func(dst, s []byte) []byte {
		for _, c := range s {
			dst = append(dst, c)
			if c == 0 {
				dst = append(dst, 0xff)
			}
		}
		return append(dst, 0, 0)
	}
	dst = binary.BigEndian.AppendUint16(append(dst, class), rank)
	dst = esc(dst, bucket)
	if len(version) == 0 {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
	}
	return esc(esc(dst, key), version)
}

// TestRerunShape: report's re-run rows, encoded by rerunKey, come out in
// cmpRerun's order.
func TestRerunShape(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 9))
	type row struct {
		class         byte
		rank          uint16
		b, k, version string
	}
	parts := []string{"", "a", "a\x00", "b", "ab", "\x00", "zz"}
	var rows []row
	for range 5000 {
		rows = append(rows, row{byte(rnd.IntN(3)), uint16(rnd.IntN(3)), parts[rnd.IntN(len(parts))],
			parts[rnd.IntN(len(parts))] + parts[rnd.IntN(len(parts))], parts[rnd.IntN(len(parts))]})
	}
	cmpRerun := func(a, b row) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.b, b.b); c != 0 {
			return c
		}
		if (a.version != "") != (b.version != "") {
			if a.version == "" {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.version, b.version)
	}
	s := New(Options{Memory: 64 << 10, TmpDir: t.TempDir(), Stable: true})
	defer s.Close()
	for i, r := range rows {
		if err := s.Add(rerunKey(nil, r.class, r.rank, []byte(r.b), []byte(r.k), []byte(r.version)), fmt.Append(nil, i)); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var prev row
	n := 0
	for ; it.Next(); n++ {
		var i int
		fmt.Sscan(string(it.Value()), &i)
		if n > 0 && cmpRerun(prev, rows[i]) > 0 {
			t.Fatalf("record %d %+v after %+v", n, rows[i], prev)
		}
		prev = rows[i]
	}
	if it.Err() != nil || n != len(rows) {
		t.Fatalf("%d records, %v", n, it.Err())
	}
}
