package orc

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// CompressionKind is the generic compression named in the postscript.
type CompressionKind int

// Compression kinds, numbered as in orc_proto.proto.
const (
	CompressionNone   CompressionKind = 0
	CompressionZlib   CompressionKind = 1
	CompressionSnappy CompressionKind = 2
	CompressionLZO    CompressionKind = 3
	CompressionLZ4    CompressionKind = 4
	CompressionZstd   CompressionKind = 5
)

func (k CompressionKind) String() string {
	switch k {
	case CompressionNone:
		return "NONE"
	case CompressionZlib:
		return "ZLIB"
	case CompressionSnappy:
		return "SNAPPY"
	case CompressionLZO:
		return "LZO"
	case CompressionLZ4:
		return "LZ4"
	case CompressionZstd:
		return "ZSTD"
	}
	return fmt.Sprintf("CompressionKind(%d)", int(k))
}

// maxBlockSize bounds the compression block size a file may declare; every
// decompressed chunk is at most this large, which bounds the memory a
// single chunk can claim. A chunk header holds 23 bits of length, so a
// writer that must store incompressible chunks as they are cannot use
// blocks much over 8 MiB; 16 MiB leaves room.
const maxBlockSize = 16 << 20

// chunkHeaderLen is the size of the header in front of every compressed
// chunk: (length << 1) | isOriginal, 3 bytes little endian.
const chunkHeaderLen = 3

// codec decompresses ORC streams made of compression chunks.
type codec struct {
	kind      CompressionKind
	blockSize int
}

func newCodec(kind CompressionKind, blockSize uint64) (codec, error) {
	switch kind {
	case CompressionNone:
		return codec{kind: kind}, nil
	case CompressionZlib, CompressionSnappy, CompressionLZ4, CompressionZstd:
	default:
		return codec{}, unsupportedf(ErrUnsupportedCompression, "compression %v", kind)
	}
	if blockSize == 0 || blockSize > maxBlockSize {
		return codec{}, corruptf(-1, "compression block size %d out of range (1..%d)", blockSize, maxBlockSize)
	}
	return codec{kind: kind, blockSize: int(blockSize)}, nil
}

// decompress returns the decompressed contents of the stream in src. With
// no compression the result aliases src. Offsets in errors are relative to
// the start of src.
func (c codec) decompress(src []byte) ([]byte, error) { return c.decompressTo(nil, src) }

// decompressTo is decompress writing into dst's memory (from dst[:0]) when
// it is large enough, for buffers reused from stripe to stripe.
func (c codec) decompressTo(dst, src []byte) ([]byte, error) {
	if c.kind == CompressionNone {
		return src, nil
	}
	out := dst[:0]
	if h := c.sizeHint(src); cap(out) < h {
		out = make([]byte, 0, h)
	}
	pos := 0
	for pos < len(src) {
		if len(src)-pos < chunkHeaderLen {
			return nil, corruptf(pos, "truncated compression chunk header (%d bytes left)", len(src)-pos)
		}
		h := int(src[pos]) | int(src[pos+1])<<8 | int(src[pos+2])<<16
		n := h >> 1
		original := h&1 == 1
		pos += chunkHeaderLen
		if n > len(src)-pos {
			return nil, corruptf(pos-chunkHeaderLen, "compression chunk of %d bytes overruns the stream (%d bytes left)", n, len(src)-pos)
		}
		chunk := src[pos : pos+n]
		if original {
			out = append(out, chunk...)
		} else {
			var err error
			out, err = c.decompressChunk(out, chunk)
			if err != nil {
				return nil, corruptf(pos-chunkHeaderLen, "%v chunk: %v", c.kind, err)
			}
		}
		pos += n
	}
	return out, nil
}

// sizeHint estimates the decompressed size of a stream from its chunk
// headers: original chunks count as they are, compressed ones as a full
// block (writers fill every chunk but the last), plus slack for the
// decompressors' final reads. When that bound is implausibly large for the
// input (a lying header, or extreme compression), it falls back to a small
// guess and lets the buffer grow with the data actually produced.
func (c codec) sizeHint(src []byte) int {
	total := 0
	for pos := 0; pos+chunkHeaderLen <= len(src); {
		h := int(src[pos]) | int(src[pos+1])<<8 | int(src[pos+2])<<16
		n := h >> 1
		pos += chunkHeaderLen + n
		switch {
		case h&1 == 1:
			total += n
		case pos < len(src):
			total += c.blockSize
		default: // the last chunk is usually short
			total += min(c.blockSize, 8*n+4096)
		}
	}
	total += 4096
	if total > 64*len(src)+c.blockSize+4096 {
		return min(4*len(src), 4<<20)
	}
	return total
}

var errChunkTooBig = fmt.Errorf("chunk decompresses to more than the block size")

