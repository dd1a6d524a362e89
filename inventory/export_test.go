package inventory

import (
	"bufio"
	"io"
)

// NewGunzipForTest exposes the gzip decoder of this build (GunzipImpl) to
// the benchmarks, which measure it alone as the floor of the CSV path.
func NewGunzipForTest(r io.Reader) (io.Reader, error) {
	return newGunzip(bufio.NewReaderSize(r, 256<<10))
}
