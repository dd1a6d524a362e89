package inventory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Limits that keep a lying Parquet file from making the reader allocate
// more than a small multiple of the file's size. Honest writers stay far
// below them (parquet-mr and Arrow cut pages at about 1 MiB).
const (
	// maxParquetPageBytes bounds a page's uncompressed size.
	maxParquetPageBytes = 256 << 20
	// maxParquetPageValues bounds the values (nulls included) of one page;
	// decoding costs about 9 bytes per value (levels, indexes, offsets).
	maxParquetPageValues = 1 << 24
	// maxParquetSchemaDepth bounds schema nesting; inventories are flat.
	maxParquetSchemaDepth = 16
	// maxParquetRowsPerByte bounds the rows a file may claim for its size.
	// Run-length encoding can make nulls nearly free, but every inventory
	// row carries a distinct key (and version id), which no encoding
	// stores in less than a few bits; real reports take tens of bytes per
	// row. The bound keeps a small lying file from costing minutes.
	maxParquetRowsPerByte = 64
)

// pqColumn is one projected field and, while a row group is read, the
// state of its column chunk: the compressed chunk bytes, the page being
// consumed and views of that page's values.
type pqColumn struct {
	field  Field
	name   string // as the file spells it
	leaf   int    // leaf column index in the file; -1 when absent
	phys   parquet.Kind
	div    int64 // timestamp unit divisor to milliseconds (1, 1000, 1e6)
	maxDef byte

	isKey, isEnum, nonEmpty bool

	buf       []byte // compressed bytes of the current column chunk
	pages     *parquet.FilePages
	page      parquet.Page
	pageNo    int
	pageStart int // rows of the chunk before the current page
	pageN     int // rows of the current page
	pos       int // next row of the current page
	vpos      int // next non-null value of the current page
	defs      []byte

	// Values of the current page, or its indexes into the dictionary.
	idx  []int32
	data []byte
	offs []uint32
	ints []int64
	i32  []int32
	i96  []deprecated.Int96
	bits []byte

	// Values of the current chunk's dictionary.
	dict  parquet.Dictionary
	dictN int
	dData []byte
	dOffs []uint32
	dInts []int64
	dI32  []int32
	dI96  []deprecated.Int96
	// dVals holds the dictionary's values as fillDictStrings copies them:
	// dData, or a copy of it upper-cased for enum fields and padded with
	// wideCopy bytes when dWide (every entry at most wideCopy bytes, not
	// the key) allows fixed-size copies.
	dVals  []byte
	dWide  bool
	dUpper []byte // memory of dVals when it is a copy
	// utf8OK says every key of the current page (or dictionary) is valid
	// UTF-8 provided it does not start with a continuation byte.
	utf8OK bool
}

// ParquetReader streams one S3 Inventory Parquet data file as record
// batches. It maps the file's top-level columns to fields by name
// (case-insensitively, see LookupField) and reads only the column chunks of
// the projected fields, row group by row group and page by page, straight
// into a BatchBuilder; projected fields the file lacks are null. Keys are
// taken as stored (Parquet keys are not URL-encoded) and must be valid
// UTF-8.
//
// The reader never panics on bad input: every length in the footer and the
// page headers is checked against the file before anything is allocated
// from it. A panic (in this reader or in parquet-go: a bug) is recovered
// and returned as an *InternalError naming the file, never as a
// DataError. Memory is bounded by the compressed size of one row
// group's projected chunks plus one decoded page per column.
//
// Batches returned by Next are owned by the caller. Not safe for
// concurrent use; Close must be called. After an error, Next returns the
// same error again.
type ParquetReader struct {
	name      string
	ra        io.ReaderAt
	closer    io.Closer
	size      int64
	dataEnd   int64 // end of the column data: the footer starts here
	file      *parquet.File
	meta      format.FileMetaData
	proto     thrift.CompactProtocol
	cols      []*pqColumn
	b         *BatchBuilder
	batchRows int
	progress  *Progress

	rg      int   // current row group; -1 before the first
	rgRows  int64 // rows of the current row group
	rgDone  int64 // rows of the current row group already appended
	rowBase int64 // rows of the row groups before the current one
	done    bool
	err     error
}

