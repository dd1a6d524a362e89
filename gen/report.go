package gen

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// ReportOptions configure NewReport.
type ReportOptions struct {
	// Format is csv, parquet or orc; empty means csv.
	Format string
	// Fields are the report's columns; zero means ReportFields(Versions).
	// They must include Bucket and Key.
	Fields inventory.FieldSet
	// Versions chooses the default Fields.
	Versions bool
	// Bucket is manifest.json's sourceBucket; empty means
	// "example-source-bucket".
	Bucket string
	// FileRows starts a new data file every FileRows rows; zero writes
	// one file.
	FileRows int
	// Layout is how the binary formats are written.
	Layout Layout
}

// ReportWriter writes the rows a caller gives as an inventory report:
// data files data/part-<n> in one format, then manifest.json (with their
// sizes and MD5s) and manifest.checksum. It is not safe for concurrent
// use.
type ReportWriter struct {
	dir    string
	o      ReportOptions
	spec   formatSpec
	cur    *dataFile
	n      int // rows written
	files  []ReportFile
	closed bool
}

// NewReport starts a report in dir (created if needed).
func NewReport(dir string, o ReportOptions) (*ReportWriter, error) {
	spec, err := formatOf(o.Format)
	if err != nil {
		return nil, err
	}
	if o.Fields == 0 {
		o.Fields = ReportFields(o.Versions)
	}
	if err := checkFields(o.Fields); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	return &ReportWriter{dir: dir, o: o, spec: spec}, nil
}

// Write appends r to the report.
func (w *ReportWriter) Write(r *Row) error {
	if w.closed {
		return fmt.Errorf("gen: write to a closed report")
	}
	if w.cur == nil || w.o.FileRows > 0 && w.n%w.o.FileRows == 0 && w.n > 0 {
		if err := w.startFile(); err != nil {
			return err
		}
	}
	w.n++
	return w.cur.fw.Write(r)
}

func (w *ReportWriter) startFile() error {
	if err := w.endFile(); err != nil {
		return err
	}
	key := fmt.Sprintf("data/part-%d%s", len(w.files), w.spec.ext)
	d, err := createDataFile(filepath.Join(w.dir, filepath.FromSlash(key)), w.spec, w.o.Fields, &w.o.Layout)
	if err != nil {
		return err
	}
	w.cur = d
	w.files = append(w.files, ReportFile{Key: key})
	return nil
}

func (w *ReportWriter) endFile() error {
	if w.cur == nil {
		return nil
	}
	size, sum, err := w.cur.close()
	w.cur = nil
	f := &w.files[len(w.files)-1]
	f.size, f.md5 = size, sum
	return err
}

// Close ends the last data file (an empty report still has one) and
// writes manifest.json and manifest.checksum; it returns the manifest's
// path.
func (w *ReportWriter) Close() (string, error) {
	if w.closed {
		return "", fmt.Errorf("gen: report closed twice")
	}
	w.closed = true
	if len(w.files) == 0 {
		if err := w.startFile(); err != nil {
			return "", err
		}
	}
	if err := w.endFile(); err != nil {
		return "", err
	}
	return writeManifestOf(w.dir, &ReportSpec{Format: w.spec.name, Schema: w.spec.schema(w.o.Fields), Bucket: w.o.Bucket, Files: w.files})
}

// ReportFile is one data file of a report.
type ReportFile struct {
	Key  string // relative to the report folder: "data/a.csv.gz"
	Data []byte // its bytes, for WriteReport

	size int64 // set when written by a ReportWriter
	md5  string
}

// ReportSpec describes a report of data files already encoded, for
// WriteReport.
type ReportSpec struct {
	// Format is manifest.json's fileFormat: CSV, ORC or Parquet.
	Format string
	// Schema is the fileSchema.
	Schema string
	// Bucket is the sourceBucket; empty means "example-source-bucket".
	Bucket string
	// Destination is the destinationBucket ARN; empty means
	// "arn:aws:s3:::example-inventory-bucket".
	Destination string
	// Created is the creationTimestamp (milliseconds, as text); empty
	// means "1732492800000".
	Created string
	// Files are the data files, written under the report folder with
	// their sizes and MD5s in the manifest.
	Files []ReportFile
	// Edit, if not nil, changes the manifest before it is written (to
	// test damaged manifests); manifest.checksum matches the result.
	Edit func(m map[string]any)
	// NoChecksum leaves manifest.checksum out, as in a report whose
	// manifest is edited by hand afterwards.
	NoChecksum bool
}

// WriteReport writes the data files of s and a manifest.json describing
// them (compact JSON, keys sorted) with its manifest.checksum into dir,
// and returns the manifest's path.
func WriteReport(dir string, s ReportSpec) (string, error) {
	for i := range s.Files {
		f := &s.Files[i]
		p := filepath.Join(dir, filepath.FromSlash(f.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return "", err
		}
		sum := md5.Sum(f.Data)
		f.size, f.md5 = int64(len(f.Data)), hex.EncodeToString(sum[:])
	}
	return writeManifestOf(dir, &s)
}

// writeManifestOf writes the manifest of s, whose files' sizes and MD5s
// are known.
func writeManifestOf(dir string, s *ReportSpec) (string, error) {
	files := make([]map[string]any, len(s.Files))
	for i, f := range s.Files {
		files[i] = map[string]any{"key": f.Key, "size": f.size, "MD5checksum": f.md5}
	}
	m := map[string]any{
		"sourceBucket":      cmp.Or(s.Bucket, "example-source-bucket"),
		"destinationBucket": cmp.Or(s.Destination, "arn:aws:s3:::example-inventory-bucket"),
		"version":           "2016-11-30",
		"creationTimestamp": cmp.Or(s.Created, "1732492800000"),
		"fileFormat":        s.Format,
		"fileSchema":        s.Schema,
		"files":             files,
	}
	if s.Edit != nil {
		s.Edit(m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if s.NoChecksum {
		mpath := filepath.Join(dir, "manifest.json")
		return mpath, os.WriteFile(mpath, raw, 0o644)
	}
	return WriteManifest(dir, raw)
}
