// Package partition turns a filtered stream of inventory batches into a
// plan: it routes every object by what it needs (a plain copy, a copy of
// an object over 5 GiB, a restore of an archived object first), cuts each
// route into size-bounded shards that never mix buckets or rows with and
// without version ids, and hands the rows to the manifest writer.
//
// A sorted plan encodes each row it keeps as one byte key whose order is
// the plan's (sortkey.go) and sorts the keys with the module's external
// sort, internal/extsort (sort.go); diff sorts its two sides the same
// way, through Sorter. Input whose rows already arrive in that order is
// planned as it is read, checked row by row, and sorted only if a row
// comes out of order (presorted.go).
//
// In: inventory.Report scans. Out: a committed plan directory
// (manifest.PlanDir) and its manifest.Plan.
package partition
