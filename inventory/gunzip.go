//go:build !isal || !cgo

package inventory

import (
	"bufio"
	"io"

	"github.com/klauspost/compress/gzip"
)

// GunzipImpl names the gzip decoder this build uses: "klauspost" (pure
// Go, the default) or "isa-l" (built with -tags isal and cgo).
const GunzipImpl = "klauspost"

// newGunzip returns a reader of the decompressed bytes of the gzip stream
// br (every member of a multi-member file), which it reads to its end so
// that checksums over the raw bytes see all of them. An empty input is
// io.ErrUnexpectedEOF.
func newGunzip(br *bufio.Reader) (io.Reader, error) {
	if _, err := br.Peek(1); err == io.EOF {
		return nil, errEmptyGzip
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	return &gzipTail{zr: zr, rest: br}, nil
}

// gzipTail reads a gzip stream and then drains what follows it, so the
// MD5 and size checks see every byte of the file.
type gzipTail struct {
	zr   *gzip.Reader
	rest io.Reader
}

func (g *gzipTail) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err == io.EOF {
		if _, derr := io.Copy(io.Discard, g.rest); derr != nil {
			return n, derr
		}
	}
	return n, err
}