// NewParquetReader opens the Parquet file ra of the given size (named name
// in errors) and prepares to read the fields of set in batches of
// batchRows rows (zero means DefaultBatchRows). closer, if not nil, is
// closed by Close, also when NewParquetReader fails. The file must have
// bucket and key columns (else ErrManifest). It does not verify checksums;
// see VerifyObject.
func NewParquetReader(ra io.ReaderAt, size int64, closer io.Closer, name string, set FieldSet, batchRows int) (pr *ParquetReader, err error) {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	r := &ParquetReader{name: name, ra: ra, closer: closer, size: size, batchRows: batchRows, rg: -1}
	defer func() {
		if p := recover(); p != nil {
			err = newInternalError(name, p)
		}
		if err != nil && closer != nil {
			closer.Close()
		}
	}()
	if err := r.open(set); err != nil {
		return nil, err
	}
	return r, nil
}

// corrupt builds a DataError for the file or for column c (nil for the
// whole file) at the current row group.
func (r *ParquetReader) corrupt(rg int, c *pqColumn, err error) error {
	e := &DataError{File: r.name, Offset: -1, Err: err}
	if rg >= 0 {
		e.Err = fmt.Errorf("row group %d: %w", rg, err)
	}
	if c != nil {
		e.Field = c.name
		if c.page != nil {
			e.Line = r.rowBase + int64(c.pageStart+c.pos) + 1
		}
	}
	return e
}

func (r *ParquetReader) corruptf(c *pqColumn, format string, args ...any) error {
	return r.corrupt(r.rg, c, fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...))
}

