// Package diff compares two inventory reports — a migration's source and
// its target — and writes what it takes to make the target match the
// source as a plan directory of Batch Operations manifests.
//
// It is the [diff] stage of the flow (design.md): each side is scanned,
// filtered with the planner's filters (inventory.Filter) and sorted with
// partition's external sort (partition.Sorter, over internal/extsort);
// diff does not sort by itself. The two sorted streams are then merged in one pass, in lock
// step, and every object falls into one class:
//
//   - only in source: missing at the target. Routed like the planner's
//     objects (partition.Route): copy, large (over 5 GiB), restore,
//     restore-tiering.
//   - only in target: extra at the target. Route delete: written, never
//     acted on unless the user submits it (Batch Operations has no delete
//     operation; such a shard runs through LambdaInvoke or the local
//     engine). Its rows name the target bucket and the target key.
//   - changed: in both, and the Compare rule says they differ. Routed like
//     objects only in source.
//   - unchanged: in both and equal; only counted.
//
// In: two manifest.json locations and Options. Out: a plan directory with
// the same contract as plan's (shards/<route>/<nnnnn>.csv, plan.json
// last, as the commit marker), plus diff.json (Summary: counts, bytes and
// the first examples of each class), written atomically before plan.json.
// Nothing is left behind on error: the shards are staged and discarded.
//
// # Keys and buckets
//
// Objects are matched by key; bucket names differ between the sides by
// design. Two reports of different source buckets are compared only when
// asked (Options.CrossBucket, or key mappings), so that a mistaken
// --target never turns into a silent full copy. Each side must hold one
// bucket.
//
// Key mappings (KeyMap) compare a source prefix with a target prefix:
// the target's keys are rewritten into source keys before the sort, so
// the merge, the filters and the copy manifests all work with source keys,
// and the delete manifests map them back to target keys.
//
// # Versions
//
// By default the current versions are compared: noncurrent versions and
// delete markers are dropped on both sides, so a key whose current version
// at the target is a delete marker counts as missing there, and a key
// deleted at the source but still at the target is extra. Manifests then
// carry no version ids: the copy acts on the source's current version when
// it runs. A key listed more than once (in two data files, or with two
// current versions) is compared once, by its newest row; the others are
// counted as partition.DropDuplicate. Options.AllVersions compares every version by (key, version
// id) and writes version ids; that only makes sense for two reports of the
// same bucket (two deliveries of one inventory), since version ids never
// match across buckets — a copy gets a new version id — and it is refused
// otherwise.
package diff
