package inventory

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// DefaultBatchRows is the number of rows per record batch when
// ReaderOptions.BatchRows is zero.
const DefaultBatchRows = 16384

// FileReader streams the rows of one data file as record batches.
type FileReader interface {
	// Next returns the next batch, or (nil, io.EOF) after the last one. The
	// caller owns the batch and must Release it. A data error is returned
	// as a *DataError naming the file and the row.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	// Close releases the reader; it must be called, also after an error.
	Close() error
}

// ReaderOptions control how a report is read.
type ReaderOptions struct {
	// Workers is how many data files are decoded at once. Zero means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Fields is the projection: the fields the caller needs. Zero means
	// every field. Fields the report lacks are left out of the batches
	// (see Report.Fields).
	Fields FieldSet
	// BatchRows is the number of rows per batch; zero means
	// DefaultBatchRows.
	BatchRows int
	// DataRoot and SkipChecksums are as in ManifestOptions.
	DataRoot      string
	SkipChecksums bool
	// TmpDir holds the local copies of S3 data files being decoded
	// (empty: os.TempDir()); each is removed from the folder as soon as
	// it is created, and its space freed when the file is closed.
	TmpDir string
	// IO reads the manifest and the data files (nil: see objio).
	IO *objio.Client
	// Progress, when not nil, is updated as files are read.
	Progress *Progress

	progress *Progress
}

// Progress counts work done, updated atomically while a scan runs, so that
// a caller can print it from another goroutine.
type Progress struct {
	InputBytes atomic.Int64 // bytes of data files read (compressed)
	Rows       atomic.Int64 // rows decoded
	FilesDone  atomic.Int64 // data files finished
	// TotalFiles and TotalBytes grow as reports are opened, so that a
	// progress line can show the share done.
	TotalFiles atomic.Int64
	TotalBytes atomic.Int64
	// Merging and Merged count the rows of the final merge of a sort
	// (plan, diff): those it will hand over once reading is done, and
	// those handed over so far.
	Merging atomic.Int64
	Merged  atomic.Int64
}

type progressReader struct {
	r io.Reader
	p *Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.p.InputBytes.Add(int64(n))
	return n, err
}

// Report is an opened inventory report, ready to scan.
type Report struct {
	Manifest *Manifest
	opts     ReaderOptions
	fields   FieldSet
}

// Open opens the report whose manifest.json is at loc.
func Open(ctx context.Context, loc string, opts ReaderOptions) (*Report, error) {
	m, err := OpenManifest(ctx, loc, ManifestOptions{DataRoot: opts.DataRoot, SkipChecksums: opts.SkipChecksums, IO: opts.IO})
	if err != nil {
		return nil, err
	}
	return NewReport(m, opts), nil
}

// NewReport prepares a scan of an already opened manifest.
func NewReport(m *Manifest, opts ReaderOptions) *Report {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = DefaultBatchRows
	}
	if opts.Fields == 0 {
		opts.Fields = AllFields
	}
	opts.Fields |= Fields(Bucket, Key)
	opts.progress = opts.Progress
	if p := opts.Progress; p != nil {
		p.TotalFiles.Add(int64(len(m.Files)))
		for _, f := range m.Files {
			p.TotalBytes.Add(f.Size)
		}
	}
	return &Report{Manifest: m, opts: opts, fields: opts.Fields & m.Fields}
}

// Fields returns the fields every batch of the scan carries: the
// projection asked for, less the fields the report lacks.
func (r *Report) Fields() FieldSet { return r.fields }

// OpenFile opens data file i of the report.
func (r *Report) OpenFile(ctx context.Context, i int) (FileReader, error) {
	return r.openFile(ctx, i, nil)
}

// openFile opens data file i; when av is not nil, it has verified (or is
// verifying) the file, so the reader waits for its answer instead of
// hashing the file itself.
func (r *Report) openFile(ctx context.Context, i int, av *aheadVerifier) (FileReader, error) {
	df := &r.Manifest.Files[i]
	open := func() (objio.Object, error) { return r.openChecked(ctx, df, i, av) }
	switch r.Manifest.Format {
	case FormatCSV:
		return openCSV(ctx, r.Manifest, df, r.fields, &r.opts)
	case FormatParquet:
		return openParquet(df, r.fields, &r.opts, open)
	case FormatORC:
		return openORC(df, r.fields, &r.opts, open)
	case FormatArrowIPC:
		return openArrowIPC(df, r.fields, &r.opts, open)
	}
	return nil, fmt.Errorf("%s: %w %q: no reader for this format yet", df.Location, ErrFormat, r.Manifest.FileFormat)
}

// openChecked opens data file i (df) of a format read by random access
// and checks it against manifest.json before any of its bytes is decoded
// (CSV's reader hashes the stream it inflates instead): its size, and its
// MD5 unless checksums are off or another range checks it. A file in S3
// whose MD5 is checked is downloaded once, hashed on the way, into a
// local copy that the reader decodes (decodeCopy): reading it twice,
// once to hash and once by the reader's ranged GETs, cost 1.8 to 2 times
// its bytes on the wire. Otherwise the handle is hashed in place, or the
// ahead verifier's answer is awaited (av).
func (r *Report) openChecked(ctx context.Context, df *DataFile, i int, av *aheadVerifier) (objio.Object, error) {
	obj, err := r.opts.IO.Open(ctx, df.Location)
	if err != nil {
		return nil, err
	}
	want := wantMD5(df)
	switch {
	case r.opts.SkipChecksums:
		return obj, nil
	case av != nil:
		if err := av.wait(ctx, i); err != nil {
			obj.Close()
			return nil, err
		}
		// The verifier read its own handle; this one must be the same
		// size (no MD5 given: the size check alone).
		want = ""
	case want != "" && objio.IsS3(df.Location):
		local, err := decodeCopy(ctx, obj, want, manifestSize(df), df.Location, r.opts.TmpDir)
		obj.Close()
		return local, err
	}
	if err := verifyObject(ctx, obj, want, manifestSize(df), df.Location, md5.New()); err != nil {
		obj.Close()
		return nil, err
	}
	return obj, nil
}

