// Package partition turns a filtered stream of inventory batches into a
// plan: it routes every object by what it needs (a plain copy, a copy of
// an object over 5 GiB, a restore of an archived object first), cuts each
// route into size-bounded shards that never mix buckets or rows with and
// without version ids, and hands the rows to the manifest writer.
//
// In: inventory.Report scans. Out: a committed plan directory
// (manifest.PlanDir) and its manifest.Plan.
package partition
