package inventory_test

import (
	"runtime"
	"testing"
)

// checkAllocs runs read, which reads an input of n bytes, and fails t when
// it allocated more than the input can justify. Decompression may expand
// data (deflate up to about 1,032:1), so the cap is generous, but it is a
// cap: a file that claims lengths, counts or sizes it does not hold must
// not make a reader allocate them.
func checkAllocs(t *testing.T, n int, read func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if got, max := after.TotalAlloc-before.TotalAlloc, uint64(256<<20)+2048*uint64(n); got > max {
		t.Fatalf("reading %d bytes allocated %d bytes, over the cap of %d", n, got, max)
	}
}