// open checks the file's magic bytes and footer, opens it with parquet-go
// and maps its columns.
func (r *ParquetReader) open(set FieldSet) error {
	if r.size < 12 {
		return &DataError{File: r.name, Offset: 0, Value: fmt.Sprintf("%d bytes", r.size), Expected: "a Parquet file (PAR1 ... PAR1)", Err: ErrTruncated}
	}
	var head, tail [8]byte
	if _, err := r.ra.ReadAt(head[:4], 0); err != nil {
		return &DataError{File: r.name, Offset: 0, Err: err}
	}
	if _, err := r.ra.ReadAt(tail[:], r.size-8); err != nil && !errors.Is(err, io.EOF) {
		return &DataError{File: r.name, Offset: r.size - 8, Err: err}
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		got := head[:4]
		if string(head[:4]) == "PAR1" {
			got = tail[4:]
		}
		return &DataError{File: r.name, Offset: 0, Value: shorten(got), Expected: "PAR1 magic bytes at both ends (an unencrypted Parquet file)", Err: ErrTruncated}
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footerLen > r.size-12 {
		return &DataError{File: r.name, Offset: r.size - 8, Value: fmt.Sprint(footerLen), Expected: fmt.Sprintf("a footer of at most %d bytes", r.size-12), Err: ErrTruncated}
	}
	r.dataEnd = r.size - 8 - footerLen
	footer := make([]byte, footerLen)
	if _, err := r.ra.ReadAt(footer, r.dataEnd); err != nil && !errors.Is(err, io.EOF) {
		return &DataError{File: r.name, Offset: r.dataEnd, Err: err}
	}
	if n, err := checkThriftStruct(footer); err != nil || n != len(footer) {
		return &DataError{File: r.name, Offset: r.dataEnd, Expected: "a valid file metadata footer", Err: fmt.Errorf("%w: footer: %v", ErrCorrupt, errThrift)}
	}
	if err := thrift.Unmarshal(&r.proto, footer, &r.meta); err != nil {
		return &DataError{File: r.name, Offset: r.dataEnd, Expected: "a valid file metadata footer", Err: fmt.Errorf("%w: footer: %v", ErrCorrupt, err)}
	}
	if err := r.checkMeta(); err != nil {
		return err
	}
	f, err := parquet.OpenFile(r.ra, r.size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
	if err != nil {
		return &DataError{File: r.name, Offset: -1, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	r.file = f
	return r.mapColumns(set)
}

// checkMeta validates the footer's counts: rows, row groups, and schema
// nesting.
func (r *ParquetReader) checkMeta() error {
	m := &r.meta
	bad := func(format string, args ...any) error {
		return &DataError{File: r.name, Offset: r.dataEnd, Err: fmt.Errorf("%w: footer: "+format, append([]any{ErrCorrupt}, args...)...)}
	}
	if m.NumRows < 0 {
		return bad("negative row count %d", m.NumRows)
	}
	if m.NumRows/maxParquetRowsPerByte > r.size {
		return bad("%d rows claimed in a file of %d bytes", m.NumRows, r.size)
	}
	if len(m.Schema) == 0 {
		return bad("empty schema")
	}
	if len(m.RowGroups) > parquet.MaxRowGroups {
		return bad("%d row groups, at most %d allowed", len(m.RowGroups), parquet.MaxRowGroups)
	}
	var rows int64
	for i := range m.RowGroups {
		n := m.RowGroups[i].NumRows
		if n < 0 || n > m.NumRows-rows {
			return bad("row group %d claims %d rows, more than the file's %d", i, n, m.NumRows)
		}
		rows += n
	}
	if rows != m.NumRows {
		return bad("row groups hold %d rows, file claims %d", rows, m.NumRows)
	}
	// Nesting depth, walked iteratively as parquet-go will build it
	// recursively: an element with a type is a leaf, any other is a group
	// of NumChildren elements.
	open := []int32{1}
	for i := 0; i < len(m.Schema) && len(open) > 0; i++ {
		open[len(open)-1]--
		e := &m.Schema[i]
		if !e.Type.Valid {
			n := e.NumChildren.V
			if n < 0 || int64(n) > int64(len(m.Schema)-i-1) {
				return bad("schema element %q has %d children", shorten([]byte(e.Name)), n)
			}
			if n > 0 {
				open = append(open, n)
				if len(open) > maxParquetSchemaDepth+1 {
					return bad("schema nested more than %d levels", maxParquetSchemaDepth)
				}
			}
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
	}
	return nil
}

// mapColumns maps the file's top-level columns to the fields of set.
func (r *ParquetReader) mapColumns(set FieldSet) error {
	byField := map[Field]*pqColumn{}
	for _, col := range r.file.Root().Columns() {
		f, ok := LookupField(col.Name())
		if !ok || !set.Has(f) {
			continue
		}
		typeErr := func(expected string) error {
			return &DataError{File: r.name, Offset: -1, Field: col.Name(), Value: col.Type().String(), Expected: expected, Err: ErrBadValue}
		}
		if _, dup := byField[f]; dup {
			return &DataError{File: r.name, Offset: -1, Field: col.Name(), Expected: "one column per field", Err: fmt.Errorf("%w: the file has two columns for %s", ErrManifest, f)}
		}
		if !col.Leaf() || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
			return typeErr("a required or optional primitive column")
		}
		c := &pqColumn{field: f, name: col.Name(), leaf: col.Index(), phys: col.Type().Kind(), maxDef: byte(col.MaxDefinitionLevel()),
			isKey: f == Key, isEnum: f.Kind() == KindEnum, nonEmpty: f == Bucket || f == Key}
		switch f.Kind() {
		case KindString, KindEnum:
			if c.phys != parquet.ByteArray {
				return typeErr("binary (UTF8)")
			}
		case KindBool:
			if c.phys != parquet.Boolean {
				return typeErr("boolean")
			}
		case KindInt64:
			if c.phys != parquet.Int64 && c.phys != parquet.Int32 {
				return typeErr("int64")
			}
		case KindTimestamp:
			switch c.phys {
			case parquet.Int64:
				c.div = timestampDivisor(col.Type())
			case parquet.Int96:
			default:
				return typeErr("int64 (TIMESTAMP_MILLIS)")
			}
		}
		byField[f] = c
	}
	for _, f := range []Field{Bucket, Key} {
		if byField[f] == nil {
			return &DataError{File: r.name, Offset: -1, Field: f.ColumnName(), Expected: fmt.Sprintf("a column named %s (required binary %s (UTF8))", f.ColumnName(), f.ColumnName()), Err: fmt.Errorf("%w: the Parquet file has no %s column", ErrManifest, f.ColumnName())}
		}
	}
	for _, f := range set.List() {
		c := byField[f]
		if c == nil {
			c = &pqColumn{field: f, name: f.ColumnName(), leaf: -1}
		}
		r.cols = append(r.cols, c)
	}
	r.b = NewBatchBuilder(set, r.batchRows)
	return nil
}

// timestampDivisor returns what divides an INT64 timestamp column's values
// to milliseconds. A plain int64 without annotation is taken as
// milliseconds (Athena's DDL declares some timestamp columns bigint; see
// formats.md §2.2).
func timestampDivisor(t parquet.Type) int64 {
	if lt := t.LogicalType(); lt != nil {
		if ts, ok := lt.Value.(*format.TimestampType); ok {
			switch ts.Unit.Value.(type) {
			case *format.MicroSeconds:
				return 1000
			case *format.NanoSeconds:
				return 1_000_000
			}
			return 1
		}
	}
	if ct := t.ConvertedType(); ct != nil && *ct == deprecated.TimestampMicros {
		return 1000
	}
	return 1
}

// Fields returns the projection of the batches Next returns.
func (r *ParquetReader) Fields() FieldSet { return r.b.Fields() }

// NumRows returns the number of rows the file's footer claims.
func (r *ParquetReader) NumRows() int64 { return r.meta.NumRows }

// Close releases the reader's pages and closes the file.
func (r *ParquetReader) Close() error {
	for _, c := range r.cols {
		c.release()
		putChunkBuf(c.buf)
		c.buf = nil
	}
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}

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

func (c *pqColumn) release() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
	c.dict = nil
}

// Next returns the next batch of at most batchRows rows, or (nil, io.EOF)
// after the last one.
func (r *ParquetReader) Next(ctx context.Context) (rec arrow.RecordBatch, err error) {
	if r.err != nil {
		return nil, r.err
	}
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, newInternalError(r.name, p)
		}
		if err != nil && err != io.EOF {
			r.err = err
		}
	}()
	for !r.done && r.b.Len() < r.batchRows {
		if r.rgDone == r.rgRows {
			if err := r.nextRowGroup(); err != nil {
				return nil, err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := int(min(int64(r.batchRows-r.b.Len()), r.rgRows-r.rgDone))
		row := r.b.Len()
		r.b.ReserveRows(n)
		for _, c := range r.cols {
			if err := r.fill(c, row, n); err != nil {
				return nil, err
			}
		}
		r.b.EndRows(n)
		r.rgDone += int64(n)
	}
	if rec = r.b.Build(); rec == nil {
		return nil, io.EOF
	}
	return rec, nil
}

// nextRowGroup moves to the next row group and loads its projected column
// chunks, or sets done after the last.
func (r *ParquetReader) nextRowGroup() error {
	r.rowBase += r.rgRows
	r.rgRows, r.rgDone = 0, 0
	for _, c := range r.cols {
		c.release()
	}
	r.rg++
	if r.rg >= len(r.meta.RowGroups) {
		r.done = true
		return nil
	}
	r.rgRows = r.meta.RowGroups[r.rg].NumRows
	if r.rgRows == 0 {
		return nil
	}
	chunks := r.file.RowGroups()[r.rg].ColumnChunks()
	for _, c := range r.cols {
		if c.leaf < 0 {
			continue
		}
		if c.leaf >= len(chunks) || c.leaf >= len(r.meta.RowGroups[r.rg].Columns) {
			return r.corruptf(c, "row group has no chunk for column %d", c.leaf)
		}
		fc, ok := chunks[c.leaf].(*parquet.FileColumnChunk)
		if !ok {
			return r.corruptf(c, "unexpected column chunk type %T", chunks[c.leaf])
		}
		if err := r.loadChunk(c, &r.meta.RowGroups[r.rg].Columns[c.leaf]); err != nil {
			return err
		}
		c.pages = fc.PagesFrom(&chunkReaderAt{off: chunkStart(&r.meta.RowGroups[r.rg].Columns[c.leaf]), b: c.buf})
		c.pageNo, c.pageStart, c.pageN, c.pos, c.vpos = 0, 0, 0, 0, 0
	}
	return nil
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

// fill appends n rows of column c at rows row.. of the batch.
func (r *ParquetReader) fill(c *pqColumn, row, n int) error {
	b := r.b
	if c.leaf < 0 {
		for i := 0; i < n; i++ {
			b.ColNull(c.field, row+i)
		}
		return nil
	}
	for n > 0 {
		if c.pos >= c.pageN {
			if err := r.nextPage(c); err != nil {
				return err
			}
			continue
		}
		k := min(n, c.pageN-c.pos)
		var err error
		switch c.phys {
		case parquet.ByteArray:
			err = r.fillStrings(c, row, k)
		case parquet.Boolean:
			err = r.fillBools(c, row, k)
		default:
			err = r.fillInts(c, row, k)
		}
		if err != nil {
			return err
		}
		row += k
		n -= k
	}
	return nil
}

// valueErr reports a bad value at column c's current row.
func (r *ParquetReader) valueErr(c *pqColumn, v []byte, expected string, sentinel error) error {
	e := r.corrupt(r.rg, c, sentinel).(*DataError)
	e.Value = shorten(v)
	e.Expected = expected
	return e
}

func (r *ParquetReader) fillStrings(c *pqColumn, row, k int) error {
	if c.idx != nil {
		return r.fillDictStrings(c, row, k)
	}
	cb := r.b.column(c.field)
	data, offsets, valid, nulls := cb.data, cb.offsets, cb.valid, cb.nulls
	defer func() { cb.data, cb.offsets, cb.nulls = data, offsets, nulls }()

	// The run's values are consecutive in the page: copy them in one
	// piece (upper-cased for enum fields), then rebase their offsets.
	nv := k
	if c.defs != nil {
		nv = 0
		for _, d := range c.defs[c.pos : c.pos+k] {
			if d == c.maxDef {
				nv++
			}
		}
	}
	var base int32
	if nv > 0 {
		from, to := c.offs[c.vpos], c.offs[c.vpos+nv]
		start := len(data)
		data = reserveBytes(data, int(to-from))
		if c.isEnum {
			data = AppendUpperASCII(data, c.data[from:to])
		} else {
			data = append(data, c.data[from:to]...)
		}
		base = int32(start) - int32(from)
	}
	checkKey := c.isKey && !c.utf8OK
	end := c.pos + k
	cur := int32(len(cb.data))
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			if c.nonEmpty {
				return r.valueErr(c, nil, "a value (bucket and key are required)", emptySentinel(c))
			}
			offsets = append(offsets, cur)
			nulls++
			continue
		}
		j := c.vpos
		c.vpos++
		lo, hi := c.offs[j], c.offs[j+1]
		switch {
		case hi == lo:
			if c.nonEmpty {
				return r.valueErr(c, c.data[lo:hi], "a non-empty value", emptySentinel(c))
			}
			offsets = append(offsets, cur) // an empty value is no value, as in CSV
			nulls++
			continue
		case c.isKey && (checkKey || c.data[lo]&0xc0 == 0x80) && !utf8.Valid(c.data[lo:hi]):
			return r.valueErr(c, c.data[lo:hi], "a key of valid UTF-8", ErrBadKey)
		}
		cur = int32(hi) + base
		offsets = append(offsets, cur)
		valid[row>>3] |= 1 << (row & 7)
	}
	return nil
}

// fillDictStrings is fillStrings for a dictionary-encoded page: each
// row's value is copied from the dictionary (upper-cased there for enum
// fields), with fixed-size copies when the entries are short and doubling
// copies when a one-entry dictionary fills the run.
func (r *ParquetReader) fillDictStrings(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	data, offsets, valid, nulls := cb.data, cb.offsets, cb.valid, cb.nulls
	defer func() { cb.data, cb.offsets, cb.nulls = data, offsets, nulls }()

	vdata, voffs := c.dVals, c.dOffs
	if c.dictN == 1 && c.defs == nil && c.vpos+k <= len(c.idx) && voffs[1] > voffs[0] &&
		(!c.isKey || (c.utf8OK && vdata[voffs[0]]&0xc0 != 0x80)) && allZero(c.idx[c.vpos:c.vpos+k]) {
		start := len(data)
		v := vdata[voffs[0]:voffs[1]]
		data = reserveBytes(data, k*len(v))
		data = append(data, v...)
		for total := k * len(v); len(data)-start < total; {
			data = append(data, data[start:start+min(len(data)-start, total-(len(data)-start))]...)
		}
		for i := 1; i <= k; i++ {
			offsets = append(offsets, int32(start+i*len(v)))
		}
		setValidRange(valid, row, k)
		c.pos += k
		c.vpos += k
		return nil
	}
	if c.dWide {
		// Room for the run and wideCopy bytes more, so that each value
		// is one fixed-size copy into data's spare capacity.
		need := wideCopy
		for _, x := range c.idx[c.vpos:min(c.vpos+k, len(c.idx))] {
			if uint32(x) < uint32(c.dictN) {
				need += int(voffs[x+1] - voffs[x])
			}
		}
		data = reserveBytes(data, need)
	}
	buf := data[:cap(data)]
	n := len(data)
	checkKey := c.isKey && !c.utf8OK
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			if c.nonEmpty {
				data = data[:n]
				return r.valueErr(c, nil, "a value (bucket and key are required)", emptySentinel(c))
			}
			offsets = append(offsets, int32(n))
			nulls++
			continue
		}
		j, err := r.nextValue(c)
		if err != nil {
			data = data[:n]
			return err
		}
		lo, hi := voffs[j], voffs[j+1]
		switch {
		case hi == lo:
			if c.nonEmpty {
				data = data[:n]
				return r.valueErr(c, vdata[lo:hi], "a non-empty value", emptySentinel(c))
			}
			offsets = append(offsets, int32(n)) // an empty value is no value, as in CSV
			nulls++
			continue
		case c.dWide:
			*(*[wideCopy]byte)(buf[n:]) = *(*[wideCopy]byte)(vdata[lo:])
			n += int(hi - lo)
		case c.isKey && (checkKey || vdata[lo]&0xc0 == 0x80) && !utf8.Valid(vdata[lo:hi]):
			data = data[:n]
			return r.valueErr(c, vdata[lo:hi], "a key of valid UTF-8", ErrBadKey)
		default:
			data = append(data[:n], vdata[lo:hi]...)
			buf, n = data[:cap(data)], len(data)
		}
		offsets = append(offsets, int32(n))
		valid[row>>3] |= 1 << (row & 7)
	}
	if c.dWide {
		clear(buf[n:min(n+wideCopy, len(buf))])
	}
	data = data[:n]
	return nil
}

