package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// DefaultORCReadAhead is how many stripes an ORCReader opened for a report
// decodes ahead of the one being converted (see NewORCReader), at most:
// when the report's files are read Workers at a time, each decodes
// GOMAXPROCS/Workers stripes ahead (at least one), since read-ahead only
// helps while the files being read leave cores idle, and each stripe
// ahead holds memory.
const DefaultORCReadAhead = 2

// orcColumn is one projected field and the file column it comes from.
type orcColumn struct {
	field Field
	name  string   // as the file spells it; the field's column name when absent
	index int      // position in ORCReader.names; -1 when the file lacks the field
	kind  orc.Kind // the file column's type

	isKey, isEnum, nonEmpty bool

	// For the current stripe, when the column is kept as a dictionary
	// (orc.ReadOptions.Dictionaries): the entries' bytes, upper-cased for
	// enum fields, and for the key which entries are not valid UTF-8 (nil
	// when all are).
	dictData []byte
	badUTF8  []bool
	upper    []byte // memory of dictData when it is a copy
	badBuf   []bool // memory of badUTF8
	maxLen   int    // longest entry
	wide     bool   // entries fit fillDict's fixed-size copies
}

// orcBatches holds decoded stripes that have been converted, so that later
// stripes, of this file or the next, are decoded into their memory
// (orc.ReadStripeInto) rather than into fresh allocations. A reader has at
// most readAhead+2 stripes out of the pool at a time.
var orcBatches sync.Pool // of *orc.Batch

// orcReadOptions keeps dictionaries: fillDict copies each row's value
// straight from the dictionary, and enum dictionaries are upper-cased and
// keys checked once per entry rather than once per row.
var orcReadOptions = &orc.ReadOptions{Dictionaries: true}

// stripeResult is one decoded stripe, handed from a read-ahead worker to
// Next through the stripe's own slot.
type stripeResult struct {
	batch *orc.Batch
	err   error
}

// ORCReader streams one S3 Inventory ORC data file as record batches. It
// maps the file's top-level columns to fields by name (case-insensitively,
// see LookupField), decodes only the projected columns' streams, stripe by
// stripe with package orc, and converts each stripe into batches of
// batchRows rows through a BatchBuilder (a batch may span two stripes).
// Projected fields the file lacks are null.
//
// Values follow the CSV reader's rules: an empty string is null (bucket
// and key must not be null or empty), enum fields are upper-cased, keys
// are taken as stored (ORC keys are not URL-encoded) and must be valid
// UTF-8, and timestamps become milliseconds since the epoch, rounded down
// (also before 1970).
//
// With a read-ahead of k > 0, up to k stripes after the current one are
// decoded in parallel by background goroutines, and the results are
// consumed in stripe order; memory is bounded by k+1 decoded stripes of
// the projected columns plus one batch. Decoded stripes are recycled (see
// orcBatches): a stripe is decoded into the memory of one already
// converted, of this file or an earlier one, with dictionary-encoded
// strings kept as dictionaries (orc.ReadOptions.Dictionaries), so that
// reading allocates little beyond the batches it returns.
//
// The reader never panics on bad input: a corrupt file gives a *DataError
// naming the file, the stripe and the column, that unwraps to both
// ErrCorrupt and orc.ErrCorrupt. A panic (a bug) is recovered and
// returned as an *InternalError naming the file, never as a DataError. Batches returned by Next are owned by the
// caller. Not safe for concurrent use; Close must be called (it stops the
// read-ahead). After an error, Next returns the same error again.
type ORCReader struct {
	name      string
	file      *orc.File
	closer    io.Closer
	cols      []orcColumn // the projection, in canonical field order
	names     []string    // the file columns to decode, parallel to the present cols
	b         *BatchBuilder
	batchRows int
	readAhead int
	progress  *Progress

	// Read-ahead: the producer goroutine queues one slot per stripe in
	// slots (in stripe order) and starts a worker that decodes the stripe
	// into it; Next receives the slots in order. The producer closes slots
	// after the last stripe or when cancel is called; g tracks the
	// producer and the workers, so that Close can wait for them.
	slots  chan chan stripeResult
	cancel context.CancelFunc
	g      errgroup.Group

	sel     []int      // the stripes to read, ascending (SelectStripes); nil: all
	taken   int        // stripes of the selection made current so far
	stripe  int        // index of cur; -1 before the first stripe
	cur     *orc.Batch // the stripe being converted
	curCols []*orc.Column
	pos     int   // next row of cur
	rowBase int64 // rows of the stripes before cur
	done    bool
	err     error
}

