package partition

import (
	"bytes"
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// reportGroup is reports planned together: those with version ids, or
// those without (their rows never share a shard, so each group is sorted
// on its own, unversioned first).
type reportGroup struct {
	reports []*inventory.Report
	fields  inventory.FieldSet // the union of the reports' fields
}

func sortGroups(reports []*inventory.Report) []reportGroup {
	var groups []reportGroup
	for _, versioned := range []bool{false, true} {
		var g reportGroup
		for _, r := range reports {
			if r.Fields().Has(inventory.VersionID) == versioned {
				g.reports = append(g.reports, r)
				g.fields |= r.Fields()
			}
		}
		if len(g.reports) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// buckets returns the reports' source buckets.
func (g reportGroup) buckets() []string {
	var b []string
	for _, r := range g.reports {
		b = append(b, r.Manifest.SourceBucket)
	}
	return b
}

// streamPresorted turns the streaming of input in key order on (tests
// turn it off to compare).
var streamPresorted = true

// Input whose rows arrive in the plan's order (S3 Inventory data files
// often hold keys in order) need not be sorted: Plan then streams it,
// reading each report's files in manifest order and cutting the rows as
// they come, as an unsorted plan does, while checking every row's sort
// key against the one before. The first row out of order ends the
// stream: what it wrote is dropped and the plan starts over with the
// sort. The output is the same either way; order is never trusted.
//
// A probe decides whether to try: the first batch of each report's first
// data file, read without its checksum (the stream verifies it), must be
// in (bucket, key) order. Input in no order thus costs one batch of
// reading; input in order costs no sort and no wait for it (the shards
// are written while the files are read).

// looksSorted probes the groups' reports.
func looksSorted(ctx context.Context, groups []reportGroup, ro inventory.ReaderOptions) bool {
	ro.SkipChecksums, ro.Progress, ro.Fields = true, nil, inventory.Fields(inventory.Bucket, inventory.Key)
	for _, g := range groups {
		for _, r := range g.reports {
			if len(r.Manifest.Files) == 0 {
				continue
			}
			if !firstBatchSorted(ctx, inventory.NewReport(r.Manifest, ro)) {
				return false
			}
		}
	}
	return true
}

func firstBatchSorted(ctx context.Context, r *inventory.Report) bool {
	fr, err := r.OpenFile(ctx, 0)
	if err != nil {
		return false // the scan reports it
	}
	defer fr.Close()
	rec, err := fr.Next(ctx)
	if err != nil {
		return false
	}
	defer rec.Release()
	cs := newCols(rec, r.Fields())
	for i := 1; i < int(rec.NumRows()); i++ {
		c := bytes.Compare(cs.str(inventory.Bucket, i-1), cs.str(inventory.Bucket, i))
		if c > 0 || c == 0 && bytes.Compare(cs.str(inventory.Key, i-1), cs.str(inventory.Key, i)) > 0 {
			return false
		}
	}
	return true
}

// errOutOfOrder ends a stream at its first row out of order.
var errOutOfOrder = errors.New("row out of order")

// streamGroups plans the groups' rows in the order they are read,
// checking it; it returns false when a row came out of order (the
// output and the counts are then to be dropped).
func streamGroups(ctx context.Context, groups []reportGroup,
	scan func(*inventory.Report, bool, func(arrow.RecordBatch, inventory.FieldSet, []int32) error) error,
	c *cutter, plan *manifest.Plan, stats *Stats) (bool, error) {
	for _, g := range groups {
		codec := newSortCodec(g.fields & (cutterFields | sortFields))
		versioned := codec.version
		var st SortStats
		var key, prevKey []byte
		// The row before, in its batch (kept until the next batch's
		// first row is checked): rows are compared by bucket and key as
		// they are, and whole sort keys are made only for rows that tie
		// on those (versions, duplicates).
		var prev *cols
		var prevRec arrow.RecordBatch
		prevRow := 0
		defer func() {
			if prevRec != nil {
				prevRec.Release()
			}
		}()
		for _, r := range g.reports {
			err := scan(r, true, func(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) error {
				if len(sel) == 0 {
					return nil
				}
				cs := newCols(rec, fields)
				if !codec.ready {
					codec.setup(&cs, sel, g.buckets())
				}
				for _, i := range sel {
					row := int(i)
					st.Rows++
					if prev != nil {
						d := bytes.Compare(cs.str(inventory.Bucket, row), prev.str(inventory.Bucket, prevRow))
						if d == 0 {
							d = bytes.Compare(cs.str(inventory.Key, row), prev.str(inventory.Key, prevRow))
						}
						if d < 0 {
							return errOutOfOrder
						}
						if d == 0 {
							key = codec.encode(key[:0], &cs, row)
							prevKey = codec.encode(prevKey[:0], prev, prevRow)
							if bytes.Compare(key, prevKey) < 0 {
								return errOutOfOrder
							}
							// Duplicates of an object version are next to
							// each other; the first is kept, as the sort
							// keeps it.
							if bytes.Equal(cs.str(inventory.VersionID, row), prev.str(inventory.VersionID, prevRow)) {
								st.Duplicates++
								prev, prevRow = &cs, row
								continue
							}
						}
					}
					prev, prevRow = &cs, row
					if err := c.addRow(&cs, row, versioned); err != nil {
						return err
					}
				}
				rec.Retain()
				if prevRec != nil {
					prevRec.Release()
				}
				prevRec = rec
				return nil
			})
			if errors.Is(err, errOutOfOrder) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
		}
		st.Streamed = st.Rows
		addSortStats(plan, stats, st)
	}
	return true, nil
}
