//go:build amd64 && !purego

package extsort

// prefetch asks the CPU to bring the cache line at p into its caches
// without waiting for it: the merge reads each of its many runs a record
// at a time, and a run's next bytes are then at hand when its turn comes.
//
//go:noescape
func prefetch(p *byte)