// NewORCReader opens the ORC file ra of the given size (named name in
// errors) and prepares to read the fields of set in batches of batchRows
// rows (zero means DefaultBatchRows), decoding readAhead stripes ahead in
// background goroutines (zero decodes each stripe on the caller's
// goroutine, inside Next). closer, if not nil, is closed by Close, also
// when NewORCReader fails. The file must have bucket and key columns (else
// a *DataError wrapping ErrManifest). It does not verify checksums; see
// VerifyObject.
func NewORCReader(ra io.ReaderAt, size int64, closer io.Closer, name string, set FieldSet, batchRows, readAhead int) (_ *ORCReader, err error) {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	r := &ORCReader{name: name, closer: closer, batchRows: batchRows, readAhead: max(readAhead, 0), stripe: -1}
	defer func() {
		if p := recover(); p != nil { // the orc package promises none: a bug
			err = newInternalError(name, p)
		}
		if err != nil && closer != nil {
			closer.Close()
		}
	}()
	f, err := orc.Open(ra, size, nil)
	if err != nil {
		return nil, r.orcErr(-1, err)
	}
	r.file = f
	if err := r.mapColumns(set); err != nil {
		return nil, err
	}
	return r, nil
}

// mapColumns maps the file's top-level columns to the fields of set and
// checks their types.
func (r *ORCReader) mapColumns(set FieldSet) error {
	root := r.file.Schema()
	byField := map[Field]int{} // field → top-level child index
	if root.Kind == orc.Struct {
		for i, n := range root.FieldNames {
			f, ok := LookupField(n)
			if !ok {
				continue
			}
			if _, dup := byField[f]; dup {
				return &DataError{File: r.name, Offset: -1, Field: n, Expected: "one column per field", Err: fmt.Errorf("%w: the ORC file has two columns for %s", ErrManifest, f)}
			}
			byField[f] = i
		}
	}
	for _, f := range []Field{Bucket, Key} {
		if _, ok := byField[f]; !ok {
			return &DataError{File: r.name, Offset: -1, Field: f.ColumnName(), Value: shorten([]byte(root.String())),
				Expected: fmt.Sprintf("a struct with a %s:string column", f.ColumnName()),
				Err:      fmt.Errorf("%w: the ORC file has no %s column", ErrManifest, f.ColumnName())}
		}
	}
	for _, f := range set.List() {
		c := orcColumn{field: f, name: f.ColumnName(), index: -1,
			isKey: f == Key, isEnum: f.Kind() == KindEnum, nonEmpty: f == Bucket || f == Key}
		if i, ok := byField[f]; ok {
			t := root.Children[i]
			c.name, c.kind, c.index = root.FieldNames[i], t.Kind, len(r.names)
			if expected, ok := orcKindFits(f.Kind(), t.Kind); !ok {
				return &DataError{File: r.name, Offset: -1, Field: c.name, Value: t.String(), Expected: expected, Err: ErrBadValue}
			}
			r.names = append(r.names, c.name)
		}
		r.cols = append(r.cols, c)
	}
	r.b = NewBatchBuilder(set, r.batchRows)
	return nil
}

// orcKindFits says whether a file column of kind t can be read as a field
// of kind k, and otherwise what was expected. Integer columns are accepted
// for timestamps as milliseconds, since Athena's DDL declares some
// timestamp columns bigint (docs/formats.md#inventory-fields).
func orcKindFits(k Kind, t orc.Kind) (string, bool) {
	switch k {
	case KindString, KindEnum:
		return "string", t == orc.String || t == orc.Varchar || t == orc.Char
	case KindBool:
		return "boolean", t == orc.Boolean
	case KindInt64:
		return "bigint", t == orc.Long || t == orc.Int || t == orc.Short || t == orc.Byte
	case KindTimestamp:
		switch t {
		case orc.Timestamp, orc.TimestampInstant, orc.Date, orc.Long:
			return "", true
		}
		return "timestamp", false
	}
	return "a known kind", false
}

