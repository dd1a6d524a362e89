package inventory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
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

	skip    []bool // row groups not to read (SelectRowGroups); nil reads all
	rg      int    // current row group; -1 before the first
	rgRows  int64  // rows of the current row group
	rgDone  int64  // rows of the current row group already appended
	rowBase int64  // rows of the row groups before the current one
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
	if err := r.readFooter(); err != nil {
		return err
	}
	f, err := parquet.OpenFile(r.ra, r.size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
	if err != nil {
		return &DataError{File: r.name, Offset: -1, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	r.file = f
	return r.mapColumns(set)
}

// readFooter checks the file's magic bytes, reads the footer into r.meta
// and checks its counts.
func (r *ParquetReader) readFooter() error {
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
	return r.checkMeta()
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
// docs/formats.md#inventory-fields).
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
	for r.skip != nil && r.rg < len(r.meta.RowGroups) && r.skip[r.rg] {
		r.rowBase += r.meta.RowGroups[r.rg].NumRows
		r.rg++
	}
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

// openParquet opens one Parquet data file of a report through open
// (Report.openChecked: the file checked against manifest.json first),
// then reads its footer.
func openParquet(df *DataFile, set FieldSet, o *ReaderOptions, open func() (objio.Object, error)) (FileReader, error) {
	obj, err := open()
	if err != nil {
		return nil, err
	}
	r, err := NewParquetReader(obj, obj.Size(), obj, df.Location, set, o.BatchRows)
	if err != nil {
		return nil, err
	}
	if df.Units != nil {
		if err := r.SelectRowGroups(df.Units); err != nil {
			r.Close()
			return nil, err
		}
	}
	r.progress = o.progress
	return r, nil
}

// SelectRowGroups makes the reader read only the given row groups (in
// file order, whatever the order given), before the first call of Next.
// An index the file does not have is a *DataError (the file is not the
// one the selection was made for).
func (r *ParquetReader) SelectRowGroups(groups []int) error {
	skip := make([]bool, len(r.meta.RowGroups))
	for i := range skip {
		skip[i] = true
	}
	for _, g := range groups {
		if g < 0 || g >= len(skip) {
			return &DataError{File: r.name, Offset: -1, Value: fmt.Sprint(g), Expected: fmt.Sprintf("a row group index below %d", len(skip)),
				Err: fmt.Errorf("%w: the file has fewer row groups than its statistics said", ErrManifest)}
		}
		skip[g] = false
	}
	r.skip = skip
	return nil
}