func allZero(s []int32) bool {
	for _, x := range s {
		if x != 0 {
			return false
		}
	}
	return true
}

// concatValidUTF8 reports whether the values of c's current page (or its
// dictionary) are valid UTF-8 as one string. If so, each value is valid
// UTF-8 unless it starts with a continuation byte (a boundary inside a
// multi-byte sequence), so fillStrings checks only first bytes; one pass
// over the page is much cheaper than one utf8.Valid call per key.
func concatValidUTF8(c *pqColumn) bool {
	data, offs := c.data, c.offs
	if c.idx != nil {
		data, offs = c.dData, c.dOffs
	}
	if len(offs) == 0 {
		return true
	}
	return utf8.Valid(data[offs[0]:offs[len(offs)-1]])
}

func emptySentinel(c *pqColumn) error {
	if c.isKey {
		return ErrBadKey
	}
	return ErrBadValue
}

func (r *ParquetReader) fillBools(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	bools, valid := cb.bools, cb.valid
	if allDefined(c, k) {
		for i, j := row, c.vpos; i < row+k; i, j = i+1, j+1 {
			if c.bits[j>>3]>>(j&7)&1 != 0 {
				bools[i>>3] |= 1 << (i & 7)
			}
		}
		setValidRange(valid, row, k)
		c.pos, c.vpos = c.pos+k, c.vpos+k
		return nil
	}
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			cb.nulls++
			continue
		}
		j := c.vpos
		c.vpos++
		bit := byte(1) << (row & 7)
		if c.bits[j>>3]>>(j&7)&1 != 0 {
			bools[row>>3] |= bit
		}
		valid[row>>3] |= bit
	}
	return nil
}

