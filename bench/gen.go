package bench

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
)

// GenOptions configure Generate.
type GenOptions struct {
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
	// Bucket is the source bucket name; empty means "example-source-bucket".
	Bucket string
	// Workers bounds files written at once; zero means GOMAXPROCS.
	Workers int
}

// GenResult describes a generated report.
type GenResult struct {
	Manifest string // path of manifest.json
	Files    int
	Bytes    int64 // total data bytes
}

// fileWriter writes generated rows in one format.
type fileWriter interface {
	Write(r *Row) error
	Close() error
}

// formatSpec describes how one format is written.
type formatSpec struct {
	name      string // manifest fileFormat
	ext       string
	schema    func(versions bool) string
	newWriter func(w io.Writer, versions bool) (fileWriter, error)
}

var formats = map[string]formatSpec{
	"csv":     {name: "CSV", ext: ".csv.gz", schema: func(v bool) string { return strings.Join(Columns(v), ", ") }, newWriter: newCSVWriter},
	"parquet": {name: "Parquet", ext: ".parquet", schema: parquetSchema, newWriter: newParquetWriter},
	"orc":     {name: "ORC", ext: ".orc", schema: orcSchema, newWriter: newORCWriter},
}

// Generate writes a synthetic inventory report.
func Generate(ctx context.Context, o GenOptions) (*GenResult, error) {
	if o.Rows <= 0 {
		return nil, errors.New("gen: --rows must be positive")
	}
	if o.Format == "" {
		o.Format = "csv"
	}
	spec, ok := formats[strings.ToLower(o.Format)]
	if !ok {
		return nil, fmt.Errorf("gen: unknown format %q: expected csv, parquet or orc", o.Format)
	}
	if o.Files <= 0 {
		o.Files = int((o.Rows + 499_999) / 500_000)
	}
	if int64(o.Files) > o.Rows {
		o.Files = int(o.Rows)
	}
	if o.Bucket == "" {
		o.Bucket = "example-source-bucket"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "data"), 0o755); err != nil {
		return nil, err
	}
	type fileInfo struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		MD5  string `json:"MD5checksum"`
	}
	files := make([]fileInfo, o.Files)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for k := 0; k < o.Files; k++ {
		rows := o.Rows / int64(o.Files)
		if int64(k) < o.Rows%int64(o.Files) {
			rows++
		}
		g.Go(func() error {
			sum := md5.Sum([]byte(fmt.Sprintf("%d/%d", o.Seed, k)))
			key := "data/" + hex.EncodeToString(sum[:]) + spec.ext
			size, md, err := writeFile(gctx, filepath.Join(o.Out, filepath.FromSlash(key)), spec, o, k, rows)
			if err != nil {
				return err
			}
			files[k] = fileInfo{Key: key, Size: size, MD5: md}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	man := map[string]any{
		"sourceBucket":      o.Bucket,
		"destinationBucket": "arn:aws:s3:::example-inventory-bucket",
		"version":           "2016-11-30",
		"creationTimestamp": "1732492800000",
		"fileFormat":        spec.name,
		"fileSchema":        spec.schema(o.Versions),
		"files":             files,
	}
	raw, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(raw)
	mpath := filepath.Join(o.Out, "manifest.json")
	if err := os.WriteFile(mpath, raw, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "manifest.checksum"), []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		return nil, err
	}
	return &GenResult{Manifest: mpath, Files: o.Files, Bytes: total}, nil
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

func writeFile(ctx context.Context, path string, spec formatSpec, o GenOptions, k int, rows int64) (int64, string, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	hc := &hashCounter{h: md5.New()}
	fw, err := spec.newWriter(io.MultiWriter(f, hc), o.Versions)
	if err != nil {
		return 0, "", err
	}
	gen := newRowGen(o.Seed, k, o.Bucket, o.Versions)
	var r Row
	for i := int64(0); i < rows; i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return 0, "", ctx.Err()
		}
		gen.next(&r)
		if err := fw.Write(&r); err != nil {
			return 0, "", err
		}
	}
	if err := fw.Close(); err != nil {
		return 0, "", err
	}
	if err := f.Close(); err != nil {
		return 0, "", err
	}
	return hc.n, hex.EncodeToString(hc.h.Sum(nil)), nil
}
