package scaleout

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// scatterBatchRows is the most rows per batch of a scatter file; a
// slice holds at most scatterBufferRows rows in all before it writes
// every range's rows out (so that its memory does not grow with N).
const scatterBatchRows = 65536

var scatterBufferRows = 1 << 20 // a variable for the tests

// ScatterOptions configure Scatter.
type ScatterOptions struct {
	// Ranges is the location of ranges.json.
	Ranges string
	// Slice is the scatter slice to run (0 to Slices-1).
	Slice int
	// Reader: DataRoot (default: the split's, from ranges.json),
	// SkipChecksums and Workers are used.
	Reader inventory.ReaderOptions
	// IO reads ranges.json, the inventories and their data files, and
	// writes the slice's files (nil: see objio); it replaces Reader.IO.
	IO *objio.Client
}

// Scatter runs slice o.Slice of a shuffled distributed plan or diff: it
// reads the data files of shuffled inputs that ranges.json gives the
// slice (checking their MD5), once, and writes each range's rows (the
// range rangeKeys chooses), unfiltered, to
// ROOT/scatter/<jjjj>/in<k>-<iiii>.arrow (Arrow IPC streams; the columns
// ranges.json names, those the plan or diff reads), then scatter.json
// last. Rows are written in the order they are read, so a re-run writes
// the same bytes. The range workers filter, sort and cut.
func Scatter(ctx context.Context, o ScatterOptions) (*manifest.ScatterSlice, error) {
	r, sum, err := manifest.ReadRanges(ctx, o.IO, o.Ranges)
	if err != nil {
		return nil, err
	}
	if r.Slices == 0 {
		return nil, fmt.Errorf("%w: %s shuffles no input: nothing to scatter (its ranges read the data files directly)", manifest.ErrRanges, o.Ranges)
	}
	if o.Slice < 0 || o.Slice >= r.Slices {
		return nil, fmt.Errorf("%w: scatter slice %d of %d (0 to %d)", manifest.ErrRanges, o.Slice, r.Slices, r.Slices-1)
	}
	dir := manifest.ScatterDir(manifest.RootOf(o.Ranges), o.Slice)
	out := &manifest.ScatterSlice{Ranges: sum, Slice: o.Slice, Slices: r.Slices, Verified: []manifest.FileRef{}, NoVerify: o.Reader.SkipChecksums,
		Outputs: make([]manifest.ScatterOutput, r.N())}
	for i := range out.Outputs {
		out.Outputs[i] = manifest.ScatterOutput{Range: i, Counters: make([]manifest.Counters, len(r.Inputs)), Files: []manifest.ScatterFile{}}
		for k := range r.Inputs {
			out.Outputs[i].Counters[k] = manifest.Counters{Dropped: map[string]int64{}}
		}
	}
	// One writer per slice folder: drop the marker of an earlier run (the
	// slice is incomplete until this one's), and the temporary files of
	// one that was killed.
	if err := o.IO.Remove(ctx, objio.Join(dir, manifest.ScatterName)); err != nil && !errors.Is(err, objio.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if !objio.IsS3(dir) {
		// A slice given no file (or no rows) still writes its marker.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
		for _, f := range stale {
			os.Remove(f)
		}
	}
	tmp, err := os.MkdirTemp("", "s3batchkit-scatter-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for k, in := range r.Inputs {
		if in.Mode != manifest.ModeShuffle {
			continue
		}
		root := o.Reader.DataRoot
		if root == "" {
			root = in.DataRoot
		}
		m, err := inventory.OpenManifest(ctx, in.Manifest, inventory.ManifestOptions{DataRoot: root, SkipChecksums: o.Reader.SkipChecksums, IO: o.IO})
		if err != nil {
			return nil, err
		}
		if m.MD5 != in.MD5 || len(m.Files) != len(in.Files) {
			return nil, fmt.Errorf("%w: %s has MD5 %s, the split read one with MD5 %s", manifest.ErrRanges, in.Manifest, m.MD5, in.MD5)
		}
		var files []inventory.DataFile
		for f, file := range in.Files {
			if file.VerifiedBy == o.Slice {
				files = append(files, m.Files[f])
				if !o.Reader.SkipChecksums {
					out.Verified = append(out.Verified, manifest.FileRef{Input: k, File: f})
				}
			}
		}
		m.Files = files
		ro := o.Reader
		ro.IO = o.IO
		ro.Fields = m.Fields
		if len(r.Columns) > 0 {
			var keep inventory.FieldSet
			for _, name := range r.Columns {
				f, ok := inventory.LookupField(name)
				if !ok {
					return nil, fmt.Errorf("%w: column %q", manifest.ErrRanges, name)
				}
				keep |= inventory.Fields(f)
			}
			ro.Fields = m.Fields & keep
		}
		rangeKey, err := rangeKeys(r, k)
		if err != nil {
			return nil, err
		}
		rep := inventory.NewReport(m, ro)
		fields := rep.Fields()
		ws := make([]*scatterWriter, r.N())
		bs := make([]*inventory.BatchBuilder, r.N())
		flush := func(i int) error {
			rec := bs[i].Build()
			if rec == nil {
				return nil
			}
			defer rec.Release()
			if ws[i] == nil {
				w, err := newScatterWriter(filepath.Join(tmp, fmt.Sprintf("in%d-%04d.arrow", k, i)), bs[i].Schema())
				if err != nil {
					return err
				}
				ws[i] = w
			}
			return ws[i].write(rec)
		}
		rows := make([][]int32, r.N())
		buffered := 0
		err = rep.Scan(ctx, func(rec arrow.RecordBatch) error {
			b := inventory.Batch{Rec: rec, Fields: fields}
			bk, kk := b.Strings(inventory.Bucket), b.Strings(inventory.Key)
			for i := range rows {
				rows[i] = rows[i][:0]
			}
			for j := 0; j < int(rec.NumRows()); j++ {
				i := r.RangeOf(rangeKey(inventory.StringBytes(bk, j), inventory.StringBytes(kk, j)))
				rows[i] = append(rows[i], int32(j))
			}
			for i, sel := range rows {
				if len(sel) == 0 {
					continue
				}
				if bs[i] == nil {
					bs[i] = inventory.NewBatchBuilder(fields, 1024)
				}
				inventory.TakeRows(bs[i], b, sel)
				out.Outputs[i].Counters[k].RowsRead += int64(len(sel))
				buffered += len(sel)
				if bs[i].Len() >= scatterBatchRows {
					buffered -= bs[i].Len()
					if err := flush(i); err != nil {
						return err
					}
				}
			}
			if buffered >= scatterBufferRows {
				for i := range bs {
					if bs[i] != nil && bs[i].Len() > 0 {
						if err := flush(i); err != nil {
							return err
						}
					}
				}
				buffered = 0
			}
			return nil
		})
		if err == nil {
			for i := range bs {
				if bs[i] != nil {
					if err = flush(i); err != nil {
						break
					}
				}
			}
		}
		for i, w := range ws {
			if w == nil {
				continue
			}
			if cerr := w.close(); err == nil {
				err = cerr
			}
			if err != nil {
				continue
			}
			name := fmt.Sprintf("in%d-%04d.arrow", k, i)
			if err = upload(ctx, o.IO, w.path, objio.Join(dir, name), w.size, w.md5()); err == nil {
				out.Outputs[i].Files = append(out.Outputs[i].Files, manifest.ScatterFile{Path: name, Input: k, Rows: w.rows, Bytes: w.size, MD5: w.md5()})
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := manifest.WriteScatter(ctx, o.IO, dir, out); err != nil {
		return nil, err
	}
	return out, nil
}

// upload moves a local file to loc (atomically, checked against its MD5).
func upload(ctx context.Context, oc *objio.Client, path, loc string, size int64, sum string) error {
	if !objio.IsS3(loc) {
		if err := os.MkdirAll(filepath.Dir(loc), 0o755); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = oc.Upload(ctx, loc, f, size, objio.UploadOptions{MD5: sum})
	return err
}

// scatterWriter writes one Arrow IPC stream to a local file, counting its
// bytes and hashing them.
type scatterWriter struct {
	path string
	f    *os.File
	h    hash.Hash
	w    *ipc.Writer
	size int64
	rows int64
}

type countWriter struct {
	w io.Writer
	n *int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

func newScatterWriter(path string, schema *arrow.Schema) (*scatterWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	s := &scatterWriter{path: path, f: f, h: md5.New()}
	s.w = ipc.NewWriter(countWriter{w: io.MultiWriter(f, s.h), n: &s.size}, ipc.WithSchema(schema), ipc.WithZstd())
	return s, nil
}

func (s *scatterWriter) write(rec arrow.RecordBatch) error {
	s.rows += rec.NumRows()
	return s.w.Write(rec)
}

func (s *scatterWriter) close() error {
	err := s.w.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *scatterWriter) md5() string { return hex.EncodeToString(s.h.Sum(nil)) }
