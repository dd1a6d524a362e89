package report

import (
	"context"
	"sync/atomic"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
)

// DefaultSortMemory is the memory budget of each of the report's external
// sorts (MergeOptions.SortMemory) when none is given.
const DefaultSortMemory = 1 << 20

// sortWorkers is the goroutines of each of the report's sorts that sort
// full chunks while the merger goes on adding records. The merger is one
// goroutine and feeds up to three sorts at once (the distinct counter and
// the tracker's two, or the join), each then sorting beside it.
const sortWorkers = 1

// sortMaxFanIn bounds the run files each of the report's sorts merges at
// once. Every run file merged holds about 160 KiB of buffers (see
// extsort.Options.Memory), so extsort's default (128 runs, 20 MiB) would
// dwarf the report's 1 MiB budgets and grow with the rows until it is
// reached; 32 runs cost at most 5 MiB per sort, and a sort of more runs
// (over about 25 MiB of records at the default budget) merges them in
// passes first, each pass a sequential read and write of compressed runs.
const sortMaxFanIn = 32

// newSort returns one of the report's external sorts: the project's one
// sort (internal/extsort), holding at most mem bytes (zero means
// DefaultSortMemory) before it spills sorted runs to a folder of its own
// in dir ("" for the system's temporary folder). Records with equal keys
// come out in the order they were added when stable is set. Its Close
// removes the spill files, whatever state it is in.
func newSort(dir string, mem int, stable bool) *extsort.Sorter {
	if mem <= 0 {
		mem = DefaultSortMemory
	}
	return extsort.New(extsort.Options{Memory: int64(mem), TmpDir: dir, Stable: stable, Workers: sortWorkers, MaxFanIn: sortMaxFanIn})
}

// sortRuns counts the run files the report's sorts wrote, spills and
// merge passes (tests check that a small SortMemory spills).
var sortRuns atomic.Int64

// finishSort ends the input of s and returns its records in order.
func finishSort(ctx context.Context, s *extsort.Sorter) (*extsort.Iterator, error) {
	it, err := s.Finish(ctx)
	sortRuns.Add(int64(s.Stats().Runs))
	return it, err
}
