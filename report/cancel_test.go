package report

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tripCtx is a context cancelled by the limit-th call of its Err (never
// with limit 0): each place where Run checks for Ctrl-C becomes, in
// turn, the place where it comes.
type tripCtx struct {
	context.Context
	cancel context.CancelFunc
	calls  atomic.Int64
	limit  int64
	where  string // the function that looked: tripPlace
}

// tripPlace names the function of package report that called Err
// (finishSort: in the Finish of one of its sorts), from a stack trace.
func tripPlace(stack []byte) string {
	for _, l := range strings.Split(string(stack), "\n") {
		if _, f, ok := strings.Cut(l, "s3batchkit/report."); ok && !strings.Contains(f, "tripCtx") {
			f, _, _ = strings.Cut(f, "(0x")
			f, _, _ = strings.Cut(f, "({")
			return strings.TrimSuffix(f, "(...)")
		}
	}
	return "?"
}

func (c *tripCtx) Err() error {
	if c.calls.Add(1) == c.limit {
		c.where = tripPlace(debug.Stack())
		c.cancel()
	}
	return c.Context.Err()
}

// TestCancelRemovesSpills: a report cancelled at any of the places where
// it looks at its context — reading the plan's shards into the join
// (line by line), finishing the join, the tracker's sorts, the distinct
// counter and the re-run sorts, writing each re-run plan — returns
// context.Canceled, writes no summary.json, leaves its spill folder empty
// (every sort's run files and the tracker's hash file removed) and stops
// its goroutines. With a plan (the join) and without (the tracker), every
// sort spilling.
func TestCancelRemovesSpills(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 5))
	planDir := filepath.Join(dir, "plan")
	shards := genTestShards(rng, 8)
	for i := range shards {
		// Enough lines per shard that the join spills many runs.
		for k := len(shards[i].objects); k < 400; k++ {
			shards[i].objects = append(shards[i].objects, testObject{bucket: shards[i].bucket, key: fmt.Sprintf("more %d/%04d+x", i, k)})
		}
	}
	plan, lines := writeTestPlan(t, planDir, shards)
	genPlanRun(t, rng, planDir, lines, plan)
	modelDir := filepath.Join(dir, "model")
	mr := genModelRun(t, modelDir, 7, 3000, 4)
	for _, withPlan := range []bool{true, false} {
		t.Run(fmt.Sprintf("plan=%v", withPlan), func(t *testing.T) {
			base := runtime.NumGoroutine()
			places := map[string]int{}
			run := func(name string, limit int64) (int64, error) {
				o := Options{Workers: 2, Merge: MergeOptions{SortMemory: 32 << 10}}
				if withPlan {
					o.Plan = planDir
				} else {
					o.Plan = mr.plan // jobs.json alone: the tracker
				}
				o.Out = filepath.Join(dir, fmt.Sprintf("out-%v-%s", withPlan, name))
				o.Merge.SpillDir = filepath.Join(dir, fmt.Sprintf("spill-%v-%s", withPlan, name))
				if err := os.Mkdir(o.Merge.SpillDir, 0o755); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				tc := &tripCtx{Context: ctx, cancel: cancel, limit: limit}
				_, err := Run(tc, o)
				if left, _ := os.ReadDir(o.Merge.SpillDir); len(left) > 0 {
					t.Errorf("%s (%v): %s left in the spill folder", name, err, left[0].Name())
				}
				_, serr := os.Stat(filepath.Join(o.Out, SummaryFile))
				if (err == nil) != (serr == nil) {
					t.Errorf("%s: Run: %v; summary.json: %v", name, err, serr)
				}
				// The sorts' goroutines (workers, spills, merges) end
				// when Run returns; give the scheduler a moment.
				for i := 0; runtime.NumGoroutine() > base && i < 400; i++ {
					time.Sleep(5 * time.Millisecond)
				}
				if n := runtime.NumGoroutine(); n > base {
					t.Errorf("%s: %d goroutines after Run, %d before", name, n, base)
				}
				if limit > 0 && tc.calls.Load() >= limit {
					// Cancelled; the checks of merge passes depend on
					// when spills ran, so the last few may not come.
					places[tc.where]++
					if !errors.Is(err, context.Canceled) {
						t.Errorf("cancelled at check %d (%s): %v, want context.Canceled", limit, tc.where, err)
					}
				}
				return tc.calls.Load(), err
			}
			runs := sortRuns.Load()
			checks, err := run("whole", 0)
			if err != nil {
				t.Fatal(err)
			}
			if sortRuns.Load()-runs < 10 {
				t.Fatalf("the sorts spilled %d runs", sortRuns.Load()-runs)
			}
			// The first checks, some in the middle, and each of the last
			// ones (the sorts' Finish and merge passes, the re-run plans).
			limits := []int64{1, 2, 3, checks / 3, checks / 2, 2 * checks / 3}
			for c := max(1, checks-15); c <= checks; c++ {
				limits = append(limits, c)
			}
			slices.Sort(limits)
			for _, limit := range slices.Compact(limits) {
				run(fmt.Sprint(limit), limit)
			}
			want := []string{"finishSort", "writeRerun"}
			if withPlan {
				want = []string{"(*planAccount).readShard", "finishSort", "(*planAccount).writeReruns"}
			}
			for _, w := range want {
				if places[w] == 0 {
					t.Errorf("never cancelled in %s: %v", w, places)
				}
			}
			t.Logf("%d checks; cancelled in %v; the sorts spilled %d runs", checks, places, sortRuns.Load()-runs)
		})
	}
}