// Fields returns the projection of the batches Next returns.
func (r *ORCReader) Fields() FieldSet { return r.b.Fields() }

// NumRows returns the number of rows the file's footer claims.
func (r *ORCReader) NumRows() int64 { return r.file.NumRows() }

// orcErr wraps an error of package orc for stripe i (-1 for the file
// tail) as a *DataError naming the file and, when known, the column.
func (r *ORCReader) orcErr(i int, err error) error {
	var ie *InternalError
	if errors.As(err, &ie) {
		return err // a bug, not the file's fault
	}
	e := &DataError{File: r.name, Offset: -1, Err: err}
	var ce *orc.CorruptError
	if errors.As(err, &ce) {
		e.Field = r.columnName(ce.Column)
	}
	if i >= 0 && (ce == nil || ce.Stripe < 0) {
		e.Err = fmt.Errorf("stripe %d: %w", i, e.Err)
	}
	if errors.Is(err, orc.ErrCorrupt) {
		e.Err = fmt.Errorf("%w: %w", ErrCorrupt, e.Err)
	}
	return e
}

// columnName returns the name of the top-level column that column id
// belongs to (ids number the schema tree in pre-order), or "".
func (r *ORCReader) columnName(id int) string {
	if r.file == nil || id <= 0 {
		return ""
	}
	root := r.file.Schema()
	name := ""
	for i, c := range root.Children {
		if c.ID > id {
			break
		}
		name = root.FieldNames[i]
	}
	return name
}

// Close stops the read-ahead and closes the file.
func (r *ORCReader) Close() error {
	if r.cancel != nil {
		r.cancel()
		for range r.slots { //nolint:revive // drain: lets the producer exit
		}
		r.g.Wait()
		r.cancel = nil
	}
	r.recycle(r.cur)
	r.cur, r.curCols = nil, nil
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}

// decode decodes stripe i of the projected columns, into the memory of a
// converted stripe when there is one.
func (r *ORCReader) decode(i int) (b *orc.Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, newInternalError(r.name, p)
		}
	}()
	b, _ = orcBatches.Get().(*orc.Batch)
	if b == nil {
		b = &orc.Batch{}
	}
	if err := r.file.ReadStripeInto(b, i, r.names, orcReadOptions); err != nil {
		return nil, err
	}
	return b, nil
}

// recycle hands the converted stripe b to decode for reuse.
func (r *ORCReader) recycle(b *orc.Batch) {
	if b != nil {
		orcBatches.Put(b)
	}
}

// startReadAhead starts the producer; see ORCReader.slots.
func (r *ORCReader) startReadAhead() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.slots = make(chan chan stripeResult, r.readAhead)
	n := r.numSelected()
	r.g.Go(func() error {
		defer close(r.slots)
		for k := 0; k < n; k++ {
			i := r.selected(k)
			slot := make(chan stripeResult, 1)
			select {
			case r.slots <- slot:
			case <-ctx.Done():
				return nil
			}
			r.g.Go(func() error {
				b, err := r.decode(i)
				slot <- stripeResult{b, err}
				return nil
			})
		}
		return nil
	})
}

