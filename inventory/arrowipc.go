package inventory

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// FormatArrowIPC is not an S3 Inventory format: it is the format of the
// files a scatter step of a distributed plan writes (docs/scale-out.md),
// Arrow IPC streams of inventory batches (columns named by their canonical
// field names, the schema of NewBatchBuilder), which a range's worker
// reads as the data files of a manifest it builds in memory. ParseFormat
// does not accept it.
const FormatArrowIPC Format = "ARROW_IPC"

// TakeRows appends the rows rows of b (in that order) to bb, whose field
// set must be b.Fields; bb.Build then returns them as a batch.
func TakeRows(bb *BatchBuilder, b Batch, rows []int32) {
	type col struct {
		f     Field
		bools *array.Boolean
		ints  []int64
		iarr  arrow.Array
		strs  *array.String
	}
	var cols []col
	for _, f := range b.Fields.List() {
		c := col{f: f}
		switch f.Kind() {
		case KindBool:
			c.bools = b.Bools(f)
		case KindInt64, KindTimestamp:
			c.ints, c.iarr = b.Int64s(f)
		default:
			c.strs = b.Strings(f)
		}
		cols = append(cols, c)
	}
	for _, r := range rows {
		i := int(r)
		for k := range cols {
			c := &cols[k]
			switch {
			case c.bools != nil:
				if c.bools.IsNull(i) {
					bb.AppendNull(c.f)
				} else {
					bb.AppendBool(c.f, c.bools.Value(i))
				}
			case c.iarr != nil:
				if c.iarr.IsNull(i) {
					bb.AppendNull(c.f)
				} else {
					bb.AppendInt(c.f, c.ints[i])
				}
			default:
				if c.strs.IsNull(i) {
					bb.AppendNull(c.f)
				} else {
					bb.AppendString(c.f, StringBytes(c.strs, i))
				}
			}
		}
		bb.EndRow()
	}
}

// arrowIPCReader reads one scatter file.
type arrowIPCReader struct {
	name string
	obj  objio.Object
	rd   *ipc.Reader
	set  FieldSet // the fields to hand over
	file FieldSet // the fields of the file
	idx  []int    // the file's column of each field of set, in order
	rows int64
}

// openArrowIPC opens one scatter file of a range through open
// (Report.openChecked: the file checked against its MD5 first).
func openArrowIPC(df *DataFile, set FieldSet, o *ReaderOptions, open func() (objio.Object, error)) (FileReader, error) {
	obj, err := open()
	if err != nil {
		return nil, err
	}
	var src io.Reader = io.NewSectionReader(obj, 0, obj.Size())
	if o.progress != nil {
		src = &progressReader{r: src, p: o.progress}
	}
	rd, err := ipc.NewReader(src)
	if err != nil {
		obj.Close()
		return nil, &DataError{File: df.Location, Offset: 0, Expected: "an Arrow IPC stream written by plan scatter", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	r := &arrowIPCReader{name: df.Location, obj: obj, rd: rd}
	for _, f := range rd.Schema().Fields() {
		fld, ok := LookupField(f.Name)
		if !ok || !arrow.TypeEqual(f.Type, fld.ArrowType()) {
			r.Close()
			return nil, &DataError{File: df.Location, Offset: 0, Value: f.Name, Expected: "the columns of an inventory batch", Err: ErrCorrupt}
		}
		r.file |= Fields(fld)
	}
	r.set = set & r.file
	for _, f := range r.set.List() {
		r.idx = append(r.idx, r.file.ColumnIndex(f))
	}
	return r, nil
}

func (r *arrowIPCReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !r.rd.Next() {
		if err := r.rd.Err(); err != nil && err != io.EOF {
			return nil, &DataError{File: r.name, Offset: -1, Value: fmt.Sprintf("after row %d", r.rows), Expected: "a whole Arrow IPC stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		return nil, io.EOF
	}
	rec := r.rd.RecordBatch()
	cols := make([]arrow.Array, len(r.idx))
	for i, c := range r.idx {
		cols[i] = rec.Column(c)
	}
	r.rows += rec.NumRows()
	return array.NewRecordBatch(NewBatchBuilder(r.set, 0).Schema(), cols, rec.NumRows()), nil
}

func (r *arrowIPCReader) Close() error {
	if r.rd != nil {
		r.rd.Release()
	}
	return r.obj.Close()
}
