//go:build !isal || !cgo

package orc

// InflateImpl names the ZLIB (raw deflate) decoder this build uses:
// "klauspost" (pure Go, the default) or "isa-l" (built with -tags isal
// and cgo; see inflate_isal.go).
const InflateImpl = "klauspost"

// inflate appends the raw-deflate decompression of chunk to dst, refusing
// to produce more than limit bytes (errChunkTooBig).
func inflate(dst, chunk []byte, limit int) ([]byte, error) { return inflateGo(dst, chunk, limit) }
