package report

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRerunSorterOrder: the re-run sort's records, with a budget small
// enough to spill, come back in the order of the re-run plans (class,
// route name, bucket, rows without a version id first, key, version id)
// and decode to the rows added, NUL bytes and strings that start others
// included.
func TestRerunSorterOrder(t *testing.T) {
	routes := []string{"restore", "copy", "large"} // ranks 2, 0, 1
	type row struct {
		class, route         int
		bucket, key, version string
	}
	model := func(a, b row) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(routes[a.route], routes[b.route]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		if (a.version != "") != (b.version != "") {
			if a.version == "" {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.version, b.version)
	}
	parts := []string{"", "a", "a\x00", "\x00", "\x00\xff", "ab", "b", "\xff", "é", "zz"}
	pick := func(rng *rand.Rand) string { return parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))] }
	for _, mem := range []int{0, 4 << 10} {
		t.Run(fmt.Sprint(mem), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(mem)))
			var rows []row
			for range 20000 {
				rows = append(rows, row{rng.IntN(len(FailureClasses)), rng.IntN(len(routes)), pick(rng), pick(rng), pick(rng)})
			}
			rs := newRerunSorter(t.TempDir(), mem, routes)
			defer rs.s.Close()
			for _, r := range rows {
				f := failure{route: uint16(r.route), bucket: []byte(r.bucket), key: []byte(r.key), version: []byte(r.version)}
				if err := rs.add(r.class, &f); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortStableFunc(rows, model)
			it, err := finishSort(context.Background(), rs.s)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			i := 0
			for ; it.Next(); i++ {
				d := rs.decode(it.Key())
				got := row{d.classPos, int(d.route), string(d.bucket), string(d.key), string(d.version)}
				if i >= len(rows) || got != rows[i] {
					t.Fatalf("record %d: %#v, want %#v", i, got, rows[min(i, len(rows)-1)])
				}
			}
			if it.Err() != nil || i != len(rows) {
				t.Fatalf("%d records of %d: %v", i, len(rows), it.Err())
			}
			if runs := rs.s.Stats().Runs; (mem > 0) != (runs > 0) {
				t.Errorf("budget %d: %d runs", mem, runs)
			}
		})
	}
}

// TestAppendEscaped: an escaped string reads back whole, whatever follows
// it, and escaped strings compare as the strings do.
func TestAppendEscaped(t *testing.T) {
	in := []string{"", "\x00", "\x00\x00", "a\x00", "a", "a\x00b", "\x00\xff", "\xff\x00", "ab"}
	for _, a := range in {
		enc := appendEscaped(nil, []byte(a))
		got, rest := cutEscaped([]byte("x"), append(enc, "tail\x00\x00"...))
		if string(got) != "x"+a || string(rest) != "tail\x00\x00" {
			t.Errorf("%q: read back %q, rest %q", a, got, rest)
		}
		for _, b := range in {
			if c := bytes.Compare(enc, appendEscaped(nil, []byte(b))); c != cmp.Compare(a, b) {
				t.Errorf("%q vs %q: escaped compare %d", a, b, c)
			}
		}
	}
}

// TestSpillFailure: a spill folder that cannot be written stops the
// report with an error that wraps ErrSpill — with a plan (the join's
// sort fails to spill), with jobs.json alone and with report prefixes
// (the tracker's file of failure hashes fails first) — and writes no
// summary.json.
func TestSpillFailure(t *testing.T) {
	dir := t.TempDir()
	mr := genModelRun(t, filepath.Join(dir, "model"), 3, 2000, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	planDir := filepath.Join(dir, "plan")
	plan, lines := writeTestPlan(t, planDir, genTestShards(rng, 6))
	genPlanRun(t, rng, planDir, lines, plan)
	missing := filepath.Join(dir, "no-such-folder")
	for i, o := range []Options{
		{Plan: planDir},
		{Plan: mr.plan},
		{Prefixes: []string{filepath.Join(dir, "model", "reports")}},
	} {
		o.Out = filepath.Join(dir, fmt.Sprint("out", i))
		o.Merge = MergeOptions{SortMemory: 1500, SpillDir: missing}
		_, err := Run(context.Background(), o)
		if !errors.Is(err, ErrSpill) {
			t.Errorf("plan %q: err = %v, want ErrSpill", o.Plan, err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the spill folder was made: %v", err)
		}
		if _, err := os.Stat(filepath.Join(o.Out, SummaryFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("plan %q: summary.json written (%v)", o.Plan, err)
		}
	}
}
