//go:build amd64 && !purego

package manifest

import "math"

// forcePureGo makes keptPrefix take the pure-Go path, as on a CPU without
// AVX2, and returns the function that undoes it; nil when this CPU takes
// that path already.
func forcePureGo() (restore func()) {
	if minAVX2Len == math.MaxInt {
		return nil
	}
	saved := minAVX2Len
	minAVX2Len = math.MaxInt
	return func() { minAVX2Len = saved }
}
