package inventory

// Column chunks and pages of the Parquet reader: a chunk read into memory
// and every page header checked before parquet-go decodes it (loadChunk),
// then each page's levels and values, or its dictionary, set up for the
// fills (nextPage, loadDict).

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// chunkBufs recycles column chunk buffers between readers (one file after
// another on a worker), so that each chunk is not a fresh, zeroed
// allocation.
var chunkBufs sync.Pool // of *[]byte

func getChunkBuf(n int) []byte {
	if p, ok := chunkBufs.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n, n+n/4)
}

func putChunkBuf(b []byte) {
	if cap(b) > 0 {
		chunkBufs.Put(&b)
	}
}

func chunkStart(cc *format.ColumnChunk) int64 {
	if cc.MetaData.DictionaryPageOffset != 0 {
		return cc.MetaData.DictionaryPageOffset
	}
	return cc.MetaData.DataPageOffset
}

// chunkReaderAt serves a column chunk read into memory at its file offset.
type chunkReaderAt struct {
	off int64
	b   []byte
}

func (c *chunkReaderAt) ReadAt(p []byte, off int64) (int, error) {
	off -= c.off
	if off < 0 || off > int64(len(c.b)) {
		return 0, io.EOF
	}
	n := copy(p, c.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// loadChunk reads column chunk cc into c.buf and checks every page header
// in it before parquet-go sees them: sizes within the chunk and the page
// limits, value counts adding up to the row group's rows, and compressed
// payloads that do not claim more than their header says.
func (r *ParquetReader) loadChunk(c *pqColumn, cc *format.ColumnChunk) error {
	md := &cc.MetaData
	if cc.FilePath != "" {
		return r.corruptf(c, "column chunk stored in another file %q", shorten([]byte(cc.FilePath)))
	}
	if cc.CryptoMetadata.Value != nil || len(cc.EncryptedColumnMetadata) > 0 {
		return r.corrupt(r.rg, c, fmt.Errorf("%w: encrypted columns are not supported", ErrBadValue))
	}
	switch md.Codec {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Zstd:
	default:
		return &DataError{File: r.name, Offset: -1, Field: c.name, Value: md.Codec.String(), Expected: "UNCOMPRESSED, SNAPPY, GZIP or ZSTD compression", Err: fmt.Errorf("row group %d: %w", r.rg, ErrBadValue)}
	}
	start, length := chunkStart(cc), md.TotalCompressedSize
	if start < 4 || length <= 0 || start > r.dataEnd || length > r.dataEnd-start {
		return r.corruptf(c, "column chunk at offset %d, %d bytes, outside the file's %d data bytes", start, length, r.dataEnd)
	}
	if int64(cap(c.buf)) < length {
		putChunkBuf(c.buf)
		c.buf = getChunkBuf(int(length))
	}
	c.buf = c.buf[:length]
	if n, err := r.ra.ReadAt(c.buf, start); n < len(c.buf) {
		return &DataError{File: r.name, Offset: start + int64(n), Field: c.name, Err: fmt.Errorf("row group %d: %w: %v", r.rg, ErrTruncated, err)}
	}
	if r.progress != nil {
		r.progress.InputBytes.Add(length)
	}
	var values int64
	buf := c.buf
	for pos, page := 0, 0; pos < len(buf); page++ {
		n, err := checkThriftStruct(buf[pos:])
		if err != nil {
			return r.corruptf(c, "page %d header at offset %d: %v", page, start+int64(pos), err)
		}
		var h format.PageHeader
		if err := thrift.Unmarshal(&r.proto, buf[pos:pos+n], &h); err != nil {
			return r.corruptf(c, "page %d header at offset %d: %v", page, start+int64(pos), err)
		}
		pos += n
		comp, uncomp := int(h.CompressedPageSize), int(h.UncompressedPageSize)
		if comp < 0 || comp > len(buf)-pos || uncomp < 0 || uncomp > maxParquetPageBytes {
			return r.corruptf(c, "page %d claims %d compressed and %d uncompressed bytes; %d bytes remain in the chunk", page, comp, uncomp, len(buf)-pos)
		}
		body := buf[pos : pos+comp]
		pos += comp
		var nv int64
		switch h.Type {
		case format.DataPage:
			if !h.DataPageHeader.Valid {
				return r.corruptf(c, "page %d lacks its data page header", page)
			}
			nv = int64(h.DataPageHeader.V.NumValues)
		case format.DataPageV2:
			v2 := &h.DataPageHeaderV2
			if !v2.Valid {
				return r.corruptf(c, "page %d lacks its data page header", page)
			}
			nv = int64(v2.V.NumValues)
			levels := int64(v2.V.DefinitionLevelsByteLength) + int64(v2.V.RepetitionLevelsByteLength)
			if v2.V.DefinitionLevelsByteLength < 0 || v2.V.RepetitionLevelsByteLength < 0 || levels > int64(comp) || levels > int64(uncomp) {
				return r.corruptf(c, "page %d claims %d bytes of levels in %d bytes", page, levels, comp)
			}
			if v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V {
				break
			}
			body = body[levels:]
			uncomp -= int(levels)
		case format.DictionaryPage:
			if !h.DictionaryPageHeader.Valid {
				return r.corruptf(c, "page %d lacks its dictionary page header", page)
			}
			dn := int64(h.DictionaryPageHeader.V.NumValues)
			if dn < 0 || dn*minValueBytes(c.phys) > int64(uncomp) {
				return r.corruptf(c, "dictionary page claims %d values in %d bytes", dn, uncomp)
			}
		default:
			continue // index pages and unknown pages are skipped by parquet-go too
		}
		if nv < 0 || nv > maxParquetPageValues || nv > r.rgRows-values {
			return r.corruptf(c, "page %d claims %d values; the row group has %d rows, %d already in earlier pages", page, nv, r.rgRows, values)
		}
		values += nv
		if err := checkCompressed(md.Codec, body, uncomp); err != nil {
			return r.corruptf(c, "page %d: %v", page, err)
		}
	}
	if values != r.rgRows {
		return r.corruptf(c, "column chunk holds %d values, the row group %d rows", values, r.rgRows)
	}
	return nil
}

// minValueBytes is the least number of bytes a PLAIN value of kind k takes.
func minValueBytes(k parquet.Kind) int64 {
	switch k {
	case parquet.Int64, parquet.Double:
		return 8
	case parquet.Int96:
		return 12
	case parquet.Int32, parquet.Float, parquet.ByteArray:
		return 4
	}
	return 1
}

// checkCompressed checks that a compressed page payload does not announce
// more output than the page header (which is bounded) says. Gzip output is
// bounded by DEFLATE's ratio; Zstandard frames without a content size are
// not bounded beyond the page's compressed size (UNCONFIRMED whether
// inventory writers omit it).
func checkCompressed(codec format.CompressionCodec, body []byte, uncomp int) error {
	switch codec {
	case format.Snappy:
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(uncomp) {
			return fmt.Errorf("snappy block claims %d bytes, page header %d", n, uncomp)
		}
	case format.Zstd:
		var h zstd.Header
		if err := h.Decode(body); err != nil {
			return fmt.Errorf("zstd frame: %v", err)
		}
		if h.HasFCS && h.FrameContentSize > uint64(uncomp) {
			return fmt.Errorf("zstd frame claims %d bytes, page header %d", h.FrameContentSize, uncomp)
		}
	}
	return nil
}

// nextPage moves column c to its next page and sets up views of its
// definition levels and values.
func (r *ParquetReader) nextPage(c *pqColumn) error {
	if c.page != nil {
		c.pageStart += c.pageN
		parquet.Release(c.page)
		c.page = nil
	}
	c.pageN, c.pos, c.vpos = 0, 0, 0
	p, err := c.pages.ReadPage()
	if err != nil {
		if err == io.EOF {
			return r.corruptf(c, "column chunk ends after %d of %d rows", c.pageStart, r.rgRows)
		}
		return r.corruptf(c, "page %d: %v", c.pageNo, err)
	}
	c.page = p
	c.pageNo++
	n := int(p.NumValues())
	nvals := n
	c.defs = nil
	if c.maxDef > 0 {
		c.defs = p.DefinitionLevels()
		if len(c.defs) != n {
			return r.corruptf(c, "page %d has %d definition levels for %d values", c.pageNo-1, len(c.defs), n)
		}
		nvals = 0
		for _, d := range c.defs {
			if d == c.maxDef {
				nvals++
			} else if d > c.maxDef {
				return r.corruptf(c, "page %d has definition level %d, at most %d allowed", c.pageNo-1, d, c.maxDef)
			}
		}
	}
	if len(p.RepetitionLevels()) != 0 {
		return r.corruptf(c, "page %d of a flat column has repetition levels", c.pageNo-1)
	}
	vals := p.Data()
	have := 0
	if d := p.Dictionary(); d != nil {
		if c.phys == parquet.Boolean {
			return r.corruptf(c, "dictionary-encoded boolean page")
		}
		c.idx = vals.Int32()
		have = len(c.idx)
		if d != c.dict {
			if err := r.loadDict(c, d); err != nil {
				return err
			}
		}
	} else {
		c.idx = nil
		switch c.phys {
		case parquet.ByteArray:
			c.data, c.offs = vals.ByteArray()
			have = len(c.offs) - 1
			if have >= 0 && int(c.offs[len(c.offs)-1]) > len(c.data) {
				have = -1
			}
		case parquet.Int64:
			c.ints = vals.Int64()
			have = len(c.ints)
		case parquet.Int32:
			c.i32 = vals.Int32()
			have = len(c.i32)
		case parquet.Int96:
			c.i96 = vals.Int96()
			have = len(c.i96)
		case parquet.Boolean:
			c.bits = vals.Boolean()
			have = len(c.bits) * 8
		}
	}
	if have < nvals && nvals > 0 {
		return r.corruptf(c, "page %d holds %d values, its levels say %d", c.pageNo-1, max(have, 0), nvals)
	}
	if c.isKey {
		c.utf8OK = concatValidUTF8(c)
	}
	if rest := int(r.rgRows) - c.pageStart; n > rest {
		return r.corruptf(c, "page %d holds %d rows, only %d remain in the row group", c.pageNo-1, n, rest)
	}
	c.pageN = n
	return nil
}

func (r *ParquetReader) loadDict(c *pqColumn, d parquet.Dictionary) error {
	c.dict = d
	c.dictN = d.Len()
	vals := d.Page().Data()
	have := 0
	switch c.phys {
	case parquet.ByteArray:
		c.dData, c.dOffs = vals.ByteArray()
		have = len(c.dOffs) - 1
		if have >= 0 && int(c.dOffs[len(c.dOffs)-1]) > len(c.dData) {
			have = -1
		}
		c.dVals, c.dWide = c.dData, false
		if have < 0 {
			break
		}
		maxLen := 0
		for j := range have {
			maxLen = max(maxLen, int(c.dOffs[j+1])-int(c.dOffs[j]))
		}
		wide := !c.isKey && maxLen <= wideCopy && len(c.dData) <= 64<<10
		if c.isEnum || wide {
			buf := c.dUpper[:0]
			if c.isEnum {
				buf = AppendUpperASCII(buf, c.dData)
			} else {
				buf = append(buf, c.dData...)
			}
			c.dUpper = append(buf, make([]byte, wideCopy)...)
			c.dVals, c.dWide = c.dUpper, wide
		}
	case parquet.Int64:
		c.dInts = vals.Int64()
		have = len(c.dInts)
	case parquet.Int32:
		c.dI32 = vals.Int32()
		have = len(c.dI32)
	case parquet.Int96:
		c.dI96 = vals.Int96()
		have = len(c.dI96)
	}
	if have < c.dictN {
		return r.corruptf(c, "dictionary holds %d values, claims %d", max(have, 0), c.dictN)
	}
	return nil
}