// nextValue consumes c's next stored value and returns its index among
// the page's values, or, for a dictionary-encoded page, among the
// dictionary's, checked against its size.
func (r *ParquetReader) nextValue(c *pqColumn) (int, error) {
	j := c.vpos
	c.vpos++
	if c.idx == nil {
		return j, nil
	}
	x := c.idx[j]
	if uint32(x) >= uint32(c.dictN) {
		return 0, r.corruptf(c, "dictionary index %d out of range [0,%d)", x, c.dictN)
	}
	return int(x), nil
}

func (r *ParquetReader) fillInts(c *pqColumn, row, k int) error {
	cb := r.b.column(c.field)
	ints, valid, nulls := cb.ints, cb.valid, cb.nulls
	defer func() { cb.ints, cb.nulls = ints, nulls }()
	isSize := c.field.Kind() == KindInt64
	if c.idx == nil && c.phys == parquet.Int64 && c.div <= 1 && allDefined(c, k) {
		// Plain values, no nulls, no conversion: one copy.
		vs := c.ints[c.vpos : c.vpos+k]
		if isSize {
			for i, v := range vs {
				if v < 0 {
					c.pos, c.vpos = c.pos+i, c.vpos+i
					return r.valueErr(c, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
				}
			}
		}
		ints = append(ints, vs...)
		setValidRange(valid, row, k)
		c.pos, c.vpos = c.pos+k, c.vpos+k
		return nil
	}
	end := c.pos + k
	for ; c.pos < end; c.pos, row = c.pos+1, row+1 {
		if c.defs != nil && c.defs[c.pos] != c.maxDef {
			ints = append(ints, 0)
			nulls++
			continue
		}
		j, err := r.nextValue(c)
		if err != nil {
			return err
		}
		var v int64
		switch c.phys {
		case parquet.Int64:
			if c.idx != nil {
				v = c.dInts[j]
			} else {
				v = c.ints[j]
			}
			if c.div > 1 {
				v = floorDiv(v, c.div)
			}
		case parquet.Int32:
			if c.idx != nil {
				v = int64(c.dI32[j])
			} else {
				v = int64(c.i32[j])
			}
		case parquet.Int96:
			if c.idx != nil {
				v = int96Millis(c.dI96[j])
			} else {
				v = int96Millis(c.i96[j])
			}
		}
		if isSize && v < 0 {
			return r.valueErr(c, fmt.Append(nil, v), "a non-negative size", ErrBadValue)
		}
		ints = append(ints, v)
		valid[row>>3] |= 1 << (row & 7)
	}
	return nil
}

// allDefined reports whether the next k rows of c's page all have values.
func allDefined(c *pqColumn, k int) bool {
	if c.defs == nil {
		return true
	}
	for _, d := range c.defs[c.pos : c.pos+k] {
		if d != c.maxDef {
			return false
		}
	}
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// int96Millis converts a legacy INT96 timestamp (nanoseconds of the day,
// then the Julian day number) to milliseconds since the epoch.
func int96Millis(v deprecated.Int96) int64 {
	const julianEpoch = 2_440_588 // Julian day of 1970-01-01
	nanos := int64(uint64(v[1])<<32 | uint64(v[0]))
	return (int64(v[2])-julianEpoch)*86_400_000 + floorDiv(nanos, 1_000_000)
}

// openParquet opens one Parquet data file of a report: it verifies the
// file's size and MD5 first (verify, which
// does nothing when ReaderOptions.SkipChecksums is set), then reads its footer.
func openParquet(ctx context.Context, df *DataFile, set FieldSet, o *ReaderOptions, verify func(SizedReaderAt) error) (FileReader, error) {
	obj, err := objio.Open(ctx, df.Location)
	if err != nil {
		return nil, err
	}
	if err := verify(obj); err != nil {
		obj.Close()
		return nil, err
	}
	r, err := NewParquetReader(obj, obj.Size(), obj, df.Location, set, o.BatchRows)
	if err != nil {
		return nil, err
	}
	r.progress = o.progress
	return r, nil
}
