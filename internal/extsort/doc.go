// Package extsort is the project's one external sort: byte records
// ordered by their key bytes, in bounded memory, spilling sorted runs to
// a temporary folder and merging them with a bounded fan-in. The planner
// (partition), diff (through partition) and the completion-report audit
// sort with it; each encodes its rows as records whose key bytes compare
// in the order it needs (see partition's row codec).
//
// It lives under internal/ because its record format, its memory
// accounting and its tuning are details of this module's commands, free
// to change between releases; the packages that need a sort import it,
// and users of the library see their own options (a memory budget and a
// temporary folder), not this API.
//
// # Contract
//
// Records are added with Add (the bytes are copied) and come out of the
// Iterator that Finish returns, ordered by bytes.Compare of their keys.
// Records with equal keys come out in the order they were added when
// Options.Stable is set, else in no particular order. A Sorter is not safe for concurrent use. Close must be
// called, also after an error: it stops the background work and removes
// every spill file, whatever state the sort is in.
//
// # How it works
//
//   - Add (or Buffer and Commit, which build a record in place) copies
//     records into a chunk of at most 1 MiB (small enough to stay in the
//     CPU's caches while it is sorted) and notes where the keys stop
//     ascending. A full chunk goes to a worker goroutine while Add fills
//     the next one, so that sorting overlaps with reading.
//   - A worker turns a chunk into sorted pieces. A chunk that arrived in
//     order is not sorted at all; stretches that arrived in order
//     (between the caller's Split calls, at least minSegment records,
//     such as the batches of an inventory data file written in key
//     order) become pieces of their own; the rest is sorted by an MSD radix sort of 8-byte key
//     prefixes with row indices, which skips the bytes every key of a
//     group shares (long common folders cost nothing) and reloads
//     prefixes from the chunk only for ties.
//   - Pieces are stored front-coded (each key as the length it shares
//     with the key before it and the rest), in blocks of a memory pool
//     whose size is the budget, so keys with long common prefixes take
//     little memory.
//   - When the pieces fill most of the budget, a background goroutine
//     merges them into one run file (front-coded blocks, S2-compressed),
//     handing each block back to the pool as soon as it has been read,
//     so that workers can go on while it writes.
//   - Before merging, pieces and runs are chained: one whose first key is
//     above another's last key is read after it, as one source. Input
//     that arrives in key order (even interleaved from several files)
//     thus merges as a few sources, often one, with no comparisons.
//   - The merge is a loser tree over the sources whose matches compare
//     offset-value codes (most decided by one integer comparison, the
//     front coding giving each record's code); the final one runs in a
//     goroutine of its own and hands records over in blocks, so that the
//     consumer's work overlaps with it.
package extsort
