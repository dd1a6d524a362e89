// Package scaleout plans past one machine (docs/scale-out.md): a plan cut
// into N key ranges that N processes, on N machines, plan apart, sharing
// only a folder or an s3:// prefix, the run root:
//
//	ROOT/ranges.json              Split: split keys, who reads and verifies what
//	ROOT/scatter/<jjjj>/…         Scatter (shuffled inputs): slice j's rows by range
//	ROOT/parts/<iiii>/…           a range's worker (partition.Plan with RangeOptions)
//	ROOT/plan.json                Merge: every part's shards, written last
//
// Ranges are disjoint (bucket, key) intervals, so every version of a key
// is in one range and every shard is a contiguous key range. A range's
// worker skips the rows outside its range before any filter or counter;
// its shards, concatenated with those of the other ranges in range order,
// per route, are the bytes of the plan made on one machine. Every step is
// deterministic: a retried or duplicated step writes the same bytes, and
// each step's marker (scatter.json, part.json, plan.json) is written last
// and names the SHA-256 of the ranges.json it was made from, so that the
// merge refuses a part of another split.
//
// An input is read directly (each range reads the data files, Parquet row
// groups and ORC stripes whose footer key statistics overlap it: read
// once when the files are key-clustered) or shuffled (scatter slices read
// the files once and write each range's rows, in Arrow IPC, for the
// workers to read). Split decides per input unless told.
package scaleout