// Scan reads every data file, Workers at a time, and calls fn with each
// batch in a deterministic order: all batches of files[0] in file order,
// then files[1], and so on. fn runs on the calling goroutine, one batch at
// a time; the batch is released after fn returns, so fn must Retain it to
// keep it. The first error (from a file or from fn) stops the scan and is
// returned.
//
// Keeping that order costs parallelism: while files[0] is consumed, the
// workers reading the files after it stop once they are a few batches
// ahead. ScanUnordered does not wait for them.
func (r *Report) Scan(ctx context.Context, fn func(arrow.RecordBatch) error) error {
	return r.scan(ctx, true, fn)
}

// ScanUnordered is Scan handing over the batches in the order they are
// read: the batches of one file in file order, those of different files
// interleaved as the workers produce them, which differs from run to run.
// It suits consumers whose result does not depend on the order, such as a
// sort, and keeps every worker busy. fn runs on the calling goroutine, one
// batch at a time, as with Scan.
func (r *Report) ScanUnordered(ctx context.Context, fn func(arrow.RecordBatch) error) error {
	return r.scan(ctx, false, fn)
}

func (r *Report) scan(ctx context.Context, ordered bool, fn func(arrow.RecordBatch) error) error {
	n := len(r.Manifest.Files)
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	av := newAheadVerifier(gctx, r.Manifest, &r.opts)
	if av != nil {
		defer av.close()
	}

	// Ordered, outs[i] carries file i's batches from its worker to the
	// consumer below; the worker closes it when the file ends or fails.
	// Unordered, every worker sends to one channel, closed when they have
	// all ended.
	var outs []chan arrow.RecordBatch
	var shared chan arrow.RecordBatch
	if ordered {
		outs = make([]chan arrow.RecordBatch, n)
		for i := range outs {
			outs[i] = make(chan arrow.RecordBatch, 2)
		}
	} else {
		shared = make(chan arrow.RecordBatch, 2*r.opts.Workers)
	}
	// Files start in order, at most Workers at once; since the ordered
	// consumer drains files in the same order, the oldest running file
	// always progresses and the pipeline cannot deadlock.
	sem := make(chan struct{}, r.opts.Workers)
	var workers sync.WaitGroup
	g.Go(func() error {
		defer func() {
			if shared != nil {
				go func() {
					workers.Wait()
					close(shared)
				}()
			}
		}()
		for i := 0; i < n; i++ {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return nil
			}
			workers.Add(1)
			g.Go(func() error {
				defer workers.Done()
				defer func() { <-sem }()
				if shared != nil {
					return r.readFile(gctx, i, shared, av)
				}
				defer close(outs[i])
				return r.readFile(gctx, i, outs[i], av)
			})
		}
		return nil
	})

	var ferr error
	take := func(rec arrow.RecordBatch) bool {
		err := fn(rec)
		rec.Release()
		if err != nil {
			ferr = err
			cancel()
			return false
		}
		return true
	}
	if ordered {
	consume:
		for i := 0; i < n; i++ {
			for {
				select {
				case rec, ok := <-outs[i]:
					if !ok {
						continue consume
					}
					if !take(rec) {
						break consume
					}
				case <-gctx.Done():
					break consume
				}
			}
		}
	} else {
	consumeAny:
		for {
			select {
			case rec, ok := <-shared:
				if !ok || !take(rec) {
					break consumeAny
				}
			case <-gctx.Done():
				break consumeAny
			}
		}
	}
	werr := g.Wait()
	drain := func(ch chan arrow.RecordBatch) {
		for {
			select {
			case rec, ok := <-ch:
				if ok {
					rec.Release()
					continue
				}
			default:
			}
			return
		}
	}
	if ordered {
		for i := range outs {
			drain(outs[i])
		}
	} else {
		// The workers have ended; the closer may not have run yet, so
		// wait for it rather than draining a channel still open.
		workers.Wait()
		for rec := range shared {
			rec.Release()
		}
	}
	if ferr != nil {
		return ferr
	}
	if werr != nil {
		return werr
	}
	return ctx.Err()
}

func (r *Report) readFile(ctx context.Context, i int, out chan<- arrow.RecordBatch, av *aheadVerifier) error {
	fr, err := r.openFile(ctx, i, av)
	if err != nil {
		return err
	}
	defer fr.Close()
	for {
		rec, err := fr.Next(ctx)
		if err == io.EOF {
			if r.opts.progress != nil {
				r.opts.progress.FilesDone.Add(1)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if r.opts.progress != nil {
			r.opts.progress.Rows.Add(rec.NumRows())
		}
		select {
		case out <- rec:
		case <-ctx.Done():
			rec.Release()
			return ctx.Err()
		}
	}
}