// decompressChunk appends the decompressed chunk to dst, refusing to
// produce more than the block size.
func (c codec) decompressChunk(dst, chunk []byte) ([]byte, error) {
	switch c.kind {
	case CompressionZlib:
		return inflate(dst, chunk, c.blockSize)
	case CompressionSnappy:
		n, err := snappy.DecodedLen(chunk)
		if err != nil {
			return dst, err
		}
		if n > c.blockSize {
			return dst, errChunkTooBig
		}
		dst = grow(dst, n)
		got, err := snappy.Decode(dst[len(dst):len(dst)+n], chunk)
		if err != nil {
			return dst, err
		}
		if len(got) != n {
			return dst, fmt.Errorf("snappy produced %d bytes, header says %d", len(got), n)
		}
		return dst[:len(dst)+n], nil
	case CompressionLZ4:
		return lz4DecodeBlock(dst, chunk, c.blockSize)
	case CompressionZstd:
		var hdr zstd.Header
		if err := hdr.Decode(chunk); err == nil && hdr.HasFCS && hdr.FrameContentSize > uint64(c.blockSize) {
			return dst, errChunkTooBig
		}
		d, err := zstdDecoder(c.blockSize)
		if err != nil {
			return dst, err
		}
		start := len(dst)
		out, err := d.DecodeAll(chunk, dst)
		if err != nil {
			return dst, err
		}
		if len(out)-start > c.blockSize {
			return dst, errChunkTooBig
		}
		return out, nil
	}
	return dst, unsupportedf(ErrUnsupportedCompression, "compression %v", c.kind)
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

var inflaters sync.Pool

type inflater struct {
	r  io.ReadCloser
	br bytes.Reader
}

// inflateGo appends the raw-deflate decompression of chunk to dst, with
// the pure-Go decoder; see inflate.
func inflateGo(dst, chunk []byte, limit int) ([]byte, error) {
	inf, _ := inflaters.Get().(*inflater)
	if inf == nil {
		inf = &inflater{}
		inf.br.Reset(chunk)
		inf.r = flate.NewReader(&inf.br)
	} else {
		inf.br.Reset(chunk)
		if err := inf.r.(flate.Resetter).Reset(&inf.br, nil); err != nil {
			return dst, err
		}
	}
	defer inflaters.Put(inf)
	start := len(dst)
	for {
		if len(dst)-start > limit {
			return dst, errChunkTooBig
		}
		if cap(dst)-len(dst) < 4096 {
			dst = grow(dst, 64<<10)
		}
		n, err := inf.r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst, err
		}
		if n == 0 {
			// flate never returns (0, nil) repeatedly on valid input;
			// treat a stall as corruption rather than loop forever.
			return dst, io.ErrNoProgress
		}
	}
	if len(dst)-start > limit {
		return dst, errChunkTooBig
	}
	return dst, nil
}

var zstdDecoders sync.Map // limit (power of two) -> *zstd.Decoder

// zstdDecoder returns a shared decoder whose memory limit is at least
// blockSize (rounded up to a power of two). DecodeAll is safe for
// concurrent use.
func zstdDecoder(blockSize int) (*zstd.Decoder, error) {
	limit := 1 << 16
	for limit < blockSize {
		limit <<= 1
	}
	if d, ok := zstdDecoders.Load(limit); ok {
		return d.(*zstd.Decoder), nil
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderConcurrency(0))
	if err != nil {
		return nil, err
	}
	actual, loaded := zstdDecoders.LoadOrStore(limit, d)
	if loaded {
		d.Close()
	}
	return actual.(*zstd.Decoder), nil
}

// compressor writes ORC compression chunks (used by the Writer).
type compressor struct {
	kind      CompressionKind
	blockSize int
	fw        *flate.Writer
	zw        *zstd.Encoder
	lz        lz4.Compressor
	buf       bytes.Buffer
	out       []byte
}

func newCompressor(kind CompressionKind, blockSize, level int) (*compressor, error) {
	c := &compressor{kind: kind, blockSize: blockSize}
	switch kind {
	case CompressionNone, CompressionSnappy, CompressionLZ4:
	case CompressionZlib:
		fw, err := flate.NewWriter(&c.buf, level)
		if err != nil {
			return nil, err
		}
		c.fw = fw
	case CompressionZstd:
		zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		c.zw = zw
	default:
		return nil, unsupportedf(ErrUnsupportedCompression, "writer compression %v", kind)
	}
	return c, nil
}

// compressChunk returns the compression of one chunk (at most a block),
// or nil when the codec cannot make it smaller. The result is valid
// until the next call.
func (c *compressor) compressChunk(part []byte) ([]byte, error) {
	switch c.kind {
	case CompressionZlib:
		c.buf.Reset()
		c.fw.Reset(&c.buf)
		if _, err := c.fw.Write(part); err != nil {
			return nil, err
		}
		if err := c.fw.Close(); err != nil {
			return nil, err
		}
		return c.buf.Bytes(), nil
	case CompressionSnappy:
		c.out = snappy.Encode(c.out[:cap(c.out)], part)
		return c.out, nil
	case CompressionZstd:
		c.out = c.zw.EncodeAll(part, c.out[:0])
		return c.out, nil
	case CompressionLZ4:
		if n := lz4.CompressBlockBound(len(part)); cap(c.out) < n {
			c.out = make([]byte, n)
		}
		n, err := c.lz.CompressBlock(part, c.out[:cap(c.out)])
		if err != nil || n == 0 { // 0: incompressible
			return nil, err
		}
		return c.out[:n], nil
	}
	return nil, unsupportedf(ErrUnsupportedCompression, "writer compression %v", c.kind)
}

// appendCompressed appends the chunked compression of src to dst: one
// chunk per block, each stored as it is when compression does not make
// it smaller.
func (c *compressor) appendCompressed(dst, src []byte) ([]byte, error) {
	if c.kind == CompressionNone {
		return append(dst, src...), nil
	}
	for len(src) > 0 {
		n := min(len(src), c.blockSize)
		part := src[:n]
		src = src[n:]
		comp, err := c.compressChunk(part)
		if err != nil {
			return dst, err
		}
		if comp != nil && len(comp) < n {
			h := len(comp) << 1
			dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
			dst = append(dst, comp...)
		} else {
			h := n<<1 | 1
			dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
			dst = append(dst, part...)
		}
	}
	return dst, nil
}
