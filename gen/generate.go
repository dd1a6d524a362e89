package gen

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// Options configure Generate.
type Options struct {
	// Rows is the total number of rows (required, > 0).
	Rows int64
	// Format is csv, parquet or orc; empty means csv.
	Format string
	// Out is the report folder; it receives manifest.json,
	// manifest.checksum and data/.
	Out string
	// Seed makes the report reproducible; the same seed, rows, files and
	// versions give the same logical rows in every format.
	Seed uint64
	// Versions adds VersionId, IsLatest and IsDeleteMarker columns, older
	// versions, null version ids and delete markers.
	Versions bool
	// Files is the number of data files; zero means one per 500,000 rows.
	Files int
	// Bucket is the source bucket name; empty means
	// "example-source-bucket", or "example-target-bucket" for a
	// DiffTarget.
	Bucket string
	// DiffTarget writes, instead of the report these options describe,
	// the target of a diff pair: that report's rows (the same Seed, Rows
	// and Files, in Bucket, which should differ from the source's) with 1%
	// of the objects different, chosen by row index i over the whole
	// report: i%300 == 0 is missing, i%300 == 100 is one byte larger,
	// i%300 == 200 is followed by an extra object, its key + ".extra".
	// Result.Diff and DiffFiltered count them. Not with Versions.
	DiffTarget bool
	// DiffKeep, for a DiffTarget, is the filter whose differences
	// Result.DiffFiltered counts: it tells whether a row (of the source
	// or of the target) passes. Nil counts nothing.
	DiffKeep func(*Row) bool
	// Null lists fields left empty on every row, as S3 writes the columns
	// of features a bucket does not use (replication, object lock,
	// Intelligent-Tiering, checksums): null in every format. The other
	// values do not change. Size, the text fields but bucket, key and
	// version id, and ObjectLockRetainUntilDate may be named.
	Null inventory.FieldSet
	// Layout is how the data files are written; the zero value gives
	// DefaultORC and DefaultParquet.
	Layout Layout
	// Workers bounds files written at once; zero means GOMAXPROCS.
	Workers int
}

// Layout is how the binary formats are written.
type Layout struct {
	// ORC are the ORC writer's options; nil means DefaultORC().
	ORC *orc.WriterOptions
	// Parquet is the Parquet layout; nil means DefaultParquet.
	Parquet *ParquetLayout
	// NullVersionIDs writes the version id of a null-version object as a
	// null value in ORC and Parquet, as S3 does; by default it is an
	// empty string (which readers take as null too). CSV writes an empty
	// field either way.
	NullVersionIDs bool

	null inventory.FieldSet // Options.Null, for the Parquet dictionaries
}

// Result describes a generated report.
type Result struct {
	Manifest string // path of manifest.json
	Files    int
	Rows     int64 // rows written: Rows, less missing and plus extra objects in a diff target
	Bytes    int64 // total data bytes
	// Diff, for a diff target, is what a diff of the source report and
	// this one must find; DiffFiltered what it must find with DiffKeep's
	// filter on both sides. They differ by the objects the filter drops,
	// and by the changed objects it drops at the source only (1,023 bytes
	// there, 1,024 at the target, under a 1 KiB minimum), which are extra.
	Diff, DiffFiltered DiffCounts
}

// DiffCounts are the objects that differ between the two reports of a
// diff pair.
type DiffCounts struct {
	Missing int64 `json:"missing"` // only in the source
	Changed int64 `json:"changed"` // in both, with another size
	Extra   int64 `json:"extra"`   // only in the target
}

func (d *DiffCounts) add(e DiffCounts) {
	d.Missing += e.Missing
	d.Changed += e.Changed
	d.Extra += e.Extra
}

// diffTarget turns the rows of a report into those of its diff target
// (Options.DiffTarget) and counts the differences.
type diffTarget struct {
	keep          func(*Row) bool // nil: no filtered counts
	all, filtered DiffCounts
}

func (d *diffTarget) keeps(r *Row) bool { return d.keep != nil && d.keep(r) }

// write writes with write what stands in the target for row r, row index
// i of the whole report: nothing, r changed, or r and an extra object. It
// may modify r.
func (d *diffTarget) write(i int64, r *Row, write func(*Row) error) error {
	kept := d.keeps(r)
	switch i % 300 {
	case 0:
		d.all.Missing++
		if kept {
			d.filtered.Missing++
		}
		return nil
	case 100:
		r.Size++
		d.all.Changed++
		switch {
		case kept:
			d.filtered.Changed++
		case d.keeps(r):
			d.filtered.Extra++ // the filter drops it at the source only
		}
	case 200:
		if err := write(r); err != nil {
			return err
		}
		r.Key += ".extra"
		d.all.Extra++
		if kept {
			d.filtered.Extra++
		}
	}
	return write(r)
}

// fileWriter writes rows in one format.
type fileWriter interface {
	Write(r *Row) error
	Close() error
}

// formatSpec describes how one format is written.
type formatSpec struct {
	name      string // manifest fileFormat
	ext       string
	schema    func(inventory.FieldSet) string
	newWriter func(w io.Writer, fields inventory.FieldSet, l *Layout) (fileWriter, error)
}

var formats = map[string]formatSpec{
	"csv":     {name: "CSV", ext: ".csv.gz", schema: CSVSchema, newWriter: newCSVWriter},
	"parquet": {name: "Parquet", ext: ".parquet", schema: ParquetSchema, newWriter: newParquetWriter},
	"orc":     {name: "ORC", ext: ".orc", schema: ORCSchema, newWriter: newORCWriter},
}