// nextStripe makes the next stripe current; io.EOF after the last.
func (r *ORCReader) nextStripe(ctx context.Context) error {
	r.recycle(r.cur)
	r.cur, r.curCols = nil, nil
	if r.taken >= r.numSelected() {
		return io.EOF
	}
	i := r.selected(r.taken)
	r.taken++
	var res stripeResult
	if r.readAhead == 0 || r.numSelected() == 1 {
		res.batch, res.err = r.decode(i)
	} else {
		if r.slots == nil {
			r.startReadAhead()
		}
		var slot chan stripeResult
		select {
		case slot = <-r.slots:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case res = <-slot:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if res.err != nil {
		return r.orcErr(i, res.err)
	}
	b := res.batch
	info := r.file.Stripe(i)
	if int64(b.NumRows) != info.NumRows {
		return r.orcErr(i, &orc.CorruptError{Section: "stripe", Stripe: i, Column: -1, Offset: -1,
			Msg: fmt.Sprintf("decoded %d rows, the footer says %d", b.NumRows, info.NumRows)})
	}
	cols := make([]*orc.Column, len(r.cols))
	for k := range r.cols {
		if x := r.cols[k].index; x >= 0 {
			c := b.Columns[x]
			if c == nil || c.Len != b.NumRows || (c.Valid != nil && len(c.Valid) != c.Len) || (c.Dict != nil && len(c.Index) != c.Len) {
				return r.orcErr(i, &orc.CorruptError{Section: "stripe", Stripe: i, Column: -1, Offset: -1,
					Msg: fmt.Sprintf("column %s does not hold the stripe's %d rows", r.cols[k].name, b.NumRows)})
			}
			cols[k] = c
			if c.Dict != nil {
				r.cols[k].useDict(c.Dict)
			}
		}
	}
	for s := max(r.stripe, 0); s < i; s++ {
		r.rowBase += r.file.Stripe(s).NumRows
	}
	r.stripe, r.cur, r.curCols, r.pos = i, b, cols, 0
	if r.progress != nil {
		r.progress.InputBytes.Add(info.IndexLength + info.DataLength + info.FooterLength)
	}
	return nil
}

// Next returns the next batch of at most batchRows rows, or (nil, io.EOF)
// after the last one.
func (r *ORCReader) Next(ctx context.Context) (rec arrow.RecordBatch, err error) {
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
		if r.cur == nil || r.pos == r.cur.NumRows {
			if err := r.nextStripe(ctx); err == io.EOF {
				r.done = true
				break
			} else if err != nil {
				return nil, err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(r.batchRows-r.b.Len(), r.cur.NumRows-r.pos)
		row := r.b.Len()
		r.b.ReserveRows(n)
		for k := range r.cols {
			if err := r.fill(&r.cols[k], r.curCols[k], row, n); err != nil {
				return nil, err
			}
		}
		r.b.EndRows(n)
		r.pos += n
	}
	if rec = r.b.Build(); rec == nil {
		return nil, io.EOF
	}
	return rec, nil
}

// openORC opens one ORC data file of a report through open
// (Report.openChecked: the file checked against manifest.json first),
// then reads its tail.
func openORC(df *DataFile, set FieldSet, o *ReaderOptions, open func() (objio.Object, error)) (FileReader, error) {
	obj, err := open()
	if err != nil {
		return nil, err
	}
	ahead := min(DefaultORCReadAhead, max(1, runtime.GOMAXPROCS(0)/max(o.Workers, 1)))
	r, err := NewORCReader(obj, obj.Size(), obj, df.Location, set, o.BatchRows, ahead)
	if err != nil {
		return nil, err
	}
	if df.Units != nil {
		if err := r.SelectStripes(df.Units); err != nil {
			r.Close()
			return nil, err
		}
	}
	r.progress = o.progress
	return r, nil
}

// SelectStripes makes the reader read only the given stripes (in file
// order, whatever the order given), before the first call of Next. An
// index the file does not have is a *DataError (the file is not the one
// the selection was made for).
func (r *ORCReader) SelectStripes(stripes []int) error {
	keep := make([]bool, r.file.NumStripes())
	for _, s := range stripes {
		if s < 0 || s >= len(keep) {
			return &DataError{File: r.name, Offset: -1, Value: fmt.Sprint(s), Expected: fmt.Sprintf("a stripe index below %d", len(keep)),
				Err: fmt.Errorf("%w: the file has fewer stripes than its statistics said", ErrManifest)}
		}
		keep[s] = true
	}
	r.sel = []int{}
	for s, k := range keep {
		if k {
			r.sel = append(r.sel, s)
		}
	}
	return nil
}

// numSelected is the number of stripes the reader reads.
func (r *ORCReader) numSelected() int {
	if r.sel == nil {
		return r.file.NumStripes()
	}
	return len(r.sel)
}

// selected is the file index of the k-th stripe read.
func (r *ORCReader) selected(k int) int {
	if r.sel == nil {
		return k
	}
	return r.sel[k]
}