// formatOf returns the spec of a format named csv, parquet or orc (any
// case; empty means csv).
func formatOf(name string) (formatSpec, error) {
	if name == "" {
		name = "csv"
	}
	spec, ok := formats[strings.ToLower(name)]
	if !ok {
		return spec, fmt.Errorf("gen: unknown format %q: expected csv, parquet or orc", name)
	}
	return spec, nil
}

// Generate writes a synthetic inventory report.
func Generate(ctx context.Context, o Options) (*Result, error) {
	if o.Rows <= 0 {
		return nil, fmt.Errorf("gen: Options.Rows must be positive, got %d", o.Rows)
	}
	spec, err := formatOf(o.Format)
	if err != nil {
		return nil, err
	}
	if bad := o.Null &^ nullable; bad != 0 {
		return nil, fmt.Errorf("gen: fields %v cannot be left null", bad)
	}
	if o.Files <= 0 {
		o.Files = int((o.Rows + 499_999) / 500_000)
	}
	if int64(o.Files) > o.Rows {
		o.Files = int(o.Rows)
	}
	if o.DiffTarget && o.Versions {
		return nil, errors.New("gen: a diff target is generated without versions")
	}
	switch {
	case o.Bucket != "":
	case o.DiffTarget:
		o.Bucket = "example-target-bucket"
	default:
		o.Bucket = "example-source-bucket"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "data"), 0o755); err != nil {
		return nil, err
	}
	fields := ReportFields(o.Versions)
	o.Layout.null = o.Null
	files := make([]manifestFile, o.Files)
	written := make([]fileResult, o.Files)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	var next int64 // row index of the next file's first row
	for k := 0; k < o.Files; k++ {
		rows := o.Rows / int64(o.Files)
		if int64(k) < o.Rows%int64(o.Files) {
			rows++
		}
		first := next
		next += rows
		g.Go(func() error {
			sum := md5.Sum([]byte(fmt.Sprintf("%d/%d", o.Seed, k)))
			key := "data/" + hex.EncodeToString(sum[:]) + spec.ext
			fr, err := generateFile(gctx, filepath.Join(o.Out, filepath.FromSlash(key)), spec, fields, &o, k, first, rows)
			if err != nil {
				return err
			}
			files[k] = manifestFile{Key: key, Size: fr.size, MD5: fr.md5}
			written[k] = fr
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := &Result{Files: o.Files}
	for _, f := range written {
		res.Bytes += f.size
		res.Rows += f.rows
		res.Diff.add(f.diff.all)
		res.DiffFiltered.add(f.diff.filtered)
	}
	man := map[string]any{
		"sourceBucket":      o.Bucket,
		"destinationBucket": "arn:aws:s3:::example-inventory-bucket",
		"version":           "2016-11-30",
		"creationTimestamp": "1732492800000",
		"fileFormat":        spec.name,
		"fileSchema":        spec.schema(fields),
		"files":             files,
	}
	raw, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	if res.Manifest, err = WriteManifest(o.Out, raw); err != nil {
		return nil, err
	}
	return res, nil
}

// manifestFile is one entry of a generated manifest's files list.
type manifestFile struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	MD5  string `json:"MD5checksum"`
}

// WriteManifest writes raw as DIR/manifest.json and its MD5 as
// DIR/manifest.checksum, and returns the manifest's path.
func WriteManifest(dir string, raw []byte) (string, error) {
	sum := md5.Sum(raw)
	mpath := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(mpath, raw, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.checksum"), []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		return "", err
	}
	return mpath, nil
}

type hashCounter struct {
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// fileResult describes a written data file.
type fileResult struct {
	size int64
	md5  string
	rows int64
	diff diffTarget // with Options.DiffTarget
}

// dataFile is a data file being written, hashed and counted on the way.
type dataFile struct {
	f  *os.File
	hc hashCounter
	fw fileWriter
}

// createDataFile creates the data file path and its format's writer.
func createDataFile(path string, spec formatSpec, fields inventory.FieldSet, l *Layout) (*dataFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	d := &dataFile{f: f, hc: hashCounter{h: md5.New()}}
	if d.fw, err = spec.newWriter(io.MultiWriter(f, &d.hc), fields, l); err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

// close ends the file and returns its size and MD5.
func (d *dataFile) close() (int64, string, error) {
	err := d.fw.Close()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return d.hc.n, hex.EncodeToString(d.hc.h.Sum(nil)), err
}

// generateFile writes data file k, whose rows are rows first to
// first+rows-1 of the report.
func generateFile(ctx context.Context, path string, spec formatSpec, fields inventory.FieldSet, o *Options, k int, first, rows int64) (fileResult, error) {
	res := fileResult{diff: diffTarget{keep: o.DiffKeep}}
	d, err := createDataFile(path, spec, fields, &o.Layout)
	if err != nil {
		return res, err
	}
	defer d.f.Close()
	write := func(r *Row) error {
		res.rows++
		return d.fw.Write(r)
	}
	gen := newRowGen(o.Seed, k, o.Bucket, o.Versions, o.Null)
	var r Row
	for i := int64(0); i < rows; i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
		gen.next(&r)
		if o.DiffTarget {
			err = res.diff.write(first+i, &r, write)
		} else {
			err = write(&r)
		}
		if err != nil {
			return res, err
		}
	}
	res.size, res.md5, err = d.close()
	return res, err
}
